"""The boundary, loss and ROC views, fed frames from a real trainer (seed preset, 0 and 2000 its)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui
from scipy.interpolate import RegularGridInterpolator

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6)
from nnviz import Config, Trainer
from nnviz.core import load_dataset
from nnviz.gui import style
from nnviz.gui.contours import threshold_contour
from nnviz.gui.frame import Frame, RocCurve, make_frame
from nnviz.gui.state import AppState
from nnviz.gui.views.boundary_view import BoundaryView
from nnviz.gui.views.loss_view import LOSS_LABELS, LossView
from nnviz.gui.views.roc_view import RocView
from nnviz.service.seeds import SeedGroup

SIZE = (450, 350)


def _frames(config: Config, steps: int = 2000) -> tuple[Frame, Frame]:
    trainer = Trainer(config)
    f0 = make_frame(trainer.snapshot(), trainer.config, trainer.data)
    f1 = make_frame(trainer.step(steps), trainer.config, trainer.data)
    return f0, f1


@pytest.fixture(scope="module")
def frames() -> tuple[Frame, Frame]:
    return _frames(Config.preset("seed"))


def _shown(qtbot, view):
    qtbot.addWidget(view)
    view.resize(*SIZE)
    view.show()
    qtbot.waitExposed(view)
    return view


def _pixels(view) -> np.ndarray:
    """The rendered widget as an (h, w, 3) uint8 array."""
    image = view.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    return buffer[:, : width * 4].reshape(height, width, 4)[..., :3].astype(int)


def _scene_item_count(view) -> tuple[int, int]:
    return len(view.plot_widget.getPlotItem().items), len(view.plot_widget.scene().items())


def _probability_at(frame: Frame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of the frame's grid at points (x, y)."""
    xmin, xmax, ymin, ymax = frame.extent
    ny, nx = frame.probabilities.shape
    interpolate = RegularGridInterpolator(
        (np.linspace(ymin, ymax, ny), np.linspace(xmin, xmax, nx)),
        frame.probabilities.astype(float),
        bounds_error=False,
        fill_value=None,  # points on the very edge, up to rounding
    )
    return interpolate(np.column_stack([y, x]))


# -- the contour -------------------------------------------------------------------------------


def test_contour_of_a_cone_is_a_circle():
    xs = np.linspace(-2, 2, 101)
    gx, gy = np.meshgrid(xs, xs)
    z = np.hypot(gx, gy)
    x, y = threshold_contour(z, (-2, 2, -2, 2), 1.01)  # no grid point lies exactly on it
    assert len(x) == len(y) > 100 and len(x) % 2 == 0
    np.testing.assert_allclose(np.hypot(x, y), 1.01, atol=2e-3)  # linear interpolation error
    # The circle is closed: every endpoint is shared by exactly two segments.
    points, counts = np.unique(np.round(np.column_stack([x, y]), 9), axis=0, return_counts=True)
    assert len(points) == len(x) // 2 and np.all(counts == 2)


def test_contour_matches_pyqtgraph_isocurve(frames):
    """Same crossing points as pyqtgraph's own (slow) marching squares."""
    frame = frames[1]
    z = frame.probabilities
    x, y = threshold_contour(z, frame.extent, 0.5)
    reference = pg.functions.isocurve(z.T, 0.5, connected=False)  # [x, y] index space, +0.5
    ref = np.array([point for segment in reference for point in segment]) - 0.5
    xmin, xmax, ymin, ymax = frame.extent
    ref_x = xmin + ref[:, 0] * (xmax - xmin) / (z.shape[1] - 1)
    ref_y = ymin + ref[:, 1] * (ymax - ymin) / (z.shape[0] - 1)
    ours = np.unique(np.round(np.column_stack([x, y]), 6), axis=0)
    theirs = np.unique(np.round(np.column_stack([ref_x, ref_y]), 6), axis=0)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert len(x) == len(ref)


def _segments(x: np.ndarray, y: np.ndarray) -> set:
    points = [(round(float(a), 6), round(float(b), 6)) for a, b in zip(x, y)]
    return {frozenset(points[k : k + 2]) for k in range(0, len(points), 2)}


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        # Centre (0.5) above the level: the high corners join, the low corners are cut off.
        (0.5, {frozenset({(0.5, 0.0), (1.0, 0.5)}), frozenset({(0.5, 1.0), (0.0, 0.5)})}),
        # Centre below: the high corners (bottom-left, top-right) are cut off.
        (0.6, {frozenset({(0.4, 0.0), (0.0, 0.4)}), frozenset({(0.6, 1.0), (1.0, 0.6)})}),
    ],
)
def test_contour_saddle_is_resolved_by_the_centre(level, expected):
    z = np.array([[1.0, 0.0], [0.0, 1.0]])  # [y, x]: high at bottom-left and top-right
    x, y = threshold_contour(z, (0, 1, 0, 1), level)
    assert _segments(x, y) == expected


