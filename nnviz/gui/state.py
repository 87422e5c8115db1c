"""The window's application state: one owner of everything the views show.

As napari's ViewerModel, the state holds the config, the dataset, the newest snapshot from
training, the frame on screen (an older one while replaying), the replay store and whether
training plays; for a run of several seeds also every seed's state at each kept iteration and
which seed is selected (the one the snapshot, the map and the diagram show). Views draw the
frames it emits and controllers change it through its methods; nobody keeps a copy.
`network_changed` fires whenever a new run starts (a new architecture, new data, a reopened
session): anything keyed by layer, unit or sample must drop it then.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..core import Config, Dataset, Snapshot
from ..core.network import Layout
from ..core.replay import ReplayPoint, ReplayStore
from ..core.tasks import task_of
from ..service.seeds import LossBand, SeedStates
from .frame import GRID_SIZE, Frame, make_frame
from .plane import MAX_REMEMBERED, Plane, PlaneChoice, plane_key
from .seeds import SeedEvaluator

#: A notice ("Reached the target ...") hides itself after this long; errors stay.
NOTICE_MS = 8000


class AppState(QObject):
    """Config, data, newest and shown snapshot, replay and playing state, with change signals."""

    network_changed = Signal()  # a new run: drop anything that indexes the old network
    config_changed = Signal(object)  # the Config, after a live change (no new run)
    frame_changed = Signal(object)  # the Frame to draw
    playing_changed = Signal(bool)
    replay_changed = Signal()  # points were kept or forgotten, or live/replay switched
    message_changed = Signal(str)  # the banner's text; "" hides it
    data_changed = Signal()  # points drawn by hand, the run goes on: drop sample indices
    hold_changed = Signal(str)  # why training waits for drawn points; "" when it can train

    def __init__(
        self, config: Config, dataset: Dataset | None, parent: QObject | None = None
    ) -> None:
        """`dataset` may be None until the first run starts: the window shows itself before
        it loads scikit-learn and the data, which take most of a launch."""
        super().__init__(parent)
        self._config, self._dataset = config, dataset
        self._trained = dataset  # the points the training process trains on
        self._plane_choice = PlaneChoice()  # which section of data with more inputs to show
        self._plane_choices: dict[str, PlaneChoice] = {}  # the last one of each dataset
        self._plane: Plane | None = None
        self._grid = None
        if dataset is not None:
            self._set_plane(dataset)
        self._newest: Snapshot | None = None
        self._frame: Frame | None = None
        self._replayed: ReplayPoint | None = None  # None while following training
        self._playing = False
        self._message = ""
        self._notice = False  # the message answers one action (not an error that stays)
        self._notice_timer = QTimer(self, singleShot=True, interval=NOTICE_MS)
        self._notice_timer.timeout.connect(self.clear_notice)
        self._newest_message = ""  # the divergence message of the newest snapshot
        self._frozen = False  # while a replay export draws past states
        self.replay = ReplayStore()
        self._seeds: dict[int, SeedStates] = {}  # every seed's state by kept iteration
        self._band: LossBand | None = None  # the newest loss band over the seeds
        self._selected = 0
        self._seed_count = 1
        self._evaluator: SeedEvaluator | None = None
        self._hold = ""

    # -- reading ---------------------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self._config

    @property
    def dataset(self) -> Dataset:
        return self._dataset

    @property
    def newest(self) -> Snapshot | None:
        """The newest snapshot training delivered."""
        return self._newest

    @property
    def frame(self) -> Frame | None:
        """The frame on screen."""
        return self._frame

    @property
    def shown(self) -> Snapshot | None:
        """The snapshot on screen: the newest, or a past one while replaying."""
        return None if self._frame is None else self._frame.snapshot

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def is_live(self) -> bool:
        return self._replayed is None

    @property
    def replayed(self) -> ReplayPoint | None:
        """The replayed point, or None while following training."""
        return self._replayed

    @property
    def message(self) -> str:
        return self._message

    def network_layout(self) -> Layout:
        """The running network's layer sizes, from its task: the inputs after any crosses and
        one output per class (or one), as the training process's Trainer builds them."""
        return task_of(self.config, self.dataset).layout(self.config.hidden)

    @property
    def seed_count(self) -> int:
        """How many seeds the run trains (1 unless Config.seeds is more)."""
        return self._seed_count

    @property
    def selected_seed(self) -> int:
        return self._selected

    def seed_states(self, iteration: int) -> SeedStates | None:
        """Every seed's state at a kept iteration (None for a run of one seed)."""
        return self._seeds.get(iteration)

    @property
    def finished(self) -> bool:
        """Training reached the target iteration (Play would do nothing)."""
        newest = self._newest
        return newest is not None and newest.iteration >= self._config.iterations

    # -- runs ------------------------------------------------------------------------------

    def start_run(
        self,
        config: Config,
        dataset: Dataset,
        snapshot: Snapshot,
        message: str = "",
        seeds: SeedStates | None = None,
        plane: PlaneChoice | None = None,
    ) -> None:
        """A new network, data or session: forget the old run and show its first state
        (`seeds`: every seed's, for a run of several) in `plane` (a session's), else in the
        plane last chosen for this dataset; one the data cannot show falls back to PCA."""
        self._config, self._dataset, self._trained = config, dataset, dataset
        choice = plane or self._plane_choices.get(plane_key(config), PlaneChoice())
        self._plane_choice = choice if choice.fits(dataset) else PlaneChoice()
        self._remember_plane()
        self._set_plane(dataset)
        self._newest, self._frame, self._replayed = None, None, None
        self.replay.clear()
        self._seeds, self._band = {}, None
        self._selected = 0 if seeds is None else seeds.selected
        self._seed_count = 1 if seeds is None else seeds.count
        self._evaluator = None
        if seeds is not None:
            layout = task_of(config, dataset).layout(config.hidden)
            self._evaluator = SeedEvaluator(
                seeds.count, layout, dataset, config.activation, config.loss
            )
        self._set_playing(False)
        self.set_message(message)
        self._newest_message = message
        self.network_changed.emit()
        self.receive(snapshot, False, message, (), seeds)

    @property
    def plane(self) -> Plane | None:
        """The section of the input space the boundary view and the node maps show."""
        return self._plane

    @property
    def plane_choice(self) -> PlaneChoice:
        return self._plane_choice

    def set_plane_choice(self, choice: PlaneChoice) -> None:
        """Show another section of data with more than two inputs (PCA, or a slice). It stays
        chosen for later runs on this dataset (inputs or a sample the data lacks fall back to
        the first two inputs and the mean)."""
        self._plane_choice = choice
        if self._dataset is not None:
            self._remember_plane()
            self._set_plane(self._dataset)
            self._redraw()

    @property
    def plane_choices(self) -> dict[str, PlaneChoice]:
        """The plane last shown of each dataset with more than two inputs (`plane_key`), oldest
        first: the window keeps them in its settings."""
        return dict(self._plane_choices)

    def remember_plane_choices(self, choices: Mapping[str, PlaneChoice]) -> None:
        """Choices of an earlier time (the settings'): a run on one of those datasets starts in
        its plane."""
        self._plane_choices = {**choices, **self._plane_choices}
        self._forget_old_planes()

    def set_live_config(self, config: Config) -> None:
        """A change training takes without a reset (learning rate, threshold, ...)."""
        self._config = config
        self.config_changed.emit(config)
        if self.shown is not None:
            self._draw(self.shown)  # the threshold moves the ROC point and the matrices

    def receive(
        self,
        snapshot: Snapshot,
        playing: bool,
        message: str = "",
        points: tuple[ReplayPoint, ...] = (),
        seeds: SeedStates | None = None,
        seed_points: tuple[SeedStates, ...] = (),
    ) -> None:
        """A state from training: kept for replay, and drawn unless the user replays the past.
        With several seeds, `seeds` and `seed_points` are every seed's states at the snapshot
        and at each point.

        A state at or before the newest kept one means training went back (a reset, a resume):
        if that forgets the replayed point, the views follow training again.
        """
        self._set_playing(playing)
        if message:
            self.set_message(message)
        elif self._message == self._newest_message:  # the run left its divergence behind
            self.set_message("")
        self._newest_message = message
        self._newest = snapshot
        incoming = [p.iteration for p in points if p.iteration < snapshot.iteration]
        first = min([*incoming, snapshot.iteration])
        latest = self.replay.latest
        rewound = latest is not None and first <= latest.iteration
        self.replay.add(snapshot, points)
        self._keep_seeds(seeds, seed_points)
        if self._replayed is not None and rewound and self._replayed.iteration >= first:
            self._replayed = None
        self.replay_changed.emit()
        if self._replayed is None and not self._frozen:
            self._draw(snapshot)

    def set_playing(self, playing: bool) -> None:
        """What the user asked for, shown at once; training's next reply confirms it."""
        self._set_playing(playing)

    def select_seed(self, index: int) -> bool:
        """Show seed `index` of a run of several seeds in every view (the training process
        sends its snapshot next); False if the run has no such seed."""
        if not 0 <= index < self.seed_count or index == self._selected:
            return False
        self._selected = index
        self._redraw()
        return True

    def _keep_seeds(self, seeds: SeedStates | None, seed_points: tuple[SeedStates, ...]) -> None:
        """Every seed's states for the kept iterations (those the replay forgot go too)."""
        if seeds is None:
            return
        for states in seed_points:
            self._seeds[states.iteration] = states
        self._seeds[seeds.iteration] = seeds
        self._band = seeds.band
        if len(self._seeds) > len(self.replay):
            kept = set(self.replay.iterations().tolist())
            self._seeds = {i: s for i, s in self._seeds.items() if i in kept}

    # -- drawn points ----------------------------------------------------------------------

    def set_data(self, dataset: Dataset) -> None:
        """Points drawn by hand: the run goes on with `dataset` (the same task and inputs). The
        plane keeps its extent, grown only to take in points outside it, so the picture does
        not move under the pen."""
        self._dataset = dataset
        self._keep_plane_for(dataset)
        if self._evaluator is not None:
            config = self._config
            self._evaluator = SeedEvaluator(
                self._seed_count, self._evaluator.layout, dataset, config.activation, config.loss
            )
        self.data_changed.emit()
        self._redraw()

    @property
    def trained_data(self) -> Dataset | None:
        """The points the training process trains on: `dataset`, or while points drawn by hand
        are not sent yet (under 2 training points, or a stroke under way) the last that were.
        A restarted process starts on these."""
        return self._trained

    def set_trained_data(self, dataset: Dataset) -> None:
        """Drawn points were sent to the training process (`SetData`)."""
        self._trained = dataset

    @property
    def hold(self) -> str:
        """Why training waits for drawn points (Play and Step say it), or ""."""
        return self._hold

    def set_hold(self, reason: str) -> None:
        if reason != self._hold:
            self._hold = reason
            self.hold_changed.emit(reason)

    def _keep_plane_for(self, dataset: Dataset) -> None:
        plane = self._plane
        if plane is None or plane.kind != "plane" or dataset.n_inputs != 2:
            self._set_plane(dataset)
            return
        xmin, xmax, ymin, ymax = plane.extent
        points = np.vstack([dataset.x_train, dataset.x_test])
        if len(points):
            (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
            xmin, xmax, ymin, ymax = min(xmin, x0), max(xmax, x1), min(ymin, y0), max(ymax, y1)
        extent = (float(xmin), float(xmax), float(ymin), float(ymax))
        if extent != tuple(plane.extent):
            self._plane = dataclasses.replace(plane, extent=extent)
            self._grid = self._plane.grid(GRID_SIZE)

    # -- replay ----------------------------------------------------------------------------

    def replay_at(self, point: ReplayPoint) -> None:
        """Show a kept past state in every view."""
        self._replayed = point
        self.replay_changed.emit()
        self._draw(self.replay.snapshot(point))

    def go_live(self) -> None:
        """Follow training again."""
        was_live = self._replayed is None
        self._replayed = None
        if not was_live:
            self.replay_changed.emit()
        if self._newest is not None:
            self._draw(self._newest)

    def forget_after(self, point: ReplayPoint) -> None:
        """Training resumes from `point`: the states after it are gone, and `point` is the
        newest until the process reports (so neither the views nor Play see the old future)."""
        self.replay.truncate_after(point.iteration)
        self._newest = self.replay.snapshot(point)
        self.go_live()

    def draw_past(self, point: ReplayPoint) -> Frame:
        """Draw a kept state without changing what is replayed (for exporting the replay)."""
        self._frozen = True
        self._draw(self.replay.snapshot(point))
        return self._frame

    def thaw(self) -> None:
        """After `draw_past`: show the chosen state again and follow training."""
        self._frozen = False
        if self._replayed is not None:
            self._draw(self.replay.snapshot(self._replayed))
        elif self._newest is not None:
            self._draw(self._newest)

    # -- messages --------------------------------------------------------------------------

    def set_message(self, text: str) -> None:
        """Say what went wrong in the banner; "" hides it."""
        self._notice = False
        if text != self._message:
            self._message = text
            self.message_changed.emit(text)

    def show_notice(self, text: str) -> None:
        """A banner that only answers the last action: the next one clears it, or NOTICE_MS."""
        self.set_message(text)
        self._notice = True
        self._notice_timer.start()

    def clear_notice(self) -> None:
        if self._notice:
            self.set_message("")

    # -- internals -------------------------------------------------------------------------

    def _remember_plane(self) -> None:
        """The plane choice is the last one of this run's dataset (if it has more than two
        inputs, where a choice means something)."""
        if self._dataset.n_inputs > 2:
            key = plane_key(self._config)
            self._plane_choices.pop(key, None)
            self._plane_choices[key] = self._plane_choice
            self._forget_old_planes()

    def _forget_old_planes(self) -> None:
        while len(self._plane_choices) > MAX_REMEMBERED:
            del self._plane_choices[next(iter(self._plane_choices))]

    def _set_plane(self, dataset: Dataset) -> None:
        """The plane of the user's choice through `dataset`, and its grid of raw points."""
        self._plane = Plane.of(dataset, self._plane_choice)
        self._grid = self._plane.grid(GRID_SIZE)

    def _set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.playing_changed.emit(playing)

    def _redraw(self) -> None:
        """Draw the state on screen again (the replayed one, or the newest), unless nothing is
        on screen yet or a replay export holds the views."""
        if self._frame is not None and not self._frozen:
            self._draw(self.replay.snapshot(self._replayed) if self._replayed else self._newest)

    def _draw(self, snapshot: Snapshot) -> None:
        states = self._seeds.get(snapshot.iteration) if self._evaluator else None
        view = None
        if states is not None:
            k = self._selected
            band = self._band and self._band.cut(snapshot.iteration)
            view = self._evaluator.view(states, k, self._config.threshold, band)
            # the history stays: the selected seed's once the process answered
            snapshot = dataclasses.replace(
                snapshot,
                train_loss=float(states.scores[k, 0]),
                test_loss=float(states.scores[k, 1]),
                train_accuracy=float(states.scores[k, 2]),
                test_accuracy=float(states.scores[k, 3]),
                weights=states.weights(self._evaluator.layout, k),
                diverged_at=states.diverged_at[k],
            )
        with warnings.catch_warnings():
            data = self._dataset
            if not (len(data.x_train) and len(data.x_test)):  # a split drawn empty: numpy
                warnings.simplefilter("ignore", RuntimeWarning)  # warns "Mean of empty slice"
            self._frame = make_frame(
                snapshot, self._config, self._dataset, self._grid, view, plane=self._plane
            )
        self.frame_changed.emit(self._frame)
