"""The network diagram: input, hidden and output units in columns, weights as coloured edges.

How it draws, and why:

- One immutable picture per redraw. `show_frame`, `show_explain`, `clear_explain`, a resize and
  the map switch all end in `_render()`, which builds a frozen `_Picture` from the newest inputs:
  the frame, its `Diagram` (`nnviz.core.diagram`: every position, box and hit test, no Qt), the
  edge bins, the node maps, and the explain overlay with its label boxes. The picture is then
  drawn as a whole, and everything the mouse does reads that one picture. The explain overlay
  and the selection are checked against the picture's diagram on every render: one that does
  not fit (a phase of another architecture, a unit that no longer exists) is dropped, so an
  index into an old network can never reach the weights of a new one.
- View coordinates are the view box's own pixels: x to the right, y down (`invertY`), the range
  set to (0, width) x (0, height). Why pixels: under a non-uniform view scale (even 1 + 1e-9),
  Qt strokes antialiased pens wider than 1 px about 30x slower (measured: 45 ms instead of 2 ms
  for the 304 edges of 2-16-16-1), and the scale here is exactly 1.
- Items are created once per architecture and fed each picture (pyqtgraph's "build once, then
  update"); work whose inputs did not change since the last picture is skipped.
- Edges are coloured by the sign of the weight (TensorFlow Playground's orange for w < 0, blue for
  w > 0) and binned by |w| relative to the largest |w| of the frame into `MAGNITUDE_BINS` bins
  whose pens grow wider and less faded (`EDGE_WIDTHS`, `EDGE_ALPHAS`). The fade is alpha
  pre-blended over the white background into an opaque colour: it looks the same, and
  antialiased translucent pens wider than 1 px paint 2-3x slower (measured). Each (sign, bin)
  pair is one `PlotDataItem(connect="pairs")`, so a redraw is at most ten `setData` calls, and
  only for the bins whose membership changed. Stronger bins are drawn on top.
- Titles and the x1/p labels go where the `Diagram` puts them, with 2 px margins, so the boxes
  it keeps apart are the boxes painted. A narrow view (the Metrics dock open beside a wide
  network) shortens or drops titles and draws the x1/p labels in a smaller font, elided or
  every other one (`nnviz.core.diagram`): text never lands on text.
- Biases are a small square at the lower-left of each hidden and output node, as in Playground,
  coloured on the same diverging map with intensity |b| relative to the largest |w| (clipped,
  quantised to a few levels so the scatter's symbol atlas stays small).
- Per-node maps: every hidden and output node shows its own output over the input plane (one
  `ImageItem` per node inside a clip ellipse, from `nnviz.core.explain.node_output_grids`, one
  forward pass of the core network for all nodes). The colours of all nodes come from one NumPy
  lookup into RGBA images: given float data, ImageItem rebuilds a 256-entry colour table per
  image per frame, which measured 2-3x the cost of the whole map update.
- Hover texts: an edge gives "W2[3→1] from hidden 1 unit 3 to output = -1.234" (1-based units);
  a hidden or output node its bias and the mean, min and max of its activation over the training
  set (`nnviz.core.network.forward_layers`, once per frame, lazily); an input node its range.
- Explain overlay (`show_explain(phase_view)` / `clear_explain()`): a light band behind each
  active column, thicker outlines on its nodes, a ring or a thick segment on the selection, and
  value labels in the boxes `nnviz.core.diagram.place_labels` gives: none overlaps another
  label, a node or a title, node labels cross no edge, and a label with no room is shortened or
  dropped by the rule documented there. The label items are a pool built per architecture.
- Mouse: hovering emits `node_hovered((layer, unit))` or `node_hovered(None)` when it changes
  (also when a new picture moves or removes the node under the mouse). With the explain overlay
  on screen a left click emits `item_clicked(Hit)` (select it); without, a click on an edge or a
  bias square emits `weight_edit_requested(name, index, value)`, e.g. ("W2", (2, 0), -1.23).
  Only an overlay that fits the network on screen is shown, so a clicked Hit always exists in
  the network the overlay explains.

The view only reads the frames it is given; it never writes to them or to the model.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QCursor, QFont, QFontMetricsF, QPainterPath, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QInputDialog,
    QLabel,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...core.diagram import (
    BIAS_FRACTION,
    BIAS_OFFSET,
    MAX_EDGE_LABELS,
    Box,
    Diagram,
    Hit,
    Labels,
    Measure,
    Measures,
    layout_diagram,
    place_labels,
)
from ...core.explain import UPDATE, PhaseView, node_levels, node_output_grids
from ...core.network import forward_layers, unit_name
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

#: The largest network drawn: edges, and nodes past the inputs (each has a map image).
MAX_DRAWN_WEIGHTS = 70_000
MAX_DRAWN_UNITS = 1_100
#: Number of |w| bins per sign; the edges of a frame fall into 2 * MAGNITUDE_BINS pens.
MAGNITUDE_BINS = 5
#: Pen width (px) and alpha (0-255) of each magnitude bin, weakest first.
EDGE_WIDTHS = (1.0, 1.6, 2.4, 3.4, 4.6)
EDGE_ALPHAS = (70, 115, 160, 205, 250)
#: Bias squares are coloured in this many intensity levels per sign.
BIAS_LEVELS = 8
#: Per-node maps are MAP_SIZE x MAP_SIZE grids over the input plane.
MAP_SIZE = 24

NODE_FILL = (255, 255, 255)
INPUT_FILL = (244, 245, 247)
NODE_OUTLINE = (110, 110, 110)
MUTED_TEXT = (110, 110, 110)
BAND_FILL = (255, 243, 196)  # behind the active column
BAND_MARGIN_PX = 5.0
ACTIVE_OUTLINE = (30, 30, 30)
SELECTION_COLOR = (128, 40, 170)
LABEL_FILL = (255, 255, 255, 235)
LABEL_MARGIN_PX = 1.0  # a value label's text margin: its fill hugs the text
TEXT_MARGIN_PX = 2.0  # titles' and x1/p labels' margin: their boxes, kept apart, hug the text
NEGATIVE_TEXT = (176, 86, 0)  # darker than style.ORANGE so that small text stays legible
POSITIVE_TEXT = (6, 82, 133)
VALUE_Z = 32  # value labels, above everything else
TEXT_Z = 30  # titles, x1/p labels and the caption

_WIDTHS = np.array(EDGE_WIDTHS)


@dataclass(frozen=True, eq=False)
class _Maps:
    """Every hidden and output node's map: values (nodes, MAP_SIZE, MAP_SIZE), colour levels
    (nodes, 2) and RGBA images, in the order of `keys`."""

    keys: tuple[tuple[int, int], ...]
    values: np.ndarray
    levels: np.ndarray
    rgba: np.ndarray


@dataclass(frozen=True, eq=False)
class _Picture:
    """One redraw: a frame, the geometry it is drawn with, and what is highlighted on it.

    Built whole by `NetworkView._render` and never changed; the mouse reads only the newest
    picture, so a hit and the weights it indexes always belong to the same network.
    """

    frame: Frame
    diagram: Diagram
    edge_bins: np.ndarray  # per edge (diagram.edge_keys order): 0..BINS-1 negative, BINS.. positive
    scale: float  # the largest |w|
    biases: np.ndarray  # every bias, hidden and output units in order (NaN and inf as 0)
    maps: _Maps | None
    explain: PhaseView | None  # None unless it fits `diagram`
    selection: Hit | None  # the explain overlay's selection, if it exists in `diagram`
    labels: Labels | None

    @property
    def edge_widths(self) -> np.ndarray:
        return _WIDTHS[self.edge_bins % MAGNITUDE_BINS]


def format_value(value: float) -> str:
    """Four significant digits: -1.234, 0.05234, 1.235e+04."""
    return f"{value:.4g}"


def _bias_symbol() -> QPainterPath:
    """A square in the lower-left corner of the unit box (pyqtgraph symbols have y pointing down);
    the same place as `Diagram.bias_box`."""
    path = QPainterPath()
    path.addRect(QRectF(-0.5, BIAS_OFFSET, BIAS_FRACTION, BIAS_FRACTION))
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


def _rect(box: Box) -> QRectF:
    return QRectF(box.x, box.y, box.w, box.h)


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


def _text_measure(font: QFont, margin: float) -> Measure:
    """The size of the box a `pg.TextItem` with `font` and document `margin` draws `text` in.

    Measured with a QTextDocument, as the TextItem lays its text out, so a box from
    `nnviz.core.diagram` is exactly the box that is painted.
    """
    document = QTextDocument()
    document.setDefaultFont(font)
    document.setDocumentMargin(margin)

    @lru_cache(maxsize=4096)
    def measure(text: str) -> tuple[float, float]:
        document.setPlainText(text)
        size = document.size()
        return (float(size.width()), float(size.height()))

    return measure


def _sizes_of(weights: Mapping[str, np.ndarray]) -> tuple[int, ...]:
    depth = len(weights) // 2
    return (weights["W1"].shape[0], *(weights[f"W{k}"].shape[1] for k in range(1, depth + 1)))


def _fits(view: PhaseView, diagram: Diagram) -> bool:
    """Whether an explain phase was made for the network `diagram` shows (its selection aside).

    Every index must exist, and a phase labels every unit of the columns it labels and every
    weight of its weight layers (an update phase: of all layers), so a phase of a network with
    more units, or fewer, in those layers does not fit either.
    """
    sizes, layers = diagram.sizes, len(diagram.sizes)
    if not (
        all(0 <= column < layers for column in view.columns)
        and all(1 <= k < layers for k in view.weight_layers)
        and all(diagram.has_node(*key) for key in view.node_labels)
        and all(diagram.has_edge(*key) for key in view.edge_labels)
    ):
        return False
    columns: dict[int, int] = {}
    for column, _unit in view.node_labels:
        columns[column] = columns.get(column, 0) + 1
    if any(count != sizes[column] for column, count in columns.items()):
        return False
    weights: dict[int, int] = {}
    for k, _i, _j in view.edge_labels:
        weights[k] = weights.get(k, 0) + 1
    if any(weights.get(k, 0) != sizes[k - 1] * sizes[k] for k in view.weight_layers):
        return False
    return view.phase.kind != UPDATE or set(view.weight_layers) == set(range(1, layers))


class NetworkView(QWidget):
    """The network's units in columns, its weights as edges and its biases as small squares.

    Call `show_frame(frame)` for every redraw. `plot_widget` (a `pg.GraphicsLayoutWidget`) and
    `view_box` are public for exporters; `diagram` is the geometry of what is shown.
    """

    #: (layer, unit) of the node under the mouse, or None when it leaves every node.
    node_hovered = Signal(object)
    #: A left click on a node, bias square or edge while an explain overlay is on screen: the
    #: `Hit`, a unit or weight of the network that overlay explains.
    item_clicked = Signal(object)
    #: A click on an edge or a bias square outside the explain overlay: name, index, value.
    weight_edit_requested = Signal(str, tuple, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame: Frame | None = None  # the newest frame given
        self._explain: PhaseView | None = None  # the newest phase given, until it stops fitting
        self._maps_visible = True
        self._picture: _Picture | None = None
        self._diagram: Diagram | None = None  # cache: the layout of the newest size and sizes
        self._names: tuple = (None, None)  # the cached diagram's input and output names
        self._labels: tuple[Diagram, PhaseView, np.ndarray, Labels] | None = None  # cache
        self._maps: tuple[Frame, _Maps] | None = None  # cache
        self._layers_cache: tuple[Frame, list[tuple[np.ndarray, np.ndarray]]] | None = None
        self._map_points: tuple[tuple[float, ...], np.ndarray] | None = None
        self._hover: QPointF | None = None
        self._hovered_node: tuple[int, int] | None = None
        # what the items show now, so unchanged parts of a new picture are skipped
        self._pool_sizes: tuple[int, ...] = ()
        self._placed: Diagram | None = None
        self._drawn_bins = np.empty(0, dtype=int)
        self._node_style: tuple | None = None
        self._drawn_maps: _Maps | None = None
        self._overlay: tuple | None = None
        self._caption_html = ""

        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground("w")
        self.plot_widget.ci.setContentsMargins(0, 0, 0, 0)
        self.view_box = self.plot_widget.addViewBox(enableMouse=False, enableMenu=False)
        self.view_box.setMouseEnabled(False, False)
        self.view_box.disableAutoRange()
        self.view_box.setDefaultPadding(0.0)
        self.view_box.invertY(True)
        self.too_large_label = QLabel(wordWrap=True, alignment=Qt.AlignmentFlag.AlignCenter)
        self.too_large_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)
        layout.addWidget(self.too_large_label)

        self._title_font = QFont()
        self._title_font.setPointSizeF(9.0)
        self._side_font = QFont()
        self._side_font.setPointSizeF(10.0)
        self._side_font.setItalic(True)
        self._side_small_font = QFont(self._side_font)  # x1/p labels where the others do not fit
        self._side_small_font.setPointSizeF(8.0)
        self._caption_font = QFont()
        self._caption_font.setPointSizeF(8.0)
        self._value_font = QFont()
        self._value_font.setPointSizeF(8.0)
        margin = QTextDocument().documentMargin()  # a TextItem's own margin (4 px)
        self._measures = Measures(
            title=_text_measure(self._title_font, TEXT_MARGIN_PX),
            side=_text_measure(self._side_font, TEXT_MARGIN_PX),
            side_small=_text_measure(self._side_small_font, TEXT_MARGIN_PX),
            value=_text_measure(self._value_font, LABEL_MARGIN_PX),
            caption_height=_text_measure(self._caption_font, margin)("Ag")[1],
        )

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
        self.caption_item = pg.TextItem(anchor=(0.5, 0.0))
        self.caption_item.setFont(self._caption_font)
        self.caption_item.setZValue(TEXT_Z)
        for item in (self.node_item, self.bias_item, self.caption_item):
            self.view_box.addItem(item)

        self._map_lut = style.probability_lut()
        self._blank_map = np.full((MAP_SIZE, MAP_SIZE, 4), 255, dtype=np.uint8)  # white RGBA
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
        for item in (self._selection_ring, self._selection_edge, self._focus_edges):
            item.hide()
            self.view_box.addItem(item)

        # pools, rebuilt for each architecture
        self._title_items: list[pg.TextItem] = []
        self._side_items: list[pg.TextItem] = []
        self._bands: list[QGraphicsPathItem] = []
        self._map_items: dict[tuple[int, int], tuple[QGraphicsEllipseItem, pg.ImageItem]] = {}
        #: Value labels of the explain overlay (enough for every node and MAX_EDGE_LABELS edges).
        self.value_label_items: list[pg.TextItem] = []

        self._node_pen = pg.mkPen(NODE_OUTLINE, width=1.5)
        self._active_pen = pg.mkPen(ACTIVE_OUTLINE, width=2.6)
        self._clear_brush = pg.mkBrush(0, 0, 0, 0)
        self._input_brush = pg.mkBrush(*INPUT_FILL)
        self._node_brush = pg.mkBrush(*NODE_FILL)
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

    # -- public API --------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(450, 350)

    def minimumSizeHint(self) -> QSize:
        return QSize(220, 160)

    @property
    def frame(self) -> Frame | None:
        """The frame on screen."""
        return self._picture.frame if self._picture is not None else None

    @property
    def diagram(self) -> Diagram | None:
        """The geometry on screen (view coordinates are its pixels); None before a frame."""
        return self._picture.diagram if self._picture is not None else None

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Units per column, e.g. (2, 5, 1); empty before the first frame."""
        return self._picture.diagram.sizes if self._picture is not None else ()

    @property
    def weight_scale(self) -> float:
        """The largest |w| of the current frame: the widest pen and a full-colour bias."""
        return self._picture.scale if self._picture is not None else 0.0

    @property
    def selection(self) -> Hit | None:
        """The highlighted node, bias or edge of the explain overlay, if it exists on screen."""
        return self._picture.selection if self._picture is not None else None

    def node_position(self, layer: int, unit: int) -> tuple[float, float]:
        """View coordinates of a unit's centre; KeyError if it is not on screen."""
        if self._picture is None:
            raise KeyError(f"no unit ({layer}, {unit}) before the first frame")
        return self._picture.diagram.center(layer, unit)

    def bias_rect(self, layer: int, unit: int) -> QRectF:
        """The bias square of node (layer, unit) in view coordinates (pixels)."""
        if self._picture is None:
            raise KeyError(f"no unit ({layer}, {unit}) before the first frame")
        return _rect(self._picture.diagram.bias_box(layer, unit))

    def show_frame(self, frame: Frame) -> None:
        """Draw `frame`; items are rebuilt only if the layer sizes changed."""
        self._frame = frame
        self._render()

    def hit_at(self, x: float, y: float) -> Hit | None:
        """The bias square, node or edge at (x, y) in view coordinates, or None."""
        picture = self._picture
        if picture is None:
            return None
        return picture.diagram.hit_test(x, y, edge_widths=picture.edge_widths)

    def describe_at(self, x: float, y: float) -> str | None:
        """Hover text for the node or edge at (x, y) in view coordinates, or None."""
        picture = self._picture
        if picture is None:
            return None
        hit = picture.diagram.hit_test(x, y, edge_widths=picture.edge_widths)
        if hit is None:
            return None
        return self._describe(picture, hit)

    @property
    def node_maps_visible(self) -> bool:
        return self._maps_visible

    def set_node_maps_visible(self, visible: bool) -> None:
        """Show or hide the per-node maps (shown by default)."""
        self._maps_visible = bool(visible)
        self._render()

    def map_image(self, layer: int, unit: int) -> pg.ImageItem:
        """The ImageItem of a hidden or output node's map (for tests and exporters)."""
        return self._map_items[(layer, unit)][1]

    def map_values(self, layer: int, unit: int) -> tuple[np.ndarray, tuple[float, float]]:
        """The values a node's map shows (top row = largest x2) and its colour levels;
        KeyError if that node has no map on screen."""
        maps = self._picture.maps if self._picture is not None else None
        if maps is None or (layer, unit) not in maps.keys:
            raise KeyError(f"no map of unit ({layer}, {unit}) on screen")
        n = maps.keys.index((layer, unit))
        return maps.values[n], (float(maps.levels[n, 0]), float(maps.levels[n, 1]))

    @property
    def explain_view(self) -> PhaseView | None:
        """The phase the overlay shows, or None."""
        if self._picture is None:
            return self._explain
        return self._picture.explain

    def show_explain(self, phase_view: PhaseView) -> None:
        """Highlight the phase's active columns and label nodes and edges with its values.

        A phase that does not fit the network on screen (another architecture) is dropped.
        """
        self._explain = phase_view
        self._render()

    def clear_explain(self) -> None:
        """Remove the explain overlay; the legend returns."""
        self._explain = None
        self._render()

    def explain_labels(self) -> dict[tuple, str]:
        """The value labels on screen: (column, unit) or (k, i, j) -> text (for tests)."""
        picture = self._picture
        if picture is None or picture.labels is None:
            return {}
        return picture.labels.texts()

    # -- building the picture ----------------------------------------------------------------

    def _render(self) -> None:
        """Build a new picture from the newest inputs, draw it, and re-check the hover."""
        frame = self._frame
        if frame is None:
            return
        weights = frame.snapshot.weights
        sizes = _sizes_of(weights)
        if not self._show_drawable(sizes):
            self._picture = None
            return
        diagram = self._layout(sizes, frame)
        explain = self._explain
        if explain is not None and not _fits(explain, diagram):
            explain = self._explain = None  # a phase of another network
        selection = None
        if explain is not None and explain.selection is not None:
            item = explain.selection
            candidate = Hit(item.kind, item.layer, item.unit, item.source)
            selection = candidate if diagram.contains(candidate) else None
        bins, scale = _edge_bins(weights, len(sizes) - 1)
        labels = None
        if explain is not None:
            labels = self._place_labels(diagram, explain, selection, bins)
        biases = np.concatenate([np.asarray(weights[f"b{k}"], float) for k in range(1, len(sizes))])
        picture = _Picture(
            frame=frame,
            diagram=diagram,
            edge_bins=bins,
            scale=scale,
            biases=np.nan_to_num(biases, nan=0.0, posinf=0.0, neginf=0.0),
            maps=self._compute_maps(frame, diagram) if self._maps_visible else None,
            explain=explain,
            selection=selection,
            labels=labels,
        )
        self._picture = picture
        self._draw(picture)
        self._recheck_hover(picture)

    def _show_drawable(self, sizes: tuple[int, ...]) -> bool:
        """Draw networks up to MAX_DRAWN_WEIGHTS edges and MAX_DRAWN_UNITS nodes; say so
        instead for a larger one (8 layers of 4096 would take minutes a frame)."""
        weights = sum(a * b for a, b in pairwise(sizes))
        drawable = weights <= MAX_DRAWN_WEIGHTS and sum(sizes[1:]) <= MAX_DRAWN_UNITS
        if not drawable:
            shape = "-".join(str(size) for size in sizes)
            self.too_large_label.setText(
                f"A {shape} network has {weights:,} weights: too many to draw (the diagram "
                f"draws up to {MAX_DRAWN_WEIGHTS:,} weights and {MAX_DRAWN_UNITS:,} units). "
                "Training, the other views and the exports work as usual."
            )
        self.too_large_label.setVisible(not drawable)
        self.plot_widget.setVisible(drawable)
        return drawable

    def _layout(self, sizes: tuple[int, ...], frame: Frame) -> Diagram:
        """The diagram at the view's size, its inputs and outputs named as the task names them
        (x1², sin x1, iris's measurements; p1..pK)."""
        rect = self.view_box.rect()
        width, height = max(rect.width(), 60.0), max(rect.height(), 60.0)
        names = _side_names(frame, sizes)
        cached = self._diagram
        key = (sizes, width, height, names)
        if cached is None or (cached.sizes, cached.width, cached.height, self._names) != key:
            inputs, outputs = names
            self._diagram = layout_diagram(
                sizes, width, height, self._measures, input_names=inputs, output_names=outputs
            )
            self._names = names
        return self._diagram

    def _place_labels(
        self, diagram: Diagram, view: PhaseView, selection: Hit | None, bins: np.ndarray
    ) -> Labels:
        """The value labels' boxes, kept while the layout, the phase and the pens stay."""
        cached = self._labels
        if (
            cached is not None
            and cached[0] is diagram
            and cached[1] is view
            and np.array_equal(cached[2], bins)
        ):
            return cached[3]
        labels = place_labels(
            diagram,
            view.node_labels,
            view.edge_labels,
            edge_values=view.edge_values,
            selection=selection,
            edge_widths=_WIDTHS[bins % MAGNITUDE_BINS],
        )
        self._labels = (diagram, view, bins, labels)
        return labels

    def _compute_maps(self, frame: Frame, diagram: Diagram) -> _Maps | None:
        """Each hidden and output node's output over the input plane, or over the boundary
        view's plane of data with more inputs (cached per frame)."""
        if self._maps is not None and self._maps[0] is frame:
            return self._maps[1]
        extent = tuple(float(e) for e in frame.extent)
        plane = frame.plane
        if self._map_points is None or self._map_points[0] != (extent, plane):
            xmin, xmax, ymin, ymax = extent
            gx, gy = np.meshgrid(
                np.linspace(xmin, xmax, MAP_SIZE), np.linspace(ymax, ymin, MAP_SIZE)
            )  # top row first: the view's y axis points down
            uv = np.column_stack([gx.ravel(), gy.ravel()])
            self._map_points = ((extent, plane), uv if plane is None else plane.to_raw(uv))
        weights = frame.snapshot.weights
        activation, depth = frame.config.activation, len(diagram.sizes) - 1
        task = frame.task
        output = "sigmoid" if task is None else task.output
        grids = node_output_grids(
            weights, activation, extent, MAP_SIZE, self._map_points[1], task=task
        )
        keys = tuple((c, u) for c in range(1, depth + 1) for u in range(diagram.sizes[c]))
        values = np.concatenate(grids[1:])  # (nodes, MAP_SIZE, MAP_SIZE), the order of `keys`
        levels = np.array([node_levels(activation, c, depth, grids[c][u], output) for c, u in keys])
        low = levels[:, 0, None, None]
        scale = 255.999 / (levels[:, 1] - levels[:, 0])[:, None, None]
        # One lookup for every node: ImageItem would rebuild a 256-colour table per image.
        with np.errstate(over="ignore", invalid="ignore"):  # diverged weights give inf and NaN
            index = np.nan_to_num((values - low) * scale, nan=127.0, posinf=255.0, neginf=0.0)
        np.clip(index, 0.0, 255.0, out=index)
        maps = _Maps(keys, values, levels, self._map_lut[index.astype(np.uint8)])
        self._maps = (frame, maps)
        return maps

    # -- drawing the picture -----------------------------------------------------------------

    def _draw(self, picture: _Picture) -> None:
        diagram = picture.diagram
        if diagram.sizes != self._pool_sizes:
            self._build_pools(diagram.sizes)
        if diagram is not self._placed:
            self._place_static(diagram)
        self._draw_edges(picture)
        self._draw_biases(picture)
        self._draw_maps(picture)
        self._style_nodes(picture)
        self._draw_overlay(picture)
        self._draw_caption(picture)

    def _build_pools(self, sizes: tuple[int, ...]) -> None:
        """Items whose number depends on the architecture: titles, x/p labels, map images,
        column bands and value labels."""
        old = [*self._title_items, *self._side_items, *self._bands, *self.value_label_items]
        old += [clip for clip, _image in self._map_items.values()]
        for item in old:
            self.view_box.removeItem(item)
        self._title_items = [self._text_item(self._title_font) for _ in sizes]
        last = len(sizes) - 1
        self._side_items = [self._text_item(self._side_font) for _ in range(sizes[0] + sizes[last])]
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
                clip.hide()  # shown by the first picture with maps
                self.view_box.addItem(clip)
                self._map_items[(layer, unit)] = (clip, image)
        self._bands = []
        for _ in sizes:
            band = QGraphicsPathItem()
            band.setPen(pg.mkPen(None))
            band.setBrush(pg.mkBrush(*BAND_FILL))
            band.setZValue(-5)
            band.hide()
            self.view_box.addItem(band)
            self._bands.append(band)
        self.value_label_items = [self._value_label() for _ in range(sum(sizes) + MAX_EDGE_LABELS)]
        self._pool_sizes = sizes
        self._placed = None
        self._drawn_maps = None
        self._node_style = None
        self._overlay = None

    def _text_item(self, font: QFont) -> pg.TextItem:
        item = pg.TextItem(color=style.TEXT, anchor=(0.0, 0.0))
        item.setFont(font)
        item.textItem.document().setDocumentMargin(TEXT_MARGIN_PX)
        item.setZValue(TEXT_Z)
        self.view_box.addItem(item)
        return item

    def _value_label(self) -> pg.TextItem:
        """A hidden value label of the explain overlay: tight margins, a white fill."""
        label = pg.TextItem(color=style.TEXT, anchor=(0.0, 0.0), fill=pg.mkBrush(*LABEL_FILL))
        label.setFont(self._value_font)
        label.textItem.document().setDocumentMargin(LABEL_MARGIN_PX)
        label.setZValue(VALUE_Z)
        label.hide()
        self.view_box.addItem(label)
        return label

    def _place_static(self, diagram: Diagram) -> None:
        """Everything that moves only with the layout: range, nodes, squares, texts, map rects."""
        # (0, width) x (0, height): the view's scale is exactly 1, which keeps wide pens fast.
        self.view_box.setRange(
            xRange=(0.0, diagram.width), yRange=(0.0, diagram.height), padding=0.0
        )
        self.node_item.setData(pos=diagram.centers, pen=self._node_pen, brush=self._node_brush)
        self.node_item.setSize(diagram.node_px)
        self.bias_item.setData(pos=diagram.centers[diagram.sizes[0] :], pen=self._bias_pen)
        self.bias_item.setSize(diagram.bias_px)
        for item, text in zip(self._title_items, diagram.titles, strict=True):
            item.setText(text.text)
            item.setPos(text.box.x, text.box.y)
            item.setVisible(bool(text.text))
        side_font = self._side_small_font if diagram.side_small else self._side_font
        for item, text in zip(self._side_items, diagram.side_labels, strict=True):
            item.setFont(side_font)
            item.setText(text.text)
            item.setPos(text.box.x, text.box.y)
            item.setVisible(bool(text.text))
        radius = max(0.5 * diagram.node_px - 0.75, 1.0)  # inside the outline
        for (layer, unit), (clip, image) in self._map_items.items():
            x, y = diagram.center(layer, unit)
            rect = QRectF(x - radius, y - radius, 2 * radius, 2 * radius)
            clip.setRect(rect)
            image.setRect(rect)
        self._drawn_bins = np.full(len(diagram.edge_keys), -1, dtype=int)  # redraw every bin
        self._drawn_maps = None  # new rects: set the images again
        self._node_style = None
        self._overlay = None
        self._placed = diagram

    def _draw_edges(self, picture: _Picture) -> None:
        bins = picture.edge_bins
        changed = bins != self._drawn_bins
        if not changed.any():
            return
        if (self._drawn_bins < 0).any():  # just placed: every bin, so none keeps old segments
            touched = np.arange(2 * MAGNITUDE_BINS)
        else:
            touched = np.union1d(bins[changed], self._drawn_bins[changed])
        segments = picture.diagram.segments
        for b in touched:
            chosen = segments[bins == b]  # (m, 2, 2)
            item = self.edge_items[(-1 if b < MAGNITUDE_BINS else 1, int(b) % MAGNITUDE_BINS)]
            item.setData(chosen[:, :, 0].ravel(), chosen[:, :, 1].ravel())
        self._drawn_bins = bins

    def _draw_biases(self, picture: _Picture) -> None:
        b = picture.biases
        scale = picture.scale if picture.scale > 0 else max(float(np.abs(b).max()), 1e-12)
        levels = np.round(np.minimum(np.abs(b) / scale, 1.0) * BIAS_LEVELS).astype(int)
        self.bias_item.setBrush(
            [self._bias_brushes[-1 if value < 0 else 1][level] for value, level in zip(b, levels)]
        )

    def _draw_maps(self, picture: _Picture) -> None:
        maps = picture.maps
        if maps is self._drawn_maps:
            return
        if (maps is None) != (self._drawn_maps is None):
            for clip, _image in self._map_items.values():
                clip.setVisible(maps is not None)
        self._drawn_maps = maps
        if maps is None:
            return
        for n, key in enumerate(maps.keys):
            self._map_items[key][1].setImage(maps.rgba[n], autoLevels=False)

    def _style_nodes(self, picture: _Picture) -> None:
        """Node outlines (thicker in active columns) and fills (clear where a map shows)."""
        active = frozenset(picture.explain.columns) if picture.explain is not None else frozenset()
        mapped = picture.maps is not None
        key = (active, mapped)
        if key == self._node_style:
            return
        pens, brushes = [], []
        for layer, n in enumerate(picture.diagram.sizes):
            pen = self._active_pen if layer in active else self._node_pen
            fill = self._input_brush if layer == 0 else self._node_brush
            pens += [pen] * n
            brushes += [self._clear_brush if mapped and layer > 0 else fill] * n
        self.node_item.setPen(pens)
        self.node_item.setBrush(brushes)
        self._node_style = key

    def _draw_overlay(self, picture: _Picture) -> None:
        """Bands, the selection and the value labels of the explain overlay (or none)."""
        key = (picture.explain, picture.labels, picture.selection)
        last = self._overlay
        if last is not None and last[0] is key[0] and last[1] is key[1] and last[2] == key[2]:
            return
        self._overlay = key
        for item in (*self._bands, *self.value_label_items):
            item.hide()
        for item in (self._selection_ring, self._selection_edge, self._focus_edges):
            item.hide()
        view, diagram = picture.explain, picture.diagram
        if view is None:
            return
        for column in view.columns:
            box = diagram.column_box(column, BAND_MARGIN_PX)
            path = QPainterPath()
            radius = 0.5 * diagram.node_px + BAND_MARGIN_PX
            path.addRoundedRect(_rect(box), radius, radius)
            self._bands[column].setPath(path)
            self._bands[column].show()
        selection = picture.selection
        if selection is not None and selection.kind == "edge":
            (x0, y0), (x1, y1) = diagram.segment(*selection.key)
            self._selection_edge.setData([x0, x1], [y0, y1])
            self._selection_edge.show()
        elif selection is not None:
            self._selection_ring.setData(
                pos=[diagram.center(selection.layer, selection.unit)],
                size=diagram.node_px + 7.0,
                pen=pg.mkPen(SELECTION_COLOR, width=2.5),
                brush=None,
            )
            self._selection_ring.show()
        labels = picture.labels
        for item, label in zip(self.value_label_items, labels.placed):
            color = style.TEXT
            if len(label.key) == 3:
                value = view.edge_values.get(label.key, 0.0)
                color = NEGATIVE_TEXT if value < 0 else POSITIVE_TEXT
            item.setText(label.text, color=color)
            item.setPos(label.box.x, label.box.y)
            item.show()
        if labels.focus is not None and labels.edge_keys():
            ends = np.array([diagram.segment(*key) for key in labels.edge_keys()]).reshape(-1, 2)
            self._focus_edges.setData(ends[:, 0], ends[:, 1])
            self._focus_edges.show()

    def _draw_caption(self, picture: _Picture) -> None:
        box = picture.diagram.caption
        self.caption_item.setPos(box.x + 0.5 * box.w, box.y)
        metrics = QFontMetricsF(self._caption_font)
        available = max(box.w - 8.0, 40.0)
        view = picture.explain
        if view is not None:
            caption = view.caption if view.in_batch else f"{view.caption} (not in this batch)"
            # a narrow view (the Explain dock is open beside it) shortens the line, never clips
            caption = metrics.elidedText(caption, Qt.TextElideMode.ElideRight, available)
            text = f'<span style="color:{_hex(style.TEXT)}">{html.escape(caption)}</span>'
        else:
            orange, blue, muted = _hex(style.ORANGE), _hex(style.BLUE), _hex(MUTED_TEXT)
            scale = format_value(picture.scale)
            long_caption = f"━━ w<0   ━━ w>0   widest |w| = {scale}   ■ bias"
            short_caption = f"━━<0 ━━>0 max |w| {scale}"
            if metrics.horizontalAdvance(short_caption) > available:
                words = ("&lt;0 ", "&gt;0", "", "")
            elif metrics.horizontalAdvance(long_caption) > available:
                words = ("&lt;0 ", "&gt;0 ", f"max |w| {scale}", "")
            else:
                words = (
                    " w&lt;0 &nbsp; ",
                    " w&gt;0 &nbsp; ",
                    f"widest |w| = {scale}",
                    " &nbsp; ■ bias",
                )
            text = (
                f'<span style="color:{orange}">━━</span>'
                f'<span style="color:{muted}">{words[0]}</span>'
                f'<span style="color:{blue}">━━</span><span style="color:{muted}">{words[1]}'
                f"{words[2]}{words[3]}</span>"
            )
        if text != self._caption_html:
            self._caption_html = text
            self.caption_item.setHtml(text)

    # -- hover texts -------------------------------------------------------------------------

    def _activations(self, frame: Frame) -> list[tuple[np.ndarray, np.ndarray]]:
        """(a, h) of every layer on the training inputs, from the core's forward pass."""
        if self._layers_cache is None or self._layers_cache[0] is not frame:
            task = frame.task
            inputs = frame.data.x_train if task is None else task.inputs(frame.data.x_train)
            output = "sigmoid" if task is None else task.output
            layers = forward_layers(frame.snapshot.weights, inputs, frame.config.activation, output)
            self._layers_cache = (frame, layers)
        return self._layers_cache[1]

    def _describe(self, picture: _Picture, hit: Hit) -> str:
        """The hover text of `hit`, which `picture.diagram` contains."""
        weights, sizes = picture.frame.snapshot.weights, picture.diagram.sizes
        if hit.kind == "edge":
            value = float(weights[f"W{hit.layer}"][hit.source, hit.unit])
            source = unit_name(sizes, hit.layer - 1, hit.source)
            target = unit_name(sizes, hit.layer, hit.unit)
            if hit.layer == len(sizes) - 1 and sizes[-1] == 1:
                target = "output"
            return (
                f"W{hit.layer}[{hit.source + 1}→{hit.unit + 1}] from {source} to {target} "
                f"= {format_value(value)}"
            )
        if hit.kind == "bias":
            value = float(weights[f"b{hit.layer}"][hit.unit])
            return (
                f"bias b{hit.layer}[{hit.unit + 1}] of "
                f"{unit_name(sizes, hit.layer, hit.unit)} = {format_value(value)}"
            )
        return self._describe_node(picture, hit.layer, hit.unit)

    def _describe_node(self, picture: _Picture, layer: int, unit: int) -> str:
        frame, sizes = picture.frame, picture.diagram.sizes
        x = frame.data.x_train
        if layer == 0:
            task = frame.task
            inputs = x if task is None else task.inputs(x)
            column = inputs[:, unit]
            name = f"x{unit + 1}" if task is None else task.input_names[unit]
            return (
                f"input {name}: input {unit + 1} of {inputs.shape[1]} of each point\n"
                f"training set: mean {format_value(column.mean())}, "
                f"range [{format_value(column.min())}, {format_value(column.max())}]"
            )
        bias = float(frame.snapshot.weights[f"b{layer}"][unit])
        a, h = self._activations(frame)[layer - 1]
        values = h[:, unit]
        output = layer == len(sizes) - 1
        kind = "sigmoid" if frame.task is None else frame.task.output
        name = "p" if output else "h"  # a regression's prediction is p too; y is its target
        function = kind if output else frame.config.activation
        with np.errstate(all="ignore"):
            mean, low, high = values.mean(), values.min(), values.max()
            mean_a = a[:, unit].mean()
        return (
            f"{unit_name(sizes, layer, unit)}\n"
            f"bias b{layer}[{unit + 1}] = {format_value(bias)}\n"
            f"{name} = {function}(a) over {len(x)} training samples:\n"
            f"  mean {name} = {format_value(mean)}, min {format_value(low)}, "
            f"max {format_value(high)}\n"
            f"  mean a = {format_value(mean_a)}"
        )

    # -- mouse -------------------------------------------------------------------------------

    def _recheck_hover(self, picture: _Picture) -> None:
        """After a new picture: the node under the mouse may have moved or gone."""
        if self._hover is None:
            return
        hit = picture.diagram.hit_test(self._hover.x(), self._hover.y(), edge_widths=None)
        self._set_hovered_node(hit.key if hit is not None and hit.kind == "node" else None)
        if QToolTip.isVisible():
            self._show_tooltip(self._hover)

    def _show_tooltip(self, view_pos: QPointF) -> None:
        text = self.describe_at(view_pos.x(), view_pos.y())
        if text is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(QCursor.pos(), text, self.plot_widget)

    def _set_hovered_node(self, node: tuple[int, int] | None) -> None:
        if node != self._hovered_node:
            self._hovered_node = node
            self.node_hovered.emit(node)

    def _leave(self) -> None:
        self._hover = None
        QToolTip.hideText()
        self._set_hovered_node(None)

    @Slot(object)
    def _on_view_box_resized(self, _view_box: object) -> None:
        self._render()

    @Slot(object)
    def _on_scene_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self._leave()
            return
        self._hover = self.view_box.mapSceneToView(scene_pos)
        self._show_tooltip(self._hover)
        hit = self.hit_at(self._hover.x(), self._hover.y())
        self._set_hovered_node(hit.key if hit is not None and hit.kind == "node" else None)

    @Slot(object)
    def _on_scene_mouse_clicked(self, event) -> None:
        picture = self._picture
        if event.button() != Qt.MouseButton.LeftButton or picture is None:
            return
        point = self.view_box.mapSceneToView(event.scenePos())
        hit = picture.diagram.hit_test(point.x(), point.y(), edge_widths=picture.edge_widths)
        if hit is None:
            return
        if picture.explain is not None:  # a click selects what to explain
            self.item_clicked.emit(hit)
            return
        if hit.parameter is None:
            return
        name, index = hit.parameter
        value = float(picture.frame.snapshot.weights[name][index])
        self.weight_edit_requested.emit(name, index, value)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.plot_widget and event.type() == QEvent.Type.Leave:
            self._leave()
        return super().eventFilter(watched, event)


