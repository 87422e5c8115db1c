"""The step-through side panel: walk one iteration phase by phase and read each formula.

The panel holds a `nnviz.core.explain.StepThrough` (given with `set_step`), the current phase, the
chosen sample (a training-set index, or the batch) and the selected node, bias or edge. Whenever
one of them changes it shows the selection's formula with live numbers and emits
`phase_changed(PhaseView)`, which the window passes to `NetworkView.show_explain`.

It never trains: at the last phase, Next emits `step_requested()`, and the window runs the
iteration and loads the next step-through with `set_step`.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSizePolicy,
    QSpinBox,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.explain import Formula, Item, PhaseView, StepThrough
from .color_scheme import muted_color

__all__ = ["BATCH", "ExplainPanel", "formula_html"]

#: The sample chooser's value (and `sample_changed`'s argument) for "the whole batch".
BATCH = -1

_GREEK = {"delta": "δ", "eta": "η", "mu": "μ"}


def _pretty(text: str) -> str:
    """One escaped formula fragment with Greek letters, subscripts, powers and dot products."""
    text = html.escape(text)
    text = text.replace("dE/d", "∂E/∂").replace("&lt;-", "←").replace(" * ", " · ")
    text = re.sub(r"\bsqrt\(", "√(", text)
    text = re.sub(r"\bsum_(\w)\b", r"Σ<sub>\1</sub>", text)
    text = re.sub(r"\b(delta|eta|mu)\b", lambda m: _GREEK[m.group(1)], text)
    text = re.sub(
        r"\b(delta|[awhbxEsvpy])_(\w+)",  # p_k and y_k: a softmax's class terms
        lambda m: f"<i>{_GREEK.get(m.group(1), m.group(1))}</i><sub>{m.group(2)}</sub>",
        text,
    )
    return re.sub(r"\^(\w+|\([^)]*\))", r"<sup>\1</sup>", text)


def formula_html(formula: Formula, muted: str = "#6e6e6e") -> str:
    """Rich text for the panel: the title, each equation broken at its "=" signs, then notes."""
    parts = [f"<p style='margin-bottom:6px'><b>{html.escape(formula.title)}</b></p>"]
    for line in formula.lines:
        pieces = line.split(" = ")
        for n, piece in enumerate(pieces):
            indent = 0 if n == 0 else 18
            after = 8 if n == len(pieces) - 1 else 0
            ends = " =" if n < len(pieces) - 1 else ""
            parts.append(
                f"<p style='margin-left:{indent}px; margin-top:0px; margin-bottom:{after}px'>"
                f"{_pretty(piece)}{ends}</p>"
            )
    for note in formula.notes:
        parts.append(f"<p style='color:{muted}; margin-top:0px'>{_pretty(note)}</p>")
    return "".join(parts)


class ExplainPanel(QWidget):
    """Previous/Next through the phases of one iteration, a sample chooser and the formula."""

    #: The `PhaseView` the network view should show; emitted on every change.
    phase_changed = Signal(object)
    #: The chosen training sample (an index into the training set), or BATCH.
    sample_changed = Signal(int)
    #: Next was pressed at the last phase: run the iteration and `set_step` the next one.
    step_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step: StepThrough | None = None
        self._index = 0
        self._sample: int | None = 0
        self._chosen: Item | None = None  # what the user picked; None follows the phase
        self._view: PhaseView | None = None

        self.previous_action = QAction("Previous", self)
        self.previous_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_BracketLeft), QKeySequence(Qt.Key.Key_PageUp)]
        )
        self.previous_action.setToolTip("Previous phase of the iteration ([ or Page Up)")
        self.previous_action.triggered.connect(self._on_previous_triggered)
        self.next_action = QAction("Next", self)
        self.next_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_BracketRight), QKeySequence(Qt.Key.Key_PageDown)]
        )
        self.next_action.setToolTip(
            "Next phase; after the update, run the iteration (] or Page Down)"
        )
        self.next_action.triggered.connect(self._on_next_triggered)
        for action in (self.previous_action, self.next_action):
            self.addAction(action)

        self.previous_button = QToolButton()
        self.previous_button.setDefaultAction(self.previous_action)
        self.previous_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.next_button = QToolButton()
        self.next_button.setDefaultAction(self.next_action)
        self.next_button.setArrowType(Qt.ArrowType.RightArrow)
        for button in (self.previous_button, self.next_button):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.phase_label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.phase_label.setTextFormat(Qt.TextFormat.RichText)

        self.sample_box = QSpinBox()
        self.sample_box.setRange(BATCH, 0)
        self.sample_box.setSpecialValueText("batch")
        self.sample_box.setPrefix("#")
        self.sample_box.setKeyboardTracking(False)
        self.sample_box.setToolTip(
            "The training sample whose values are shown (click a point in the boundary view), "
            "or 'batch' for the batch means and sums the loss uses"
        )
        self.sample_box.valueChanged.connect(self._on_sample_box_value_changed)
        self.sample_info = QLabel()
        self.sample_info.setWordWrap(True)

        self.phase_list = QListWidget()
        self.phase_list.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.phase_list.currentRowChanged.connect(self._on_phase_list_current_row_changed)

        self.header = QLabel("Load a step to explain an iteration.")
        self.header.setWordWrap(True)
        self.formula_view = QTextBrowser()
        self.formula_view.setReadOnly(True)
        self.formula_view.setOpenLinks(False)
        self.formula_view.setMinimumHeight(140)

        # Every row wraps or shares its width, so the panel fits a narrow dock without
        # scrolling sideways, and a longer phase name never moves the dock's edge.
        navigation = QHBoxLayout()
        navigation.addWidget(self.previous_button)
        navigation.addWidget(self.next_button)
        sample_row = QHBoxLayout()
        sample_row.addWidget(QLabel("Sample"))
        sample_row.addWidget(self.sample_box)
        sample_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.phase_label)
        layout.addLayout(navigation)
        layout.addWidget(self.phase_list)
        layout.addLayout(sample_row)
        layout.addWidget(self.sample_info)
        layout.addWidget(self.formula_view, 1)
        self._update_actions()

    # -- public API --------------------------------------------------------------------------

    @property
    def phase_index(self) -> int:
        return self._index

    @property
    def sample(self) -> int | None:
        """The chosen training sample, or None for the batch."""
        return self._sample

    @property
    def selection(self) -> Item | None:
        """The node, bias or edge whose formula is shown."""
        if self.step is None:
            return None
        return self._chosen or self.step.default_item(self._index)

    @property
    def current_view(self) -> PhaseView | None:
        """The PhaseView last emitted with `phase_changed`."""
        return self._view

    def formula(self) -> Formula | None:
        """The formula shown, as plain text (for tests and copying)."""
        if self.step is None:
            return None
        return self.step.formula(self._index, self.selection, self._sample)

    def set_step(self, step: StepThrough) -> None:
        """Load a new iteration's step-through and start at its first phase."""
        self.step = step
        self._index = 0
        if self._chosen is not None and not self._valid(self._chosen):
            self._chosen = None
        if self._sample is not None and self._sample >= len(step.x_train):
            self._sample = 0
        self.sample_box.blockSignals(True)
        self.sample_box.setRange(BATCH, len(step.x_train) - 1)
        self.sample_box.setValue(BATCH if self._sample is None else self._sample)
        self.sample_box.blockSignals(False)
        self.phase_list.blockSignals(True)
        self.phase_list.clear()
        self.phase_list.addItems([phase.title for phase in step.phases])
        self.phase_list.setCurrentRow(0)
        self.phase_list.blockSignals(False)
        rows = max(len(step.phases), 1)
        self.phase_list.setMaximumHeight(self.phase_list.sizeHintForRow(0) * rows + 6)
        self._refresh()

    def set_phase(self, index: int) -> None:
        if self.step is None:
            return
        index = max(0, min(int(index), len(self.step.phases) - 1))
        if index != self._index:
            self._index = index
            self._refresh()

    def set_sample(self, sample: int | None) -> None:
        """Choose a training sample (an index into the training set) or None for the batch."""
        self.sample_box.setValue(BATCH if sample is None or sample < 0 else int(sample))

    def select_node(self, layer: int, unit: int) -> None:
        self._select(Item("node", int(layer), int(unit)))

    def select_bias(self, layer: int, unit: int) -> None:
        self._select(Item("bias", int(layer), int(unit)))

    def select_edge(self, k: int, i: int, j: int) -> None:
        """Select the edge `W{k}[i, j]` (from unit i of column k-1 to unit j of column k)."""
        self._select(Item("edge", int(k), int(j), int(i)))

    @Slot(object)
    def select_hit(self, hit) -> None:
        """Select what a `NetworkView.Hit` names (connect `item_clicked` here). A click on a
        diagram that already shows another network than the step's is ignored."""
        if hit is None:
            return
        item = Item(hit.kind, hit.layer, hit.unit, hit.source)
        if self.step is None or self._valid(item):
            self._select(item)

    def clear_selection(self) -> None:
        """Let the formula follow the active layer again."""
        self._chosen = None
        self._refresh()

    # -- internals ---------------------------------------------------------------------------

    def _valid(self, item: Item) -> bool:
        sizes = self.step.sizes
        if item.kind == "edge":
            return (
                1 <= item.layer < len(sizes)
                and 0 <= item.source < sizes[item.layer - 1]
                and 0 <= item.unit < sizes[item.layer]
            )
        if not 0 <= item.layer < len(sizes) or not 0 <= item.unit < sizes[item.layer]:
            return False
        return item.kind == "node" or item.layer > 0

    def _select(self, item: Item) -> None:
        if self.step is not None and not self._valid(item):
            raise ValueError(f"{item} is not in the network {self.step.sizes}")
        self._chosen = item
        self._refresh()

    def _update_actions(self) -> None:
        loaded = self.step is not None
        last = loaded and self._index == len(self.step.phases) - 1
        self.previous_action.setEnabled(loaded and self._index > 0)
        self.next_action.setEnabled(loaded)
        self.next_action.setText("Next iteration" if last else "Next phase")

    def _refresh(self) -> None:
        step = self.step
        self._update_actions()
        if step is None:
            return
        phase = step.phases[self._index]
        if self.phase_list.currentRow() != self._index:
            self.phase_list.blockSignals(True)
            self.phase_list.setCurrentRow(self._index)
            self.phase_list.blockSignals(False)
        self.phase_label.setText(
            f"<b>{html.escape(phase.title)}</b> &nbsp;({self._index + 1}/{len(step.phases)})"
        )
        rule = "-η·∂E/∂w" if step.optimizer == "gd" else f"{step.optimizer}"
        kind = "full batch" if step.batch_size == len(step.x_train) else "mini-batch"
        self.header.setText(
            f"<b>Iteration {step.iteration:,}</b> · {step.loss} loss E = {step.loss_value:.4g}"
            f"<br>{kind} of {step.batch_size} · update {rule}, η = {step.learning_rate:g}"
        )
        values = step.values(self._sample)
        if self._sample is None:
            self.sample_info.setText(f"means and sums over the {step.batch_size} samples")
        else:
            x = ", ".join(f"{v:.3g}" for v in values.x)
            where = "in this batch" if values.in_batch else "not in this batch"
            self.sample_info.setText(f"x = ({x}), y = {values.y:g}; {where}")
        selection = self.selection
        formula = step.formula(self._index, selection, self._sample)
        self.formula_view.setHtml(formula_html(formula, muted_color(self)))
        self._view = step.phase_view(self._index, self._sample, selection)
        self.phase_changed.emit(self._view)

    @Slot()
    def _on_previous_triggered(self) -> None:
        self.set_phase(self._index - 1)

    @Slot()
    def _on_next_triggered(self) -> None:
        if self.step is None:
            return
        if self._index == len(self.step.phases) - 1:
            self.step_requested.emit()
        else:
            self.set_phase(self._index + 1)

    @Slot(int)
    def _on_phase_list_current_row_changed(self, row: int) -> None:
        if row >= 0:
            self.set_phase(row)

    @Slot(int)
    def _on_sample_box_value_changed(self, value: int) -> None:
        self._sample = None if value == BATCH else value
        self.sample_changed.emit(value)
        self._refresh()
