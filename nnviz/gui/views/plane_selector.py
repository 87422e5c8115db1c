"""The row above the boundary view that chooses which plane of data with more inputs it shows:
the first two principal components, or a slice through two inputs with the others at their
mean or at one training sample. Hidden for 2-D data, where the plane is the data's own."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from ..plane import Plane, PlaneChoice

#: The mode box's entries: (text, PlaneChoice.mode).
MODE_ITEMS = (("PCA", "pca"), ("slice", "slice"))


class PlaneSelector(QtWidgets.QWidget):
    """PCA or slice; for a slice, the two inputs and where the others are held.

    `plane_chosen(PlaneChoice)` reports the user's choice; `show_plane` shows the plane on
    screen without reporting anything.
    """

    plane_chosen = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QtWidgets.QComboBox(toolTip=_MODE_TIP)
        for text, mode in MODE_ITEMS:
            self.mode.addItem(text, mode)
        self.x_axis = _name_box("The input along the horizontal axis")
        self.y_axis = _name_box("The input along the vertical axis")
        self.held = QtWidgets.QComboBox(toolTip=_HELD_TIP)
        self.held.addItems(["mean", "sample"])
        self.sample = QtWidgets.QSpinBox(toolTip="The training sample whose other inputs are held")
        self.sample.setKeyboardTracking(False)
        self._slice_widgets = [
            self.x_axis,
            QtWidgets.QLabel("×"),
            self.y_axis,
            QtWidgets.QLabel("others at"),
            self.held,
            self.sample,
        ]
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(self.mode)
        for widget in self._slice_widgets:
            layout.addWidget(widget)
        layout.addStretch(1)
        # Never widens the view: in a narrow one (a dock open) the boxes shrink instead.
        policy = QtWidgets.QSizePolicy.Policy
        self.setSizePolicy(policy.Ignored, policy.Fixed)
        self._names: tuple[str, ...] = ()
        self._axes = (0, 1)  # the shown slice's axes
        for box in (self.mode, self.x_axis, self.y_axis, self.held):
            box.activated.connect(self._on_edited)
        self.sample.valueChanged.connect(self._on_edited)

    def show_plane(self, plane: Plane, samples: int) -> None:
        """Show `plane` (of data with `samples` training points) without reporting a choice."""
        self.setVisible(plane.kind != "plane")
        if plane.kind == "plane":
            return
        widgets = [self.mode, self.x_axis, self.y_axis, self.held, self.sample]
        for widget in widgets:
            widget.blockSignals(True)
        if plane.names != self._names:
            self._names = plane.names
            for box in (self.x_axis, self.y_axis):
                box.clear()
                box.addItems(list(plane.names))
            self.x_axis.setCurrentIndex(0)
            self.y_axis.setCurrentIndex(1)
        self.sample.setRange(0, max(samples - 1, 0))
        self.mode.setCurrentIndex(self.mode.findData(plane.kind))
        self._axes = plane.axes
        if plane.kind == "slice":
            self.x_axis.setCurrentIndex(plane.axes[0])
            self.y_axis.setCurrentIndex(plane.axes[1])
            self.held.setCurrentIndex(plane.sample is not None)
            if plane.sample is not None:
                self.sample.setValue(plane.sample)
        for widget in widgets:
            widget.blockSignals(False)
        self._show_slice_widgets()

    def choice(self) -> PlaneChoice:
        """The plane the boxes name."""
        x, y = self.x_axis.currentIndex(), self.y_axis.currentIndex()
        if x == y:  # one box took the other's input: the two swap
            before_x, before_y = self._axes
            x, y = (x, before_x) if x != before_x else (before_y, y)
        sample = self.sample.value() if self.held.currentIndex() == 1 else None
        return PlaneChoice(self.mode.currentData(), (max(x, 0), max(y, 0)), sample)

    def _show_slice_widgets(self) -> None:
        sliced = self.mode.currentData() == "slice"
        for widget in self._slice_widgets:
            widget.setVisible(sliced)
        self.sample.setVisible(sliced and self.held.currentIndex() == 1)

    @QtCore.Slot()
    def _on_edited(self, *_: object) -> None:
        self._show_slice_widgets()
        self.plane_chosen.emit(self.choice())


_MODE_TIP = (
    "Which plane of the inputs the map shows: the first two principal components of the "
    "training inputs, or a slice through two chosen inputs."
)
_HELD_TIP = "Where the inputs not on the axes are held: their training mean, or one sample's values"


def _name_box(tip: str) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox(toolTip=tip)
    box.setSizeAdjustPolicy(
        QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    )
    box.setMinimumContentsLength(6)
    return box
