"""NetworkView: edges binned by sign and |w|, biases, hover texts, rebuilds and a non-blank grab."""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections import Counter

import numpy as np
import pytest

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6 before it is imported)
from nnviz import Config, Trainer
from nnviz.core.network import forward_layers
from nnviz.gui.frame import Frame, make_frame
from nnviz.gui.views.network_view import (
    EDGE_WIDTHS,
    MAGNITUDE_BINS,
    NetworkView,
    format_value,
)


@functools.cache
def trained_frame(iterations: int, hidden: tuple[int, ...] = (5,)) -> Frame:
    """A frame after `iterations` steps, from its own trainer.

    One trainer per frame: a snapshot's last weight matrix can share memory with the trainer's
    live parameters, so stepping the same trainer again could change an earlier frame.
    """
    trainer = Trainer(Config.preset("seed", hidden=hidden))
    snapshot = trainer.step(iterations)
    return make_frame(snapshot, trainer.config, trainer.data)


@pytest.fixture
def view(qtbot) -> NetworkView:
    widget = NetworkView()
    qtbot.addWidget(widget)
    widget.resize(450, 350)
    return widget


def expected_bins(frame: Frame, view: NetworkView) -> dict[tuple[int, int], list[tuple]]:
    """(sign, level) -> segments, computed independently from the weights and node positions."""
    weights = frame.snapshot.weights
    depth = len(weights) // 2
    largest = max(float(np.abs(weights[f"W{k}"]).max()) for k in range(1, depth + 1))
    bins: dict[tuple[int, int], list[tuple]] = {}
    for k in range(1, depth + 1):
        w = weights[f"W{k}"]
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                level = min(int(abs(w[i, j]) / largest * MAGNITUDE_BINS), MAGNITUDE_BINS - 1)
                sign = -1 if w[i, j] < 0 else 1
                segment = (view.node_position(k - 1, i), view.node_position(k, j))
                bins.setdefault((sign, level), []).append(segment)
    return bins


def drawn_segments(item) -> list[tuple]:
    x, y = item.getData()
    if x is None or len(x) == 0:
        return []
    assert len(x) % 2 == 0
    points = [(float(a), float(b)) for a, b in zip(x, y)]
    return list(zip(points[0::2], points[1::2]))


def all_text_items(view: NetworkView) -> list:
    import pyqtgraph as pg

    return [item for item in view.view_box.addedItems if isinstance(item, pg.TextItem)]


def test_each_edge_is_drawn_once_in_the_bin_of_its_sign_and_magnitude(view):
    frame = trained_frame(2000)
    view.show_frame(frame)
    assert view.layer_sizes == (2, 5, 1)
    expected = expected_bins(frame, view)
    drawn = {key: drawn_segments(item) for key, item in view.edge_items.items()}
    assert len(view.edge_items) == 2 * MAGNITUDE_BINS
    everything = [segment for segments in drawn.values() for segment in segments]
    assert len(everything) == 2 * 5 + 5 * 1
    assert len(set(everything)) == len(everything)  # each edge once
    for key, item_segments in drawn.items():
        assert Counter(item_segments) == Counter(expected.get(key, [])), key
    # the seed net after training has weights of both signs and the largest in the widest bin
    assert drawn[(-1, MAGNITUDE_BINS - 1)] or drawn[(1, MAGNITUDE_BINS - 1)]
    assert any(drawn[(-1, level)] for level in range(MAGNITUDE_BINS))
    assert any(drawn[(1, level)] for level in range(MAGNITUDE_BINS))


def test_edge_colours_follow_the_weight_sign_and_widths_grow_with_magnitude(view):
    view.show_frame(trained_frame(2000))
    for sign in (-1, 1):
        widths, whiteness = [], []
        for level in range(MAGNITUDE_BINS):
            pen = view.edge_items[(sign, level)].opts["pen"]
            color = pen.color()
            if sign < 0:
                assert 20 <= color.hue() <= 45, "negative weights are orange"
            else:
                assert 190 <= color.hue() <= 215, "positive weights are blue"
            widths.append(pen.widthF())
            whiteness.append(color.red() + color.green() + color.blue())
        assert widths == sorted(widths) and len(set(widths)) == MAGNITUDE_BINS
        assert whiteness == sorted(whiteness, reverse=True), "small weights are faded"
        assert tuple(widths) == EDGE_WIDTHS
    # stronger bins are drawn above weaker ones
    z = [view.edge_items[(1, level)].zValue() for level in range(MAGNITUDE_BINS)]
    assert z == sorted(z)


def test_biases_colour_the_squares_by_sign(view):
    frame = trained_frame(2000)
    view.show_frame(frame)
    weights = frame.snapshot.weights
    biases = np.concatenate([weights["b1"], weights["b2"]])
    brushes = view.bias_item.data["brush"]
    assert len(brushes) == len(biases) == 6
    for bias, brush in zip(biases, brushes):
        color = brush.color()
        if abs(bias) > 0.2 * view.weight_scale:
            if bias < 0:
                assert color.red() > color.blue(), bias
            else:
                assert color.blue() > color.red(), bias
    # at iteration 0 every bias is zero and every square is the same neutral colour
    view.show_frame(trained_frame(0))
    colors = {brush.color().rgb() for brush in view.bias_item.data["brush"]}
    assert len(colors) == 1


