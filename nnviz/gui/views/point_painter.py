"""Draw mode's mouse on a plot: presses, drags and releases become strokes in data coordinates.

It filters the plot's viewport events, so while drawing is on the plot's own clicks (a point
that opens Explain, another seed's boundary) never see them; while it is off every event passes
untouched. It only reports where the pointer is; what a stroke does is the draw controller's.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui


class PointPainter(QtCore.QObject):
    """Strokes on `plot_widget` while active: `stroke_started(x, y, erase)` (erase: Shift held),
    `stroke_moved(x, y)` and `stroke_ended()`, in the plot's data coordinates, inside its
    axes only."""

    stroke_started = QtCore.Signal(float, float, bool)
    stroke_moved = QtCore.Signal(float, float)
    stroke_ended = QtCore.Signal()

    def __init__(self, plot_widget: pg.PlotWidget, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = plot_widget
        self.active = False
        self._pressed = False
        plot_widget.viewport().installEventFilter(self)

    def set_active(self, active: bool) -> None:
        """Drawing on (a cross-hair pointer) or off (the plot's own clicks again)."""
        self.active = active
        viewport = self.plot_widget.viewport()
        if active:
            viewport.setCursor(QtCore.Qt.CursorShape.CrossCursor)
        else:
            viewport.unsetCursor()
            if self._pressed:
                self._pressed = False
                self.stroke_ended.emit()

    def pixel_size(self) -> tuple[float, float]:
        """Data units per screen pixel, along x and y."""
        width, height = self.plot_widget.getPlotItem().getViewBox().viewPixelSize()
        return float(width), float(height)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if not self.active:
            return False
        kind = event.type()
        Type = QtCore.QEvent.Type
        left = QtCore.Qt.MouseButton.LeftButton
        if kind in (Type.MouseButtonPress, Type.MouseButtonDblClick):
            if event.button() != left:
                return False
            point = self._data_point(event)
            if point is None:  # on an axis or the colour bar: not a point of the plane
                return False
            self._pressed = True
            shift = bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
            self.stroke_started.emit(point.x(), point.y(), shift)
            return True
        if kind == Type.MouseMove and self._pressed:
            point = self._data_point(event)
            if point is not None:
                self.stroke_moved.emit(point.x(), point.y())
            return True
        if kind == Type.MouseButtonRelease and self._pressed and event.button() == left:
            self._pressed = False
            self.stroke_ended.emit()
            return True
        return False

    def _data_point(self, event: QtGui.QMouseEvent) -> QtCore.QPointF | None:
        """The event's place in data coordinates, or None outside the plot's axes."""
        scene = self.plot_widget.mapToScene(event.position().toPoint())
        view = self.plot_widget.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(scene):
            return None
        return view.mapSceneToView(scene)
