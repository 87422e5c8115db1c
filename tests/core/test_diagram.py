"""The diagram's geometry without Qt: positions, hit tests, label boxes and stale indices.

Overlaps are checked independently of the module's own vectorised tests: boxes pairwise, and
edges by sampling points along each segment.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nnviz.core.diagram import (
    DEFAULT_EDGE_WIDTH_PX,
    DENSE_FALLBACK,
    EDGE_CLEARANCE_PX,
    MAX_SIDE_SHARE,
    Box,
    Diagram,
    Hit,
    layout_diagram,
    node_label_forms,
    place_labels,
)

LAYOUTS = [(2, 1), (2, 2, 1), (2, 5, 1), (2, 8, 1), (2, 4, 3, 1), (2, 8, 4, 1), (2, 16, 16, 1)]
STROKE = 0.5 * DEFAULT_EDGE_WIDTH_PX + EDGE_CLEARANCE_PX  # a node label's least gap to an edge
BOXES = [(220, 160), (240, 180), (300, 220), (450, 350), (800, 560)]  # 220x160: the view's least


def node_labels(diagram: Diagram, rng: np.random.Generator) -> dict:
    """Labels as the explain overlay gives them: two lines per unit, like a=-12.8 / h=2.79e-06."""
    return {
        (layer, unit): (f"a={rng.normal() * 20:.3g}", f"h={rng.random() * 1e-5:.3g}")
        for layer, n in enumerate(diagram.sizes)
        for unit in range(n)
    }


def edge_labels(diagram: Diagram, rng: np.random.Generator) -> tuple[dict, dict]:
    values = {tuple(int(v) for v in key): float(rng.normal()) for key in diagram.edge_keys}
    return {key: f"{value:.3g}" for key, value in values.items()}, values


def crosses(box: Box, start, end, clearance: float = 0.0) -> bool:
    """Whether the segment comes within `clearance` of the box's inside (by sampling)."""
    inner = box.inflated(clearance - 1e-6)
    t = np.linspace(0.0, 1.0, 2001)[:, None]
    points = np.asarray(start) + t * (np.asarray(end) - np.asarray(start))
    x, y = points[:, 0], points[:, 1]
    return bool(np.any((x > inner.x) & (x < inner.right) & (y > inner.y) & (y < inner.bottom)))


# -- positions -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", BOXES)
@pytest.mark.parametrize("sizes", LAYOUTS)
def test_nodes_lie_inside_the_box_in_columns_ordered_by_layer(sizes, size):
    diagram = layout_diagram(sizes, *size)
    r = 0.5 * diagram.node_px
    assert diagram.node_px >= 6.0
    for layer, n in enumerate(sizes):
        points = np.array([diagram.center(layer, unit) for unit in range(n)])
        assert np.all(points[:, 0] - r >= 0) and np.all(points[:, 0] + r <= size[0])
        assert np.all(points[:, 1] - r >= 0) and np.all(points[:, 1] + r <= size[1])
        assert np.all(points[:, 0] == points[0, 0]), "one column per layer"
        assert np.all(np.diff(points[:, 1]) > diagram.node_px), "unit 0 on top, no overlaps"
    xs = [diagram.center(layer, 0)[0] for layer in range(len(sizes))]
    assert np.all(np.diff(xs) > 0), "input on the left, output on the right"
    np.testing.assert_allclose(np.diff(xs), np.diff(xs)[0])
    # every edge joins the centres of its two units, in the order of W1.ravel(), W2.ravel(), ...
    expected = [
        (k, i, j)
        for k in range(1, len(sizes))
        for i in range(sizes[k - 1])
        for j in range(sizes[k])
    ]
    assert [tuple(key) for key in diagram.edge_keys] == expected
    for (k, i, j), segment in zip(expected, diagram.segments):
        np.testing.assert_array_equal(segment, [diagram.center(k - 1, i), diagram.center(k, j)])