def _edge_bins(weights: Mapping[str, np.ndarray], depth: int) -> tuple[np.ndarray, float]:
    """Each weight's pen bin (W1, W2, ... raveled in order) and the largest finite |w|."""
    w = np.concatenate(
        [np.asarray(weights[f"W{k}"], dtype=float).ravel() for k in range(1, depth + 1)]
    )
    w = np.nan_to_num(w, nan=0.0, posinf=0.0, neginf=0.0)
    magnitude = np.abs(w)
    scale = float(magnitude.max()) if magnitude.size else 0.0
    relative = magnitude / scale if scale > 0 else magnitude
    levels = np.minimum((relative * MAGNITUDE_BINS).astype(int), MAGNITUDE_BINS - 1)
    bins = np.where(w < 0, 0, MAGNITUDE_BINS) + levels
    bins.setflags(write=False)
    return bins, scale


def _side_names(frame: Frame, sizes: tuple[int, ...]) -> tuple:
    """(input names, output names) of the frame's task for the diagram, or (None, None) for
    the article's defaults (x1, x2 and p) or names that do not fit the network's sizes."""
    task = frame.task
    if task is None or (len(task.input_names), task.n_outputs) != (sizes[0], sizes[-1]):
        return (None, None)
    return (tuple(task.input_names), tuple(task.output_names))
