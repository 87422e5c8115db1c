"""Geometry of the network diagram in pixels, with no Qt: where units, weights, bias squares,
titles and value labels go, and what lies under a point.

Why a module of its own: the view (`nnviz.gui.views.network_view`) only draws what this computes,
so the geometry is tested headless, and every index the view hands out (a hovered unit, a clicked
weight, a selection) is checked against the one `Diagram` it came from. A `Diagram` is frozen and
belongs to one architecture; after an architecture change the view builds a new one, and an old
`Hit` is simply not contained in it (`diagram.contains(hit)` is False) instead of indexing out of
range.

Coordinates are pixels of the view box: x to the right, y down, origin at the top-left.
Indices follow `nnviz.core.explain`: a node is (layer, unit) with layer 0 the inputs; an edge is
(k, i, j), the weight `Wk[i, j]` from unit i of layer k-1 to unit j of layer k; a bias square is
(layer, unit), the value `b{layer}[unit]`.

Text is measured by the caller (`Measure`: text -> (width, height) of its box), so the view can
pass its real fonts and tests a fixed-width stand-in (`char_measure`).

Layout: titles in a band on top, the legend/caption in a band at the bottom, input labels x1, x2
on the left and p on the right. Columns are evenly spaced; the tallest column's units get one
vertical slot each (capped at `MAX_SLOT_PX`), shorter columns spread out up to `MAX_SPREAD` slots
(the input and output columns further if x1 and x2, or p1 and p2, would otherwise touch).
A node is `NODE_FRACTION` of a slot wide, within [`MIN_NODE_PX`, `MAX_NODE_PX`] and never wider
than the slot. Column titles shorten ("hidden 1 (8)" -> "h1 (8)" -> "h1") until they fit
between their neighbours; then the hidden titles are left out, and last "input" and "output".
Why: a narrow view (the Metrics dock open beside a wide network) must never draw text on text.
The x1/p labels stay in the band between titles and caption, never overlapping each other:
where they do not fit (taller than their nodes' spacing, or one side wider than
`MAX_SIDE_SHARE` of the width) they take the small font (`Measures.side_small`,
`Diagram.side_small`), long names are elided, and any that still collide are left out
(every other one), their names still in the hover text.

Value labels (`place_labels`) never overlap each other, a node (with room for the selection ring),
a bias square, a title, an input/output label or the caption band, and stay inside the box.
A node label also never crosses an edge: it is searched for beside, above and below its node,
nearest first. An edge label sits on its own edge, so it can cross other edges; of the positions
along its edge it takes the one crossing the fewest. When a label has no room it is shortened or
dropped by a fixed rule (see `place_labels`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from .segments import crossings

__all__ = [
    "BIAS_HIT_PX",
    "DENSE_EDGES",
    "DENSE_FALLBACK",
    "EDGE_TOLERANCE_PX",
    "MAX_EDGE_LABELS",
    "Box",
    "Diagram",
    "Hit",
    "Labels",
    "Measure",
    "Measures",
    "PlacedLabel",
    "Text",
    "char_measure",
    "layout_diagram",
    "node_label_forms",
    "place_labels",
]

#: text -> (width, height) in pixels of the box the text is drawn in (margins included).
Measure = Callable[[str], tuple[float, float]]

# Layout, in pixels.
MIN_NODE_PX = 7.0
MAX_NODE_PX = 44.0  # large enough to read a node's map
NODE_FRACTION = 0.6  # node diameter as a fraction of one unit's vertical slot
MAX_SLOT_PX = 80.0  # beyond this the columns stop spreading out vertically
MAX_SPREAD = 2.0  # a column with fewer units than the tallest spaces them up to this many slots
PAD_PX = 4.0
SIDE_GAP_PX = 5.0  # between an input/output node and its x1/p label
#: The x1 (or p) labels of one side take at most this share of the width, beside their gap; wider
#: ones switch to the small font, then are elided ("sepal le…").
MAX_SIDE_SHARE = 0.4
ELLIPSIS = "…"
MIN_BIAS_BOX_PX = 13.0  # the bias square is BIAS_FRACTION of this box, so never below ~4.4 px
BIAS_FRACTION = 0.34
BIAS_OFFSET = 0.16  # the square's top edge, below the node centre, as a fraction of the box

# Hit testing.
EDGE_TOLERANCE_PX = 4.0  # a point this close to an edge's centre line hits it (plus half its pen)
BIAS_HIT_PX = 2.0  # a point this close to a bias square hits it
NODE_HIT_PX = 3.0  # a point this far outside a node's disc still hits it

# Value labels.
RING_PX = 5.0  # room around the selected node for its ring (radius + 3.5 px, 2.5 px pen)
NODE_CLEARANCE_PX = 3.0  # room around any other node
EDGE_CLEARANCE_PX = 1.5  # a node label keeps this far from an edge's stroke
DEFAULT_EDGE_WIDTH_PX = 4.6  # the stroke assumed when the caller gives no widths (the widest)
SEARCH_STEP_PX = 2.0  # node labels are tried at positions this far apart
#: A node label's centre is at most this fraction of its distance to any other node away from
#: its own node, so that it reads as that node's.
ASSOCIATION = 0.8
#: Fractions along an edge where its label is tried, measured from the end where edges fan out.
EDGE_FRACTIONS = (0.72, 0.6, 0.84, 0.5, 0.4, 0.3)
#: At most this many edge labels at once.
MAX_EDGE_LABELS = 40
#: Above this many edge labels, only the selected node's edges are labelled (else the strongest
#: DENSE_FALLBACK): a 16 x 16 layer's 256 numbers cannot be read at once.
DENSE_EDGES = 24
DENSE_FALLBACK = 8


# -- small values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: top-left (x, y), width w and height h, in pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + 0.5 * self.w, self.y + 0.5 * self.h)

    def edges(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom)."""
        return (self.x, self.y, self.x + self.w, self.y + self.h)

    def intersects(self, other: Box) -> bool:
        """Whether the two overlap with a non-empty area (touching edges do not count)."""
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def contains(self, other: Box) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def contains_point(self, x: float, y: float) -> bool:
        return self.x <= x <= self.right and self.y <= y <= self.bottom

    def inflated(self, d: float) -> Box:
        """This box grown by `d` on every side (shrunk for negative `d`)."""
        return Box(self.x - d, self.y - d, self.w + 2 * d, self.h + 2 * d)