def test_a_new_architecture_rebuilds_with_the_right_node_count(view):
    view.show_frame(trained_frame(2000))
    assert len(view.node_item.data) == 2 + 5 + 1
    view.show_frame(trained_frame(10, hidden=(8, 4)))
    assert view.layer_sizes == (2, 8, 4, 1)
    assert len(view.node_item.data) == 2 + 8 + 4 + 1
    assert len(view.bias_item.data) == 8 + 4 + 1
    segments = [s for item in view.edge_items.values() for s in drawn_segments(item)]
    assert len(segments) == 2 * 8 + 8 * 4 + 4 * 1
    titles = {item.toPlainText() for item in all_text_items(view)}
    assert {"input", "output"} <= titles
    assert {"hidden 1 (8)", "hidden 2 (4)"} <= titles or {"h1 (8)", "h2 (4)"} <= titles
    # one evenly spaced column per layer, left to right
    columns = [view.node_position(layer, 0)[0] for layer in range(4)]
    assert np.all(np.diff(columns) > 0)
    np.testing.assert_allclose(np.diff(columns), np.diff(columns)[0])


def test_the_view_scale_is_exactly_one_so_wide_pens_stay_fast(view, qtbot):
    """Qt strokes wide antialiased pens ~30x slower under any non-uniform scale (even 1e-9 off)."""
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(trained_frame(10, hidden=(16, 16)))
    for size in ((450, 350), (901, 603)):
        view.resize(*size)
        qtbot.waitUntil(lambda size=size: view.view_box.width() >= size[0] - 1)
        transform = view.view_box.childGroup.sceneTransform()
        assert (abs(transform.m11()), abs(transform.m22())) == (1.0, 1.0)
        assert transform.m12() == transform.m21() == 0.0


def test_a_frame_with_the_same_sizes_reuses_every_item(view):
    view.show_frame(trained_frame(0))
    items_before = list(view.view_box.addedItems)
    edge_items = dict(view.edge_items)
    node_item, bias_item = view.node_item, view.bias_item
    data_before = {key: drawn_segments(item) for key, item in edge_items.items()}

    view.show_frame(trained_frame(2000))
    assert list(view.view_box.addedItems) == items_before
    assert all(a is b for a, b in zip(view.view_box.addedItems, items_before))
    assert view.edge_items == edge_items
    assert all(view.edge_items[key] is item for key, item in edge_items.items())
    assert view.node_item is node_item and view.bias_item is bias_item
    data_after = {key: drawn_segments(item) for key, item in edge_items.items()}
    assert data_after != data_before, "the edges moved between bins"


def test_show_frame_never_modifies_the_frame(view):
    frame = trained_frame(2000)
    before = {name: array.copy() for name, array in frame.snapshot.weights.items()}
    view.show_frame(frame)
    view.describe_at(*view.node_position(1, 0))
    assert view.frame is frame
    for name, array in frame.snapshot.weights.items():
        np.testing.assert_array_equal(array, before[name])


def test_describe_at_a_node_gives_its_bias_and_mean_activation(view):
    frame = trained_frame(2000)
    view.show_frame(frame)
    weights = frame.snapshot.weights
    x = frame.data.x_train
    h = 1.0 / (1.0 + np.exp(-(x @ weights["W1"] + weights["b1"])))  # sigmoid, independently

    text = view.describe_at(*view.node_position(1, 2))
    assert text is not None
    assert "hidden 1 unit 3" in text
    assert f"b1[3] = {format_value(weights['b1'][2])}" in text
    assert f"mean h = {format_value(h[:, 2].mean())}" in text

    p = forward_layers(weights, x, "sigmoid")[-1][1][:, 0]
    text = view.describe_at(*view.node_position(2, 0))
    assert "output" in text and f"b2[1] = {format_value(weights['b2'][0])}" in text
    assert f"mean p = {format_value(p.mean())}" in text

    x_node = view.node_position(0, 1)
    text = view.describe_at(x_node[0] + 0.01, x_node[1])  # a little off centre still hits
    assert text.startswith("input x2")


def test_describe_at_an_edge_midpoint_gives_the_formatted_weight(view):
    frame = trained_frame(2000)
    view.show_frame(frame)
    weights = frame.snapshot.weights
    for unit in range(5):
        (x0, y0), (x1, y1) = view.node_position(1, unit), view.node_position(2, 0)
        text = view.describe_at((x0 + x1) / 2, (y0 + y1) / 2)
        value = format_value(weights["W2"][unit, 0])
        assert text == f"W2[{unit + 1}→1] from hidden 1 unit {unit + 1} to output = {value}"
    (x0, y0), (x1, y1) = view.node_position(0, 0), view.node_position(1, 0)
    text = view.describe_at((x0 + x1) / 2, (y0 + y1) / 2)
    assert text == (
        f"W1[1→1] from input x1 to hidden 1 unit 1 = {format_value(weights['W1'][0, 0])}"
    )
    # far from every node and edge
    assert view.describe_at(1.5, 100.0) is None