def test_contour_of_values_near_the_float_limits_stays_in_the_plot():
    """A diverging node map spans the float range: the crossing quotient overflowed (found by
    the random-actions test); it is clipped to its edge and raises no warning."""
    z = np.array([[-1.7e308, 1.7e308, 3.0], [1e-300, 1.7e308, -2.0]])
    x, y = threshold_contour(z, (0, 2, 0, 1), 0.5)
    assert len(x) > 0 and np.all((x >= 0) & (x <= 2)) and np.all((y >= 0) & (y <= 1))


def test_contour_ignores_non_finite_cells():
    z = np.full((4, 4), np.nan)
    x, y = threshold_contour(z, (0, 1, 0, 1), 0.5)
    assert len(x) == len(y) == 0


# -- BoundaryView ------------------------------------------------------------------------------


def test_boundary_image_follows_the_frame(qtbot, frames):
    f0, f1 = frames
    view = _shown(qtbot, BoundaryView())
    view.show_frame(f0)
    np.testing.assert_array_equal(view.image.image, f0.probabilities)
    before = _pixels(view)
    view.show_frame(f1)
    np.testing.assert_array_equal(view.image.image, f1.probabilities)
    assert not np.array_equal(view.image.image, f0.probabilities)
    after = _pixels(view)
    assert before.shape == after.shape
    assert np.mean(np.any(before != after, axis=-1)) > 0.1  # a visible part of the widget changed

    r, g, b = after[..., 0], after[..., 1], after[..., 2]
    orange = (r - b > 80) & (r > g) & (g > b)
    blue = (b - r > 60) & (b > g)
    assert orange.sum() > 2000 and blue.sum() > 2000
    # The map uses the shared LUT and fixed levels.
    assert len(view.image.lut) == 256
    np.testing.assert_array_equal(view.image.lut[:, :3], style.probability_lut()[:, :3])
    assert tuple(view.image.getLevels()) == (0.0, 1.0)


def test_boundary_image_is_placed_on_the_extent(qtbot, frames):
    view = _shown(qtbot, BoundaryView())
    frame = frames[1]
    view.show_frame(frame)
    xmin, xmax, ymin, ymax = frame.extent
    rect = view.image.mapRectToParent(view.image.boundingRect())
    dx, dy = (xmax - xmin) / 149, (ymax - ymin) / 149  # pixel centres on the grid points
    assert rect.left() == pytest.approx(xmin - dx / 2) and rect.right() == pytest.approx(
        xmax + dx / 2
    )
    assert rect.top() == pytest.approx(ymin - dy / 2) and rect.bottom() == pytest.approx(
        ymax + dy / 2
    )
    (vx0, vx1), (vy0, vy1) = view.plot_widget.getPlotItem().viewRange()
    assert vx0 <= xmin and vx1 >= xmax and vy0 <= ymin and vy1 >= ymax  # the whole extent shows
    assert view.plot_widget.getPlotItem().getAxis("bottom").labelText == "x1"
    assert view.plot_widget.getPlotItem().getAxis("left").labelText == "x2"


def test_boundary_contour_follows_the_threshold(qtbot, frames):
    f1 = frames[1]
    view = _shown(qtbot, BoundaryView())
    for threshold in (0.5, 0.2, 0.8):
        frame = dataclasses.replace(f1, config=dataclasses.replace(f1.config, threshold=threshold))
        view.show_frame(frame)
        assert view.contour_level == threshold
        x, y = view.contour.getData()
        assert len(x) > 50
        np.testing.assert_allclose(_probability_at(frame, x, y), threshold, atol=1e-4)


def test_boundary_points_and_test_toggle(qtbot, frames):
    f0, f1 = frames
    view = _shown(qtbot, BoundaryView())
    view.show_frame(f0)
    train_pos = np.column_stack(view.train_scatter.getData())
    test_pos = np.column_stack(view.test_scatter.getData())
    np.testing.assert_array_equal(train_pos, f0.data.x_train)
    np.testing.assert_array_equal(test_pos, f0.data.x_test)
    assert view.test_scatter.opts["symbol"] != view.train_scatter.opts["symbol"]
    # Same data object: the points are not set again.
    stored = view.train_scatter.data
    view.show_frame(f1)
    assert view.train_scatter.data is stored

    assert view.test_scatter.isVisible() and view.test_points_visible()
    view.set_test_points_visible(False)
    assert not view.test_scatter.isVisible() and not view.test_points_check.isChecked()
    with qtbot.waitSignal(view.test_points_check.toggled):
        qtbot.mouseClick(view.test_points_check, QtCore.Qt.MouseButton.LeftButton)
    assert view.test_scatter.isVisible() and view.test_points_visible()