@dataclass(frozen=True)
class Text:
    """A piece of text and the box it is drawn in; an empty `text` is not drawn."""

    text: str
    box: Box


@dataclass(frozen=True)
class Hit:
    """What lies under a point of the diagram, as indices into the network.

    For a node, `layer` is its column (0 = input) and `unit` its 0-based index. For an edge,
    `layer` is k of `Wk`, `source` the row and `unit` the column, so the weight is
    `weights[f"W{layer}"][source, unit]`. For a bias square the value is
    `weights[f"b{layer}"][unit]`. (The field order matches `nnviz.core.explain.Item`.)
    """

    kind: str  # "node", "edge" or "bias"
    layer: int
    unit: int
    source: int = -1

    @classmethod
    def node(cls, layer: int, unit: int) -> Hit:
        return cls("node", int(layer), int(unit))

    @classmethod
    def edge(cls, k: int, i: int, j: int) -> Hit:
        """The weight `Wk[i, j]`."""
        return cls("edge", int(k), int(j), int(i))

    @classmethod
    def bias(cls, layer: int, unit: int) -> Hit:
        return cls("bias", int(layer), int(unit))

    @classmethod
    def from_parameter(cls, name: str, index: tuple[int, ...]) -> Hit:
        """("W2", (3, 0)) -> the edge W2[3, 0]; ("b1", (4,)) -> the bias square b1[4]."""
        k = int(name[1:])
        if name.startswith("W"):
            return cls.edge(k, index[0], index[1])
        return cls.bias(k, index[0])

    @property
    def key(self) -> tuple[int, ...]:
        """(layer, unit) for a node or a bias, (k, i, j) for an edge."""
        if self.kind == "edge":
            return (self.layer, self.source, self.unit)
        return (self.layer, self.unit)

    @property
    def parameter(self) -> tuple[str, tuple[int, ...]] | None:
        """(weight name, index) of an edge or a bias square, None for a node."""
        if self.kind == "edge":
            return f"W{self.layer}", (self.source, self.unit)
        if self.kind == "bias":
            return f"b{self.layer}", (self.unit,)
        return None


def char_measure(char_px: float = 6.0, line_px: float = 12.0, margin: float = 2.0) -> Measure:
    """A fixed-width stand-in for a font: every character `char_px` wide, lines `line_px` high,
    plus `margin` on every side. For tests and headless use; the view measures its real fonts."""

    def measure(text: str) -> tuple[float, float]:
        lines = text.split("\n")
        return (
            char_px * max(len(line) for line in lines) + 2 * margin,
            line_px * len(lines) + 2 * margin,
        )

    return measure


@dataclass(frozen=True)
class Measures:
    """How big text is in each role: column titles, the x1/p labels (`side`, and `side_small`
    where they do not fit), the value labels, and the height of the caption band at the bottom."""

    title: Measure = field(default_factory=lambda: char_measure(6.5, 14.0, 4.0))
    side: Measure = field(default_factory=lambda: char_measure(8.0, 16.0, 4.0))
    side_small: Measure = field(default_factory=lambda: char_measure(6.5, 13.0, 2.0))
    value: Measure = field(default_factory=lambda: char_measure(5.5, 12.0, 2.0))
    caption_height: float = 20.0