def test_describe_at_before_any_frame_is_none(view):
    assert view.describe_at(0.0, 0.0) is None
    assert view.layer_sizes == ()


def test_hovering_shows_the_value_in_a_tooltip(view, qtbot):
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QToolTip

    view.show()
    qtbot.waitExposed(view)
    view.show_frame(trained_frame(2000))
    scene_point = view.view_box.mapViewToScene(QPointF(*view.node_position(1, 0)))
    pos = view.plot_widget.mapFromScene(scene_point)
    qtbot.mouseMove(view.plot_widget.viewport(), pos)
    qtbot.waitUntil(QToolTip.isVisible, timeout=2000)
    assert "hidden 1 unit 1" in QToolTip.text()
    QToolTip.hideText()


def grab_rgb(view: NetworkView) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    buffer = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = buffer.reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)


def test_the_grabbed_widget_shows_orange_and_blue_edges(view, qtbot):
    from PySide6.QtWidgets import QApplication

    view.show()
    qtbot.waitExposed(view)
    view.show_frame(trained_frame(2000))
    QApplication.processEvents()
    rgb = grab_rgb(view)
    assert rgb.shape[:2] == (350, 450)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    orange = (r > 200) & (g > 100) & (g < 200) & (b < 120)
    blue = (b > 140) & (r < 100)
    assert orange.sum() > 100 and blue.sum() > 100
    assert (rgb.sum(axis=2) > 720).mean() > 0.5, "a light background"
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50, "not blank"


