"""Points you draw: in draw mode a click on the boundary view adds a point of the chosen class
(or value, for a regression), a shift-click removes the point under it (of either split), and
a drag paints several (with shift held, erases along its path). The running network keeps its
weights and trains on the new points (the training process gets them as `SetData`).

Drawn points are split as the article splits its data, 75/25: every 4th point of a class (of
all points, for a regression), counted over both splits, joins the test split (triangles), the
others the training split (`drawn_to_test`), so the test figures are about the drawing.
"Start from empty" takes every point away, test points too; the test figures read "—" until a
class has its 4th point.

One stroke (press, drag, release) is one step of the undo stack, which this controller owns:
the Datasets before each stroke (Datasets are immutable, so keeping one is keeping a state).
It outlives a new run on the same points (a new architecture), and is dropped when a run brings
other data. Training needs two training points and one of each class; short of that, the state
holds training with a message saying what to draw, and the process keeps the last points that
could train (it is never sent fewer than two; `AppState.trained_data`). A training process
restarted after a crash starts on those too, and gets the drawing once it can train; a saved
session holds the drawing on screen (see controllers.files).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ...core import Dataset
from ...core.datasets import drawn_to_test, nearest_point, with_points
from ...service.protocol import SetData
from ..state import AppState
from .training import TrainingClient

#: A drag adds a point each time the pointer is this many pixels from the last one it added.
SPACING_PIXELS = 12.0
#: A shift-click removes the point (training or test) nearest the pointer within this many pixels.
REMOVE_PIXELS = 8.0
#: Strokes kept for undo (a Dataset each: at most about 160 kB for nnviz's largest).
MAX_UNDO = 100


class PlaneView(Protocol):
    """What drawing needs of the boundary view: its scale, to space points in pixels."""

    def pixel_size(self) -> tuple[float, float]: ...


class Pauses(Protocol):
    """The training controller's pause, shown at once."""

    def pause(self) -> None: ...


@dataclass
class _Stroke:
    before: Dataset  # the points when the stroke began (its undo step)
    erase: bool
    last: tuple[float, float] | None = None  # where the last point was added


