"""NetworkView: edges binned by sign and |w|, biases, hover texts, rebuilds and a non-blank grab."""

from __future__ import annotations

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
