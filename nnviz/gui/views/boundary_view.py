"""The decision boundary: the network's p(class 1) over the input plane, the threshold line, the data.

Items are built once; `show_frame` feeds them. The threshold line comes from `threshold_contour`, a
vectorised marching squares: pyqtgraph's `IsocurveItem` loops over the cells in Python and takes about
6 ms for a 150x150 grid, more than the rest of the redraw together.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import style
from ..frame import Frame

#: Marker sizes in pixels; test points are a little larger so the triangle reads as a triangle.
TRAIN_SIZE = 7
TEST_SIZE = 9
#: The heat map is drawn translucent on white, a lighter tint that keeps the points readable (the
#: colour bar matches); saturated points on a saturated map of the same hue disappear.
MAP_OPACITY = 0.6
#: Extents whose width/height ratio lies within [1/MAX_ASPECT, MAX_ASPECT] are drawn to scale.
MAX_ASPECT = 4.0


def threshold_contour(
    z: np.ndarray, extent: tuple[float, float, float, float], level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Line segments where the row-major grid `z` ([y, x], sampled at the corners of `extent`)
    crosses `level`, as x and y arrays of point pairs (for `connect="pairs"`).

    Marching squares, vectorised over the cells. A saddle cell (two opposite corners above the
    level) is resolved by the mean of its corners, as `skimage.measure.find_contours` does.
    """
    ny, nx = z.shape
    xmin, xmax, ymin, ymax = extent
    dx, dy = (xmax - xmin) / (nx - 1), (ymax - ymin) / (ny - 1)
    above = z >= level
    with np.errstate(divide="ignore", invalid="ignore"):
        # Crossings on horizontal edges (between [j, i] and [j, i+1]) and vertical edges.
        th = (level - z[:, :-1]) / (z[:, 1:] - z[:, :-1])
        tv = (level - z[:-1, :]) / (z[1:, :] - z[:-1, :])
    cols, rows = np.arange(nx, dtype=float), np.arange(ny, dtype=float)
    hx, hy = xmin + (cols[:-1] + th) * dx, np.broadcast_to(ymin + rows[:, None] * dy, th.shape)
    vx, vy = np.broadcast_to(xmin + cols * dx, tv.shape), ymin + (rows[:-1, None] + tv) * dy

    # Per cell, the crossing points on its four edges: bottom, top, left, right.
    px = np.stack([hx[:-1], hx[1:], vx[:, :-1], vx[:, 1:]], axis=-1)
    py = np.stack([hy[:-1], hy[1:], vy[:, :-1], vy[:, 1:]], axis=-1)
    crossed = np.stack(
        [
            above[:-1, :-1] != above[:-1, 1:],
            above[1:, :-1] != above[1:, 1:],
            above[:-1, :-1] != above[1:, :-1],
            above[:-1, 1:] != above[1:, 1:],
        ],
        axis=-1,
    )
    count = crossed.sum(axis=-1)

    # Ordinary cells: one segment between the two crossed edges.
    j, i = np.nonzero(count == 2)
    cells = crossed[j, i]
    first = np.argmax(cells, axis=-1)
    second = 3 - np.argmax(cells[:, ::-1], axis=-1)
    xs = [np.column_stack([px[j, i, first], px[j, i, second]])]
    ys = [np.column_stack([py[j, i, first], py[j, i, second]])]

    # Saddles: two segments that cut off either the corners unlike the bottom-left one
    # (bottom-right: bottom+right, top-left: top+left) or the bottom-left and top-right corners.
    j, i = np.nonzero(count == 4)
    if len(j):
        centre = (z[j, i] + z[j, i + 1] + z[j + 1, i] + z[j + 1, i + 1]) / 4
        joined = (centre >= level) == above[j, i]
        pairs = np.where(joined[:, None], [[0, 3, 1, 2]], [[0, 2, 1, 3]])
        for a, b in ((0, 1), (2, 3)):
            xs.append(np.column_stack([px[j, i, pairs[:, a]], px[j, i, pairs[:, b]]]))
            ys.append(np.column_stack([py[j, i, pairs[:, a]], py[j, i, pairs[:, b]]]))

    x, y = np.concatenate(xs).ravel(), np.concatenate(ys).ravel()
    finite = np.isfinite(x) & np.isfinite(y)
    finite = (finite[0::2] & finite[1::2]).repeat(2)
    return x[finite], y[finite]