def assert_texts_inside_and_apart(diagram, sizes, *, touching: bool = False) -> None:
    """Every shown title and side label lies inside the diagram, off every node and the
    caption, and off each other (`touching`: boxes that only share an edge count as apart)."""
    texts = [t for t in (*diagram.titles, *diagram.side_labels) if t.text]
    nodes = [diagram.node_box(layer, unit) for layer, n in enumerate(sizes) for unit in range(n)]
    for text in texts:
        assert diagram.bounds.contains(text.box), text
        assert not any(text.box.intersects(node) for node in nodes), text
        assert not text.box.intersects(diagram.caption), text
    for a, b in itertools.combinations(texts, 2):
        box = a.box.inflated(-1e-6) if touching else a.box
        assert not box.intersects(b.box), (a, b)


@pytest.mark.parametrize("size", BOXES)
@pytest.mark.parametrize("sizes", LAYOUTS)
def test_texts_of_the_layout_stay_inside_and_apart(sizes, size):
    diagram = layout_diagram(sizes, *size)
    assert_texts_inside_and_apart(diagram, sizes)
    assert [t.text for t in diagram.side_labels] == [f"x{u + 1}" for u in range(2)] + ["p"]
    assert diagram.titles[0].text == "input" and diagram.titles[-1].text == "output"


def test_titles_shorten_before_they_collide():
    wide = layout_diagram((2, 8, 4, 1), 900, 500)
    assert [t.text for t in wide.titles] == ["input", "hidden 1 (8)", "hidden 2 (4)", "output"]
    narrow = layout_diagram((2, 16, 16, 1), 240, 180)
    assert [t.text for t in narrow.titles][1:3] in (["h1 (16)", "h2 (16)"], ["h1", "h2"])


def test_a_layout_is_frozen():
    diagram = layout_diagram((2, 5, 1), 450, 350)
    with pytest.raises(AttributeError):
        diagram.node_px = 3.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        diagram.centers[0, 0] = 1.0
    with pytest.raises(ValueError):
        layout_diagram((2,), 450, 350)


# -- hit testing -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", BOXES)
@pytest.mark.parametrize("sizes", LAYOUTS)
def test_the_hit_test_finds_every_node_bias_and_edge_and_misses_empty_space(sizes, size):
    diagram = layout_diagram(sizes, *size)
    for layer, n in enumerate(sizes):
        for unit in range(n):
            assert diagram.hit_test(*diagram.center(layer, unit)) == Hit.node(layer, unit)
            if layer:
                box = diagram.bias_box(layer, unit)
                assert diagram.hit_test(*box.center) == Hit.bias(layer, unit)
    for key, ((x0, y0), (x1, y1)) in zip(diagram.edge_keys, diagram.segments):
        middle = (0.5 * (x0 + x1), 0.5 * (y0 + y1))
        hit = diagram.hit_test(*middle)
        assert hit is not None and hit.kind == "edge", (tuple(key), hit)
        # where edges cross at a midpoint either is right; it must pass through the point
        (ax, ay), (bx, by) = diagram.segment(*hit.key)
        cross = (bx - ax) * (middle[1] - ay) - (by - ay) * (middle[0] - ax)
        gap = abs(cross) / np.hypot(bx - ax, by - ay)
        assert gap < 1e-6, (tuple(key), hit)
    # the corners and the caption band hold nothing
    for point in ((1.0, 1.0), (size[0] - 1.0, 1.0), (1.0, size[1] - 1.0)):
        assert diagram.hit_test(*point) is None, point
    assert diagram.hit_test(*diagram.caption.center) is None


def test_an_edge_is_hit_within_the_tolerance_plus_half_its_pen():
    diagram = layout_diagram((2, 1), 450, 350)
    (x0, y0), (x1, y1) = diagram.segment(1, 0, 0)
    middle = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    normal = np.array([-(y1 - y0), x1 - x0]) / np.hypot(x1 - x0, y1 - y0)
    assert diagram.hit_test(*(middle + 3.5 * normal)) == Hit.edge(1, 0, 0)
    assert diagram.hit_test(*(middle + 6.0 * normal)) is None
    assert diagram.hit_test(*(middle + 6.0 * normal), edge_widths=np.array([5.0, 1.0])) == (
        Hit.edge(1, 0, 0)
    )


def test_hits_name_parameters():
    assert Hit.edge(2, 3, 0) == Hit("edge", 2, 0, 3)
    assert Hit.edge(2, 3, 0).parameter == ("W2", (3, 0))
    assert Hit.edge(2, 3, 0).key == (2, 3, 0)
    assert Hit.bias(1, 4).parameter == ("b1", (4,))
    assert Hit.node(1, 4).parameter is None and Hit.node(1, 4).key == (1, 4)
    for hit in (Hit.edge(2, 3, 0), Hit.bias(1, 4)):
        assert Hit.from_parameter(*hit.parameter) == hit


