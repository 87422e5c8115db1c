"""The control panel: one widget per Config field, grouped as Data, Network and Training.

The panel only reports edits (`field_edited`) and shows messages; the main window decides what a
change means (live update or reset), so the panel never touches the trainer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import PRESETS, Config
from ..core.config import ACTIVATIONS, DATASETS, INITS, LOSSES, OPTIMIZERS

MAX_SEED = 2**31 - 1
MAX_LAYERS = 6
MAX_WIDTH = 64

TIPS = {
    "preset": "Load a complete setup. 'seed' is the article's published run "
    "(moons, noise 0.2, 5 sigmoid units, lr 0.1, 20000 iterations).",
    "dataset": "The two-class point set. 'csv' reads your own x1,x2,label file.",
    "csv_path": "A CSV file with the header x1,x2,label and labels 0 or 1.",
    "samples": "How many points to generate (train and test together).",
    "noise": "Standard deviation of the noise added to the generated points.",
    "test_size": "Share of the points held out for testing (train_test_split test_size).",
    "data_seed": "Seed of the point generator: the same seed gives the same points.",
    "split_seed": "Seed of train_test_split: which points go to the test set.",
    "hidden": "Hidden layers and the number of neurons in each.",
    "activation": "Activation of the hidden units. The output unit is always a sigmoid.",
    "init": "How the initial weights are drawn: uniform in [-r, r] (the article's), "
    "Xavier/Glorot uniform, or He normal. Biases start at zero.",
    "init_range": "r of the uniform initialisation: weights start in [-r, r].",
    "weight_seed": "Seed of the initial weights (and of mini-batch shuffling).",
    "loss": "sse: 1/2 sum (y - p)^2 (the article's); mse: mean (y - p)^2; "
    "bce: mean binary cross-entropy.",
    "optimizer": "gd: plain gradient descent (the article's); momentum; adam.",
    "learning_rate": "Step size eta of each update. Applies live, without a reset.",
    "batch_size": "Points per update. 'full batch' uses all training points (the article's).",
    "momentum": "Momentum coefficient for the momentum optimizer. Applies live.",
    "l1": "L1 penalty l1 * sum |w| on the weights (not biases). Applies live.",
    "l2": "L2 penalty l2/2 * sum w^2 on the weights (not biases). Applies live.",
    "iterations": "Training stops by itself after this many iterations. Applies live.",
    "threshold": "Predict class 1 when p >= threshold. Moves the ROC operating point; live.",
}


def _spin(low: int, high: int, tip: str, special: str | None = None) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setKeyboardTracking(False)
    box.setAccelerated(True)
    if special:
        box.setSpecialValueText(special)
    box.setToolTip(tip)
    return box


def _double(low: float, high: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)
    box.setToolTip(tip)
    return box


def _combo(items, tip: str) -> QComboBox:
    box = QComboBox()
    box.addItems(list(items))
    box.setToolTip(tip)
    return box


class HiddenLayersEditor(QWidget):
    """A row of neuron counts, one spin box per hidden layer, with add/remove layer buttons."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self._remove = QToolButton(text="−", toolTip="Remove the last hidden layer")
        self._add = QToolButton(text="+", toolTip="Add a hidden layer")
        self._boxes: list[QSpinBox] = []
        for index in range(MAX_LAYERS):
            box = _spin(1, MAX_WIDTH, f"Neurons in hidden layer {index + 1}")
            box.valueChanged.connect(self.changed)
            box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
            box.setMaximumWidth(34)
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
        return tuple(box.value() for box in self._boxes if not box.isHidden())

    def set_layers(self, layers: tuple[int, ...]) -> None:
        for index, box in enumerate(self._boxes):
            box.blockSignals(True)
            box.setHidden(index >= len(layers))
            if index < len(layers):
                box.setValue(layers[index])
            box.blockSignals(False)
        self._remove.setEnabled(len(layers) > 1)
        self._add.setEnabled(len(layers) < MAX_LAYERS)

    @Slot()
    def _on_add_clicked(self) -> None:
        layers = self.layers()
        self.set_layers((*layers, layers[-1]))
        self.changed.emit()

    @Slot()
    def _on_remove_clicked(self) -> None:
        self.set_layers(self.layers()[:-1])
        self.changed.emit()