@pytest.mark.parametrize("hidden", [(5,), (4, 3)])
def test_each_edge_is_painted_in_the_colour_of_its_weight(qtbot, hidden):
    """In the grabbed pixels, a free stretch of each edge has the colour of its weight's bin."""
    from PySide6.QtWidgets import QApplication

    from nnviz.gui import style
    from nnviz.gui.views.network_view import EDGE_ALPHAS, edge_color

    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(450, 350)
    view.show()
    qtbot.waitExposed(view)
    frame = trained_frame(2000, hidden)
    view.show_frame(frame)
    QApplication.processEvents()
    rgb = grab_rgb(view)
    diagram, weights = view.diagram, frame.snapshot.weights
    w = np.concatenate([weights[f"W{k}"].ravel() for k in range(1, len(weights) // 2 + 1)])
    levels = np.minimum((np.abs(w) / np.abs(w).max() * MAGNITUDE_BINS).astype(int), 4)
    widths = np.array(EDGE_WIDTHS)[levels]
    segments, centers = diagram.segments, diagram.centers
    start, delta = segments[:, 0], segments[:, 1] - segments[:, 0]
    checked = 0
    for e, (a, b) in enumerate(segments):
        color = style.ORANGE if w[e] < 0 else style.BLUE
        expected = np.array(edge_color(color, EDGE_ALPHAS[levels[e]]))
        for t in np.linspace(0.15, 0.85, 36):
            point = a + t * (b - a)
            along = np.clip(
                np.sum((point - start) * delta, axis=1) / np.sum(delta**2, axis=1), 0, 1
            )
            gaps = np.hypot(*(start + along[:, None] * delta - point).T) - 0.5 * widths
            gaps[e] = np.inf
            if gaps.min() < 0.5 * widths[e] + 4 or np.hypot(*(centers - point).T).min() < 30:
                continue  # another edge or a node is near: not a clean sample
            px, py = scene_pixel(view, *point)
            patch = rgb[py - 1 : py + 2, px - 1 : px + 2].reshape(-1, 3)
            best = patch[np.argmin(np.abs(patch - expected).max(axis=1))]
            assert np.abs(best - expected).max() <= 40, (e, best, expected)
            assert (best[0] > best[2]) if w[e] < 0 else (best[2] > best[0]), (e, best)
            checked += 1
            break
    assert checked >= 0.6 * len(segments), checked


def test_a_selection_in_a_bigger_network_never_indexes_the_smaller_one(qtbot):
    """Select hidden 1 unit 8 of 2-8-1 and hover it, then draw 2-2-1: the selection, the
    overlay and the hover are dropped, and hovering and clicking anywhere raises nothing."""
    from PySide6.QtCore import QPointF, Qt

    from nnviz.core.diagram import Hit
    from nnviz.core.explain import Item

    big, step = explained(500, (8,))
    small, small_step = explained(10, (2,))
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(450, 350)
    view.show()
    qtbot.waitExposed(view)
    hovered, clicked, edits = [], [], []
    view.node_hovered.connect(hovered.append)
    view.item_clicked.connect(clicked.append)
    view.weight_edit_requested.connect(lambda *args: edits.append(args))
    viewport = view.plot_widget.viewport()

    def move(point: QPointF) -> None:
        send_mouse_move(view, point)

    view.show_frame(big)
    view.show_explain(step.phase_view(0, None, Item("node", 1, 7)))
    assert view.selection == Hit.node(1, 7)
    assert (1, 7) in view.explain_labels() or len(view.explain_labels()) > 0
    target = QPointF(widget_point(view, *view.node_position(1, 7)))

    def on_the_node() -> bool:
        move(target)
        return bool(hovered) and hovered[-1] == (1, 7)

    qtbot.waitUntil(on_the_node, timeout=3000)

    view.show_frame(small)
    assert view.layer_sizes == (2, 2, 1)
    assert view.selection is None and view.explain_view is None
    assert view.explain_labels() == {}
    assert hovered[-1] != (1, 7), "the hovered unit is gone"
    after = len(hovered)
    # a late phase of the old network is dropped as well
    view.show_explain(step.phase_view(1, None, Item("edge", 2, 0, 7)))
    assert view.explain_view is None and view.selection is None

    def everywhere() -> None:
        for x in range(0, viewport.width(), 15):
            for y in range(0, viewport.height(), 15):
                move(QPointF(x, y))
                if (x + y) % 45 == 0:
                    point = QPointF(x, y).toPoint()
                    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=point)

    everywhere()  # no overlay: clicks on weights ask to edit them
    assert edits and not clicked
    view.show_explain(small_step.phase_view(0, None, Item("node", 1, 1)))
    assert view.selection == Hit.node(1, 1)
    everywhere()  # the small network's own overlay: clicks select
    diagram = view.diagram
    assert clicked and all(diagram.contains(hit) for hit in clicked)
    assert len(hovered) > after + 5
    assert all(node is None or diagram.has_node(*node) for node in hovered[after:])
    weights = small.snapshot.weights
    for name, index, value in edits:
        assert value == float(weights[name][index])
    for x in np.linspace(0, diagram.width, 60):
        for y in np.linspace(0, diagram.height, 45):
            hit = view.hit_at(x, y)
            assert hit is None or diagram.contains(hit)
            view.describe_at(x, y)
    # and back to the big network: its phase fits again
    view.show_frame(big)
    view.show_explain(step.phase_view(0, None, Item("node", 1, 7)))
    assert view.selection == Hit.node(1, 7)


def test_a_phase_of_another_network_is_not_drawn_even_where_its_indices_exist(view):
    """A 2-2-1 phase names units and weights that 2-8-1 also has, but only some of hidden 1's:
    it was made for another network, so the view drops it (and a click selects nothing).
    The loss phase names only the output, which both have alike: that one cannot be told."""
    from nnviz.core.explain import LOSS, Item

    big, big_step = explained(500, (8,))
    _, small_step = explained(10, (2,))
    view.show_frame(big)
    for phase in small_step.phases:
        phase_view = small_step.phase_view(phase.index, None, Item("node", 1, 0))
        view.show_explain(phase_view)
        if phase.kind == LOSS:
            assert view.explain_view is phase_view
            continue
        assert view.explain_view is None and view.selection is None, phase.title
        assert view.explain_labels() == {}
    for phase in big_step.phases:  # its own phases fit
        phase_view = big_step.phase_view(phase.index, None)
        view.show_explain(phase_view)
        assert view.explain_view is phase_view, phase.title


@pytest.mark.parametrize("size", [(450, 350), (900, 600), (300, 220)])
def test_large_nets_fit_without_overlap_or_clipping(qtbot, size):
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(trained_frame(10, hidden=(16, 16)))
    QApplication.processEvents()
    node_px = view.node_item.opts["size"]
    assert node_px >= 6
    for layer, n in enumerate(view.layer_sizes):
        points = [
            view.view_box.mapViewToScene(QPointF(*view.node_position(layer, u))) for u in range(n)
        ]
        gaps = [abs(a.y() - b.y()) for a, b in itertools.pairwise(points)]
        assert min(gaps, default=np.inf) > node_px, "nodes overlap"
    box = view.view_box.sceneBoundingRect()
    for item in all_text_items(view):
        assert box.contains(item.sceneBoundingRect()), item.toPlainText()


@functools.cache
def preset_frame(preset: str, dataset: str | None = None, hidden: tuple[int, ...] | None = None):
    changes = {"dataset": dataset} if dataset else {}
    changes |= {"hidden": hidden} if hidden else {}
    trainer = Trainer(Config.preset(preset, **changes))
    return make_frame(trainer.step(5), trainer.config, trainer.data)


@pytest.mark.parametrize("size", [(220, 160), (244, 217), (300, 220)])
@pytest.mark.parametrize(
    "network",
    [("spiral3",), ("iris",), ("iris", "wine"), ("seed", None, (50,))],
    ids=["spiral3", "iris", "wine", "hidden50"],
)
def test_a_narrow_view_draws_no_text_on_text(qtbot, network, size):
    """The Metrics dock open at 1280x720 leaves the view about 244x217: titles, x1/p labels and
    the caption are drawn apart from each other and from the nodes, and inside the view."""
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtWidgets import QApplication

    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(preset_frame(*network))
    QApplication.processEvents()
    texts = [item for item in all_text_items(view) if item.isVisible() and item.toPlainText()]
    # shrunk by 0.01 px: boxes that only touch (to rounding) do not overlap
    rects = [item.sceneBoundingRect().adjusted(0.01, 0.01, -0.01, -0.01) for item in texts]
    names = [item.toPlainText() for item in texts]
    for (a, ra), (b, rb) in itertools.combinations(zip(names, rects), 2):
        assert not ra.intersects(rb), (a, b)
    box = view.view_box.sceneBoundingRect()
    diagram = view.diagram
    r = 0.5 * diagram.node_px
    discs = []
    for layer, n in enumerate(diagram.sizes):
        for unit in range(n):
            x, y = diagram.center(layer, unit)
            corner = view.view_box.mapViewToScene(QPointF(x - r, y - r))
            discs.append(QRectF(corner.x(), corner.y(), 2 * r, 2 * r))
    for name, rect in zip(names, rects):
        assert box.contains(rect), name
        assert not any(rect.intersects(disc) for disc in discs), name
    assert "input" in names and "output" in names
    shown_sides = [text.text for text in diagram.side_labels if text.text]
    assert len(shown_sides) >= min(4, len(diagram.side_labels)), "most units keep a name"


def test_a_regressions_output_node_is_its_prediction_p(view):
    """As in Explain's formulas: p is the prediction, y the target."""
    view.show_frame(preset_frame("regression"))
    assert view.diagram.side_labels[-1].text == "p"
    depth = len(view.layer_sizes) - 1
    text = view.describe_at(*view.node_position(depth, 0))
    assert "p = linear(a)" in text and "mean p = " in text
    assert "y =" not in text and "mean y" not in text


# -- per-node maps ---------------------------------------------------------------------------------


def scene_pixel(view: NetworkView, x: float, y: float) -> tuple[int, int]:
    """Widget pixel (column, row) of a point in view coordinates."""
    from PySide6.QtCore import QPointF

    point = view.plot_widget.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y)))
    offset = view.plot_widget.mapTo(view, point)
    return offset.x(), offset.y()