# -- stale indices ---------------------------------------------------------------------------


def test_a_changed_layout_invalidates_indices():
    big, small = layout_diagram((2, 8, 1), 450, 350), layout_diagram((2, 2, 1), 450, 350)
    selected = big.hit_test(*big.center(1, 7))
    assert selected == Hit.node(1, 7) and big.contains(selected)
    assert not small.contains(selected)
    for stale in (Hit.bias(1, 5), Hit.edge(2, 7, 0), Hit.edge(1, 0, 4), Hit.node(3, 0)):
        assert big.contains(stale) != (stale.key == (3, 0))
        assert not small.contains(stale)
    assert not small.contains(None) and not small.contains(Hit.bias(0, 0))
    with pytest.raises(KeyError):
        small.center(1, 7)
    with pytest.raises(KeyError):
        small.segment(2, 7, 0)
    with pytest.raises(KeyError):
        small.bias_box(1, 5)
    # labels of the old network: the keys that still exist are placed, the others dropped
    rng = np.random.default_rng(0)
    texts, values = edge_labels(big, rng)
    labels = place_labels(small, node_labels(big, rng), texts, values, selection=selected)
    for label in labels.placed:
        assert small.contains(Hit.node(*label.key) if len(label.key) == 2 else Hit.edge(*label.key))
    assert (1, 7) in labels.dropped and (2, 7, 0) in labels.dropped


# -- value labels ----------------------------------------------------------------------------


def test_node_labels_shorten_by_a_fixed_rule():
    assert node_label_forms(("a=-12.8", "h=2.79e-06")) == [
        "a=-12.8\nh=2.79e-06",
        "a=-12.8  h=2.79e-06",
        "h=2.79e-06",
    ]
    assert node_label_forms(("x=0.5",)) == ["x=0.5"]
    assert node_label_forms(()) == []


@pytest.mark.parametrize("size", BOXES)
@pytest.mark.parametrize("sizes", LAYOUTS)
def test_labels_never_overlap_each_other_nodes_texts_or_edges(sizes, size):
    diagram = layout_diagram(sizes, *size)
    rng = np.random.default_rng(sum(sizes) + size[0])
    nodes = node_labels(diagram, rng)
    texts, values = edge_labels(diagram, rng)
    for layer in range(1, len(sizes)):  # one explain phase per weight layer
        edges = {key: text for key, text in texts.items() if key[0] == layer}
        phase_nodes = {key: lines for key, lines in nodes.items() if key[0] in (layer - 1, layer)}
        labels = place_labels(diagram, phase_nodes, edges, values)
        boxes = [label.box for label in labels.placed]
        for a, b in itertools.combinations(boxes, 2):
            assert not a.intersects(b), (a, b)
        texts_boxes = [t.box for t in (*diagram.titles, *diagram.side_labels) if t.text]
        others = [
            diagram.node_box(node_layer, unit)
            for node_layer, n in enumerate(sizes)
            for unit in range(n)
        ]
        others += [diagram.bias_box(k, u) for k in range(1, len(sizes)) for u in range(sizes[k])]
        others += [*texts_boxes, diagram.caption]
        for label in labels.placed:
            assert diagram.bounds.contains(label.box), label
            assert not any(label.box.intersects(other) for other in others), label
            if len(label.key) == 2:  # a node label crosses no edge, with room for wide pens
                for start, end in diagram.segments:
                    assert not crosses(label.box, start, end, STROKE - 0.1), label
                assert label.text in node_label_forms(phase_nodes[label.key])
            else:  # an edge label sits on its own edge
                assert crosses(label.box, *diagram.segment(*label.key)), label
                assert label.text == edges[label.key]
        placed = {label.key for label in labels.placed}
        assert placed | set(labels.dropped) == set(phase_nodes) | set(edges)
        assert not placed & set(labels.dropped)


