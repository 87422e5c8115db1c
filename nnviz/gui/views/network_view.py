"""The network diagram: input, hidden and output units in columns, weights as coloured edges.

How it draws, and why:

- View coordinates are the view box's own pixels: x to the right, y down (`invertY`), the range
  set to (0, width) x (0, height) on every resize. The layout is recomputed then from pixel
  margins (titles on top, the legend below, the x1/x2 and p labels at the sides), so the diagram
  fills any size without clipping. Columns are evenly spaced; the tallest column's units get one
  vertical slot each, and shorter columns spread out up to `MAX_SPREAD` slots apart. Why pixels:
  under a non-uniform view scale (even 1 + 1e-9), Qt strokes antialiased pens wider than 1 px
  about 30x slower (measured: 45 ms instead of 2 ms for the 304 edges of 2-16-16-1), and the
  scale here is exactly 1.
- Edges are coloured by the sign of the weight (TensorFlow Playground's orange for w < 0, blue for
  w > 0) and binned by |w| relative to the largest |w| of the frame into `MAGNITUDE_BINS` bins
  whose pens grow wider and less faded (`EDGE_WIDTHS`, `EDGE_ALPHAS`). The fade is alpha
  pre-blended over the white background into an opaque colour: it looks the same, and
  antialiased translucent pens wider than 1 px paint 2-3x slower (measured). Each (sign, bin)
  pair is one `PlotDataItem(connect="pairs")` created once, so a redraw is at most ten `setData`
  calls, and only for the bins whose membership changed. Stronger bins are drawn on top.
- Biases are a small square at the lower-left of each hidden and output node, as in Playground:
  its colour is the same diverging map (orange negative, blue positive) and its intensity is
  |b| relative to the same largest |w| as the edges (clipped at full colour, quantised to a few
  levels so the scatter's symbol atlas stays small). The node's own disc holds its map.
- Hover texts: an edge gives "W2[3→1] from hidden 1 unit 3 to output = -1.234" (1-based units;
  the NumPy entry is W2[2, 0]); a hidden or output node its bias and the mean, min and max of its
  activation over the training set; an input node its feature and range.
- `hit_at(x, y)` finds the bias square, else the node (within its radius), else the edge (within
  a few pixels) under a point in view coordinates, measuring distances in pixels.
  `describe_at(x, y)` turns that into the hover text; the activation statistics of a node are
  computed lazily, once per frame, from the frame's weights with
  `nnviz.core.network.forward_layers` on the training inputs.
- Per-node maps: every hidden and output node shows its own output over the input plane, as in
  Playground: one `ImageItem` per node (a `MAP_SIZE` x `MAP_SIZE` grid from
  `nnviz.core.explain.node_output_grids`, one forward pass for all nodes) inside a clip ellipse
  just inside the node's outline, fed with `setImage` each frame. Levels follow the activation
  (sigmoid and the output [0, 1], tanh [-1, 1], relu/linear +-max|value| per node) on the same
  orange-neutral-blue map as the boundary. The colours of all nodes come from one NumPy
  lookup into RGBA images: given float data and a lookup table, ImageItem rebuilds a 256-entry
  QImage colour table (256 `qRgba` calls) for every image on every frame, which measured 2-3x
  the cost of the whole map update. Nodes with a map get a transparent fill so the outline is
  drawn over the map. Measured (show_frame plus a synchronous repaint, median, 2-core machine
  under load): seed 2-5-1 1.5 -> 2.0 ms with maps, 2-16-16-1 3.3-4.7 -> 5.1-5.7 ms, at
  450x350 and 900x600.
- Explain overlay (`show_explain(phase_view)` / `clear_explain()`): a light band behind each
  active column, thicker outlines on its nodes, a ring or a thick segment on the selected node or
  edge, and small labels with the phase's values. The label items are a pool built once (one per
  node, `MAX_EDGE_LABELS` for edges) and only re-texted and moved on a phase change or a resize.
  Labels are placed greedily (nodes first, then edges by |value|) and a label that would overlap
  a node, a title or another label is left out. A layer with more than `DENSE_EDGES` edges
  labels only the selected node's edges (drawn in the selection colour), else its strongest.
- Mouse: hovering emits `node_hovered((layer, unit))` or `node_hovered(None)` when it changes;
  a left click emits `item_clicked(Hit)` and, outside the explain overlay, a click on an edge or
  a bias square emits `weight_edit_requested(name, index, value)`, e.g. ("W2", (2, 0), -1.23).

The view only reads the frames it is given; it never writes to them or to the model.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QCursor, QFont, QFontMetricsF, QPainterPath
from PySide6.QtWidgets import (
    QDialog,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QInputDialog,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...core.explain import PhaseView, node_levels, node_output_grids
from ...core.network import forward_layers
from .. import style
from ..frame import Frame

__all__ = [
    "EDGE_ALPHAS",
    "EDGE_WIDTHS",
    "MAGNITUDE_BINS",
    "MAP_SIZE",
    "Hit",
    "NetworkView",
    "ask_weight_value",
    "edge_color",
    "format_value",
    "parameter_label",
]

#: Number of |w| bins per sign; the edges of a frame fall into 2 * MAGNITUDE_BINS pens.
MAGNITUDE_BINS = 5
#: Pen width (px) and alpha (0-255) of each magnitude bin, weakest first.
EDGE_WIDTHS = (1.0, 1.6, 2.4, 3.4, 4.6)
EDGE_ALPHAS = (70, 115, 160, 205, 250)
#: Bias squares are coloured in this many intensity levels per sign.
BIAS_LEVELS = 8

NODE_FILL = (255, 255, 255)
INPUT_FILL = (244, 245, 247)
NODE_OUTLINE = (110, 110, 110)
MUTED_TEXT = (110, 110, 110)

# Layout, in pixels.
MIN_NODE_PX = 7.0
MAX_NODE_PX = 44.0  # large enough to read a node's map
NODE_FRACTION = 0.6  # node diameter as a fraction of the vertical slot of one unit
MAX_SLOT_PX = 80.0  # beyond this the columns stop spreading out vertically
PAD_PX = 4.0
LABEL_GAP_PX = 5.0
EDGE_TOLERANCE_PX = 4.0
MAX_SPREAD = 2.0  # a column with fewer units than the tallest spaces them up to this many slots
MIN_BIAS_BOX_PX = 13.0  # the bias square is 0.34 of this box, so never smaller than ~4.4 px
BIAS_HIT_PX = 2.0  # a click this close to a bias square hits it

#: Per-node maps are MAP_SIZE x MAP_SIZE grids over the input plane.
MAP_SIZE = 24
#: The explain overlay labels at most this many edges at once (the strongest that fit).
MAX_EDGE_LABELS = 40
#: Above this many labelled edges, only the selected node's edges are labelled (else the strongest
#: DENSE_FALLBACK): a 16 x 16 layer's 256 numbers cannot be read at once.
DENSE_EDGES = 24
DENSE_FALLBACK = 8
BAND_FILL = (255, 243, 196)  # behind the active column
ACTIVE_OUTLINE = (30, 30, 30)
SELECTION_COLOR = (128, 40, 170)
LABEL_FILL = (255, 255, 255, 225)
NEGATIVE_TEXT = (176, 86, 0)  # darker than style.ORANGE so that small text stays legible
POSITIVE_TEXT = (6, 82, 133)


@dataclass(frozen=True)
class Hit:
    """What lies under a point of the diagram.

    For a node, `layer` is its column (0 = input, L-1 = output) and `unit` its 0-based index.
    For an edge, `layer` is k of the weight matrix `Wk`, `source` the row and `unit` the column,
    so the weight is `weights[f"W{layer}"][source, unit]`. For a bias, the value is
    `weights[f"b{layer}"][unit]`.
    """

    kind: str  # "node", "edge" or "bias" (the square of node (layer, unit))
    layer: int
    unit: int
    source: int = -1


def format_value(value: float) -> str:
    """Four significant digits: -1.234, 0.05234, 1.235e+04."""
    return f"{value:.4g}"


def _bias_symbol() -> QPainterPath:
    """A square in the lower-left corner of the unit box (pyqtgraph symbols have y pointing down)."""
    path = QPainterPath()
    path.addRect(QRectF(-0.5, 0.16, 0.34, 0.34))
    return path


def _blend(color: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    """`color` faded towards style.NEUTRAL: t = 0 gives NEUTRAL, t = 1 gives `color`."""
    return tuple(round(n + (c - n) * t) for n, c in zip(style.NEUTRAL, color))


def edge_color(color: tuple[int, int, int], alpha: int) -> tuple[int, int, int]:
    """`color` at `alpha` (0-255) over the white background, as an opaque colour.

    Opaque pens look the same as translucent ones on white (strong bins are drawn on top) but
    paint two to three times faster: antialiased translucent pens wider than 1 px are slow.
    """
    return tuple(round(255 + (c - 255) * alpha / 255) for c in color)


def _hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def parameter_label(name: str, index: tuple[int, ...]) -> str:
    """1-based display name of a parameter: ("W2", (2, 0)) -> "W2[3→1]", ("b1", (3,)) -> "b1[4]"."""
    if name.startswith("W"):
        return f"{name}[{index[0] + 1}→{index[1] + 1}]"
    return f"{name}[{index[0] + 1}]"


def ask_weight_value(
    parent: QWidget | None, name: str, index: tuple[int, ...], value: float
) -> float | None:
    """Ask for a new value of weight `name[index]`; None if the user cancels."""
    dialog = QInputDialog(parent)
    kind = "weight" if name.startswith("W") else "bias"
    dialog.setWindowTitle(f"Edit {kind}")
    dialog.setInputMode(QInputDialog.InputMode.DoubleInput)
    dialog.setLabelText(
        f"New value for {parameter_label(name, index)} (now {format_value(value)}):"
    )
    dialog.setDoubleDecimals(6)
    dialog.setDoubleRange(-1e6, 1e6)
    dialog.setDoubleValue(value)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return float(dialog.doubleValue())
        return None
    finally:
        dialog.deleteLater()


class NetworkView(QWidget):
    """The network's units in columns, its weights as edges and its biases as small squares.

    Call `show_frame(frame)` for every redraw; items are rebuilt only when the layer sizes
    change. `plot_widget` (a `pg.GraphicsLayoutWidget`) and `view_box` are public for exporters.
    """

    #: (layer, unit) of the node under the mouse, or None when it leaves every node.
    node_hovered = Signal(object)
    #: A left click on a node, bias square or edge: the `Hit`.
    item_clicked = Signal(object)
    #: A click on an edge or a bias square outside the explain overlay: name, index, value.
    weight_edit_requested = Signal(str, tuple, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame: Frame | None = None
        self._sizes: tuple[int, ...] = ()
        self._offsets: list[np.ndarray] = []  # per column, unit heights in slots, up positive
        self._positions: list[np.ndarray] = []  # per column, (n, 2) view coordinates (pixels)
        self._edge_meta = np.empty((0, 3), dtype=int)  # per edge: k, source, target
        self._edge_segments = np.empty((0, 2, 2))  # per edge: [[x0, y0], [x1, y1]]
        self._edge_bins = np.empty(0, dtype=int)
        self._scale = 0.0
        self._node_px = MAX_NODE_PX
        self._node_brushes: list = []
        self._layers_cache: tuple[Frame, list[tuple[np.ndarray, np.ndarray]]] | None = None
        self._hover: QPointF | None = None
        self._caption_html = ""
        self._compact_caption = False
        self._title_items: list[pg.TextItem] = []
        self._label_items: list[tuple[pg.TextItem, int, int, float]] = []  # item, layer, unit, side
        self._maps_visible = True
        self._map_items: dict[tuple[int, int], tuple[QGraphicsEllipseItem, pg.ImageItem]] = {}
        self._map_points: tuple[tuple[float, ...], np.ndarray] | None = None
        self._hovered_node: tuple[int, int] | None = None
        self._explain: PhaseView | None = None
        self._bands: list[QGraphicsPathItem] = []
        self._node_labels: dict[tuple[int, int], pg.TextItem] = {}

        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground("w")
        self.plot_widget.ci.setContentsMargins(0, 0, 0, 0)
        self.view_box = self.plot_widget.addViewBox(enableMouse=False, enableMenu=False)
        self.view_box.setMouseEnabled(False, False)
        self.view_box.disableAutoRange()
        self.view_box.setDefaultPadding(0.0)
        self.view_box.invertY(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)

        self._title_font = QFont()
        self._title_font.setPointSizeF(9.0)
        self._label_font = QFont()
        self._label_font.setPointSizeF(10.0)
        self._label_font.setItalic(True)
        self._caption_font = QFont()
        self._caption_font.setPointSizeF(8.0)

        #: (sign, bin) -> one PlotDataItem of segment pairs; sign is -1 or +1, bin 0 (weak) to 4.
        self.edge_items: dict[tuple[int, int], pg.PlotDataItem] = {}
        for sign, color in ((-1, style.ORANGE), (1, style.BLUE)):
            for level in range(MAGNITUDE_BINS):
                pen = pg.mkPen(edge_color(color, EDGE_ALPHAS[level]), width=EDGE_WIDTHS[level])
                pen.setCapStyle(Qt.PenCapStyle.FlatCap)
                item = pg.PlotDataItem(connect="pairs", pen=pen, antialias=True)
                item.setZValue(level)
                self.view_box.addItem(item)
                self.edge_items[(sign, level)] = item

        self.node_item = pg.ScatterPlotItem(pxMode=True, antialias=True, symbol="o")
        self.node_item.setZValue(20)
        self.bias_item = pg.ScatterPlotItem(pxMode=True, antialias=True, symbol=_bias_symbol())
        self.bias_item.setZValue(21)
        self.caption_item = pg.TextItem(anchor=(0.5, 1.0))
        self.caption_item.setFont(self._caption_font)
        self.caption_item.setZValue(30)
        for item in (self.node_item, self.bias_item, self.caption_item):
            self.view_box.addItem(item)

        self._value_font = QFont()
        self._value_font.setPointSizeF(8.0)
        self._map_lut = style.probability_lut()
        self._blank_map = np.full((MAP_SIZE, MAP_SIZE, 4), 255, dtype=np.uint8)  # white RGBA
        self._map_values = np.empty((0, MAP_SIZE, MAP_SIZE), dtype=np.float32)
        self._map_levels = np.empty((0, 2))
        self._selection_ring = pg.ScatterPlotItem(
            pxMode=True, antialias=True, symbol="o", brush=None
        )
        self._selection_ring.setZValue(22)
        self._selection_edge = pg.PlotDataItem(
            connect="pairs", pen=pg.mkPen(SELECTION_COLOR, width=3.0), antialias=True
        )
        self._selection_edge.setZValue(MAGNITUDE_BINS + 1)
        # in a dense layer, the selected node's labelled edges, so each label finds its edge
        self._focus_edges = pg.PlotDataItem(
            connect="pairs", pen=pg.mkPen((*SELECTION_COLOR, 150), width=1.5), antialias=True
        )
        self._focus_edges.setZValue(MAGNITUDE_BINS + 0.5)
        self.edge_label_items: list[pg.TextItem] = []
        for _ in range(MAX_EDGE_LABELS):
            label = self._value_label()
            self.edge_label_items.append(label)
        for item in (self._selection_ring, self._selection_edge, self._focus_edges):
            item.hide()
            self.view_box.addItem(item)

        self._node_pen = pg.mkPen(NODE_OUTLINE, width=1.5)
        self._active_pen = pg.mkPen(ACTIVE_OUTLINE, width=2.6)
        self._clear_brush = pg.mkBrush(0, 0, 0, 0)
        self._bias_pen = pg.mkPen((*NODE_OUTLINE, 200), width=1.0)
        self._bias_brushes = {
            sign: [
                pg.mkBrush(*_blend(color, level / BIAS_LEVELS)) for level in range(BIAS_LEVELS + 1)
            ]
            for sign, color in ((-1, style.ORANGE), (1, style.BLUE))
        }

        self.view_box.sigResized.connect(self._on_view_box_resized)
        self.plot_widget.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.plot_widget.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self.plot_widget.installEventFilter(self)

    def _value_label(self) -> pg.TextItem:
        """A hidden value label of the explain overlay (created once, reused)."""
        label = pg.TextItem(color=style.TEXT, anchor=(0.0, 0.0), fill=pg.mkBrush(*LABEL_FILL))
        label.setFont(self._value_font)
        label.setZValue(32)
        label.hide()
        self.view_box.addItem(label)
        return label

    # -- public API --------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(450, 350)

    def minimumSizeHint(self) -> QSize:
        return QSize(220, 160)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Units per column, e.g. (2, 5, 1); empty before the first frame."""
        return self._sizes

    @property
    def weight_scale(self) -> float:
        """The largest |w| of the current frame: the widest pen and a full-colour bias."""
        return self._scale

    def node_position(self, layer: int, unit: int) -> tuple[float, float]:
        """View coordinates of a unit's centre (column `layer`, 0-based `unit`)."""
        x, y = self._positions[layer][unit]
        return float(x), float(y)

    def show_frame(self, frame: Frame) -> None:
        """Draw `frame`'s weights and biases; rebuild items only if the layer sizes changed."""
        weights = frame.snapshot.weights
        depth = len(weights) // 2
        sizes = (weights["W1"].shape[0], *(weights[f"W{k}"].shape[1] for k in range(1, depth + 1)))
        self.frame = frame
        if sizes != self._sizes:
            self._build(sizes)  # lays out and draws `frame` already
        self._update_edges(weights, depth)
        self._update_biases(weights, depth)
        self._update_maps(frame)
        if self._hover is not None and QToolTip.isVisible():
            self._show_tooltip(self._hover)

    def hit_at(self, x: float, y: float) -> Hit | None:
        """The bias square under (x, y) in view coordinates, else the node within its radius,
        else the nearest edge within a few pixels."""
        if not self._sizes:
            return None
        bias = self._bias_at(x, y)
        if bias is not None:
            return bias
        point = np.array([x, y])
        # the disc plus a margin, or far enough to include the bias square at its corner
        radius = max(0.5 * self._node_px + 3.0, 0.71 * max(self._node_px, MIN_BIAS_BOX_PX))
        best: tuple[float, int, int] | None = None
        for layer, positions in enumerate(self._positions):
            distances = np.hypot(*(positions - point).T)
            unit = int(np.argmin(distances))
            if distances[unit] <= radius and (best is None or distances[unit] < best[0]):
                best = (float(distances[unit]), layer, unit)
        if best is not None:
            return Hit("node", best[1], best[2])
        if not len(self._edge_segments):
            return None
        start = self._edge_segments[:, 0]
        delta = self._edge_segments[:, 1] - start
        length2 = np.maximum(np.sum(delta * delta, axis=1), 1e-12)
        t = np.clip(np.sum((point - start) * delta, axis=1) / length2, 0.0, 1.0)
        distances = np.hypot(*(start + t[:, None] * delta - point).T)
        index = int(np.argmin(distances))
        level = max(int(self._edge_bins[index]), 0) % MAGNITUDE_BINS
        tolerance = EDGE_TOLERANCE_PX + 0.5 * EDGE_WIDTHS[level]
        if distances[index] > tolerance:
            return None
        k, source, target = self._edge_meta[index]
        return Hit("edge", int(k), int(target), int(source))

    def describe_at(self, x: float, y: float) -> str | None:
        """Hover text for the node or edge at (x, y) in view coordinates, or None."""
        hit = self.hit_at(x, y)
        if hit is None or self.frame is None:
            return None
        if hit.kind == "edge":
            return self._describe_edge(hit)
        if hit.kind == "bias":
            value = float(self.frame.snapshot.weights[f"b{hit.layer}"][hit.unit])
            return (
                f"bias b{hit.layer}[{hit.unit + 1}] of {self._unit_name(hit.layer, hit.unit)} "
                f"= {format_value(value)}"
            )
        return self._describe_node(hit.layer, hit.unit)

    @property
    def node_maps_visible(self) -> bool:
        return self._maps_visible

    def set_node_maps_visible(self, visible: bool) -> None:
        """Show or hide the per-node maps (shown by default)."""
        self._maps_visible = bool(visible)
        for clip, _image in self._map_items.values():
            clip.setVisible(self._maps_visible)
        self._style_nodes()
        if self._maps_visible and self.frame is not None:
            self._update_maps(self.frame)

    def map_image(self, layer: int, unit: int) -> pg.ImageItem:
        """The ImageItem of a hidden or output node's map (for tests and exporters)."""
        return self._map_items[(layer, unit)][1]

    @property
    def explain_view(self) -> PhaseView | None:
        """The phase the overlay shows, or None."""
        return self._explain

    def show_explain(self, phase_view: PhaseView) -> None:
        """Highlight the phase's active columns and label nodes and edges with its values."""
        self._explain = phase_view
        self._apply_explain()

    def clear_explain(self) -> None:
        """Remove the explain overlay; the legend returns."""
        self._explain = None
        self._apply_explain()

    def explain_labels(self) -> dict[tuple, str]:
        """The labels on screen: (column, unit) or (k, i, j) -> text (for tests)."""
        shown: dict[tuple, str] = {}
        for key, item in self._node_labels.items():
            if item.isVisible():
                shown[key] = item.toPlainText()
        for item in self.edge_label_items:
            if item.isVisible():
                shown[item.key] = item.toPlainText()
        return shown

    def bias_rect(self, layer: int, unit: int) -> QRectF:
        """The bias square of node (layer, unit) in view coordinates (pixels)."""
        box = max(self._node_px, MIN_BIAS_BOX_PX)
        x, y = self._positions[layer][unit]
        return QRectF(x - 0.5 * box, y + 0.16 * box, 0.34 * box, 0.34 * box)

    def _bias_at(self, x: float, y: float) -> Hit | None:
        for layer in range(1, len(self._sizes)):
            for unit in range(self._sizes[layer]):
                rect = self.bias_rect(layer, unit).adjusted(
                    -BIAS_HIT_PX, -BIAS_HIT_PX, BIAS_HIT_PX, BIAS_HIT_PX
                )
                if rect.contains(QPointF(x, y)):
                    return Hit("bias", layer, unit)
        return None

    # -- building and updating ---------------------------------------------------------------

    def _build(self, sizes: tuple[int, ...]) -> None:
        self._sizes = sizes
        self._layers_cache = None
        n_max = max(sizes)
        self._offsets = [
            float(np.clip(n_max / n, 1.0, MAX_SPREAD)) * ((n - 1) / 2.0 - np.arange(n))
            for n in sizes
        ]
        meta = [
            (k, i, j)
            for k in range(1, len(sizes))
            for i in range(sizes[k - 1])  # row-major, the order of Wk.ravel()
            for j in range(sizes[k])
        ]
        self._edge_meta = np.array(meta, dtype=int).reshape(-1, 3)
        fills = [INPUT_FILL] * sizes[0] + [NODE_FILL] * (sum(sizes) - sizes[0])
        self._node_brushes = [pg.mkBrush(*c) for c in fills]

        for item in self._title_items + [label for label, *_ in self._label_items]:
            self.view_box.removeItem(item)
        self._build_overlay(sizes)
        self._title_items = []
        for _col in sizes:
            title = pg.TextItem(color=style.TEXT, anchor=(0.5, 0.0))
            title.setFont(self._title_font)
            title.setZValue(30)
            self.view_box.addItem(title)
            self._title_items.append(title)
        self._label_items = []
        last = len(sizes) - 1
        sides = [(0, unit, f"x{unit + 1}", -1.0) for unit in range(sizes[0])]
        sides += [
            (last, unit, "p" if sizes[last] == 1 else f"p{unit + 1}", 1.0)
            for unit in range(sizes[last])
        ]
        for layer, unit, text, side in sides:
            label = pg.TextItem(text, color=style.TEXT, anchor=(1.0 if side < 0 else 0.0, 0.5))
            label.setFont(self._label_font)
            label.setZValue(30)
            self.view_box.addItem(label)
            self._label_items.append((label, layer, unit, side))
        self._relayout()

    def _build_overlay(self, sizes: tuple[int, ...]) -> None:
        """Per-node map items, column bands and node value labels for a new architecture."""
        for clip, _image in self._map_items.values():
            self.view_box.removeItem(clip)
        for item in [*self._bands, *self._node_labels.values()]:
            self.view_box.removeItem(item)
        self._map_items = {}
        for layer in range(1, len(sizes)):
            for unit in range(sizes[layer]):
                clip = QGraphicsEllipseItem()
                clip.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
                clip.setPen(pg.mkPen(None))
                clip.setBrush(pg.mkBrush(None))
                clip.setZValue(19)  # above the edges, below the outlines (node_item at 20)
                image = pg.ImageItem(axisOrder="row-major")
                # setRect needs an image; every frame's image has this shape, so it keeps the rect
                image.setImage(self._blank_map, autoLevels=False)
                image.setParentItem(clip)
                clip.setVisible(self._maps_visible)
                self.view_box.addItem(clip)
                self._map_items[(layer, unit)] = (clip, image)
        self._map_points = None
        self._bands = []
        for _ in sizes:
            band = QGraphicsPathItem()
            band.setPen(pg.mkPen(None))
            band.setBrush(pg.mkBrush(*BAND_FILL))
            band.setZValue(-5)
            band.hide()
            self.view_box.addItem(band)
            self._bands.append(band)
        self._node_labels = {}
        for layer, n in enumerate(sizes):
            for unit in range(n):
                self._node_labels[(layer, unit)] = self._value_label()

    def _place_items(self) -> None:
        """Move nodes and edges to `_positions`; every edge bin is redrawn at the next frame."""
        nodes = np.vstack(self._positions)
        first = np.concatenate([[0], np.cumsum(self._sizes)])  # index of each column's unit 0
        k, i, j = self._edge_meta.T
        self._edge_segments = np.stack([nodes[first[k - 1] + i], nodes[first[k] + j]], axis=1)
        self._edge_bins = np.full(len(self._edge_meta), -1, dtype=int)
        self.node_item.setData(pos=nodes, pen=self._node_pen, brush=self._node_brushes)
        self.bias_item.setData(pos=np.vstack(self._positions[1:]), pen=self._bias_pen)
        radius = max(0.5 * self._node_px - 0.75, 1.0)  # inside the outline
        for (layer, unit), (clip, image) in self._map_items.items():
            x, y = self._positions[layer][unit]
            rect = QRectF(x - radius, y - radius, 2 * radius, 2 * radius)
            clip.setRect(rect)
            image.setRect(rect)
        self._style_nodes()
        if self.frame is not None:
            weights = self.frame.snapshot.weights
            self._update_edges(weights, len(weights) // 2)
            self._update_biases(weights, len(weights) // 2)
        self._apply_explain()

    def _style_nodes(self) -> None:
        """Node outlines (thicker in active columns) and fills (clear where a map shows)."""
        if not self._sizes:
            return
        active = set(self._explain.columns) if self._explain is not None else set()
        pens, brushes = [], []
        for layer, n in enumerate(self._sizes):
            pen = self._active_pen if layer in active else self._node_pen
            for unit in range(n):
                pens.append(pen)
                mapped = self._maps_visible and (layer, unit) in self._map_items
                brushes.append(self._clear_brush if mapped else self._node_brushes[len(brushes)])
        self.node_item.setPen(pens)
        self.node_item.setBrush(brushes)

    def _update_maps(self, frame: Frame) -> None:
        """Each hidden and output node's output over the input plane, into its ImageItem."""
        if not self._maps_visible or not self._map_items or frame.data.x_train.shape[1] != 2:
            return
        extent = tuple(float(e) for e in frame.extent)
        if self._map_points is None or self._map_points[0] != extent:
            xmin, xmax, ymin, ymax = extent
            gx, gy = np.meshgrid(
                np.linspace(xmin, xmax, MAP_SIZE), np.linspace(ymax, ymin, MAP_SIZE)
            )  # top row first: the view's y axis points down
            self._map_points = (extent, np.column_stack([gx.ravel(), gy.ravel()]))
        weights = frame.snapshot.weights
        activation, depth = frame.config.activation, len(weights) // 2
        grids = node_output_grids(weights, activation, extent, MAP_SIZE, self._map_points[1])
        keys = list(self._map_items)
        values = np.concatenate(grids[1:])  # (nodes, MAP_SIZE, MAP_SIZE), the order of `keys`
        levels = np.array([node_levels(activation, c, depth, grids[c][u]) for c, u in keys])
        low = levels[:, 0, None, None]
        scale = 255.999 / (levels[:, 1] - levels[:, 0])[:, None, None]
        # One lookup for every node: ImageItem would rebuild a 256-colour table per image.
        with np.errstate(over="ignore", invalid="ignore"):  # diverged weights give inf and NaN
            index = np.nan_to_num((values - low) * scale, nan=127.0, posinf=255.0, neginf=0.0)
        np.clip(index, 0.0, 255.0, out=index)
        rgba = self._map_lut[index.astype(np.uint8)]
        self._map_values, self._map_levels = values, levels
        for n, key in enumerate(keys):
            self._map_items[key][1].setImage(rgba[n], autoLevels=False)

    def map_values(self, layer: int, unit: int) -> tuple[np.ndarray, tuple[float, float]]:
        """The values a node's map shows (top row = largest x2) and its colour levels."""
        n = list(self._map_items).index((layer, unit))
        return self._map_values[n], tuple(self._map_levels[n])

    def _update_edges(self, weights, depth: int) -> None:
        w = np.concatenate(
            [np.asarray(weights[f"W{k}"], dtype=float).ravel() for k in range(1, depth + 1)]
        )
        w = np.nan_to_num(w, nan=0.0, posinf=0.0, neginf=0.0)
        magnitude = np.abs(w)
        scale = float(magnitude.max()) if magnitude.size else 0.0
        self._scale = scale
        relative = magnitude / scale if scale > 0 else magnitude
        levels = np.minimum((relative * MAGNITUDE_BINS).astype(int), MAGNITUDE_BINS - 1)
        bins = np.where(w < 0, 0, MAGNITUDE_BINS) + levels
        changed = bins != self._edge_bins
        if changed.any():
            if (self._edge_bins < 0).any():  # just built: every bin, so none keeps old segments
                touched = np.arange(2 * MAGNITUDE_BINS)
            else:
                touched = np.union1d(bins[changed], self._edge_bins[changed])
            for b in touched:
                segments = self._edge_segments[bins == b]  # (m, 2, 2)
                item = self.edge_items[(-1 if b < MAGNITUDE_BINS else 1, b % MAGNITUDE_BINS)]
                item.setData(segments[:, :, 0].ravel(), segments[:, :, 1].ravel())
            self._edge_bins = bins
        self._set_caption()

    def _update_biases(self, weights, depth: int) -> None:
        b = np.concatenate([np.asarray(weights[f"b{k}"], dtype=float) for k in range(1, depth + 1)])
        b = np.nan_to_num(b, nan=0.0, posinf=0.0, neginf=0.0)
        scale = self._scale if self._scale > 0 else max(float(np.abs(b).max()), 1e-12)
        levels = np.round(np.minimum(np.abs(b) / scale, 1.0) * BIAS_LEVELS).astype(int)
        self.bias_item.setBrush(
            [self._bias_brushes[-1 if value < 0 else 1][level] for value, level in zip(b, levels)]
        )

    def _set_caption(self) -> None:
        if self._explain is not None:
            return  # the explain overlay's caption stands in for the legend
        orange, blue, muted = _hex(style.ORANGE), _hex(style.BLUE), _hex(MUTED_TEXT)
        scale = format_value(self._scale)
        if self._compact_caption:
            words = ("&lt;0 ", "&gt;0 ", f"max |w| {scale}", "")
        else:
            words = (
                " w&lt;0 &nbsp; ",
                " w&gt;0 &nbsp; ",
                f"widest |w| = {scale}",
                " &nbsp; ■ bias",
            )
        html = (
            f'<span style="color:{orange}">━━</span><span style="color:{muted}">{words[0]}</span>'
            f'<span style="color:{blue}">━━</span><span style="color:{muted}">{words[1]}'
            f"{words[2]}{words[3]}</span>"
        )
        if html != self._caption_html:
            self._caption_html = html
            self.caption_item.setHtml(html)

    # -- layout ------------------------------------------------------------------------------

    def _titles(self, short: bool) -> list[str]:
        last = len(self._sizes) - 1
        titles = []
        for col, n in enumerate(self._sizes):
            if col == 0:
                titles.append("input")
            elif col == last:
                titles.append("output")
            else:
                titles.append(f"h{col} ({n})" if short else f"hidden {col} ({n})")
        return titles

    def _relayout(self) -> None:
        """Fit the diagram to the view box's pixel size; called on build and on every resize."""
        if not self._sizes:
            return
        rect = self.view_box.rect()
        width, height = max(rect.width(), 60.0), max(rect.height(), 60.0)
        # (0, width) x (0, height): the view's scale is exactly 1, which keeps wide pens fast.
        self.view_box.setRange(xRange=(0.0, width), yRange=(0.0, height), padding=0.0)
        title_metrics = QFontMetricsF(self._title_font)
        label_metrics = QFontMetricsF(self._label_font)
        caption_metrics = QFontMetricsF(self._caption_font)
        columns, n_max = len(self._sizes), max(self._sizes)

        top = title_metrics.height() + 2 * PAD_PX
        bottom = caption_metrics.height() + 2 * PAD_PX
        available = max(height - top - bottom, 10.0)
        slot = min(available / n_max, MAX_SLOT_PX)
        node = float(np.clip(NODE_FRACTION * slot, MIN_NODE_PX, MAX_NODE_PX))
        self._node_px = node

        # A TextItem's box is its text plus the QTextDocument margin on both sides.
        margin = 2.0 * self.caption_item.textItem.document().documentMargin()
        inner = margin + max(
            label_metrics.horizontalAdvance(label.toPlainText()) for label, *_ in self._label_items
        )
        side = 0.5 * node + LABEL_GAP_PX + inner + PAD_PX
        spacing = (width - 2 * side) / max(columns - 1, 1)
        titles = self._titles(short=False)
        widths = [title_metrics.horizontalAdvance(t) + margin for t in titles]
        if max(widths[1:-1], default=0.0) > spacing - PAD_PX:
            titles = self._titles(short=True)
            widths = [title_metrics.horizontalAdvance(t) + margin for t in titles]
        left = max(side, 0.5 * widths[0])
        right = max(side, 0.5 * widths[-1])
        spacing = max((width - left - right) / max(columns - 1, 1), 1.0)
        centre = top + 0.5 * available  # the pixel row of the middle unit

        self._positions = [
            np.column_stack([np.full(len(offsets), left + col * spacing), centre - offsets * slot])
            for col, offsets in enumerate(self._offsets)
        ]
        # Titles and legend hug the tallest column, so a capped slot leaves no gap under them.
        title_y = centre - 0.5 * n_max * slot - (top - PAD_PX)
        caption_y = centre + 0.5 * n_max * slot + (bottom - PAD_PX)
        for col, (item, text) in enumerate(zip(self._title_items, titles)):
            item.setText(text, color=style.TEXT)
            item.setPos(left + col * spacing, title_y)
        for label, layer, unit, direction in self._label_items:
            x, y = self._positions[layer][unit]
            label.setPos(x + direction * (0.5 * node + LABEL_GAP_PX), y)
        self.caption_item.setPos(0.5 * width, caption_y)
        long_caption = "━━ w<0   ━━ w>0   widest |w| = 0.0000   ■ bias"
        compact = caption_metrics.horizontalAdvance(long_caption) + margin > width - 2 * PAD_PX
        if compact != self._compact_caption:
            self._compact_caption = compact
            self._set_caption()
        self.node_item.setSize(node)
        self.bias_item.setSize(max(node, MIN_BIAS_BOX_PX))
        self._place_items()

    # -- hover -------------------------------------------------------------------------------

    def _activations(self) -> list[tuple[np.ndarray, np.ndarray]]:
        frame = self.frame
        if self._layers_cache is None or self._layers_cache[0] is not frame:
            layers = forward_layers(
                frame.snapshot.weights, frame.data.x_train, frame.config.activation
            )
            self._layers_cache = (frame, layers)
        return self._layers_cache[1]

    def _unit_name(self, layer: int, unit: int) -> str:
        if layer == 0:
            return f"input x{unit + 1}"
        if layer == len(self._sizes) - 1:
            return "output p" if self._sizes[layer] == 1 else f"output p{unit + 1}"
        return f"hidden {layer} unit {unit + 1}"

    def _describe_edge(self, hit: Hit) -> str:
        value = float(self.frame.snapshot.weights[f"W{hit.layer}"][hit.source, hit.unit])
        source = self._unit_name(hit.layer - 1, hit.source)
        target = self._unit_name(hit.layer, hit.unit)
        if hit.layer == len(self._sizes) - 1 and self._sizes[-1] == 1:
            target = "output"
        return (
            f"W{hit.layer}[{hit.source + 1}→{hit.unit + 1}] from {source} to {target} "
            f"= {format_value(value)}"
        )

    def _describe_node(self, layer: int, unit: int) -> str:
        frame = self.frame
        x = frame.data.x_train
        if layer == 0:
            column = x[:, unit]
            return (
                f"input x{unit + 1}: feature {unit + 1} of {x.shape[1]} of each point\n"
                f"training set: mean {format_value(column.mean())}, "
                f"range [{format_value(column.min())}, {format_value(column.max())}]"
            )
        bias = float(frame.snapshot.weights[f"b{layer}"][unit])
        a, h = self._activations()[layer - 1]
        values = h[:, unit]
        output = layer == len(self._sizes) - 1
        name = "p" if output else "h"
        function = "sigmoid" if output else frame.config.activation
        with np.errstate(all="ignore"):
            mean, low, high = values.mean(), values.min(), values.max()
            mean_a = a[:, unit].mean()
        return (
            f"{self._unit_name(layer, unit)}\n"
            f"bias b{layer}[{unit + 1}] = {format_value(bias)}\n"
            f"{name} = {function}(a) over {len(x)} training samples:\n"
            f"  mean {name} = {format_value(mean)}, min {format_value(low)}, "
            f"max {format_value(high)}\n"
            f"  mean a = {format_value(mean_a)}"
        )

    def _show_tooltip(self, view_pos: QPointF) -> None:
        text = self.describe_at(view_pos.x(), view_pos.y())
        if text is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(QCursor.pos(), text, self.plot_widget)

    @Slot(object)
    def _on_view_box_resized(self, _view_box: object) -> None:
        self._relayout()

    def _set_hovered_node(self, node: tuple[int, int] | None) -> None:
        if node != self._hovered_node:
            self._hovered_node = node
            self.node_hovered.emit(node)

    @Slot(object)
    def _on_scene_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self._hover = None
            QToolTip.hideText()
            self._set_hovered_node(None)
            return
        self._hover = self.view_box.mapSceneToView(scene_pos)
        self._show_tooltip(self._hover)
        hit = self.hit_at(self._hover.x(), self._hover.y())
        self._set_hovered_node((hit.layer, hit.unit) if hit and hit.kind == "node" else None)

    @Slot(object)
    def _on_scene_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.frame is None:
            return
        point = self.view_box.mapSceneToView(event.scenePos())
        hit = self.hit_at(point.x(), point.y())
        if hit is None:
            return
        self.item_clicked.emit(hit)
        if self._explain is not None or hit.kind == "node":
            return
        weights = self.frame.snapshot.weights
        if hit.kind == "edge":
            name, index = f"W{hit.layer}", (hit.source, hit.unit)
        else:
            name, index = f"b{hit.layer}", (hit.unit,)
        self.weight_edit_requested.emit(name, index, float(weights[name][index]))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.plot_widget and event.type() == QEvent.Type.Leave:
            self._hover = None
            QToolTip.hideText()
            self._set_hovered_node(None)
        return super().eventFilter(watched, event)

    # -- explain overlay ---------------------------------------------------------------------

    def _apply_explain(self) -> None:
        """Draw (or remove) the overlay of `_explain` at the current layout."""
        view = self._explain
        self._style_nodes()
        for band in self._bands:
            band.hide()
        for label in [*self._node_labels.values(), *self.edge_label_items]:
            label.hide()
        self._selection_ring.hide()
        self._selection_edge.hide()
        self._focus_edges.hide()
        if view is None or not self._sizes:
            self._set_caption()
            return
        caption = view.caption if view.in_batch else f"{view.caption} (not in this batch)"
        # a narrow view (the Explain dock is open beside it) shortens the line rather than clip it
        available = max(80.0, self.plot_widget.width() - 2 * PAD_PX - 8.0)
        caption = QFontMetricsF(self._caption_font).elidedText(
            caption, Qt.TextElideMode.ElideRight, available
        )
        self._caption_html = f'<span style="color:{_hex(style.TEXT)}">{html.escape(caption)}</span>'
        self.caption_item.setHtml(self._caption_html)

        half = 0.5 * self._node_px
        for column in view.columns:
            if column >= len(self._positions):  # a step-through of another architecture
                continue
            positions = self._positions[column]
            margin = half + 5.0
            rect = QRectF(
                positions[0, 0] - margin,
                positions[:, 1].min() - margin,
                2 * margin,
                np.ptp(positions[:, 1]) + 2 * margin,
            )
            path = QPainterPath()
            path.addRoundedRect(rect, margin, margin)
            band = self._bands[column]
            band.setPath(path)
            band.show()
        self._show_selection(view)
        self._place_labels(view)

    def _show_selection(self, view: PhaseView) -> None:
        selection = view.selection
        if selection is None:
            return
        if selection.kind == "edge":
            try:
                (x0, y0), (x1, y1) = (
                    self.node_position(selection.layer - 1, selection.source),
                    self.node_position(selection.layer, selection.unit),
                )
            except IndexError:
                return
            self._selection_edge.setData([x0, x1], [y0, y1])
            self._selection_edge.show()
            return
        try:
            x, y = self.node_position(selection.layer, selection.unit)
        except IndexError:
            return
        self._selection_ring.setData(
            pos=[(x, y)],
            size=self._node_px + 7.0,
            pen=pg.mkPen(SELECTION_COLOR, width=2.5),
            brush=None,
        )
        self._selection_ring.show()

    def _occupied(self) -> list[QRectF]:
        """Rectangles the value labels must not cover: nodes, titles, side labels, bias squares."""
        half = 0.5 * self._node_px + 1.0
        rects = [
            QRectF(x - half, y - half, 2 * half, 2 * half)
            for positions in self._positions
            for x, y in positions
        ]
        texts = [*self._title_items, *(label for label, *_ in self._label_items)]
        for item in [*texts, self.caption_item]:
            rects.append(item.mapRectToParent(item.boundingRect()))
        return rects

    def _place_labels(self, view: PhaseView) -> None:
        width, height = self.view_box.width(), self.view_box.height()
        bounds = QRectF(1.0, 1.0, width - 2.0, height - 2.0)
        occupied = self._occupied()
        line_height = QFontMetricsF(self._value_font).height()
        columns = len(self._sizes)
        for column in range(columns):
            n = self._sizes[column]
            slot = np.ptp(self._positions[column][:, 1]) / (n - 1) if n > 1 else np.inf
            for unit in range(n):
                lines = view.node_labels.get((column, unit))
                if not lines:
                    continue
                if slot < len(lines) * line_height + 4.0:
                    lines = lines[-1:]
                label = self._node_labels[(column, unit)]
                label.setText("\n".join(lines), color=style.TEXT)
                size = label.textItem.boundingRect().size()
                x, y = self._positions[column][unit]
                rect = self._free_rect(
                    self._node_candidates(x, y, size.width(), size.height(), column, columns),
                    bounds,
                    occupied,
                    must=True,
                )
                if rect is not None:
                    label.setPos(rect.topLeft())
                    label.show()
                    occupied.append(rect)
        self._place_edge_labels(view, bounds, occupied)

    def _node_candidates(
        self, x: float, y: float, w: float, h: float, column: int, columns: int
    ) -> list[QRectF]:
        gap = 0.5 * self._node_px + 6.0  # clear of the selection ring
        right = QRectF(x + gap, y - 0.5 * h, w, h)
        left = QRectF(x - gap - w, y - 0.5 * h, w, h)
        below = QRectF(x - 0.5 * w, y + gap, w, h)
        above = QRectF(x - 0.5 * w, y - gap - h, w, h)
        if column == 0:
            return [below, above, right, left]
        if column == columns - 1:
            return [below, above, left, right]
        return [right, left, above, below]

    @staticmethod
    def _free_rect(
        candidates: list[QRectF], bounds: QRectF, occupied: list[QRectF], must: bool = False
    ) -> QRectF | None:
        """The first candidate inside `bounds` that overlaps nothing; with `must`, the least bad."""
        best, best_overlap = None, np.inf
        for rect in candidates:
            if not bounds.contains(rect):
                continue
            overlap = 0.0
            for other in occupied:
                if rect.intersects(other):
                    common = rect.intersected(other)
                    overlap += common.width() * common.height()
            if overlap == 0.0:
                return rect
            if overlap < best_overlap:
                best, best_overlap = rect, overlap
        return best if must else None

    def _place_edge_labels(self, view: PhaseView, bounds: QRectF, occupied: list[QRectF]) -> None:
        selected = view.selection
        selected_key = (
            (selected.layer, selected.source, selected.unit)
            if selected is not None and selected.kind == "edge"
            else None
        )
        keys = sorted(view.edge_labels, key=lambda key: -abs(view.edge_values.get(key, 0.0)))
        focus = None
        if len(keys) > DENSE_EDGES:  # too many to read: the selection's edges, or the strongest
            if selected is not None and selected.kind in ("node", "bias"):
                focus = (selected.layer, selected.unit)
                keys = [key for key in keys if focus in ((key[0] - 1, key[1]), (key[0], key[2]))]
            else:
                keys = keys[:DENSE_FALLBACK]
        if selected_key in view.edge_labels:
            keys = [selected_key, *(key for key in keys if key != selected_key)]
        pool = iter(self.edge_label_items)
        label = next(pool)
        for key in keys:
            k, i, j = key
            if k >= len(self._sizes) or i >= self._sizes[k - 1] or j >= self._sizes[k]:
                continue
            value = view.edge_values.get(key, 0.0)
            label.setText(
                view.edge_labels[key], color=NEGATIVE_TEXT if value < 0 else POSITIVE_TEXT
            )
            size = label.textItem.boundingRect().size()
            w, h = size.width(), size.height()
            (x0, y0), (x1, y1) = self.node_position(k - 1, i), self.node_position(k, j)
            # along the edge, towards the end where the edges fan out: away from a selected
            # node they all meet at, else towards the wider column
            spread = (0.72, 0.6, 0.84, 0.5, 0.4)
            if focus is not None and focus in ((k - 1, i), (k, j)):
                towards_target = focus == (k - 1, i)
            else:
                towards_target = self._sizes[k] >= self._sizes[k - 1]
            fractions = spread if towards_target else [1 - t for t in spread]
            candidates = [
                QRectF(x0 + t * (x1 - x0) - 0.5 * w, y0 + t * (y1 - y0) - 0.5 * h, w, h)
                for t in fractions
            ]
            rect = self._free_rect(candidates, bounds, occupied, must=key == selected_key)
            if rect is None:
                continue
            label.setPos(rect.topLeft())
            label.key = key
            label.show()
            occupied.append(rect)
            label = next(pool, None)
            if label is None:
                break
        if focus is not None and keys:
            ends = [(self.node_position(k - 1, i), self.node_position(k, j)) for k, i, j in keys]
            points = np.array(ends).reshape(-1, 2)
            self._focus_edges.setData(points[:, 0], points[:, 1])
            self._focus_edges.show()