def test_every_hidden_and_output_node_maps_its_own_output_over_the_input_plane(view):
    from nnviz.core.explain import node_levels, node_output_grid
    from nnviz.gui import style
    from nnviz.gui.views.network_view import MAP_SIZE

    frame = trained_frame(300, hidden=(4, 3))
    view.show_frame(frame)
    weights, extent = frame.snapshot.weights, frame.extent
    lut = style.probability_lut()
    for layer, n in enumerate(view.layer_sizes):
        for unit in range(n):
            if layer == 0:
                continue
            values, levels = view.map_values(layer, unit)
            expected = node_output_grid(weights, "sigmoid", layer, unit, extent, MAP_SIZE)
            np.testing.assert_allclose(values, expected[::-1], rtol=1e-5, atol=1e-6)  # top = ymax
            assert levels == node_levels("sigmoid", layer, 3, expected) == (0.0, 1.0)
            index = np.clip(expected[::-1] * 255.999, 0, 255).astype(np.uint8)
            np.testing.assert_array_equal(view.map_image(layer, unit).image, lut[index])


def test_maps_are_reused_and_follow_each_frame(view):
    view.show_frame(trained_frame(0))
    image = view.map_image(1, 2)
    before = view.map_values(1, 2)[0].copy()
    view.show_frame(trained_frame(2000))
    assert view.map_image(1, 2) is image
    assert not np.allclose(view.map_values(1, 2)[0], before)


def test_map_levels_follow_the_activation(qtbot):
    for activation, hidden_levels in (("tanh", (-1.0, 1.0)), ("relu", None)):
        trainer = Trainer(Config.preset("seed", activation=activation, init="he"))
        frame = make_frame(trainer.step(50), trainer.config, trainer.data)
        view = NetworkView()
        qtbot.addWidget(view)
        view.show_frame(frame)
        values, levels = view.map_values(1, 0)
        if hidden_levels is None:  # relu: +- the largest |value| of this node's map
            largest = float(np.abs(values).max())
            assert levels == pytest.approx((-largest, largest))
        else:
            assert levels == hidden_levels
        assert view.map_values(2, 0)[1] == (0.0, 1.0)  # the output is a probability


def test_the_grabbed_nodes_show_their_maps(view, qtbot):
    from PySide6.QtWidgets import QApplication

    from nnviz.gui import style

    view.show()
    qtbot.waitExposed(view)
    frame = trained_frame(2000)
    view.show_frame(frame)
    QApplication.processEvents()
    rgb = grab_rgb(view)
    lut = style.probability_lut()
    for layer, unit in ((1, 0), (1, 3), (2, 0)):
        values, _ = view.map_values(layer, unit)
        x, y = view.node_position(layer, unit)
        # a few pixels right of and above the centre: away from the bias square
        for dx, dy, row, column in ((4, -4, 10, 14), (-2, -6, 8, 11)):
            px, py = scene_pixel(view, x + dx, y + dy)
            pixel = rgb[py, px]
            # the map cell under that pixel, within one cell either way
            expected = [
                lut[int(np.clip(values[r, c] * 255.999, 0, 255))][:3].astype(int)
                for r in range(row - 2, row + 3)
                for c in range(column - 2, column + 3)
            ]
            assert min(np.abs(pixel - e).max() for e in expected) <= 40, (layer, unit, pixel)
    # without maps the discs are white again
    view.set_node_maps_visible(False)
    QApplication.processEvents()
    rgb = grab_rgb(view)
    px, py = scene_pixel(view, *view.node_position(1, 0))
    assert rgb[py - 4, px + 4].min() >= 245


