"""The control panel: one editor per Config field, built from the fields' descriptions.

Labels, tooltips, ranges, steps and group boxes come from `nnviz.core.config.FIELDS`, so the panel
offers exactly the values Config accepts and a new field appears here by itself. The panel only
reports edits (`field_edited`) and shows messages; the controllers decide what a change means (live
update or reset), so the panel never touches the trainer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial
from itertools import pairwise
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import PRESETS, Config, ConfigError
from ..core.config import EFFECT_TEXT, FIELDS, GROUPS, LAYERS_MAX, FieldSpec
from ..core.features import LABELS
from .color_scheme import error_color

#: What the preset box shows when the config is none of the presets.
CUSTOM = "custom"
PRESET_TIP = (
    "Load a complete setup. 'seed' is the article's published run "
    "(moons, noise 0.2, 5 sigmoid units, lr 0.1, 20000 iterations)."
)
_FLOAT_CHARACTERS = set("0123456789.eE+-")
_MOST_DECIMALS = 323  # QDoubleSpinBox's limit


def tooltip(spec: FieldSpec) -> str:
    """The help text, the allowed values and what a change costs, as one tooltip."""
    allowed = spec.allowed()
    return f"{spec.help}\nAllowed: {allowed}.\n{EFFECT_TEXT[spec.effect]}"


def _qt_rounded(value: float) -> float:
    """What QDoubleSpinBox keeps of `value` at its most decimals (323): itself unless tiny."""
    return float(f"{value:.{_MOST_DECIMALS}f}")


class NumberBox(QDoubleSpinBox):
    """A spin box for every int or float a FieldSpec allows, keeping the value exactly.

    QSpinBox is 32-bit signed (seeds go to 2**32 - 1), and QDoubleSpinBox rounds to its decimals.
    This one uses Qt's most decimals, shows the shortest text that reads back to the same number
    (repr), takes whole numbers only for int fields (exact up to 2**53), refuses an open bound, and
    keeps aside the rare float too small for 323 decimals (below about 1e-307), so `number()` is
    always what was set or typed.
    """

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._integer = spec.kind in {"int", "layers"}
        self._tiny: float | None = None  # a value Qt would round, as it was given
        self.setDecimals(0 if self._integer else _MOST_DECIMALS)
        self.setRange(spec.low, spec.high)
        self.setSingleStep(spec.step)
        self.setKeyboardTracking(False)  # one edit when the user is done typing, not per key
        self.setAccelerated(True)
        if spec.special:
            self.setSpecialValueText(spec.special)
        self.valueChanged.connect(self._on_value_changed)

    def number(self) -> int | float:
        """The value as the Config field stores it."""
        if self._tiny is not None:
            return self._tiny
        return int(self.value()) if self._integer else self.value()

    def setValue(self, value: float) -> None:
        self._keep_if_tiny(value)
        super().setValue(value)

    def textFromValue(self, value: float) -> str:
        if self._integer:
            return str(int(value))
        if self._tiny is not None and value == _qt_rounded(self._tiny):
            value = self._tiny
        return repr(float(value)).removesuffix(".0")

    def valueFromText(self, text: str) -> float:
        number = self._parse(text)
        if number is None:
            return self.value()
        self._keep_if_tiny(number)
        return number

    def validate(self, text: str, position: int) -> object:
        """Acceptable: an allowed value; Intermediate: could become one; else Invalid."""
        state = QValidator.State
        if self.specialValueText() and text == self.specialValueText():
            return state.Acceptable, text, position
        characters = set("0123456789+") if self._integer else _FLOAT_CHARACTERS
        if not set(text.strip()) <= characters:
            return state.Invalid, text, position
        ok = self._parse(text) is not None
        return (state.Acceptable if ok else state.Intermediate), text, position

    def stepBy(self, steps: int) -> None:
        """Decimal steps that stay readable (0.25 + 0.05 shows 0.3) and stop at an open bound."""
        value = self.number()
        target = value + steps * self._step_at(value, steps)
        target = round(target) if self._integer else float(f"{target:.12g}")
        if target <= self.spec.low:
            target = value if self.spec.open_low else self.spec.low
        elif target >= self.spec.high:
            target = value if self.spec.open_high else self.spec.high
        self.setValue(target)

    def _keep_if_tiny(self, value: float) -> None:
        self._tiny = None
        if not self._integer and _qt_rounded(value) != value:
            self._tiny = float(value)

    @Slot(float)
    def _on_value_changed(self, value: float) -> None:
        if self._tiny is not None and value != _qt_rounded(self._tiny):
            self._tiny = None  # the user moved on from the tiny value

    def _step_at(self, value: float, steps: int) -> float:
        if not self.spec.log_step or value <= 0:
            return self.spec.step
        exponent = math.floor(math.log10(value)) - 1
        if steps < 0 and math.isclose(value, 10.0 ** (exponent + 1)):
            exponent -= 1  # down from 0.1 goes to 0.099, not 0.09
        return 10.0**exponent

    def _parse(self, text: str) -> float | None:
        """The allowed value `text` names, or None."""
        text = text.strip()
        if self.specialValueText() and text == self.specialValueText():
            return float(self.spec.low)
        try:
            number = float(int(text)) if self._integer else float(text)
        except (ValueError, OverflowError):
            return None
        return number if math.isfinite(number) and self.spec.in_range(number) else None


class HiddenLayersEditor(QWidget):
    """A row of neuron counts, one spin box per hidden layer, with add/remove layer buttons."""

    changed = Signal()

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self._remove = QToolButton(text="−", toolTip="Remove the last hidden layer")
        self._add = QToolButton(text="+", toolTip="Add a hidden layer")
        self._boxes: list[NumberBox] = []
        for index in range(LAYERS_MAX):
            box = NumberBox(spec)
            box.setToolTip(f"Neurons in hidden layer {index + 1}")
            box.valueChanged.connect(self.changed)
            box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            box.setMaximumWidth(40)
            box.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._boxes.append(box)
            layout.addWidget(box)
        layout.addStretch(1)
        layout.addWidget(self._remove)
        layout.addWidget(self._add)
        self._remove.clicked.connect(self._on_remove_clicked)
        self._add.clicked.connect(self._on_add_clicked)
        self.set_layers((5,))

    def layers(self) -> tuple[int, ...]:
        return tuple(box.number() for box in self._boxes if not box.isHidden())

    def set_layers(self, layers: tuple[int, ...]) -> None:
        for index, box in enumerate(self._boxes):
            box.blockSignals(True)
            box.setHidden(index >= len(layers))
            if index < len(layers):
                box.setValue(layers[index])
            box.blockSignals(False)
        self._remove.setEnabled(len(layers) > 1)
        self._add.setEnabled(len(layers) < len(self._boxes))

    def width_box(self, index: int) -> NumberBox:
        return self._boxes[index]

    @Slot()
    def _on_add_clicked(self) -> None:
        layers = self.layers()
        self.set_layers((*layers, layers[-1]))
        self.changed.emit()

    @Slot()
    def _on_remove_clicked(self) -> None:
        self.set_layers(self.layers()[:-1])
        self.changed.emit()


class MultiEditor(QWidget):
    """Toggle buttons for a "multi" field (the feature crosses, as TensorFlow Playground's
    input column): any distinct subset of `spec.choices`.

    The value keeps the order it was given, and a newly checked choice goes at the end, so a
    config round-trips exactly (x2,x1 is another network than x1,x2: its first weights row
    differs). Unchecking every choice is reported too; the core refuses it with a message.
    """

    changed = Signal()

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.buttons: dict[str, QToolButton] = {}
        for index, choice in enumerate(spec.choices):
            button = QToolButton(text=LABELS.get(choice, choice), checkable=True)
            button.setToolTip(f"{choice}: use {LABELS.get(choice, choice)} as an input")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.toggled.connect(partial(self._on_button_toggled, choice))
            layout.addWidget(button, index // 4, index % 4)
            self.buttons[choice] = button
        self._chosen: list[str] = []

    def chosen(self) -> tuple[str, ...]:
        return tuple(self._chosen)

    def set_chosen(self, chosen: tuple[str, ...]) -> None:
        self._chosen = [choice for choice in chosen if choice in self.buttons]
        for choice, button in self.buttons.items():
            button.blockSignals(True)
            button.setChecked(choice in self._chosen)
            button.blockSignals(False)

    def _on_button_toggled(self, choice: str, checked: bool) -> None:
        if checked and choice not in self._chosen:
            self._chosen.append(choice)
        elif not checked and choice in self._chosen:
            self._chosen.remove(choice)
        self.changed.emit()


def shown_order(layout: QLayout) -> Iterator[QWidget]:
    """The widgets that take focus with Tab in `layout`, in layout order (nested layouts and
    containers included)."""
    for index in range(layout.count()):
        item = layout.itemAt(index)
        widget, inner = item.widget(), item.layout()
        if widget is not None and widget.layout() is not None:
            yield from shown_order(widget.layout())
        elif widget is not None and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            yield widget
        elif inner is not None:
            yield from shown_order(inner)


class PathEditor(QWidget):
    """A file path: read-only text, … to browse for a file, ✕ for no file."""

    changed = Signal()

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.line = QLineEdit(placeholderText="no file", readOnly=True)
        browse = QToolButton(text="…", toolTip=f"Browse for the {spec.label.lower()}")
        self.clear_button = QToolButton(text="✕", toolTip="No file")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.clear_button)
        layout.addWidget(browse)
        browse.clicked.connect(self._on_browse_clicked)
        self.clear_button.clicked.connect(self._on_clear_clicked)
        self.line.textChanged.connect(self._on_line_text_changed)
        self._on_line_text_changed("")

    def path(self) -> str | None:
        return self.line.text() or None

    def set_path(self, path: str | None) -> None:
        self.line.setText(path or "")

    @Slot()
    def _on_browse_clicked(self) -> None:
        patterns = " ".join(f"*.{suffix}" for suffix in self.spec.suffixes)
        path, _ = QFileDialog.getOpenFileName(
            self, self.spec.label, "", f"{self.spec.label} ({patterns});;All files (*)"
        )
        if path:
            self.line.setText(path)
            self.changed.emit()

    @Slot()
    def _on_clear_clicked(self) -> None:
        self.line.clear()
        self.changed.emit()

    @Slot(str)
    def _on_line_text_changed(self, text: str) -> None:
        self.clear_button.setEnabled(bool(text))


class ControlPanel(QWidget):
    """Every Config field in its group, with a message line under any value the core rejects."""

    field_edited = Signal(str)
    preset_chosen = Signal(str)
    regenerate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editors: dict[str, QWidget] = {}
        self._rows: dict[str, list[QWidget]] = {}  # what to enable or disable with the field
        self._errors: dict[str, QLabel] = {}
        self._presets = {name: Config.preset(name) for name in PRESETS}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        self.preset = QComboBox(toolTip=PRESET_TIP)
        self.preset.addItems([*PRESETS, CUSTOM])
        self.preset.model().item(len(PRESETS)).setEnabled(False)  # shown, never chosen
        self.preset.activated.connect(self._on_preset_activated)
        top = QFormLayout()
        top.addRow("Preset", self.preset)
        layout.addLayout(top)

        forms = {group: self._group(layout, group) for group in GROUPS}
        for name, spec in FIELDS.items():
            self._add(forms[spec.group], name, spec)
        regenerate = QPushButton("Regenerate", toolTip="Draw new points (a new data seed).")
        regenerate.clicked.connect(self.regenerate_requested)
        forms["Data"].addRow(regenerate)
        layout.addStretch(1)

        self.csv_path: QLineEdit = self._editors["csv_path"].line
        self.hidden: HiddenLayersEditor = self._editors["hidden"]
        for other in {spec.used_if[0] for spec in FIELDS.values() if spec.used_if}:
            self._editors[other].currentTextChanged.connect(self._update_enabled)
        self._update_enabled()
        self.hidden.changed.connect(self._order_tabs)
        self._order_tabs()

    # -- building --------------------------------------------------------------------------

    def _group(self, layout: QVBoxLayout, title: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(2)
        form.setContentsMargins(8, 4, 8, 6)
        layout.addWidget(box)
        return form

    def _editor(self, name: str, spec: FieldSpec) -> QWidget:
        """The editor of field `name`, which reports the user's edits."""
        emit = partial(self._on_editor_edited, name)
        if spec.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(spec.choices))
            combo.activated.connect(emit)
            return combo
        if spec.kind in {"int", "float"}:
            box = NumberBox(spec)
            box.valueChanged.connect(emit)
            return box
        if spec.kind == "layers":
            layers = HiddenLayersEditor(spec)
            layers.changed.connect(emit)
            return layers
        if spec.kind == "multi":
            multi = MultiEditor(spec)
            multi.changed.connect(emit)
            return multi
        path = PathEditor(spec)
        path.changed.connect(emit)
        return path

    def _add(self, form: QFormLayout, name: str, spec: FieldSpec) -> None:
        editor = self._editor(name, spec)
        tip = tooltip(spec)
        editor.setToolTip(tip)
        self._editors[name] = editor
        error = QLabel(wordWrap=True)
        error.hide()
        self._errors[name] = error
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(1)
        column_layout.addWidget(editor)
        column_layout.addWidget(error)
        title = QLabel(spec.label, toolTip=tip)
        title.setBuddy(editor)
        form.addRow(title, column)
        self._rows[name] = [title, editor]

    # -- values ----------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The panel's values as Config fields (not yet validated by the core)."""
        values = {}
        for name, editor in self._editors.items():
            if isinstance(editor, QComboBox):
                values[name] = editor.currentText()
            elif isinstance(editor, NumberBox):
                values[name] = editor.number()
            elif isinstance(editor, HiddenLayersEditor):
                values[name] = editor.layers()
            elif isinstance(editor, MultiEditor):
                values[name] = editor.chosen()
            elif isinstance(editor, PathEditor):
                values[name] = editor.path()
        return values

    def config(self) -> Config:
        """The panel's values as a Config; raises ConfigError when the core refuses them."""
        return Config(**self.values())

    def set_config(self, config: Config, preset: str | None = None) -> None:
        """Show `config` without emitting edits; the preset box names the preset it is, if any
        (`preset` first, when several would match), else "custom"."""
        for name, editor in self._editors.items():
            value = getattr(config, name)
            editor.blockSignals(True)
            if isinstance(editor, QComboBox):
                editor.setCurrentText(value)
            elif isinstance(editor, NumberBox):
                editor.setValue(value)
            elif isinstance(editor, HiddenLayersEditor):
                editor.set_layers(value)
            elif isinstance(editor, MultiEditor):
                editor.set_chosen(value)
            elif isinstance(editor, PathEditor):
                editor.set_path(value)
            editor.blockSignals(False)
        self._show_preset(config, preset)
        self._update_enabled()
        self._order_tabs()

    def _order_tabs(self) -> None:
        """Tab walks the controls as they are shown, top to bottom (not in creation order,
        which follows the Config's fields, nor missing the layer boxes added later)."""
        for before, after in pairwise(shown_order(self.layout())):
            QWidget.setTabOrder(before, after)

    def editor(self, name: str) -> QWidget:
        return self._editors[name]

    def show_error(self, name: str, message: str) -> None:
        label = self._errors.get(name) or self._errors["dataset"]
        label.setStyleSheet(f"color: {error_color(self)};")  # read against today's scheme
        label.setText(message)
        label.show()

    def clear_errors(self) -> None:
        for label in self._errors.values():
            label.clear()
            label.hide()

    def error_text(self, name: str) -> str:
        label = self._errors[name]
        return label.text() if not label.isHidden() else ""

    def _show_preset(self, config: Config | None, first: str | None = None) -> None:
        """Name the preset `config` is (`first` when several are), else "custom"."""
        names = [first, *self._presets] if first in self._presets else list(self._presets)
        name = next((n for n in names if self._presets[n] == config), CUSTOM)
        self.preset.setCurrentText(name)

    # -- slots -----------------------------------------------------------------------------

    @Slot()
    def _update_enabled(self) -> None:
        """A field that means nothing with the current choices (momentum with adam) is greyed."""
        for name, spec in FIELDS.items():
            if spec.used_if:
                other, values = spec.used_if
                used = self._editors[other].currentText() in values
                for widget in self._rows[name]:
                    widget.setEnabled(used)

    def _on_editor_edited(self, name: str, *_: object) -> None:
        """The user changed field `name`: name the preset the panel now shows, and report it."""
        try:
            config = self.config()
        except ConfigError:  # the controller shows why; the panel is no preset meanwhile
            config = None
        self._show_preset(config)
        self.field_edited.emit(name)

    @Slot(int)
    def _on_preset_activated(self, index: int) -> None:
        self.preset_chosen.emit(self.preset.itemText(index))
