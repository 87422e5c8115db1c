"""Training: Play, Pause, Step, Reset and speed become commands for the training process, a new
config becomes a live update or a new run, and the process's snapshots become the state's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ...core import Config, ConfigError, DataError, Dataset, Snapshot, load_dataset
from ...core.config import DATA_FIELDS
from ...core.files import FileFormatError
from ...service.protocol import (
    Command,
    Pause,
    Play,
    Reset,
    SelectSeed,
    SetSpeed,
    SnapshotReply,
    Step,
    UpdateConfig,
)
from ...service.seeds import SeedGroup, SeedStates
from ..plane import PlaneChoice
from ..state import AppState

#: A training process that dies more often than this within the window is not restarted again.
MAX_RESTARTS = 3
RESTART_WINDOW_SECONDS = 60.0
#: Draw at most this often (40 Hz); snapshots arriving faster are coalesced, newest wins.
MIN_REDRAW_SECONDS = 1 / 40


class TrainingClient(Protocol):
    """What the controllers need of the training thread (a stub in tests). `configure` and
    `open_session` start a new run: no snapshot of the run before is taken after them."""

    def send(self, command: Command) -> None: ...
    def configure(self, config: Config, dataset: Dataset) -> None: ...
    def open_session(self, data: bytes, name: str) -> None: ...
    def restore(
        self, config: Config, dataset: Dataset, snapshot: Snapshot, seeds: SeedStates | None
    ) -> None: ...
    def restart(self) -> None: ...
    def take(self) -> SnapshotReply | None: ...

    @property
    def process_alive(self) -> bool: ...


class TrainingController(QObject):
    """Drives the training process for `state`; `client` is the training thread."""

    ready = Signal()  # the training process answered for the first time

    def __init__(
        self, state: AppState, client: TrainingClient, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.state, self.client = state, client
        self.speed: float | None = None  # iterations per second, None = as fast as possible
        self.process_ready = False
        self.iterations_per_second = 0.0  # of the run: each iteration trains every seed
        self._pausing = False  # Pause sent, not yet confirmed by a paused reply
        self._rate_mark: tuple[float, int] | None = None
        self._last_draw = 0.0
        self._deaths: list[float] = []  # when the training process died (monotonic seconds)
        self._draw_timer = QTimer(self, singleShot=True)
        self._draw_timer.timeout.connect(self._on_draw_timer_timeout)

    # -- commands --------------------------------------------------------------------------

    def toggle_play(self) -> None:
        if self.state.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        state = self.state
        if state.playing or self._held():
            return
        if state.finished:
            state.show_notice(
                f"Reached the target of {state.config.iterations:,} iterations. "
                "Raise Iterations to train further, or Reset."
            )
            return
        state.set_message("")
        state.go_live()
        self._pausing = False
        state.set_playing(True)
        self.client.send(Play())

    def pause(self) -> None:
        # replies the process sent before it read Pause still say "playing": until one says
        # paused, they must not turn playing back on
        self._pausing = True
        self.state.set_playing(False)
        self.client.send(Pause())

    def step(self, count: int = 1) -> None:
        """Train `count` iterations, then pause (a step while playing pauses too)."""
        self.state.clear_notice()
        if self._held():
            return
        if self.state.playing:
            self.pause()
        self.state.go_live()
        self.client.send(Step(count))

    def reset(self) -> None:
        self.state.set_message("")
        self.client.send(Reset())

    def _held(self) -> bool:
        """Training waits for drawn points (see controllers.draw_points): say so."""
        if self.state.hold:
            self.state.show_notice(self.state.hold)
        return bool(self.state.hold)

    def set_speed(self, iterations_per_second: float | None) -> None:
        self.speed = iterations_per_second
        self.client.send(SetSpeed(iterations_per_second))

    def select_seed(self, index: int) -> None:
        """Show seed `index` of a run of several seeds (a click on its boundary): at once from
        the states the window holds, then with its own history from the training process."""
        if self.state.select_seed(index):
            self.client.send(SelectSeed(index))

    # -- configs ---------------------------------------------------------------------------

    def apply(self, config: Config) -> None:
        """Train `config`: a live update when only live fields differ, else a new run.

        Raises one of REFUSALS (with `.field` where one field is to blame) before anything
        changes, so a refused config leaves the run as it was.
        """
        state = self.state
        if config == state.config:
            return
        if state.config.is_live_change(config):
            self.client.send(UpdateConfig(config))
            state.set_live_config(config)
            return
        self.start_run(config, *self.preparation(config)())

    def reads_files(self, config: Config) -> bool:
        """Starting `config` reads the user's files (CSV points, initial weights): the window
        does that off the GUI thread, with `preparation`."""
        state = self.state
        if config == state.config or state.config.is_live_change(config):
            return False
        return config.dataset == "csv" or config.init_weights is not None

    def preparation(self, config: Config) -> Callable[[], tuple[Dataset, SeedGroup]]:
        """The work of a new run of `config`, safe to do on another thread: its data (the
        current data unless a data field changed) and its networks (every seed), which check
        the seeds, the initial weights and the memory budget before anything changes. Raises
        one of REFUSALS."""
        state = self.state
        changed = any(getattr(config, n) != getattr(state.config, n) for n in DATA_FIELDS)
        current = None if changed else state.dataset

        def prepare() -> tuple[Dataset, SeedGroup]:
            dataset = current if current is not None else load_dataset(config)
            if len(dataset.x_train) < 2:  # a canvas being drawn on (controllers.draw_points)
                raise DataError("a new network needs 2 training points or more: draw them first")
            return dataset, SeedGroup.start(config, dataset)

        return prepare

    def start_run(self, config: Config, dataset: Dataset, group: SeedGroup | None = None) -> None:
        """A new run on `dataset`, drawn untrained at once (from `group` when given)."""
        self.client.configure(config, dataset)
        self.client.send(SetSpeed(self.speed))
        self._rate_mark = None
        group = group or SeedGroup.start(config, dataset)
        self.state.start_run(config, dataset, group.snapshot(), seeds=group.states())

    def adopt_session(
        self, group: SeedGroup, data: bytes, name: str, plane: PlaneChoice | None = None
    ) -> None:
        """Show a reopened session (every seed, in the session's `plane` if it has one) and
        hand its exact state to the process."""
        self.client.open_session(data, name)
        self._rate_mark = None
        message = group.divergence_message()
        state = self.state
        state.start_run(group.config, group.data, group.snapshot(), message, group.states(), plane)

    # -- replies ---------------------------------------------------------------------------

    @Slot()
    def on_snapshot_ready(self) -> None:
        """The mailbox filled: draw soon, at most MIN_REDRAW_SECONDS after the last draw."""
        if self._draw_timer.isActive():
            return
        wait = MIN_REDRAW_SECONDS - (time.perf_counter() - self._last_draw)
        self._draw_timer.start(max(0, int(wait * 1000)))

    @Slot()
    def _on_draw_timer_timeout(self) -> None:
        reply = self.client.take()
        if reply is None:
            return
        self._last_draw = time.perf_counter()
        self._measure_rate(reply)
        self._pausing = self._pausing and reply.playing
        playing = reply.playing and not self._pausing
        self.state.receive(
            reply.snapshot, playing, reply.message, reply.points, reply.seeds, reply.seed_points
        )
        if not self.process_ready:
            self.process_ready = True
            self.ready.emit()

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.state.set_message(message)

    @Slot(str)
    def on_process_died(self, message: str) -> None:
        """Start a new training process that continues from the newest state the window holds,
        paused, on the points the last one trained on (a drawing that cannot train yet is sent
        when it can); after MAX_RESTARTS deaths within RESTART_WINDOW_SECONDS, give up and say
        so."""
        state = self.state
        state.set_playing(False)
        if self.client.process_alive:  # a late report of a process already replaced
            return
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < RESTART_WINDOW_SECONDS] + [now]
        if len(self._deaths) > MAX_RESTARTS:
            state.set_message(f"{message}, again and again; training stops here. Restart nnviz.")
            return
        self.client.restart()
        self.client.send(SetSpeed(self.speed))
        self._rate_mark = None
        newest, data = state.newest, state.trained_data
        if newest is None:
            self.client.configure(state.config, data)
            state.set_message(f"{message}. nnviz started a new one.")
            return
        self.client.restore(state.config, data, newest, state.seed_states(newest.iteration))
        optimizer = (
            ""
            if state.config.optimizer == "gd"
            else f" ({state.config.optimizer} state starts again)"
        )
        state.set_message(
            f"{message}. nnviz started a new one at iteration {newest.iteration:,}{optimizer}."
        )

    def _measure_rate(self, reply: SnapshotReply) -> None:
        now, iteration = time.perf_counter(), reply.snapshot.iteration
        if not reply.playing or self._rate_mark is None:
            self._rate_mark = (now, iteration)
            return
        then, before = self._rate_mark
        if now - then >= 0.5:
            self.iterations_per_second = (iteration - before) / (now - then)
            self._rate_mark = (now, iteration)


#: What `apply` raises for a config that cannot be trained: the core's errors, and the
#: ValueError of a Trainer whose initial weights do not fit (all are ValueErrors; named for
#: the reader).
REFUSALS = (ConfigError, DataError, FileFormatError, ValueError)
