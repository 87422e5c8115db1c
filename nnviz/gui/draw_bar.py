"""The row above the decision boundary for drawing points: the Draw toggle, and while drawing
the class a click adds (each in the colour the view gives it) or a regression's value, Start from
empty, Undo, Redo and the training points per class."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from . import style

#: A regression value can be set within this range (the targets nnviz makes lie in [-1, 1]).
VALUE_RANGE = (-1000.0, 1000.0)


def _chip_style(color: tuple[int, int, int]) -> str:
    """A class chip: the class's colour, a dark ring when it is the chosen one."""
    return (
        f"QToolButton {{ background: {style.color_hex(color)}; color: white; font-weight: bold;"
        " border: 2px solid transparent; border-radius: 4px; min-width: 18px; padding: 1px 4px; }"
        " QToolButton:checked { border: 2px solid #202020; }"
    )


class DrawBar(QtWidgets.QWidget):
    """Tool buttons for the window's draw actions, and the chooser of what a click adds.

    `label_chosen(value)` says which class (as a float) or regression value new points get.
    """

    label_chosen = QtCore.Signal(float)

    def __init__(
        self,
        draw: QtGui.QAction,
        empty: QtGui.QAction,
        undo: QtGui.QAction,
        redo: QtGui.QAction,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.draw_button = self._button(draw)
        layout.addWidget(self.draw_button)
        self.tools = QtWidgets.QWidget()  # shown only while drawing
        tools = QtWidgets.QHBoxLayout(self.tools)
        tools.setContentsMargins(0, 0, 0, 0)
        tools.setSpacing(3)
        self.classes = QtWidgets.QButtonGroup(self)
        self.classes.idClicked.connect(self._on_classes_id_clicked)
        self.chips = QtWidgets.QWidget()
        self.chips.setLayout(QtWidgets.QHBoxLayout())
        self.chips.layout().setContentsMargins(0, 0, 0, 0)
        self.chips.layout().setSpacing(2)
        self.value = QtWidgets.QDoubleSpinBox(
            minimum=VALUE_RANGE[0], maximum=VALUE_RANGE[1], singleStep=0.1, decimals=2
        )
        self.value.setPrefix("value ")
        self.value.setToolTip("The target of the points you add (a regression)")
        self.value.setKeyboardTracking(False)
        self.value.valueChanged.connect(self._on_value_changed)
        self.counts = QtWidgets.QLabel()
        self.counts.setToolTip("Training points: drawn points join the training split")
        # the counts take the room that is left: the bar never widens the window
        self.counts.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        for widget in (self.chips, self.value):
            tools.addWidget(widget)
        for action in (empty, undo, redo):
            tools.addWidget(self._button(action))
        tools.addWidget(self.counts, 1)
        layout.addWidget(self.tools, 1)
        layout.addStretch(0)  # with the tools hidden, the Draw button stays by the title
        self.tools.hide()
        self._task: tuple[str, int] | None = None

    def _button(self, action: QtGui.QAction) -> QtWidgets.QToolButton:
        """A compact button for `action`: its icon text (short), the full text in the menu."""
        button = QtWidgets.QToolButton()
        button.setDefaultAction(action)
        button.setAutoRaise(True)
        button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def set_drawing(self, drawing: bool) -> None:
        self.tools.setVisible(drawing)

    def set_task(self, kind: str, n_classes: int) -> None:
        """Offer classes 0..n_classes-1 (in the view's colours), or a value for a regression."""
        if (kind, n_classes) == self._task:
            return
        self._task = (kind, n_classes)
        for button in self.classes.buttons():
            self.classes.removeButton(button)
            button.deleteLater()
        regression = kind == "regression"
        self.value.setVisible(regression)
        self.chips.setVisible(not regression)
        for k in range(0 if regression else n_classes):
            color = style.CLASS_COLORS[k % len(style.CLASS_COLORS)]
            chip = QtWidgets.QToolButton(text=str(k), checkable=True)
            chip.setStyleSheet(_chip_style(color))
            chip.setToolTip(f"Add points of class {k}")
            self.classes.addButton(chip, k)
            self.chips.layout().addWidget(chip)
        if regression:
            self.label_chosen.emit(self.value.value())
        else:
            self.classes.button(0).setChecked(True)
            self.label_chosen.emit(0.0)

    def choose_class(self, k: int) -> None:
        button = self.classes.button(k)
        if button is not None:
            button.setChecked(True)
            self.label_chosen.emit(float(k))

    def set_counts(self, text: str) -> None:
        self.counts.setText(text)

    @QtCore.Slot(int)
    def _on_classes_id_clicked(self, k: int) -> None:
        self.label_chosen.emit(float(k))

    @QtCore.Slot(float)
    def _on_value_changed(self, value: float) -> None:
        self.label_chosen.emit(value)