# -- explain overlay ---------------------------------------------------------------------------------


@functools.cache
def explained(iterations: int, hidden: tuple[int, ...] = (5,)):
    from nnviz.core.explain import explain_step

    trainer = Trainer(Config.preset("seed", hidden=hidden))
    snapshot = trainer.step(iterations)
    return make_frame(snapshot, trainer.config, trainer.data), explain_step(trainer)


def visible_rects(view: NetworkView) -> list:
    import pyqtgraph as pg

    rects = []
    for item in view.view_box.addedItems:
        if isinstance(item, pg.TextItem) and item.isVisible() and item.zValue() == 32:
            rects.append((item.toPlainText(), item.mapRectToParent(item.boundingRect())))
    return rects


def segment_crosses(rect, start, end, clearance: float = 0.0) -> bool:
    """Whether the segment comes within `clearance` of the inside of a QRectF (by sampling)."""
    inner = rect.adjusted(-clearance + 1e-6, -clearance + 1e-6, clearance - 1e-6, clearance - 1e-6)
    t = np.linspace(0.0, 1.0, 1001)[:, None]
    points = np.asarray(start) + t * (np.asarray(end) - np.asarray(start))
    x, y = points[:, 0], points[:, 1]
    inside = (x > inner.left()) & (x < inner.right()) & (y > inner.top()) & (y < inner.bottom())
    return bool(inside.any())