# -- the diagram -----------------------------------------------------------------------------


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Diagram:
    """Where everything of one architecture goes in one box. Build it with `layout_diagram`.

    `centers` holds every node's centre, layer by layer ((N, 2), read-only); `segments` every
    edge from centre to centre ((E, 2, 2)) in the order of `edge_keys` ((E, 3) rows k, i, j),
    which is the order of `W1.ravel()`, `W2.ravel()`, ...
    """

    sizes: tuple[int, ...]
    width: float
    height: float
    node_px: float  # node diameter
    bias_px: float  # side of the box the bias square sits in (the square is BIAS_FRACTION of it)
    centers: np.ndarray
    starts: tuple[int, ...]  # index into `centers` of each layer's unit 0
    edge_keys: np.ndarray
    segments: np.ndarray
    titles: tuple[Text, ...]  # one per column
    side_labels: tuple[Text, ...]  # x1, x2, ... then p (or p1, p2, ...); "" where no room
    caption: Box  # the band at the bottom for the legend or the explain caption
    measures: Measures
    side_small: bool = False  # the side labels are measured with `measures.side_small`

    # -- indices -----------------------------------------------------------------------------

    def has_node(self, layer: int, unit: int) -> bool:
        return 0 <= layer < len(self.sizes) and 0 <= unit < self.sizes[layer]

    def has_edge(self, k: int, i: int, j: int) -> bool:
        return 1 <= k < len(self.sizes) and self.has_node(k - 1, i) and self.has_node(k, j)

    def contains(self, hit: Hit | None) -> bool:
        """Whether `hit` names something of this architecture (None never does)."""
        if hit is None:
            return False
        if hit.kind == "edge":
            return self.has_edge(hit.layer, hit.source, hit.unit)
        if hit.kind == "bias":
            return hit.layer >= 1 and self.has_node(hit.layer, hit.unit)
        return hit.kind == "node" and self.has_node(hit.layer, hit.unit)

    def _node_index(self, layer: int, unit: int) -> int:
        if not self.has_node(layer, unit):
            raise KeyError(f"no unit ({layer}, {unit}) in the network {self.describe()}")
        return self.starts[layer] + unit

    def _edge_index(self, k: int, i: int, j: int) -> int:
        if not self.has_edge(k, i, j):
            raise KeyError(f"no weight W{k}[{i}, {j}] in the network {self.describe()}")
        first = sum(a * b for a, b in zip(self.sizes[: k - 1], self.sizes[1:k]))
        return first + i * self.sizes[k] + j

    def describe(self) -> str:
        return "-".join(str(n) for n in self.sizes)

    # -- geometry ----------------------------------------------------------------------------

    @property
    def bounds(self) -> Box:
        return Box(0.0, 0.0, self.width, self.height)

    def center(self, layer: int, unit: int) -> tuple[float, float]:
        """Centre of unit `unit` of column `layer`; KeyError if there is no such unit."""
        x, y = self.centers[self._node_index(layer, unit)]
        return float(x), float(y)

    def node_box(self, layer: int, unit: int, margin: float = 0.0) -> Box:
        """The square around a node's disc, grown by `margin`."""
        x, y = self.center(layer, unit)
        half = 0.5 * self.node_px + margin
        return Box(x - half, y - half, 2 * half, 2 * half)

    def bias_box(self, layer: int, unit: int) -> Box:
        """The bias square of a hidden or output node, at the lower left of the node."""
        if layer < 1:
            raise KeyError(f"input units have no bias (layer {layer})")
        x, y = self.center(layer, unit)
        b = self.bias_px
        return Box(x - 0.5 * b, y + BIAS_OFFSET * b, BIAS_FRACTION * b, BIAS_FRACTION * b)

    def segment(self, k: int, i: int, j: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """End points of the edge `Wk[i, j]`; KeyError if there is no such weight."""
        (x0, y0), (x1, y1) = self.segments[self._edge_index(k, i, j)]
        return (float(x0), float(y0)), (float(x1), float(y1))

    def column_box(self, layer: int, margin: float) -> Box:
        """The box around a column's nodes, grown by `margin` beyond the discs."""
        start, n = self.starts[layer], self.sizes[layer]
        points = self.centers[start : start + n]
        half = 0.5 * self.node_px + margin
        top, bottom = float(points[:, 1].min()), float(points[:, 1].max())
        return Box(float(points[0, 0]) - half, top - half, 2 * half, bottom - top + 2 * half)

    def slot(self, layer: int) -> float:
        """Vertical distance between neighbouring units of a column (inf for a single unit)."""
        n = self.sizes[layer]
        if n < 2:
            return float("inf")
        start = self.starts[layer]
        return float(self.centers[start + 1, 1] - self.centers[start, 1])

    def obstacles(self, ringed: tuple[int, int] | None = None) -> list[Box]:
        """What value labels must not cover: nodes (the `ringed` one with room for the
        selection ring), bias squares, titles, the x1/p labels and the caption band."""
        boxes = [
            self.node_box(layer, unit, RING_PX if (layer, unit) == ringed else NODE_CLEARANCE_PX)
            for layer, n in enumerate(self.sizes)
            for unit in range(n)
        ]
        boxes += [
            self.bias_box(layer, unit)
            for layer in range(1, len(self.sizes))
            for unit in range(self.sizes[layer])
        ]
        boxes += [text.box for text in (*self.titles, *self.side_labels) if text.text]
        boxes.append(self.caption)
        return boxes

    # -- hit testing -------------------------------------------------------------------------

    def hit_test(
        self,
        x: float,
        y: float,
        tolerance: float = EDGE_TOLERANCE_PX,
        edge_widths: np.ndarray | None = None,
    ) -> Hit | None:
        """What is under (x, y): a bias square, else a node, else an edge, else None.

        In order: a bias square itself (drawn on top); a node's disc; a bias square with
        `BIAS_HIT_PX` to spare; a node with `NODE_HIT_PX` to spare (or its whole bias box); the
        nearest edge if within `tolerance` plus half its pen width (`edge_widths`, per edge in
        the order of `edge_keys`, if given).
        """
        if not self.sizes:
            return None
        point = np.array([x, y], dtype=float)
        biases = self._bias_boxes()
        inside = (
            (biases[:, 0] <= x) & (x <= biases[:, 2]) & (biases[:, 1] <= y) & (y <= biases[:, 3])
        )
        if inside.any():
            return self._bias_hit(int(np.argmax(inside)))
        distances = np.hypot(*(self.centers - point).T)
        nearest = int(np.argmin(distances))
        radius = 0.5 * self.node_px
        if distances[nearest] <= radius:
            return Hit.node(*self._unit_of(nearest))
        slack = biases + np.array([-BIAS_HIT_PX, -BIAS_HIT_PX, BIAS_HIT_PX, BIAS_HIT_PX])
        near = (slack[:, 0] <= x) & (x <= slack[:, 2]) & (slack[:, 1] <= y) & (y <= slack[:, 3])
        if near.any():
            return self._bias_hit(int(np.argmax(near)))
        reach = max(radius + NODE_HIT_PX, 0.71 * max(self.node_px, self.bias_px))
        if distances[nearest] <= reach:
            return Hit.node(*self._unit_of(nearest))
        if not len(self.segments):
            return None
        start = self.segments[:, 0]
        delta = self.segments[:, 1] - start
        length2 = np.maximum(np.sum(delta * delta, axis=1), 1e-12)
        t = np.clip(np.sum((point - start) * delta, axis=1) / length2, 0.0, 1.0)
        gaps = np.hypot(*(start + t[:, None] * delta - point).T)
        if edge_widths is not None:
            gaps = gaps - 0.5 * np.asarray(edge_widths, dtype=float)
        index = int(np.argmin(gaps))
        if gaps[index] > tolerance:
            return None
        k, i, j = (int(v) for v in self.edge_keys[index])
        return Hit.edge(k, i, j)

    def _unit_of(self, index: int) -> tuple[int, int]:
        layer = int(np.searchsorted(self.starts, index, side="right")) - 1
        return layer, index - self.starts[layer]

    def _bias_boxes(self) -> np.ndarray:
        """(left, top, right, bottom) of every bias square, hidden and output units in order."""
        points = self.centers[self.sizes[0] :]
        b = self.bias_px
        left = points[:, 0] - 0.5 * b
        top = points[:, 1] + BIAS_OFFSET * b
        return np.column_stack([left, top, left + BIAS_FRACTION * b, top + BIAS_FRACTION * b])

    def _bias_hit(self, index: int) -> Hit:
        return Hit.bias(*self._unit_of(index + self.sizes[0]))


def _titles(sizes: Sequence[int], level: int) -> list[str]:
    """Column titles at a level of detail: 0 "hidden 1 (8)", 1 "h1 (8)", 2 "h1", 3 only input
    and output, 4 none."""
    last = len(sizes) - 1
    titles = []
    for col, n in enumerate(sizes):
        if level == 4:
            titles.append("")
        elif col == 0:
            titles.append("input")
        elif col == last:
            titles.append("output")
        else:
            titles.append((f"hidden {col} ({n})", f"h{col} ({n})", f"h{col}", "")[level])
    return titles


def _side_texts(
    sizes: Sequence[int],
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> list[tuple[int, int, str]]:
    """(layer, unit, label) of every input (x1, x2 or the given names, such as x1² and sin x1)
    and every output (p, or p1..pK, or the given names)."""
    last = len(sizes) - 1
    if input_names is None:
        input_names = [f"x{unit + 1}" for unit in range(sizes[0])]
    if output_names is None:
        output_names = ["p"] if sizes[last] == 1 else [f"p{u + 1}" for u in range(sizes[last])]
    for names, size, what in (
        (input_names, sizes[0], "input"),
        (output_names, sizes[last], "output"),
    ):
        if len(names) != size:
            raise ValueError(f"{len(names)} {what} names for {size} {what} units")
    texts = [(0, unit, str(name)) for unit, name in enumerate(input_names)]
    return texts + [(last, unit, str(name)) for unit, name in enumerate(output_names)]


def _elide(text: str, measure: Measure, width: float) -> str:
    """`text`, or its longest beginning followed by "…" that is at most `width` wide (never
    less than its first character and "…")."""
    if len(text) <= 2 or measure(text)[0] <= width:
        return text  # "p…" would be wider than "p"
    for n in range(len(text) - 1, 1, -1):
        short = text[:n].rstrip() + ELLIPSIS
        if measure(short)[0] <= width:
            return short
    return text[:1] + ELLIPSIS


def _keep_apart(labels: Sequence[Text], band: Box) -> list[Text]:
    """One column's labels, top to bottom, each blanked ("") unless it lies in `band` and clears
    the last one kept: where the x1 labels are taller than their nodes' spacing, every other
    shows.

    A label that juts out of the band is moved into it if it still spans its node's centre
    (the centre of its box as given), so the first and last units keep their names.
    """
    kept: list[Text] = []
    last: Box | None = None
    room = band.inflated(1e-6)  # rounding: a label touching the band's edge is in it
    for label in labels:
        box = label.box
        top = min(max(box.y, band.y), band.bottom - box.h)
        if top <= box.center[1] <= top + box.h:
            box = Box(box.x, top, box.w, box.h)
        if room.contains(box) and (last is None or not box.inflated(-1e-6).intersects(last)):
            last = box
            kept.append(Text(label.text, box))
        else:
            kept.append(Text("", box))
    return kept


def layout_diagram(
    sizes: Sequence[int],
    width: float,
    height: float,
    measures: Measures | None = None,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Diagram:
    """Lay out a network with `sizes` units per column (e.g. (2, 5, 1)) in a width x height box.

    `input_names` label the input units (default x1, x2, ...: pass a task's `input_names`, such
    as x1² or sin x1, or iris's measurements) and `output_names` the outputs (default p, or
    p1..pK).
    """
    sizes = tuple(int(n) for n in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"a network needs at least two layers of at least one unit: {sizes}")
    measures = measures or Measures()
    width, height = max(float(width), 60.0), max(float(height), 60.0)
    columns, n_max = len(sizes), max(sizes)

    title_h = measures.title("input")[1]
    caption_h = float(measures.caption_height)
    top, bottom = PAD_PX + title_h, height - PAD_PX - caption_h
    available = max(bottom - top, 10.0)
    slot = min(available / n_max, MAX_SLOT_PX)
    node = float(np.clip(NODE_FRACTION * slot, MIN_NODE_PX, MAX_NODE_PX))
    node = min(node, 0.9 * slot) if n_max > 1 else node  # neighbours never touch
    bias_px = max(node, MIN_BIAS_BOX_PX)

    centre = top + 0.5 * available
    # Titles hug the tallest column, so a capped slot leaves no gap under them; x1/p labels stay
    # in the band between the titles and the caption.
    title_bottom = centre - 0.5 * n_max * slot
    caption_top = centre + 0.5 * n_max * slot
    band = Box(0.0, title_bottom, width, caption_top - title_bottom)
    sides = _side_texts(sizes, input_names, output_names)
    beside = 0.5 * max(node, bias_px) + SIDE_GAP_PX + PAD_PX  # room a side label's text is not
    first_w = measures.title("input")[0]
    last_w = measures.title("output")[0]
    for small in (False, True):  # the side labels' font: as given, then smaller and elided
        measure = measures.side_small if small else measures.side
        texts = [text for _, _, text in sides]
        if small:
            texts = [_elide(text, measure, MAX_SIDE_SHARE * width - beside) for text in texts]
        boxes = [measure(text) for text in texts]
        left_w = max(w for (layer, _, _), (w, _) in zip(sides, boxes) if layer == 0)
        right_w = max(w for (layer, _, _), (w, _) in zip(sides, boxes) if layer > 0)
        left = max(beside + left_w, 0.5 * first_w + PAD_PX)
        right = max(beside + right_w, 0.5 * last_w + PAD_PX)
        spacing = max((width - left - right) / (columns - 1), 1.0)
        xs = [left + col * spacing for col in range(columns)]
        heights = {
            layer: max(h for (at, _, _), (_, h) in zip(sides, boxes) if at == layer)
            for layer in (0, columns - 1)
        }
        points = []
        for layer, n in enumerate(sizes):
            spread = float(np.clip(n_max / n, 1.0, MAX_SPREAD))
            if layer in heights:  # room for x1, x2 (or p1, p2) one above the other
                spread = max(spread, min(heights[layer] / slot, n_max / n))
                if n > 1:  # and for the first and last label in the band
                    ends = (n_max * slot - heights[layer]) / ((n - 1) * slot)
                    spread = max(min(spread, ends), 1.0)
            offsets = spread * (np.arange(n) - (n - 1) / 2.0)  # unit 0 on top
            points.append(centre + offsets * slot)
        centers = np.vstack(
            [np.column_stack([np.full(len(ys), x), ys]) for x, ys in zip(xs, points, strict=True)]
        )
        starts = tuple(int(s) for s in np.concatenate([[0], np.cumsum(sizes)[:-1]]))
        side_labels = []
        for (layer, unit, _), text, (w, h) in zip(sides, texts, boxes, strict=True):
            x, y = centers[starts[layer] + unit]
            gap = 0.5 * node + SIDE_GAP_PX
            box_x = x - gap - w if layer == 0 else x + gap
            side_labels.append(Text(text, Box(float(box_x), float(y - 0.5 * h), w, h)))
        n_inputs = sizes[0]
        kept = _keep_apart(side_labels[:n_inputs], band)
        kept += _keep_apart(side_labels[n_inputs:], band)
        roomy = max(left_w, right_w) <= MAX_SIDE_SHARE * width - beside
        if roomy and kept == side_labels:
            break
    side_labels = kept

    keys = [
        (k, i, j)
        for k in range(1, columns)
        for i in range(sizes[k - 1])  # row-major, the order of Wk.ravel()
        for j in range(sizes[k])
    ]
    edge_keys = np.array(keys, dtype=int).reshape(-1, 3)
    s = np.array(starts)
    k, i, j = edge_keys.T
    segments = np.stack([centers[s[k - 1] + i], centers[s[k] + j]], axis=1)

    titles: list[Text] = []
    for level in range(5):
        texts = _titles(sizes, level)
        boxes = []
        for x, text in zip(xs, texts, strict=True):
            w, h = measures.title(text) if text else (0.0, 0.0)
            boxes.append(Box(x - 0.5 * w, title_bottom - h, w, h))
        titles = [Text(t, b) for t, b in zip(texts, boxes, strict=True)]
        shown = [b for t, b in zip(texts, boxes, strict=True) if t]
        inside = all(b.x >= 0.0 and b.right <= width for b in shown)
        if inside and all(a.right + PAD_PX <= b.x for a, b in pairwise(shown)):
            break

    caption = Box(PAD_PX, caption_top, width - 2 * PAD_PX, caption_h)
    return Diagram(
        sizes=sizes,
        width=width,
        height=height,
        node_px=node,
        bias_px=bias_px,
        centers=_readonly(centers),
        starts=starts,
        edge_keys=_readonly(edge_keys),
        segments=_readonly(segments),
        titles=tuple(titles),
        side_labels=tuple(side_labels),
        caption=caption,
        measures=measures,
        side_small=small,
    )


# -- value labels ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedLabel:
    """A value label with room: `text` (lines joined by newlines) goes into `box`."""

    key: tuple[int, ...]  # (layer, unit) for a node, (k, i, j) for an edge
    text: str
    box: Box
    shortened: bool = False


@dataclass(frozen=True)
class Labels:
    """The value labels that fit, those that did not, and whose edges a dense layer labels."""

    placed: tuple[PlacedLabel, ...]
    dropped: tuple[tuple[int, ...], ...]
    focus: tuple[int, int] | None = None  # a dense layer labels only this node's edges

    def texts(self) -> dict[tuple[int, ...], str]:
        return {label.key: label.text for label in self.placed}

    def edge_keys(self) -> list[tuple[int, int, int]]:
        return [label.key for label in self.placed if len(label.key) == 3]


def node_label_forms(lines: Sequence[str]) -> list[str]:
    """The forms a node label is tried in, longest first: the lines stacked, the lines on one
    line, then the last line alone (the phase's result: h, p, delta or E)."""
    lines = [str(line) for line in lines if line]
    if not lines:
        return []
    forms = ["\n".join(lines)]
    if len(lines) > 1:
        forms += ["  ".join(lines), lines[-1]]
    return list(dict.fromkeys(forms))


def _arrays(boxes: Iterable[Box]) -> np.ndarray:
    rows = [box.edges() for box in boxes]
    return np.array(rows, dtype=float).reshape(-1, 4)


def _overlaps(candidates: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(C,) whether each candidate (left, top, right, bottom) overlaps any of `boxes`."""
    if not len(boxes) or not len(candidates):
        return np.zeros(len(candidates), dtype=bool)
    c, b = candidates[:, None, :], boxes[None, :, :]
    hit = (c[..., 0] < b[..., 2]) & (b[..., 0] < c[..., 2])
    hit &= (c[..., 1] < b[..., 3]) & (b[..., 1] < c[..., 3])
    return hit.any(axis=1)


def _node_candidates(
    diagram: Diagram, layer: int, unit: int, w: float, h: float, gap: float
) -> np.ndarray:
    """(C, 4) boxes beside, above and below a node, `gap` from its centre, nearest first.

    Beside: the box's rows overlap the node's; above and below: its columns do. Either way the
    box's centre is clearly nearer this node than any other (`ASSOCIATION`), so the label reads
    as this node's. Ties go
    right, left, above, below in hidden columns, and below first in the input and output
    columns (away from the x1 and p labels).
    """
    x, y = diagram.center(layer, unit)
    r = 0.5 * diagram.node_px
    # offsets from the centred position, within reach of the node's rows/columns
    vertical = np.arange(-(r + 0.5 * h), r + 0.5 * h, SEARCH_STEP_PX)
    horizontal = np.arange(-(r + 0.5 * w), r + 0.5 * w, SEARCH_STEP_PX)
    vertical = vertical[np.argsort(np.abs(vertical), kind="stable")]
    horizontal = horizontal[np.argsort(np.abs(horizontal), kind="stable")]
    tops = y - 0.5 * h + vertical
    lefts = x - 0.5 * w + horizontal
    sides = {
        "right": np.column_stack([np.full_like(tops, x + gap), tops]),
        "left": np.column_stack([np.full_like(tops, x - gap - w), tops]),
        "above": np.column_stack([lefts, np.full_like(lefts, y - gap - h)]),
        "below": np.column_stack([lefts, np.full_like(lefts, y + gap)]),
    }
    last = len(diagram.sizes) - 1
    if layer == 0:
        order = ("below", "above", "left", "right")
    elif layer == last:
        order = ("below", "above", "right", "left")
    else:
        order = ("right", "left", "above", "below")
    corners = np.vstack([sides[name] for name in order])
    rank = np.concatenate([np.full(len(sides[name]), n) for n, name in enumerate(order)])
    boxes = np.column_stack([corners, corners + np.array([w, h])])
    centres = 0.5 * (boxes[:, :2] + boxes[:, 2:])
    distance = np.hypot(centres[:, 0] - x, centres[:, 1] - y)
    others = np.hypot(*(centres[:, None, :] - diagram.centers[None, :, :]).transpose(2, 0, 1))
    others[:, diagram.starts[layer] + unit] = np.inf
    mine = distance <= ASSOCIATION * others.min(axis=1)
    order_index = np.lexsort((rank, np.round(distance, 6)))
    return boxes[order_index[mine[order_index]]]


def _edge_candidates(
    diagram: Diagram, key: tuple[int, int, int], w: float, h: float, towards_target: bool
) -> np.ndarray:
    (x0, y0), (x1, y1) = diagram.segment(*key)
    fractions = np.array(EDGE_FRACTIONS if towards_target else [1 - t for t in EDGE_FRACTIONS])
    cx, cy = x0 + fractions * (x1 - x0), y0 + fractions * (y1 - y0)
    return np.column_stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h])


def _edge_order(
    diagram: Diagram,
    edge_labels: Mapping[tuple[int, int, int], str],
    edge_values: Mapping[tuple[int, int, int], float],
    selection: Hit | None,
    max_edges: int,
) -> tuple[list[tuple[int, int, int]], tuple[int, int] | None, list[tuple[int, ...]]]:
    """Which edges to try, in order, the node a dense layer focuses on, and those left out
    (not in `diagram`, or beyond the dense rule and `max_edges`)."""
    keys = [tuple(int(v) for v in key) for key in edge_labels]
    stale = [key for key in keys if not diagram.has_edge(*key)]
    keys = [key for key in keys if diagram.has_edge(*key)]

    def strength(key: tuple[int, int, int]) -> float:
        value = abs(float(edge_values.get(key, 0.0)))
        return value if np.isfinite(value) else 0.0

    keys.sort(key=lambda key: -strength(key))  # stable: ties keep the caller's order
    focus = None
    chosen = keys
    if len(keys) > DENSE_EDGES:  # too many to read: the selection's edges, or the strongest
        if selection is not None and selection.kind in ("node", "bias"):
            focus = (selection.layer, selection.unit)
            chosen = [key for key in keys if focus in ((key[0] - 1, key[1]), (key[0], key[2]))]
        else:
            chosen = keys[:DENSE_FALLBACK]
    selected = selection.key if selection is not None and selection.kind == "edge" else None
    if selected in keys:
        chosen = [selected, *(key for key in chosen if key != selected)]
    chosen = chosen[:max_edges]
    kept = set(chosen)
    return chosen, focus, [*stale, *(key for key in keys if key not in kept)]


def place_labels(
    diagram: Diagram,
    node_labels: Mapping[tuple[int, int], Sequence[str]],
    edge_labels: Mapping[tuple[int, int, int], str],
    edge_values: Mapping[tuple[int, int, int], float] | None = None,
    selection: Hit | None = None,
    measure: Measure | None = None,
    max_edge_labels: int = MAX_EDGE_LABELS,
    edge_widths: np.ndarray | None = None,
) -> Labels:
    """Boxes for value labels on nodes and edges, none overlapping another or the diagram.

    The rule, in order (first fit wins; a label that fits nowhere is dropped):

    1. The selected edge's label, then the node labels (the selected node's first, then column
       by column), then the other edge labels by decreasing |value| (`edge_values`).
    2. A node label is tried in each of `node_label_forms` (stacked, one line, the last line
       alone), at every position beside, above or below its node whose centre is clearly
       nearer its node than any other (`ASSOCIATION`), nearest first. A position is free if it
       stays inside the box and overlaps no obstacle (`Diagram.obstacles`), no label placed so
       far and no edge: its stroke (`edge_widths`, per edge in the order of `Diagram.edge_keys`;
       the widest pen if not given) with `EDGE_CLEARANCE_PX` to spare.
    3. An edge label is tried at `EDGE_FRACTIONS` along its edge, from the end where the edges
       fan out (the wider column, or away from a focused node). It must avoid the same things
       except edges; among the free positions it takes the one crossing the fewest other edges.
    4. At most `max_edge_labels` edge labels; above `DENSE_EDGES`, only the selected node's (or
       bias square's) edges, else the `DENSE_FALLBACK` strongest.

    Keys that are not in `diagram` (a phase of another architecture) are dropped.
    """
    measure = measure or diagram.measures.value
    edge_values = edge_values or {}
    bounds = diagram.bounds.inflated(-1.0)
    ringed = selection.key if selection is not None and selection.kind == "node" else None
    occupied = _arrays(diagram.obstacles(ringed))
    placed: list[PlacedLabel] = []
    dropped: list[tuple[int, ...]] = []
    edges, focus, left_out = _edge_order(
        diagram, edge_labels, edge_values, selection, max_edge_labels
    )
    dropped += left_out
    selected_edge = selection.key if selection is not None and selection.kind == "edge" else None
    if edge_widths is None:
        edge_widths = np.full(len(diagram.segments), DEFAULT_EDGE_WIDTH_PX)
    edge_margins = 0.5 * np.asarray(edge_widths, dtype=float) + EDGE_CLEARANCE_PX
    if selected_edge in edges:  # drawn 3 px wide on top
        index = diagram._edge_index(*selected_edge)
        edge_margins[index] = max(edge_margins[index], 1.5 + EDGE_CLEARANCE_PX)

    def inside(boxes: np.ndarray) -> np.ndarray:
        return (
            (boxes[:, 0] >= bounds.x)
            & (boxes[:, 1] >= bounds.y)
            & (boxes[:, 2] <= bounds.right)
            & (boxes[:, 3] <= bounds.bottom)
        )

    def accept(key: tuple[int, ...], text: str, row: np.ndarray, shortened: bool) -> None:
        nonlocal occupied
        box = Box(float(row[0]), float(row[1]), float(row[2] - row[0]), float(row[3] - row[1]))
        placed.append(PlacedLabel(key, text, box, shortened))
        occupied = np.vstack([occupied, row[None, :]])

    def place_edge(key: tuple[int, int, int]) -> None:
        text = str(edge_labels[key])
        w, h = measure(text)
        k, i, j = key
        if focus is not None and focus in ((k - 1, i), (k, j)):
            towards_target = focus == (k - 1, i)
        else:
            towards_target = diagram.sizes[k] >= diagram.sizes[k - 1]
        boxes = _edge_candidates(diagram, key, w, h, towards_target)
        free = inside(boxes) & ~_overlaps(boxes, occupied)
        if not free.any():
            dropped.append(key)
            return
        crossed = crossings(boxes, diagram.segments)
        crossed[:, diagram._edge_index(*key)] = False
        counts = np.where(free, crossed.sum(axis=1), np.iinfo(np.int64).max)
        accept(key, text, boxes[int(np.argmin(counts))], False)

    def place_node(key: tuple[int, int]) -> None:
        forms = node_label_forms(node_labels[key])
        for n, text in enumerate(forms):
            w, h = measure(text)
            clearance = RING_PX if key == ringed else NODE_CLEARANCE_PX
            gap = 0.5 * diagram.node_px + clearance
            boxes = _node_candidates(diagram, key[0], key[1], w, h, gap)
            free = inside(boxes) & ~_overlaps(boxes, occupied)
            if free.any():
                candidates = np.flatnonzero(free)
                crossed = crossings(boxes[candidates], diagram.segments, edge_margins)
                clear = ~crossed.any(axis=1)
                if clear.any():
                    accept(key, text, boxes[candidates[int(np.argmax(clear))]], n > 0)
                    return
        dropped.append(key)

    if selected_edge in edges:
        place_edge(selected_edge)
    nodes = [tuple(int(v) for v in key) for key in node_labels]
    dropped += [key for key in nodes if not diagram.has_node(*key)]
    nodes = sorted(key for key in nodes if diagram.has_node(*key) and node_labels[key])
    if selection is not None and selection.kind in ("node", "bias") and selection.key in nodes:
        nodes.remove(selection.key)
        nodes.insert(0, selection.key)
    for key in nodes:
        place_node(key)
    for key in edges:
        if key != selected_edge:
            place_edge(key)
    return Labels(tuple(placed), tuple(dropped), focus)
