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
  levels so the scatter's symbol atlas stays small). The node's own disc stays free for the
  per-unit heat maps that a later view will draw there.
- Hover texts: an edge gives "W2[3→1] from hidden 1 unit 3 to output = -1.234" (1-based units;
  the NumPy entry is W2[2, 0]); a hidden or output node its bias and the mean, min and max of its
  activation over the training set; an input node its feature and range.
- `hit_at(x, y)` finds the node (within its radius) or else the edge (within a few pixels) under a
  point in view coordinates, measuring distances in pixels. `describe_at(x, y)` turns that into
  the hover text; the activation statistics of a node are computed lazily, once per frame, from
  the frame's weights with `nnviz.core.network.forward_layers` on the training inputs.

The view only reads the frames it is given; it never writes to them or to the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Slot
from PySide6.QtGui import QCursor, QFont, QFontMetricsF, QPainterPath
from PySide6.QtWidgets import QToolTip, QVBoxLayout, QWidget

from ...core.network import forward_layers
from .. import style
from ..frame import Frame

__all__ = [
    "EDGE_ALPHAS",
    "EDGE_WIDTHS",
    "MAGNITUDE_BINS",
    "Hit",
    "NetworkView",
    "edge_color",
    "format_value",
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
MAX_NODE_PX = 34.0
NODE_FRACTION = 0.6  # node diameter as a fraction of the vertical slot of one unit
MAX_SLOT_PX = 80.0  # beyond this the columns stop spreading out vertically
PAD_PX = 4.0
LABEL_GAP_PX = 5.0
EDGE_TOLERANCE_PX = 4.0
MAX_SPREAD = 2.0  # a column with fewer units than the tallest spaces them up to this many slots
MIN_BIAS_BOX_PX = 13.0  # the bias square is 0.34 of this box, so never smaller than ~4.4 px


@dataclass(frozen=True)
class Hit:
    """What lies under a point of the diagram.

    For a node, `layer` is its column (0 = input, L-1 = output) and `unit` its 0-based index.
    For an edge, `layer` is k of the weight matrix `Wk`, `source` the row and `unit` the column,
    so the weight is `weights[f"W{layer}"][source, unit]`.
    """

    kind: str  # "node" or "edge"
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


class NetworkView(QWidget):
    """The network's units in columns, its weights as edges and its biases as small squares.

    Call `show_frame(frame)` for every redraw; items are rebuilt only when the layer sizes
    change. `plot_widget` (a `pg.GraphicsLayoutWidget`) and `view_box` are public for exporters.
    """

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

        self._node_pen = pg.mkPen(NODE_OUTLINE, width=1.5)
        self._bias_pen = pg.mkPen((*NODE_OUTLINE, 200), width=1.0)
        self._bias_brushes = {
            sign: [
                pg.mkBrush(*_blend(color, level / BIAS_LEVELS)) for level in range(BIAS_LEVELS + 1)
            ]
            for sign, color in ((-1, style.ORANGE), (1, style.BLUE))
        }

        self.view_box.sigResized.connect(self._on_view_box_resized)
        self.plot_widget.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.plot_widget.installEventFilter(self)

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
        if self._hover is not None and QToolTip.isVisible():
            self._show_tooltip(self._hover)

    def hit_at(self, x: float, y: float) -> Hit | None:
        """The node within its radius of (x, y) in view coordinates, else the nearest edge."""
        if not self._sizes:
            return None
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
        return self._describe_node(hit.layer, hit.unit)

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

    def _place_items(self) -> None:
        """Move nodes and edges to `_positions`; every edge bin is redrawn at the next frame."""
        nodes = np.vstack(self._positions)
        first = np.concatenate([[0], np.cumsum(self._sizes)])  # index of each column's unit 0
        k, i, j = self._edge_meta.T
        self._edge_segments = np.stack([nodes[first[k - 1] + i], nodes[first[k] + j]], axis=1)
        self._edge_bins = np.full(len(self._edge_meta), -1, dtype=int)
        self.node_item.setData(pos=nodes, pen=self._node_pen, brush=self._node_brushes)
        self.bias_item.setData(pos=np.vstack(self._positions[1:]), pen=self._bias_pen)
        if self.frame is not None:
            weights = self.frame.snapshot.weights
            self._update_edges(weights, len(weights) // 2)
            self._update_biases(weights, len(weights) // 2)

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

    @Slot(object)
    def _on_scene_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self._hover = None
            QToolTip.hideText()
            return
        self._hover = self.view_box.mapSceneToView(scene_pos)
        self._show_tooltip(self._hover)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.plot_widget and event.type() == QEvent.Type.Leave:
            self._hover = None
            QToolTip.hideText()
        return super().eventFilter(watched, event)