class BoundaryView(QtWidgets.QWidget):
    """The input plane: p(class 1) as a heat map with a colour bar, the threshold line, the points."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.test_points_check = QtWidgets.QCheckBox("test points")
        self.test_points_check.setChecked(True)
        self.test_points_check.setToolTip(
            "Show the held-out test points (triangles with a dark outline) next to the training "
            "points (circles)."
        )
        self.test_points_check.toggled.connect(self._on_test_points_toggled)

        self.plot = style.light_plot_widget("x1", "x2")
        item = self.plot.getPlotItem()
        item.disableAutoRange()
        item.hideButtons()

        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-100)
        self.image.setLookupTable(style.probability_lut())
        self.image.setOpacity(MAP_OPACITY)
        item.addItem(self.image)

        self.colorbar = pg.ColorBarItem(
            values=(0.0, 1.0),
            colorMap=style.probability_colormap(),
            label="p(class 1)",
            interactive=False,
            width=14,
            colorMapMenu=False,
        )
        self.colorbar.setImageItem(self.image, insert_in=item)
        self.colorbar.bar.setOpacity(MAP_OPACITY)
        for name in ("left", "right", "top", "bottom"):
            style.style_axis(self.colorbar.getAxis(name))
        self.colorbar.axis.setTicks([[(v, f"{v:g}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]])

        self.contour = pg.PlotCurveItem(
            pen=pg.mkPen(style.CONTOUR_COLOR, width=2), connect="pairs", antialias=True
        )
        self.contour.setZValue(10)
        item.addItem(self.contour)
        #: The level the threshold line was last drawn at.
        self.contour_level = float("nan")

        self.train_scatter = pg.ScatterPlotItem(
            size=TRAIN_SIZE, symbol="o", pen=pg.mkPen(255, 255, 255, 230, width=1)
        )
        self.train_scatter.setZValue(20)
        item.addItem(self.train_scatter)
        self.test_scatter = pg.ScatterPlotItem(
            size=TEST_SIZE, symbol="t1", pen=pg.mkPen(*style.TEXT, width=1)
        )
        self.test_scatter.setZValue(21)
        item.addItem(self.test_scatter)

        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addStretch(1)
        controls.addWidget(self.test_points_check)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)

        self._data = None
        self._placed: tuple | None = None  # (extent, shape) the image was placed for

    # -- API -------------------------------------------------------------------------------

    def show_frame(self, frame: Frame) -> None:
        """Draw `frame`: the probability grid and threshold line always, points and range on change."""
        z = frame.probabilities
        extent = tuple(float(v) for v in frame.extent)
        self.image.setImage(z, autoLevels=False, levels=(0.0, 1.0))
        if (extent, z.shape) != self._placed:  # setRect needs the image set first
            self._set_extent(extent, z.shape)
        x, y = threshold_contour(z, extent, frame.threshold)
        self.contour.setData(x, y)
        self.contour_level = float(frame.threshold)
        if frame.data is not self._data:
            self._set_points(frame)

    def set_test_points_visible(self, visible: bool) -> None:
        self.test_points_check.setChecked(visible)

    def test_points_visible(self) -> bool:
        return self.test_points_check.isChecked()

    # -- internals -------------------------------------------------------------------------

    @QtCore.Slot(bool)
    def _on_test_points_toggled(self, checked: bool) -> None:
        self.test_scatter.setVisible(checked)

    def _set_extent(self, extent: tuple[float, float, float, float], shape: tuple[int, int]) -> None:
        """Place the grid (pixel centres on the sampled points) and show the whole extent."""
        self._placed = (extent, shape)
        xmin, xmax, ymin, ymax = extent
        ny, nx = shape
        dx, dy = (xmax - xmin) / (nx - 1), (ymax - ymin) / (ny - 1)
        self.image.setRect(QtCore.QRectF(xmin - dx / 2, ymin - dy / 2, nx * dx, ny * dy))
        item = self.plot.getPlotItem()
        ratio = (xmax - xmin) / (ymax - ymin)
        item.setAspectLocked(1.0 / MAX_ASPECT <= ratio <= MAX_ASPECT, ratio=1.0)
        item.setRange(xRange=(xmin, xmax), yRange=(ymin, ymax), padding=0)

    def _set_points(self, frame: Frame) -> None:
        data = self._data = frame.data
        self.train_scatter.setData(
            pos=data.x_train, brush=style.class_colors(data.y_train), hoverable=False
        )
        self.test_scatter.setData(
            pos=data.x_test, brush=style.class_colors(data.y_test), hoverable=False
        )
