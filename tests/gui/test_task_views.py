"""The views beyond two classes (issue 14): K coloured regions, a regression's surface, the
plane of data with more inputs, K x K matrices, one-vs-rest curves and predicted versus true.
Frames come from real trainers; the checks read pixels and the metrics' own numbers."""

from __future__ import annotations

import functools

import numpy as np
from PySide6 import QtCore, QtGui

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6)
from nnviz import Config, Trainer
from nnviz.core.metrics import SPLITS
from nnviz.gui import style
from nnviz.gui.frame import Frame, make_frame
from nnviz.gui.plane import Plane, PlaneChoice
from nnviz.gui.regions import class_regions
from nnviz.gui.views.boundary_view import MAP_OPACITY, BoundaryView, regression_levels
from nnviz.gui.views.metrics_view import MetricsView
from nnviz.gui.views.network_view import NetworkView
from nnviz.gui.views.roc_view import RocView

SIZE = (520, 440)


@functools.cache
def trained(preset: str, iterations: int) -> Trainer:
    trainer = Trainer(Config.preset(preset))
    trainer.step(iterations)
    return trainer


def frame_of(preset: str, iterations: int, choice: PlaneChoice | None = None) -> Frame:
    trainer = trained(preset, iterations)
    plane = Plane.of(trainer.data, choice)
    return make_frame(trainer.snapshot(), trainer.config, trainer.data, plane=plane)


def shown(qtbot, view):
    qtbot.addWidget(view)
    view.resize(*SIZE)
    view.show()
    qtbot.waitExposed(view)
    return view


def pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    return buffer[:, : width * 4].reshape(height, width, 4)[..., :3].astype(int)


def map_pixels(view: BoundaryView, frame: Frame, rows: np.ndarray, cols: np.ndarray):
    """The rendered colours at grid cells (rows, cols) of the frame's map, with the points and
    lines hidden so only the map is read."""
    for item in (view.train_scatter, view.test_scatter, view.contour):
        item.setVisible(False)
    image = pixels(view.plot_widget)
    xmin, xmax, ymin, ymax = frame.extent
    size = frame.probabilities.shape[0]
    box = view.plot_widget.getPlotItem().getViewBox()
    out = []
    for row, col in zip(rows, cols):
        x = xmin + col * (xmax - xmin) / (size - 1)
        y = ymin + row * (ymax - ymin) / (size - 1)
        point = view.plot_widget.mapFromScene(box.mapViewToScene(QtCore.QPointF(x, y)))
        out.append(image[point.y(), point.x()])
    return np.array(out)


def on_white(rgb: np.ndarray) -> np.ndarray:
    """A colour as the translucent map shows it over the white plot."""
    return 255 + (np.asarray(rgb, float) - 255) * MAP_OPACITY


# -- the boundary view --------------------------------------------------------------------------


def test_three_classes_are_three_coloured_regions(qtbot):
    frame = frame_of("spiral3", 2000)
    view = shown(qtbot, BoundaryView())
    view.show_frame(frame)
    p = frame.probabilities
    assert p.shape == (150, 150, 3)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-5)
    assert not view.colorbar.isVisible()  # the classes' colours are named in the title
    assert all(f"class {k}" in view.title_html() for k in range(3))
    rng = np.random.default_rng(0)
    sure = [np.argwhere(p[..., k] > 0.97) for k in range(3)]
    picked = [cells[rng.choice(len(cells), 6, replace=False)] for cells in sure]
    cells = np.concatenate(picked)
    seen = map_pixels(view, frame, cells[:, 0], cells[:, 1])
    expected = on_white(class_regions(p, style.CLASS_COLORS)[cells[:, 0], cells[:, 1], :3])
    np.testing.assert_allclose(seen, expected, atol=3)
    palette = on_white(style.CLASS_COLORS[:3])
    nearest = np.argmin(((seen[:, None, :] - palette[None]) ** 2).sum(axis=-1), axis=1)
    np.testing.assert_array_equal(nearest, np.repeat([0, 1, 2], 6))
    assert len({tuple(c) for c in np.round(seen[::6] / 8)}) == 3  # three distinct colours


