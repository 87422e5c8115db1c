"""The decision boundary: the network's p(class 1) over the input plane, the threshold line, the data.

Items are built once; `show_frame` feeds them. The threshold line comes from
`contours.threshold_contour`, a vectorised marching squares: pyqtgraph's `IsocurveItem` loops over the
cells in Python and takes about 6 ms for a 150x150 grid, more than the rest of the redraw together.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import style
from ..contours import threshold_contour
from ..frame import Frame, SeedView
from ..regions import class_margins, class_regions
from .plane_selector import PlaneSelector
from .point_painter import PointPainter

#: Marker sizes in pixels; test points are a little larger so the triangle reads as a triangle.
TRAIN_SIZE = 7
TEST_SIZE = 9
#: The heat map is drawn translucent on white, a lighter tint that keeps the points readable (the
#: colour bar matches); saturated points on a saturated map of the same hue disappear.
MAP_OPACITY = 0.6
#: Extents whose width/height ratio lies within [1/MAX_ASPECT, MAX_ASPECT] are drawn to scale.
MAX_ASPECT = 4.0
#: The other seeds' boundaries (a run of several seeds): faint, thin, under the selected one's.
SEED_CONTOUR_ALPHA = 110
#: A click this close to another seed's boundary (in pixels) selects that seed.
SEED_CLICK_PIXELS = 6.0


class BoundaryView(QtWidgets.QWidget):
    """The input plane: p(class 1) as a heat map with a colour bar, the threshold line, the points.

    `show_node_map` puts one unit's output in place of p(class 1) until `clear_node_map`.
    `point_clicked(index)` names a clicked training point. For a run of several seeds, every
    other seed's boundary is drawn faintly and `seed_clicked(index)` names the seed whose
    boundary a click hit. In draw mode `painter` turns clicks and drags into strokes instead.
    """

    point_clicked = QtCore.Signal(int)
    seed_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.test_points_check = QtWidgets.QCheckBox("test points")
        self.test_points_check.setChecked(True)
        self.test_points_check.setToolTip(
            "Show the held-out test points (triangles with a dark outline) next to the training "
            "points (circles)."
        )
        self.test_points_check.toggled.connect(self._on_test_points_toggled)

        self.plot_widget = style.light_plot_widget("x1", "x2")
        item = self.plot_widget.getPlotItem()
        # A fixed picture of the data's extent: no zoom or pan (the grid has no finer detail to
        # show), and the range changes only with the extent.
        item.disableAutoRange()
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
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
        self.train_scatter.sigClicked.connect(self._on_train_scatter_clicked)
        item.addItem(self.train_scatter)
        self.test_scatter = pg.ScatterPlotItem(
            size=TEST_SIZE, symbol="t1", pen=pg.mkPen(*style.TEXT, width=1)
        )
        self.test_scatter.setZValue(21)
        item.addItem(self.test_scatter)

        self.plane_selector = PlaneSelector()
        self.plane_selector.hide()  # data with more than two inputs only
        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addStretch(1)
        controls.addWidget(self.test_points_check)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plane_selector)  # a row of its own: a slice's boxes are wide
        layout.addLayout(controls)
        layout.addWidget(self.plot_widget, 1)

        self._data = None
        self._placed: tuple | None = None  # (extent, shape) the image was placed for
        self._frame: Frame | None = None
        self._node_map = False  # a unit's map is shown instead of p(class 1)
        self._build_seed_boundaries(item)
        self.painter = PointPainter(self.plot_widget, self)  # draw mode (controllers.draw_points)
        self._kind = "binary"  # the task the map is drawn for
        self._plane = None  # the plane the points were drawn in
        self._levels = (0.0, 1.0)  # the map's colour levels (a regression's target range)

    # -- API -------------------------------------------------------------------------------

    def show_frame(self, frame: Frame) -> None:
        """Draw `frame`: the probability grid and threshold line always, points and range on change."""
        self._frame = frame
        z = frame.probabilities
        extent = tuple(float(v) for v in frame.extent)
        if frame.data is not self._data or frame.plane != self._plane:
            self._set_points(frame)  # first: it sets the task's colours and levels
        if not self._node_map:
            self._show_map(frame)
        if (extent, z.shape[:2]) != self._placed:  # setRect needs the image set first
            self._set_extent(extent, z.shape[:2])
        x, y = self._lines(frame, extent)
        self.contour.setData(x, y)
        self.contour_level = float(frame.threshold)
        self.show_seed_boundaries(frame.seeds)

    def show_node_map(self, grid: np.ndarray, levels: tuple[float, float], title: str) -> None:
        """Show one unit's output over the plane (same extent) instead of p(class 1)."""
        self._node_map = True
        self.image.setImage(grid, autoLevels=False, levels=levels)
        frame = self._frame
        if frame is not None and (self._placed is None or self._placed[1] != grid.shape):
            self._set_extent(tuple(float(v) for v in frame.extent), grid.shape)
        self.colorbar.setLevels(levels)
        self.colorbar.setVisible(True)
        self.plot_widget.setTitle(title, size="9pt")

    def clear_node_map(self) -> None:
        """Back to p(class 1)."""
        if not self._node_map:
            return
        self._node_map = False
        self._show_title()
        self.colorbar.setLevels(self._levels)
        self.colorbar.setVisible(self._kind != "multiclass")
        if self._frame is not None:
            self._placed = None
            self.show_frame(self._frame)

    def shows_node_map(self) -> bool:
        return self._node_map

    def set_test_points_visible(self, visible: bool) -> None:
        self.test_points_check.setChecked(visible)

    def test_points_visible(self) -> bool:
        return self.test_points_check.isChecked()

    # -- several seeds ---------------------------------------------------------------------

    def _build_seed_boundaries(self, item: pg.PlotItem) -> None:
        self.seed_contours = pg.PlotCurveItem(
            pen=pg.mkPen(*style.CONTOUR_COLOR, SEED_CONTOUR_ALPHA, width=1), connect="pairs"
        )
        self.seed_contours.setZValue(9)
        item.addItem(self.seed_contours)
        self._seed_segments = np.zeros((0, 4))  # x0, y0, x1, y1 of each drawn segment
        self._segment_seeds = np.zeros(0, dtype=int)  # the seed each segment belongs to
        self.plot_widget.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)

    def show_seed_boundaries(self, seeds: SeedView | None) -> None:
        """Every seed's boundary but the selected one's, faintly (nothing for one seed)."""
        parts = (
            []
            if seeds is None
            else [(k, x, y) for k, (x, y) in enumerate(seeds.boundaries) if k != seeds.selected]
        )
        if not parts:
            self.seed_contours.setData([], [])
            self._seed_segments, self._segment_seeds = np.zeros((0, 4)), np.zeros(0, dtype=int)
            return
        x = np.concatenate([x for _, x, _ in parts])
        y = np.concatenate([y for _, _, y in parts])
        self.seed_contours.setData(x, y)
        self._seed_segments = np.column_stack([x[0::2], y[0::2], x[1::2], y[1::2]])
        self._segment_seeds = np.concatenate([np.full(len(x) // 2, k) for k, x, _ in parts])

    def seed_at(self, x: float, y: float) -> int | None:
        """The seed whose faint boundary passes within SEED_CLICK_PIXELS of (x, y), in data
        coordinates; the nearest one, or None."""
        segments = self._seed_segments
        if not len(segments):
            return None
        width, height = self.plot_widget.getPlotItem().getViewBox().viewPixelSize()
        scale = np.array([width, height])
        start, end = segments[:, :2] / scale, segments[:, 2:] / scale  # in pixels
        point = np.array([x, y]) / scale
        along = end - start
        length = np.maximum((along**2).sum(axis=1), 1e-12)
        t = np.clip(((point - start) * along).sum(axis=1) / length, 0.0, 1.0)
        distance = np.hypot(*(start + t[:, None] * along - point).T)
        nearest = int(np.argmin(distance))
        if distance[nearest] > SEED_CLICK_PIXELS:
            return None
        return int(self._segment_seeds[nearest])

    @QtCore.Slot(object)
    def _on_scene_mouse_clicked(self, event) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        view = self.plot_widget.getPlotItem().getViewBox()
        point = view.mapSceneToView(event.scenePos())
        seed = self.seed_at(point.x(), point.y())
        if seed is not None:
            self.seed_clicked.emit(seed)

    # -- internals -------------------------------------------------------------------------

    @QtCore.Slot(object, object, object)
    def _on_train_scatter_clicked(self, item, points, event) -> None:
        if len(points):
            self.point_clicked.emit(int(points[0].index()))

    @QtCore.Slot(bool)
    def _on_test_points_toggled(self, checked: bool) -> None:
        self.test_scatter.setVisible(checked)

    def _set_extent(
        self, extent: tuple[float, float, float, float], shape: tuple[int, int]
    ) -> None:
        """Place the grid (pixel centres on the sampled points) and show the whole extent."""
        self._placed = (extent, shape)
        xmin, xmax, ymin, ymax = extent
        ny, nx = shape
        dx, dy = (xmax - xmin) / (nx - 1), (ymax - ymin) / (ny - 1)
        self.image.setRect(QtCore.QRectF(xmin - dx / 2, ymin - dy / 2, nx * dx, ny * dy))
        item = self.plot_widget.getPlotItem()
        ratio = (xmax - xmin) / (ymax - ymin)
        item.setAspectLocked(1.0 / MAX_ASPECT <= ratio <= MAX_ASPECT, ratio=1.0)
        item.setRange(xRange=(xmin, xmax), yRange=(ymin, ymax), padding=0)

    def _set_points(self, frame: Frame) -> None:
        """New data or a new plane: the points where the plane puts them, coloured by class
        (or by target), and the axes, colour bar and title of the task and plane."""
        data = self._data = frame.data
        plane = self._plane = frame.plane
        self._set_kind(frame.kind, data)
        project = (lambda x: x) if plane is None else plane.project
        if frame.kind == "regression":
            train, test = (style.value_colors(y, self._levels) for y in (data.y_train, data.y_test))
        else:
            train, test = style.class_colors(data.y_train), style.class_colors(data.y_test)
        self.train_scatter.setData(pos=project(data.x_train), brush=train, hoverable=False)
        self.test_scatter.setData(pos=project(data.x_test), brush=test, hoverable=False)
        if plane is not None:
            style.set_axis_labels(self.plot_widget.getPlotItem(), *plane.axis_labels)
            self.plane_selector.show_plane(plane, len(data.x_train))
        if not self._node_map:
            self._show_title()

    # -- tasks -----------------------------------------------------------------------------

    def _set_kind(self, kind: str, data) -> None:
        """Colour bar and levels of the task: p(class 1) in [0, 1], none for several classes
        (the regions' colours are the classes', named in the title), the target's range for
        regression."""
        if kind != self._kind:
            label = "prediction" if kind == "regression" else "p(class 1)"
            self.colorbar.getAxis("left").setLabel(label)
        self._kind = kind
        self._levels = (
            regression_levels(data.y_train, data.y_test) if kind == "regression" else (0.0, 1.0)
        )
        if self._node_map:
            return
        self.colorbar.setVisible(kind != "multiclass")
        self.colorbar.setLevels(self._levels)
        low, high = self._levels
        self.colorbar.axis.setTicks([[(v, f"{v:.3g}") for v in np.linspace(low, high, 5)]])

    def _show_map(self, frame: Frame) -> None:
        z = frame.probabilities
        if self._kind == "multiclass":
            regions = class_regions(z, style.CLASS_COLORS)
            self.image.setImage(regions, autoLevels=False, levels=(0, 255))
            # Levels the colour bar set before the first image arrive with it: undo them.
            self.image.setLevels((0, 255))
        else:
            self.image.setImage(z, autoLevels=False, levels=self._levels)

    def _lines(self, frame: Frame, extent: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The threshold line (two classes), the edges between the regions (several), or no
        line (regression)."""
        z = frame.probabilities
        if self._kind == "binary":
            return threshold_contour(z, extent, frame.threshold)
        if self._kind == "regression":
            return np.empty(0), np.empty(0)
        parts = [threshold_contour(margin, extent, 0.0) for margin in class_margins(z)]
        return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])

    def _show_title(self) -> None:
        """The plane's caption and, for several classes, which colour is which class."""
        self.plot_widget.setTitle(self.title_html() or None, size="9pt")

    def title_html(self) -> str:
        """The caption ("PCA: PC1 × PC2, 95% of variance") and the classes' legend, as shown."""
        parts = []
        if self._plane is not None and self._plane.caption:
            parts.append(self._plane.caption)
        if self._kind == "multiclass" and self._data is not None:
            parts.append(class_legend(self._data.n_classes))
        text = "<br>".join(parts)
        return f'<span style="color: {style.color_hex(style.TEXT)}">{text}</span>' if text else ""

    def caption(self) -> str:
        """What the view says of its plane ("" for 2-D data)."""
        return "" if self._plane is None else self._plane.caption


def regression_levels(*targets: np.ndarray) -> tuple[float, float]:
    """The colour range of a regression's map and points: the targets' range, symmetric about 0
    when they take both signs (0 is then the neutral colour, as in Playground)."""
    values = np.concatenate(targets)
    values = values[np.isfinite(values)]
    if not values.size:
        return (-1.0, 1.0)
    low, high = float(values.min()), float(values.max())
    if low < 0.0 < high:
        low, high = -max(-low, high), max(-low, high)
    if high - low < 1e-12:
        low, high = low - 1.0, high + 1.0
    return (low, high)


def class_legend(classes: int) -> str:
    """ "● class 0 ● class 1 ...", each dot in its class's colour (HTML)."""
    return " &nbsp;".join(
        f'<span style="color: {style.color_hex(style.CLASS_COLORS[k])}">●</span> class {k}'
        for k in range(classes)
    )