def test_boundary_new_data_resets_points(qtbot, frames):
    view = _shown(qtbot, BoundaryView())
    view.show_frame(frames[1])
    f0, _ = _frames(Config.preset("seed", samples=200), steps=1)
    view.show_frame(f0)
    np.testing.assert_array_equal(np.column_stack(view.train_scatter.getData()), f0.data.x_train)


def test_boundary_redraw_adds_no_items(qtbot, frames):
    view = _shown(qtbot, BoundaryView())
    view.show_frame(frames[0])
    counts = _scene_item_count(view)
    view.show_frame(frames[1])
    view.show_frame(frames[0])
    assert _scene_item_count(view) == counts


# -- LossView ----------------------------------------------------------------------------------


def test_loss_curves_hold_the_history_per_point(qtbot, frames):
    frame = frames[1]
    view = _shown(qtbot, LossView())
    view.show_frame(frame)
    history = frame.snapshot.history
    x, y = view.train_curve.getOriginalDataset()
    np.testing.assert_array_equal(x, history.iteration)
    np.testing.assert_allclose(y, history.train_loss / len(frame.data.y_train))
    x, y = view.test_curve.getOriginalDataset()
    np.testing.assert_array_equal(x, history.iteration)
    np.testing.assert_allclose(y, history.test_loss / len(frame.data.y_test))
    assert len(x) == len(history) > 100
    item = view.plot_widget.getPlotItem()
    assert item.getAxis("left").labelText == "loss per point (SSE / n)"
    assert item.getAxis("bottom").labelText == "iteration"
    assert [label.text for _, label in view.legend.items] == ["train", "test"]
    assert view.test_curve.opts["pen"].style() == QtCore.Qt.PenStyle.DashLine


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_loss_curves_plot_mean_losses_as_is(qtbot, loss):
    _, frame = _frames(Config.preset("seed", loss=loss), steps=300)
    view = _shown(qtbot, LossView())
    view.show_frame(frame)
    _, y = view.train_curve.getOriginalDataset()
    np.testing.assert_array_equal(y, frame.snapshot.history.train_loss)
    assert view.plot_widget.getPlotItem().getAxis("left").labelText == LOSS_LABELS[loss]
    assert LOSS_LABELS[loss] == f"loss ({loss.upper()})"


def test_loss_log_scale_toggle(qtbot, frames):
    view = _shown(qtbot, LossView())
    view.show_frame(frames[1])
    axis = view.plot_widget.getPlotItem().getAxis("left")
    assert not axis.logMode and not view.log_scale()
    view.set_log_scale(True)
    assert axis.logMode and view.log_scale() and view.train_curve.opts["logMode"][1]
    with qtbot.waitSignal(view.log_scale_check.toggled):
        qtbot.mouseClick(view.log_scale_check, QtCore.Qt.MouseButton.LeftButton)
    assert not axis.logMode and not view.log_scale()


def _seed_frame(steps: int) -> Frame:
    """A frame of a run of 4 seeds, as the window draws it (bands in the loss view)."""
    config = Config(hidden=(4,), samples=300, seeds=4, learning_rate=0.5)
    data = load_dataset(config)
    state = AppState(config, data)
    group = SeedGroup.start(config, data)
    group.advance(steps)
    state.start_run(config, data, group.snapshot(), seeds=group.states())
    return state.frame


def _points_under_legend(view, items) -> int:
    """How many points, sampled densely along the shown items' lines, fall in the legend's box
    in the scene (the items' data as drawn: log10 on a log axis)."""
    rect = view.legend.sceneBoundingRect()
    box = view.plot_widget.getPlotItem().vb
    origin = box.mapViewToScene(QtCore.QPointF(0.0, 0.0))
    unit = box.mapViewToScene(QtCore.QPointF(1.0, 1.0))
    count = 0
    for item in items:
        x, y = item.getData()
        t = np.linspace(0.0, 1.0, 20, endpoint=False)
        x = (x[:-1, None] + np.diff(x)[:, None] * t).ravel()
        y = (y[:-1, None] + np.diff(y)[:, None] * t).ravel()
        sx = origin.x() + x * (unit.x() - origin.x())
        sy = origin.y() + y * (unit.y() - origin.y())
        inside = (sx >= rect.left()) & (sx <= rect.right())
        count += int(np.count_nonzero(inside & (sy >= rect.top()) & (sy <= rect.bottom())))
    return count