@pytest.mark.parametrize("sizes", [(2, 5, 1), (2, 4, 3, 1)])
def test_small_networks_at_a_normal_size_label_most_things(sizes):
    diagram = layout_diagram(sizes, 800, 560)
    rng = np.random.default_rng(1)
    nodes = node_labels(diagram, rng)
    texts, values = edge_labels(diagram, rng)
    labels = place_labels(diagram, {k: v for k, v in nodes.items() if k[0] == 1}, texts, values)
    placed = labels.texts()
    assert sum(len(key) == 2 for key in placed) >= sizes[1] - 1
    assert sum(len(key) == 3 for key in placed) >= 0.7 * len(texts)


def test_each_label_reads_as_its_own_nodes():
    diagram = layout_diagram((2, 4, 3, 1), 800, 560)
    nodes = node_labels(diagram, np.random.default_rng(2))
    labels = place_labels(diagram, nodes, {})
    for label in labels.placed:
        centre = np.array(label.box.center)
        distances = np.hypot(*(diagram.centers - centre).T)
        own = diagram.starts[label.key[0]] + label.key[1]
        others = np.delete(distances, own)
        assert distances[own] <= 0.8 * others.min(), label


def test_a_dense_layer_labels_the_selected_nodes_edges_or_the_strongest():
    diagram = layout_diagram((2, 16, 16, 1), 900, 600)
    rng = np.random.default_rng(3)
    texts, values = edge_labels(diagram, rng)
    layer2 = {key: text for key, text in texts.items() if key[0] == 2}
    labels = place_labels(diagram, {}, layer2, values, selection=Hit.node(2, 5))
    assert labels.focus == (2, 5)
    edges = labels.edge_keys()
    assert len(edges) >= 8 and all(key[2] == 5 for key in edges)
    labels = place_labels(diagram, {}, layer2, values)
    assert labels.focus is None and len(labels.edge_keys()) <= DENSE_FALLBACK
    strongest = sorted(layer2, key=lambda key: -abs(values[key]))[:DENSE_FALLBACK]
    assert set(labels.edge_keys()) <= set(strongest)
    # the selected edge comes first, so it gets the best place
    selected = Hit.edge(2, 7, 9)
    labels = place_labels(diagram, {}, layer2, values, selection=selected)
    assert labels.placed[0].key == (2, 7, 9)


def test_the_selected_nodes_label_keeps_clear_of_its_ring():
    diagram = layout_diagram((2, 5, 1), 800, 560)
    nodes = {(1, 2): ("a=1", "h=0.7")}
    plain = place_labels(diagram, nodes, {}).placed[0].box
    ringed = place_labels(diagram, nodes, {}, selection=Hit.node(1, 2)).placed[0].box
    x, y = diagram.center(1, 2)
    r = 0.5 * diagram.node_px

    def gap(box: Box) -> float:
        dx = max(box.x - x, x - box.right, 0.0)
        dy = max(box.y - y, y - box.bottom, 0.0)
        return max(dx, dy) - r

    assert gap(plain) >= 3.0 - 1e-9 and gap(ringed) >= 5.0 - 1e-9


def test_thin_edges_let_node_labels_come_closer():
    """With the real pen widths a label needs less room than with the widest pen everywhere."""
    diagram = layout_diagram((2, 5, 1), 450, 350)
    nodes = {(1, u): ("a=-12.8", "h=2.79e-06") for u in range(5)}
    widest = place_labels(diagram, nodes, {})
    thin = place_labels(diagram, nodes, {}, edge_widths=np.ones(len(diagram.segments)))
    assert len(thin.placed) >= len(widest.placed)
    for label in thin.placed:
        for start, end in diagram.segments:
            assert not crosses(label.box, start, end, 0.5 + EDGE_CLEARANCE_PX - 0.1), label


def test_crossed_inputs_and_several_outputs_are_named_and_kept_apart():
    """Issue 14: every input node is labelled by its feature, every class by its output."""
    names = ("x1", "x2", "x1²", "x2²", "x1·x2", "sin x1", "sin x2")
    diagram = layout_diagram((7, 8, 3), 600, 420, input_names=names)
    sides = [text.text for text in diagram.side_labels]
    assert sides == [*names, "p1", "p2", "p3"]
    boxes = [text.box for text in diagram.side_labels]
    for i, box in enumerate(boxes):
        assert diagram.bounds.contains(box)
        assert not any(box.intersects(other) for other in boxes[i + 1 :])
    iris = layout_diagram(
        (4, 8, 3),
        600,
        420,
        input_names=("sepal length", "sepal width", "petal length", "petal width"),
    )
    assert iris.side_labels[0].text == "sepal length"
    regression = layout_diagram((2, 5, 1), 450, 350, output_names=("y",))
    assert regression.side_labels[-1].text == "y"
    with pytest.raises(ValueError, match="3 input names for 2 input units"):
        layout_diagram((2, 5, 1), 450, 350, input_names=("a", "b", "c"))