class DrawPointsController(QObject):
    """Draw mode for `state`: strokes from `view` become new Datasets, sent through `client`."""

    active_changed = Signal(bool)
    history_changed = Signal()  # what undo and redo can do changed
    counts_changed = Signal(str)  # the training points per class, for the draw bar

    def __init__(
        self,
        state: AppState,
        client: TrainingClient,
        view: PlaneView,
        training: Pauses,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.client, self.view, self.training = state, client, view, training
        self.active = False
        self.label = 0.0  # the class (or regression value) a click adds
        self._undo: list[Dataset] = []
        self._redo: list[Dataset] = []
        self._stroke: _Stroke | None = None
        self._mine: Dataset | None = None  # the Dataset drawing last gave the state
        state.network_changed.connect(self._on_state_network_changed)

    # -- reading ---------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def unavailable(self) -> str:
        """Why the shown data cannot be drawn on ("" when it can)."""
        data = self.state.dataset
        if data is None:
            return "The data is still loading."
        if data.n_inputs != 2:
            return (
                f"Points are drawn on data with two inputs; this data has {data.n_inputs}, so "
                "a point in the plane shown is not a point of the data."
            )
        return ""

    # -- commands --------------------------------------------------------------------------

    def set_active(self, active: bool) -> None:
        """Draw mode on or off: on, the boundary view's clicks and drags draw."""
        reason = self.unavailable() if active else ""
        if reason:
            self.state.show_notice(reason)
            active = False
        if active != self.active:
            self.active = active
            self._show_counts()
        self.active_changed.emit(self.active)  # also when refused: the button goes back

    def set_label(self, label: float) -> None:
        """The class index (or, for a regression, the target value) new points get."""
        self.label = float(label)

    @Slot(float, float, bool)
    def begin_stroke(self, x: float, y: float, erase: bool) -> None:
        """A press in the view: add a point there, or (`erase`) remove the one under it."""
        if not self.active or self.unavailable():
            return
        self.state.clear_notice()
        self.state.go_live()  # the points belong to the run as it is now
        self._stroke = _Stroke(self.state.dataset, erase)
        self._paint(x, y)

    @Slot(float, float)
    def extend_stroke(self, x: float, y: float) -> None:
        """A drag: another point every SPACING_PIXELS, or remove what the pointer passes."""
        if self._stroke is not None:
            self._paint(x, y)

    @Slot()
    def end_stroke(self) -> None:
        """The release: the stroke becomes one undo step, and training gets its points."""
        stroke, self._stroke = self._stroke, None
        if stroke is None or self.state.dataset is stroke.before:
            return
        self._undo = [*self._undo, stroke.before][-MAX_UNDO:]
        self._redo = []
        self._commit()
        self.history_changed.emit()

    def undo(self) -> None:
        self._travel(self._undo, self._redo)

    def redo(self) -> None:
        self._travel(self._redo, self._undo)

    def start_from_empty(self) -> None:
        """Take every point away, training and test (one undo step), and turn drawing on."""
        if self.unavailable():
            self.set_active(True)  # says why not
            return
        data = self.state.dataset
        self.set_active(True)
        if not len(data.x_train) and not len(data.x_test):
            return
        self._undo = [*self._undo, data][-MAX_UNDO:]
        self._redo = []
        none, no_labels = np.empty((0, data.n_inputs)), np.empty(0)
        empty = dataclasses.replace(
            data, x_train=none, y_train=no_labels, x_test=none, y_test=no_labels
        )
        self._show(empty)
        self._commit()
        self.history_changed.emit()

    # -- internals -------------------------------------------------------------------------

    def _paint(self, x: float, y: float) -> None:
        stroke, data = self._stroke, self.state.dataset
        width, height = self.view.pixel_size()
        if stroke.erase:
            hit = nearest_point(data, (x, y), REMOVE_PIXELS * max(width, height))
            if hit is not None:
                split, index = hit
                removed = {"remove": [index]} if split == "train" else {"remove_test": [index]}
                self._show(with_points(data, min_train=0, **removed))
            return
        if stroke.last is not None:
            lx, ly = stroke.last
            if math.hypot((x - lx) / width, (y - ly) / height) < SPACING_PIXELS - 1e-6:
                return
        stroke.last = (x, y)
        test = drawn_to_test(data, self.label)
        self._show(with_points(data, [[x, y]], [self.label], test=[test], min_train=0))

    def _show(self, data: Dataset) -> None:
        """Draw `data` at once (the process hears of it when the stroke ends)."""
        self._mine = data
        self.state.set_data(data)
        self._show_counts()

    def _travel(self, source: list[Dataset], target: list[Dataset]) -> None:
        """Undo (from the undo stack to the redo stack) or redo (the other way)."""
        if not source or self._stroke is not None:
            return
        target.append(self.state.dataset)
        self.state.go_live()
        data = source.pop()
        self._send(data)  # first: what the new points set off (Explain) asks about them
        self._show(data)
        self._commit()
        self.history_changed.emit()

    def _commit(self) -> None:
        """Send the state's points to the process if it can train on them, and hold training
        (pausing it) with a message while they lack a class."""
        data = self.state.dataset
        self._send(data)
        reason = waiting_for(data)
        if reason and self.state.playing:
            self.training.pause()
        self.state.set_hold(reason)

    def _send(self, data: Dataset) -> None:
        if len(data.x_train) >= 2 and data is not self.state.trained_data:
            self.client.send(SetData(data))
            self.state.set_trained_data(data)

    def _show_counts(self) -> None:
        data = self.state.dataset
        self.counts_changed.emit(counts_text(data) if data is not None else "")

    @Slot()
    def _on_state_network_changed(self) -> None:
        """A new run: on the drawn points (a new architecture), undo goes on; on other data
        (a session of a drawing among them), it is forgotten. Either way training waits for
        whatever the points lack."""
        self._stroke = None
        data = self.state.dataset
        if data is not self._mine:
            self._mine = None
            if self._undo or self._redo:
                self._undo, self._redo = [], []
                self.history_changed.emit()
            if self.active and self.unavailable():
                self.set_active(False)
        self.state.set_hold(waiting_for(data))
        self._show_counts()


def waiting_for(data: Dataset) -> str:
    """What training needs drawn before it can go on ("" when nothing): two training points,
    and a point of every class."""
    n = len(data.x_train)
    if data.task != "regression":
        counts = np.bincount(data.y_train.astype(int), minlength=data.n_classes)
        missing = [str(k) for k in range(data.n_classes) if counts[k] == 0]
        if missing:
            if len(missing) == 1:
                return f"Training waits for points: draw a point of class {missing[0]}."
            which = ", ".join(missing[:-1]) + " and " + missing[-1]
            return f"Training waits for points: draw a point of each of classes {which}."
    if n < 2:
        return "Training waits for points: draw at least 2."
    return ""


def counts_text(data: Dataset) -> str:
    """The training points, per class: "class 0: 12 · class 1: 9" (or "14 points")."""
    if data.task == "regression":
        return f"{len(data.x_train)} training points"
    counts = np.bincount(data.y_train.astype(int), minlength=data.n_classes)
    return "  ·  ".join(f"class {k}: {c}" for k, c in enumerate(counts))