def test_the_regression_surface_is_coloured_by_the_prediction(qtbot):
    frame = frame_of("regression", 2000)
    view = shown(qtbot, BoundaryView())
    view.show_frame(frame)
    z = frame.probabilities
    assert z.shape == (150, 150) and frame.kind == "regression"
    data = frame.data
    levels = regression_levels(data.y_train, data.y_test)
    assert levels[0] == -levels[1] and view.colorbar.isVisible()
    assert view.colorbar.levels() == levels
    order = np.argsort(z, axis=None)
    cells = np.array(np.unravel_index(order[[0, len(order) // 2, -1]], z.shape)).T
    low, middle, high = map_pixels(view, frame, cells[:, 0], cells[:, 1])
    assert low[0] > low[2] + 40  # the lowest prediction: orange
    assert high[2] > high[0] + 40  # the highest: blue
    # Colours follow the prediction: the rendered colour is the colour map's at its value.
    for cell, seen in zip(cells, (low, middle, high)):
        position = (z[tuple(cell)] - levels[0]) / (levels[1] - levels[0])
        expected = style.probability_colormap().map(np.clip(position, 0, 1), mode="byte")[:3]
        np.testing.assert_allclose(seen, on_white(expected), atol=4)
    brushes = view.train_scatter.data["brush"]
    hottest = int(np.argmax(data.y_train))
    assert brushes[hottest].color().blue() > brushes[hottest].color().red()
    x, _ = view.contour.getData()
    assert x is None or len(x) == 0  # no threshold line for a regression


def test_the_plane_of_iris_is_said_and_chosen(qtbot):
    pca, sliced = frame_of("iris", 1500), frame_of("iris", 1500, PlaneChoice("slice", (2, 3)))
    view = shown(qtbot, BoundaryView())
    view.show_frame(pca)
    assert view.caption() == "PCA: PC1 × PC2, 95% of variance"
    assert view.caption() in view.title_html()
    item = view.plot_widget.getPlotItem()
    assert item.getAxis("bottom").labelText == "PC1"
    assert view.plane_selector.isVisible() and view.plane_selector.mode.currentText() == "PCA"
    np.testing.assert_allclose(
        np.column_stack(view.train_scatter.getData()), pca.plane.project(pca.data.x_train)
    )
    before = pixels(view.plot_widget)
    view.show_frame(sliced)
    assert view.caption() == "slice: petal length × petal width, others at their mean"
    assert item.getAxis("bottom").labelText == "petal length"
    assert item.getAxis("left").labelText == "petal width"
    np.testing.assert_array_equal(
        np.column_stack(view.train_scatter.getData()), sliced.data.x_train[:, [2, 3]]
    )
    after = pixels(view.plot_widget)
    assert before.shape == after.shape
    assert np.mean(np.any(before != after, axis=-1)) > 0.2  # another picture, not a nudge
    # The same weights, evaluated on another plane's raw points.
    raw = sliced.plane.grid(150)
    expected = trained("iris", 1500).task.outputs(sliced.snapshot.weights, "tanh", raw)
    np.testing.assert_allclose(sliced.probabilities.reshape(-1, 3), expected, rtol=1e-6)


def test_the_plane_selector_reports_a_slice(qtbot):
    view = shown(qtbot, BoundaryView())
    view.show_frame(frame_of("iris", 1500))
    selector = view.plane_selector
    with qtbot.waitSignal(selector.plane_chosen) as chosen:
        selector.mode.setCurrentIndex(selector.mode.findData("slice"))
        selector.mode.activated.emit(selector.mode.currentIndex())
    assert chosen.args[0] == PlaneChoice("slice", (0, 1), None)
    assert selector.x_axis.isVisible() and not selector.sample.isVisible()
    view.show_frame(frame_of("iris", 1500, PlaneChoice("slice", (0, 1))))
    selector.x_axis.setCurrentIndex(1)  # takes the y box's input: the two swap
    with qtbot.waitSignal(selector.plane_chosen) as chosen:
        selector.x_axis.activated.emit(1)
    assert chosen.args[0].axes == (1, 0)
    selector.held.setCurrentIndex(1)
    selector.sample.blockSignals(True)
    selector.sample.setValue(17)
    selector.sample.blockSignals(False)
    with qtbot.waitSignal(selector.plane_chosen) as chosen:
        selector.held.activated.emit(1)
    assert chosen.args[0].sample == 17 and selector.sample.isVisible()


def test_two_inputs_show_no_selector_and_no_caption(qtbot):
    view = shown(qtbot, BoundaryView())
    view.show_frame(frame_of("spiral3", 500))
    assert not view.plane_selector.isVisible() and view.caption() == ""


# -- metrics, ROC and the diagram ---------------------------------------------------------------


def test_the_confusion_matrices_are_the_metrics(qtbot):
    frame = frame_of("spiral3", 2000)
    view = shown(qtbot, MetricsView())
    view.show_frame(frame)
    view.flush_report()
    for split in SPLITS:
        metrics = frame.metrics.split(split)
        assert view.counts(split).shape == (3, 3)
        np.testing.assert_array_equal(view.counts(split), metrics.confusion)
    test = frame.metrics.test.full()
    for k in range(3):
        line = next(row for row in view.report_text().splitlines() if f"class {k}" in row)
        assert f"{test.precision[k]:.4f}" in line and f"{test.recall[k]:.4f}" in line
    matrix = view.matrices["test"]
    # Each diagonal cell is tinted with its class's colour.
    for k in range(3):
        color = matrix.cell_color(k, k)
        rgb = np.array([color.red(), color.green(), color.blue()])
        white = np.array([255, 255, 255])
        toward = np.asarray(style.CLASS_COLORS[k]) - white
        assert np.dot(rgb - white, toward) > 0


def test_regression_metrics_are_r2_mse_and_mae(qtbot):
    frame = frame_of("regression", 2000)
    view = shown(qtbot, MetricsView())
    view.show_frame(frame)
    assert not view.matrices["test"].isVisible() and view.regression_table.isVisible()
    table = view.regression_table.text()
    for split in SPLITS:
        metrics = frame.metrics.split(split)
        assert f"{metrics.r2:.4f}" in table and f"{metrics.mse:.4g}" in table
        assert f"{metrics.mae:.4g}" in table


def test_the_roc_view_draws_one_curve_per_class_and_the_macro_auc(qtbot):
    frame = frame_of("spiral3", 2000)
    view = shown(qtbot, RocView())
    view.show_frame(frame)
    texts = view.legend_texts()
    test = frame.metrics.test
    assert texts[1] == f"test  macro  AUC {test.auc:.4f}"
    assert texts[2:] == [f"class {k}  AUC {test.class_auc[k]:.4f}" for k in range(3)]
    for k, curve in enumerate(view.class_curves.curves[:3]):
        x, y = curve.getData()
        np.testing.assert_array_equal(x, test.curves[k][0])
        np.testing.assert_array_equal(y, test.curves[k][1])
    assert not view.train_point.isVisible()  # no threshold with several classes
    view.show_frame(_seed_frame())
    assert view.legend_texts()[2].startswith("at threshold")  # back to two classes


def _seed_frame() -> Frame:
    trainer = trained("seed", 500)
    return make_frame(trainer.snapshot(), trainer.config, trainer.data)


def test_regression_shows_predicted_versus_true_with_r2(qtbot):
    frame = frame_of("regression", 2000)
    view = shown(qtbot, RocView())
    view.show_frame(frame)
    test = frame.metrics.test
    assert view.plot_title() == (f"R²  train {frame.metrics.train.r2:.4f}  ·  test {test.r2:.4f}")
    x, y = view.predictions.test.getData()
    np.testing.assert_array_equal(x, test.targets)
    np.testing.assert_array_equal(y, test.predictions)
    assert view.legend_texts() == ["train", "test", "y = x"]
    assert not view.chance.isVisible() and view.predictions.identity.isVisible()
    item = view.plot_widget.getPlotItem()
    assert item.getAxis("bottom").labelText == "true target"


def test_the_diagram_names_every_input_and_output(qtbot):
    view = shown(qtbot, NetworkView())
    view.show_frame(frame_of("spiral3", 500))
    names = [text.text for text in view.diagram.side_labels]
    assert names == ["x1", "x2", "x1²", "x2²", "x1·x2", "sin x1", "sin x2", "p1", "p2", "p3"]
    view.show_frame(frame_of("iris", 500))
    names = [text.text for text in view.diagram.side_labels]
    assert names[:4] == ["sepal length", "sepal width", "petal length", "petal width"]
    assert view.layer_sizes == (4, 8, 3)
    # The node maps cover the boundary view's plane (PCA): output p2 is P(class 1) there.
    frame = view.frame
    values, levels = view.map_values(2, 1)
    xmin, xmax, ymin, ymax = frame.extent
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, 24), np.linspace(ymax, ymin, 24))
    raw = frame.plane.to_raw(np.column_stack([gx.ravel(), gy.ravel()]))
    expected = frame.task.outputs(frame.snapshot.weights, "tanh", raw)[:, 1].reshape(24, 24)
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-7)
    assert levels == (0.0, 1.0)


def test_the_softmax_formulas_read_as_mathematics():
    """Explain at a softmax output: p_k, a_c, p_y and y_k are set with subscripts."""
    from nnviz.core.explain import explain_step
    from nnviz.gui.explain_panel import formula_html

    step = explain_step(trained("spiral3", 500))
    titles = [phase.title for phase in step.phases]
    forward = titles.index("1 forward: output")
    text = formula_html(step.formula(forward, step.default_item(forward), 0))
    assert "<i>p</i><sub>k</sub> =" in text
    assert "exp(<i>a</i><sub>k</sub>) / Σ<sub>c</sub> exp(<i>a</i><sub>c</sub>)" in text
    assert "_" not in text.replace("margin-", "")  # no raw p_k left
    loss = formula_html(step.formula(titles.index("2 loss"), step.default_item(0), 0))
    assert "-log(<i>p</i><sub>y</sub>)" in loss
    backward = titles.index("3 backward: output")
    delta = formula_html(step.formula(backward, step.default_item(backward), 0))
    assert "(<i>p</i><sub>k</sub> - <i>y</i><sub>k</sub>) / n" in delta