class ControlPanel(QWidget):
    """Every hyperparameter of the core, with a message line under any value the core rejects."""

    field_edited = Signal(str)
    preset_chosen = Signal(str)
    regenerate_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editors: dict[str, QWidget] = {}
        self._errors: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        self.preset = _combo(PRESETS, TIPS["preset"])
        self.preset.setPlaceholderText("custom")
        self.preset.activated.connect(self._on_preset_activated)
        top = QFormLayout()
        top.addRow("Preset", self.preset)
        layout.addLayout(top)

        data = self._group(layout, "Data")
        self._add(data, "dataset", "Dataset", _combo(DATASETS, TIPS["dataset"]))
        self.csv_path = QLineEdit(placeholderText="choose a CSV file…", toolTip=TIPS["csv_path"])
        self.csv_path.setReadOnly(True)
        browse = QPushButton("Browse…", toolTip=TIPS["csv_path"])
        browse.clicked.connect(self._on_browse_clicked)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.csv_path, 1)
        row_layout.addWidget(browse)
        self._add(data, "csv_path", "CSV file", row, editor=self.csv_path)
        self._add(data, "samples", "Samples", _spin(8, 100_000, TIPS["samples"]))
        self._add(data, "noise", "Noise", _double(0.0, 10.0, 0.05, 3, TIPS["noise"]))
        self._add(data, "test_size", "Test size", _double(0.05, 0.95, 0.05, 2, TIPS["test_size"]))
        self._add(data, "data_seed", "Data seed", _spin(0, MAX_SEED, TIPS["data_seed"]))
        self._add(data, "split_seed", "Split seed", _spin(0, MAX_SEED, TIPS["split_seed"]))
        regenerate = QPushButton("Regenerate", toolTip="Draw new points (a new data seed).")
        regenerate.clicked.connect(self.regenerate_requested)
        data.addRow(regenerate)

        network = self._group(layout, "Network")
        self.hidden = HiddenLayersEditor()
        self.hidden.setToolTip(TIPS["hidden"])
        self._add(network, "hidden", "Hidden layers", self.hidden)
        self._add(network, "activation", "Activation", _combo(ACTIVATIONS, TIPS["activation"]))
        self._add(network, "init", "Init scheme", _combo(INITS, TIPS["init"]))
        self._add(
            network,
            "init_range",
            "Init range r",
            _double(0.001, 100.0, 0.05, 3, TIPS["init_range"]),
        )
        self._add(network, "weight_seed", "Weight seed", _spin(0, MAX_SEED, TIPS["weight_seed"]))

        training = self._group(layout, "Training")
        self._add(training, "loss", "Loss", _combo(LOSSES, TIPS["loss"]))
        self._add(training, "optimizer", "Optimizer", _combo(OPTIMIZERS, TIPS["optimizer"]))
        rate = _double(0.00001, 1000.0, 0.01, 5, TIPS["learning_rate"])
        rate.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self._add(training, "learning_rate", "Learning rate", rate)
        self._add(
            training,
            "batch_size",
            "Batch size",
            _spin(0, 100_000, TIPS["batch_size"], special="full batch"),
        )
        self._add(training, "momentum", "Momentum", _double(0.0, 0.999, 0.05, 3, TIPS["momentum"]))
        self._add(training, "l1", "L1", _double(0.0, 100.0, 0.0001, 5, TIPS["l1"]))
        self._add(training, "l2", "L2", _double(0.0, 100.0, 0.0001, 5, TIPS["l2"]))
        self._add(training, "iterations", "Iterations", _spin(1, 10_000_000, TIPS["iterations"]))
        self._add(training, "threshold", "Threshold", _double(0.0, 1.0, 0.01, 3, TIPS["threshold"]))
        layout.addStretch(1)
        self._editors["dataset"].currentTextChanged.connect(self._update_enabled)

    # -- building --------------------------------------------------------------------------

    def _group(self, layout: QVBoxLayout, title: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(2)
        form.setContentsMargins(8, 4, 8, 6)
        layout.addWidget(box)
        return form

    def _add(
        self,
        form: QFormLayout,
        name: str,
        label: str,
        widget: QWidget,
        editor: QWidget | None = None,
    ) -> None:
        editor = editor or widget
        self._editors[name] = editor
        error = QLabel(wordWrap=True)
        error.setStyleSheet("color: #c0392b;")
        error.hide()
        self._errors[name] = error
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(1)
        column_layout.addWidget(widget)
        column_layout.addWidget(error)
        title = QLabel(label)
        title.setToolTip(TIPS[name])
        form.addRow(title, column)
        name_copy = name
        if isinstance(editor, QComboBox):
            editor.activated.connect(lambda _=0: self.field_edited.emit(name_copy))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.valueChanged.connect(lambda _=0: self.field_edited.emit(name_copy))
        elif isinstance(editor, HiddenLayersEditor):
            editor.changed.connect(lambda: self.field_edited.emit(name_copy))

    # -- values ----------------------------------------------------------------------------

    def values(self) -> dict:
        """The panel's values as Config fields (not yet validated by the core)."""
        values = {}
        for name, editor in self._editors.items():
            if isinstance(editor, QComboBox):
                values[name] = editor.currentText()
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                values[name] = editor.value()
            elif isinstance(editor, HiddenLayersEditor):
                values[name] = editor.layers()
            elif isinstance(editor, QLineEdit):
                values[name] = editor.text() or None
        return values

    def set_config(self, config: Config, preset: str | None = None) -> None:
        """Show `config` without emitting edits."""
        for name, editor in self._editors.items():
            value = getattr(config, name)
            editor.blockSignals(True)
            if isinstance(editor, QComboBox):
                editor.setCurrentText(value)
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.setValue(value)
            elif isinstance(editor, HiddenLayersEditor):
                editor.set_layers(value)
            elif isinstance(editor, QLineEdit):
                editor.setText(value or "")
            editor.blockSignals(False)
        self.preset.setCurrentIndex(self.preset.findText(preset) if preset else -1)
        self._update_enabled()

    def editor(self, name: str) -> QWidget:
        return self._editors[name]

    def show_error(self, name: str, message: str) -> None:
        label = self._errors.get(name) or self._errors["dataset"]
        label.setText(message)
        label.show()

    def clear_errors(self) -> None:
        for label in self._errors.values():
            label.clear()
            label.hide()

    def error_text(self, name: str) -> str:
        label = self._errors[name]
        return label.text() if not label.isHidden() else ""

    # -- slots -----------------------------------------------------------------------------

    @Slot()
    def _update_enabled(self) -> None:
        is_csv = self._editors["dataset"].currentText() == "csv"
        self.csv_path.parentWidget().setEnabled(is_csv)
        for name in ("samples", "noise", "data_seed"):
            self._editors[name].setEnabled(not is_csv)

    @Slot(int)
    def _on_preset_activated(self, index: int) -> None:
        self.preset_chosen.emit(self.preset.itemText(index))

    @Slot()
    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open points", "", "CSV files (*.csv);;All (*)")
        if path:
            self.csv_path.setText(path)
            self.field_edited.emit("csv_path")