# -- narrow views --------------------------------------------------------------------------------

CROSSES = ("x1", "x2", "x1²", "x2²", "x1·x2", "sin x1", "sin x2")
IRIS = ("sepal length", "sepal width", "petal length", "petal width")
WINE = (
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
    "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
    "od280/od315_of_diluted_wines", "proline",
)  # fmt: skip
WIDE = [((7, 16, 16, 3), CROSSES), ((2, 50, 1), None), ((4, 8, 3), IRIS), ((13, 8, 3), WINE)]
WIDE += [((2, 8, 8, 8, 8, 8, 8, 1), None)]
NARROW = [(60, 60), (120, 100), (160, 120), (220, 160), (244, 217), (300, 220), (1200, 900)]


@pytest.mark.parametrize("size", NARROW)
@pytest.mark.parametrize(("sizes", "names"), WIDE)
def test_titles_and_side_labels_never_overlap_in_a_narrow_box(sizes, names, size):
    """The Metrics dock open beside a wide network: no text on text, a node or the caption."""
    diagram = layout_diagram(sizes, *size, input_names=names)
    assert_texts_inside_and_apart(diagram, sizes, touching=True)
    titles = [t.text for t in diagram.titles]
    if size[0] >= 220:  # the view's least width keeps "input" and "output"
        assert titles[0] == "input" and titles[-1] == "output"
    if size[0] >= 600:
        assert all(text.text for text in diagram.side_labels), "room for every name"


def test_side_labels_shrink_then_elide_then_show_every_other():
    roomy = layout_diagram((7, 16, 16, 3), 600, 420, input_names=CROSSES)
    assert not roomy.side_small
    assert [t.text for t in roomy.side_labels] == [*CROSSES, "p1", "p2", "p3"]

    short = layout_diagram((7, 16, 16, 3), 220, 160, input_names=CROSSES)
    assert short.side_small, "seven names taller than their nodes' spacing take the small font"
    shown = [t.text for t in short.side_labels[:7]]
    assert shown == ["x1", "", "x1²", "", "x1·x2", "", "sin x2"]
    for unit, label in enumerate(short.side_labels[:7]):
        if label.text:  # each shown name spans its own node's row
            y = short.center(0, unit)[1]
            assert label.box.y <= y <= label.box.bottom

    wine = layout_diagram((13, 8, 3), 450, 350, input_names=WINE)
    assert wine.side_small
    texts = [t.text for t in wine.side_labels[:13]]
    assert texts[0] == "alcohol" and texts[-1] == "proline", "first and last keep their names"
    long = texts[WINE.index("od280/od315_of_diluted_wines")]
    assert long.endswith("…") and "od280/od315_of_diluted_wines".startswith(long[:-1])
    for label in wine.side_labels[:13]:
        assert label.box.w <= MAX_SIDE_SHARE * 450, label


def test_titles_drop_hidden_first_then_input_and_output():
    assert [t.text for t in layout_diagram((7, 16, 16, 3), 160, 120).titles] == [
        "input", "", "", "output",
    ]  # fmt: skip
    assert [t.text for t in layout_diagram((7, 16, 16, 3), 60, 60).titles] == [""] * 4


def test_elide_keeps_a_name_of_one_or_two_characters_whole():
    """ "p" elided to "p…" would be wider, not narrower: short names stay as they are."""
    from nnviz.core.diagram import _elide

    def measure(text: str) -> tuple[float, float]:
        return 7.0 * len(text), 10.0

    assert _elide("p", measure, 3.0) == "p"
    assert _elide("p1", measure, 3.0) == "p1"
    assert _elide("abcdef", measure, 3.0) == "a…"  # still never less than one character and …
    assert _elide("abcdef", measure, 30.0) == "abc…"
    assert _elide("abcdef", measure, 42.0) == "abcdef"