def edge_strokes(frame: Frame) -> list[float]:
    """Half the pen width of every edge plus 1 px, from the weights (W1, W2, ... raveled)."""
    weights = frame.snapshot.weights
    w = np.concatenate([weights[f"W{k}"].ravel() for k in range(1, len(weights) // 2 + 1)])
    levels = np.minimum((np.abs(w) / np.abs(w).max() * MAGNITUDE_BINS).astype(int), 4)
    return [0.5 * EDGE_WIDTHS[level] + 1.0 for level in levels]


@pytest.mark.parametrize("size", [(450, 350), (900, 600), (240, 180)])
@pytest.mark.parametrize("hidden", [(5,), (4, 3)])
def test_each_phase_labels_its_values_without_overlaps(qtbot, size, hidden):
    """What is painted is what the diagram placed: no label on another, on a node or a title,
    no node label on an edge, and each text one of the forms of the phase's value."""
    from PySide6.QtCore import QRectF

    from nnviz.core.diagram import node_label_forms
    from nnviz.core.explain import FORWARD

    frame, step = explained(500, hidden)
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(frame)
    items_before = list(view.view_box.addedItems)
    diagram = view.diagram
    for phase in step.phases:
        phase_view = step.phase_view(phase.index, 3)
        view.show_explain(phase_view)
        shown = view.explain_labels()
        nodes = {key: text for key, text in shown.items() if len(key) == 2}
        edges = {key: text for key, text in shown.items() if len(key) == 3}
        for key, text in nodes.items():
            assert text in node_label_forms(phase_view.node_labels[key]), (phase.title, key)
        for key, text in edges.items():
            assert text == phase_view.edge_labels[key]
        if size == (900, 600):  # room for every value of a small network
            assert set(nodes) == set(phase_view.node_labels), phase.title
            if phase.kind == FORWARD:
                assert len(edges) == len(phase_view.edge_labels), phase.title
        if size == (450, 350):
            assert len(nodes) >= len(phase_view.node_labels) // 2, phase.title
        if size != (240, 180):
            assert len(edges) >= min(len(phase_view.edge_labels), 3), phase.title
        rects = visible_rects(view)
        assert sorted(text for text, _ in rects) == sorted(shown.values())
        half = 0.5 * view.node_item.opts["size"]
        nodes_rects = [
            QRectF(x - half, y - half, 2 * half, 2 * half)
            for layer, n in enumerate(view.layer_sizes)
            for x, y in (view.node_position(layer, u) for u in range(n))
        ]
        titles = [
            item.mapRectToParent(item.boundingRect())
            for item in all_text_items(view)
            if item.isVisible() and item.zValue() != 32 and item.toPlainText()
        ]
        bounds = QRectF(0, 0, view.view_box.width(), view.view_box.height())
        by_text = {text: key for key, text in shown.items()}
        strokes = edge_strokes(frame)
        for index, (text, rect) in enumerate(rects):
            assert bounds.contains(rect), text
            for other_text, other in rects[index + 1 :]:
                assert not rect.intersects(other), (phase.title, text, other_text)
            assert not any(rect.intersects(node) for node in nodes_rects), (phase.title, text)
            assert not any(rect.intersects(title) for title in titles), (phase.title, text)
            if len(by_text.get(text, ())) == 2:  # a node label: on no edge
                for (start, end), stroke in zip(diagram.segments, strokes):
                    assert not segment_crosses(rect, start, end, stroke), (phase.title, text)
    # one pool of items, re-used by every phase
    assert list(view.view_box.addedItems) == items_before
    view.clear_explain()
    assert view.explain_labels() == {}
    assert "|w|" in view.caption_item.toPlainText()


def test_the_active_column_is_banded_outlined_and_the_selection_ringed(view, qtbot):
    from PySide6.QtWidgets import QApplication

    from nnviz.core.explain import Item
    from nnviz.gui.views.network_view import BAND_FILL, SELECTION_COLOR

    view.show()
    qtbot.waitExposed(view)
    frame, step = explained(500)
    view.show_frame(frame)
    backward_hidden = next(p.index for p in step.phases if p.title == "3 backward: hidden 1")
    view.show_explain(step.phase_view(backward_hidden, 3, Item("node", 1, 2)))
    QApplication.processEvents()
    assert view.explain_view.phase.title == "3 backward: hidden 1"
    assert "backward, hidden 1" in view.caption_item.toPlainText()
    rgb = grab_rgb(view)
    x, y = view.node_position(1, 0)
    half = 0.5 * view.node_item.opts["size"]
    px, py = scene_pixel(view, x + half + 2, (y + view.node_position(1, 1)[1]) / 2)
    assert tuple(rgb[py, px]) == BAND_FILL, "the band between two active nodes"
    px, py = scene_pixel(view, *view.node_position(2, 0))
    far = scene_pixel(view, view.node_position(2, 0)[0], view.node_position(2, 0)[1] - half - 8)
    assert tuple(rgb[far[1], far[0]]) != BAND_FILL, "no band at an inactive column"
    pens = view.node_item.data["pen"]
    widths = [pen.widthF() for pen in pens]
    assert widths[2:7] == [max(widths)] * 5 and widths[0] < max(widths) and widths[7] < max(widths)
    # the ring around hidden 1 unit 3, in the selection colour
    x, y = view.node_position(1, 2)
    ring = [scene_pixel(view, x + half + 3 + d, y) for d in (-1, 0, 1)]
    assert any(np.abs(rgb[py, px] - SELECTION_COLOR).max() < 60 for px, py in ring)


def test_a_dense_layer_labels_only_the_selected_nodes_edges(qtbot):
    from nnviz.core.explain import Item

    frame, step = explained(20, (16, 16))
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(frame)
    forward_2 = next(p.index for p in step.phases if p.title == "1 forward: hidden 2")
    view.show_explain(step.phase_view(forward_2, 0, Item("node", 2, 5)))
    edges = [key for key in view.explain_labels() if len(key) == 3]
    assert len(edges) >= 12
    assert all(key[0] == 2 and key[2] == 5 for key in edges)


# -- mouse ---------------------------------------------------------------------------------------


def widget_point(view: NetworkView, x: float, y: float):
    from PySide6.QtCore import QPointF

    return view.plot_widget.mapFromScene(view.view_box.mapViewToScene(QPointF(x, y)))


def send_mouse_move(view: NetworkView, point) -> None:
    """A mouse move to widget `point`, sent directly (Qt drops a repeated move to one point)."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    viewport = view.plot_widget.viewport()
    point = QPointF(point)
    event = QMouseEvent(
        QEvent.Type.MouseMove,
        point,
        QPointF(viewport.mapToGlobal(point)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, event)


def test_the_bias_square_is_a_hit_of_its_own(view):
    frame = trained_frame(2000)
    view.show_frame(frame)
    rect = view.bias_rect(1, 3)
    hit = view.hit_at(rect.center().x(), rect.center().y())
    assert (hit.kind, hit.layer, hit.unit) == ("bias", 1, 3)
    text = view.describe_at(rect.center().x(), rect.center().y())
    assert text == (
        f"bias b1[4] of hidden 1 unit 4 = {format_value(frame.snapshot.weights['b1'][3])}"
    )
    assert view.hit_at(*view.node_position(1, 3)).kind == "node"


def test_the_bias_square_is_drawn_where_it_is_hit(view, qtbot):
    from PySide6.QtWidgets import QApplication

    view.show()
    qtbot.waitExposed(view)
    frame = trained_frame(2000)
    view.show_frame(frame)
    QApplication.processEvents()
    rgb = grab_rgb(view)
    weights = frame.snapshot.weights
    unit = int(np.argmax(np.abs(weights["b1"])))  # a strongly coloured square
    rect = view.bias_rect(1, unit)
    px, py = scene_pixel(view, rect.center().x(), rect.center().y())
    r, _, b = rgb[py, px]
    assert (r > b + 60) if weights["b1"][unit] < 0 else (b > r + 60)


def test_clicking_an_edge_or_a_bias_asks_to_edit_it(view, qtbot):
    from PySide6.QtCore import Qt

    view.show()
    qtbot.waitExposed(view)
    frame = trained_frame(2000)
    view.show_frame(frame)
    weights = frame.snapshot.weights
    (x0, y0), (x1, y1) = view.node_position(1, 2), view.node_position(2, 0)
    viewport = view.plot_widget.viewport()
    with qtbot.waitSignal(view.weight_edit_requested) as edit:
        qtbot.mouseClick(
            viewport,
            Qt.MouseButton.LeftButton,
            pos=widget_point(view, *((x0 + x1) / 2, (y0 + y1) / 2)),
        )
    assert edit.args == ["W2", (2, 0), float(weights["W2"][2, 0])]
    rect = view.bias_rect(1, 4)
    with qtbot.waitSignal(view.weight_edit_requested) as edit:
        qtbot.mouseClick(
            viewport, Qt.MouseButton.LeftButton, pos=widget_point(view, *rect.center().toTuple())
        )
    assert edit.args == ["b1", (4,), float(weights["b1"][4])]
    # a node is no edit, and without the explain overlay no selection either
    with (
        qtbot.assertNotEmitted(view.item_clicked, wait=50),
        qtbot.assertNotEmitted(view.weight_edit_requested),
    ):
        qtbot.mouseClick(
            viewport,
            Qt.MouseButton.LeftButton,
            pos=widget_point(view, *view.node_position(1, 1)),
        )


def test_in_explain_mode_a_click_selects_instead_of_editing(view, qtbot):
    from PySide6.QtCore import Qt

    view.show()
    qtbot.waitExposed(view)
    frame, step = explained(500)
    view.show_frame(frame)
    view.show_explain(step.phase_view(0, 3))
    (x0, y0), (x1, y1) = view.node_position(0, 1), view.node_position(1, 4)
    point = widget_point(view, (x0 + x1) / 2, (y0 + y1) / 2)
    with (
        qtbot.waitSignal(view.item_clicked) as clicked,
        qtbot.assertNotEmitted(view.weight_edit_requested),
    ):
        qtbot.mouseClick(view.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=point)
    hit = clicked.args[0]
    assert (hit.kind, hit.layer, hit.source, hit.unit) == ("edge", 1, 1, 4)


def test_hovering_a_node_emits_it_and_leaving_emits_none(view, qtbot):
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(trained_frame(2000))
    hovered = []
    view.node_hovered.connect(hovered.append)

    def hover_until(x: float, y: float, expected) -> None:
        """Move there until the signal comes: pyqtgraph drops moves less than 10 ms apart
        (and Qt drops a repeated move to the same point, so the event is sent directly)."""
        point = widget_point(view, x, y)

        def arrived() -> bool:
            send_mouse_move(view, point)
            return bool(hovered) and hovered[-1] == expected

        qtbot.waitUntil(arrived, timeout=3000)

    hover_until(*view.node_position(1, 3), (1, 3))
    hover_until(2.0, 100.0, None)
    hover_until(*view.node_position(2, 0), (2, 0))
    assert hovered == [(1, 3), None, (2, 0)], "emitted only on a change"


def test_ask_weight_value_returns_the_typed_value_or_none(qtbot):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QInputDialog

    from nnviz.gui.views.network_view import ask_weight_value, parameter_label

    assert parameter_label("W2", (2, 0)) == "W2[3→1]"
    assert parameter_label("b1", (3,)) == "b1[4]"
    seen = []

    def answer(value: float | None) -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):  # not open yet: look again at the next turn
            QTimer.singleShot(5, lambda: answer(value))
            return
        seen.append((dialog.labelText(), dialog.doubleValue()))
        if value is None:
            dialog.reject()
        else:
            dialog.setDoubleValue(value)
            dialog.accept()

    QTimer.singleShot(0, lambda: answer(-1.25))
    assert ask_weight_value(None, "W2", (2, 0), 0.5) == -1.25
    assert seen[0] == ("New value for W2[3→1] (now 0.5):", 0.5)
    QTimer.singleShot(0, lambda: answer(None))
    assert ask_weight_value(None, "b1", (0,), 0.5) is None


def test_maps_of_diverged_weights_draw_without_warnings(view):
    """NaN and overflowing weights (a diverged run) must not raise through the warning filter."""
    import warnings

    frame = trained_frame(10)
    weights = {name: np.array(value) for name, value in frame.snapshot.weights.items()}
    weights["W1"][0, 0] = 1e308
    weights["W1"][1, 1] = np.nan
    weights["b1"][2] = -np.inf
    snapshot = dataclasses.replace(frame.snapshot, weights=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        view.show_frame(dataclasses.replace(frame, snapshot=snapshot))
    for unit in range(5):
        _, levels = view.map_values(1, unit)
        assert np.all(np.isfinite(levels))


def test_a_network_too_large_to_draw_says_so_and_a_small_one_is_drawn_again(qtbot, view):
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(trained_frame(0, hidden=(300, 300)))  # 90,900 weights
    assert view.too_large_label.isVisible() and not view.plot_widget.isVisible()
    assert "2-300-300-1" in view.too_large_label.text() and "90,900" in view.too_large_label.text()
    assert view.hit_at(100.0, 100.0) is None
    view.show_frame(trained_frame(10))
    assert view.plot_widget.isVisible() and not view.too_large_label.isVisible()
    assert view.describe_at(*view.node_position(1, 0)) is not None