@pytest.mark.parametrize("size", [(285, 215), (458, 280), (1098, 622)])
def test_loss_legend_is_inside_the_plot_and_off_the_curves(qtbot, frames, size):
    """The loss view's size in the window at 933x600, 1280x720 and 2560x1440."""
    view = _shown(qtbot, LossView())
    view.resize(*size)
    view.show_frame(frames[1])
    qtbot.wait(20)
    box = view.plot_widget.getPlotItem().vb.sceneBoundingRect()
    assert view.legend.isVisible() and box.contains(view.legend.sceneBoundingRect())
    for log in (True, False):
        view.set_log_scale(log)
        qtbot.wait(20)
        assert _points_under_legend(view, [view.train_curve, view.test_curve]) == 0


def test_placing_the_loss_legend_does_not_repaint_an_idle_view(qtbot):
    """The legend is placed before each paint: moving anything there would paint forever."""
    view = _shown(qtbot, LossView())
    view.show_frame(_seed_frame(400))
    qtbot.wait(200)  # the first paints
    paints = []
    view.plot_widget.scene().sigPrepareForPaint.connect(lambda: paints.append(1))
    qtbot.wait(500)
    assert len(paints) <= 2


@pytest.mark.parametrize("size", [(285, 215), (458, 280)])
def test_loss_legend_of_several_seeds_is_never_clipped(qtbot, size):
    """Its long texts ("train: median and min–max of 4 seeds") ran out of a narrow plot."""
    view = _shown(qtbot, LossView())
    view.resize(*size)
    view.show_frame(_seed_frame(400))
    qtbot.wait(20)
    box = view.plot_widget.getPlotItem().vb.sceneBoundingRect()
    assert view.legend.isVisible() and box.contains(view.legend.sceneBoundingRect())
    assert all(text.startswith(("train: median", "test: median")) for text in view.legend_texts())
    assert _points_under_legend(view, [view.train_curve, view.test_curve]) == 0


def test_loss_redraw_adds_no_items(qtbot, frames):
    view = _shown(qtbot, LossView())
    view.show_frame(frames[0])
    counts = _scene_item_count(view)
    view.show_frame(frames[1])
    view.show_frame(frames[1])
    assert _scene_item_count(view) == counts


# -- RocView -----------------------------------------------------------------------------------


def test_roc_curves_and_legend(qtbot, frames):
    view = _shown(qtbot, RocView())
    for frame in frames:
        view.show_frame(frame)
        for curve, point, roc, split in (
            (view.train_curve, view.train_point, frame.train_roc, "train"),
            (view.test_curve, view.test_point, frame.test_roc, "test"),
        ):
            x, y = curve.getOriginalDataset()
            np.testing.assert_array_equal(x, roc.fpr)
            np.testing.assert_array_equal(y, roc.tpr)
            assert f"{split}  AUC {roc.auc:.4f}" in view.legend_texts()
            np.testing.assert_array_equal(np.column_stack(point.getData()), [roc.operating_point])
    assert frames[1].train_roc.auc > 0.95
    assert view.legend_texts()[-1] == "at threshold 0.50"


def test_roc_nan_auc_reads_n_a(qtbot, frames):
    view = _shown(qtbot, RocView())
    nan = RocCurve(np.array([0.0, 1.0]), np.array([0.0, 1.0]), math.nan, (0.0, 0.0))
    view.show_frame(dataclasses.replace(frames[1], test_roc=nan))
    assert "test  AUC n/a" in view.legend_texts()


def test_roc_axes_are_fixed(qtbot, frames):
    view = _shown(qtbot, RocView())
    item = view.plot_widget.getPlotItem()
    view.show_frame(frames[0])
    ranges = item.viewRange()
    view.show_frame(frames[1])
    assert item.viewRange() == ranges
    (x0, x1), (y0, y1) = ranges
    assert -0.1 < x0 < 0 and 1 < x1 < 1.1 and -0.1 < y0 < 0 and 1 < y1 < 1.1
    assert item.getAxis("bottom").labelText == "false positive rate"
    assert item.getAxis("left").labelText == "true positive rate"


def test_roc_redraw_adds_no_items(qtbot, frames):
    view = _shown(qtbot, RocView())
    view.show_frame(frames[0])
    counts = _scene_item_count(view)
    view.show_frame(frames[1])
    view.show_frame(frames[0])
    assert _scene_item_count(view) == counts


def test_loss_log_axis_labels_only_1_2_5(qtbot):
    from nnviz.gui.views.loss_view import LossAxis

    values = list(np.log10([0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 1e-5]))
    assert LossAxis("left").logTickStrings(values, 1.0, 1.0) == [
        "0.01",
        "0.02",
        "",
        "0.05",
        "",
        "0.1",
        "10⁻⁵",
    ]
