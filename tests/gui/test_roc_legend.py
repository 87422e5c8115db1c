"""The ROC view's legend sits inside the plot, never clipped and off the curves, at the sizes the
window gives the view (285x211 in a 933x600 window, 458x270 at 1280x720, 1098x622 at 2560x1440).
The curves are checked in the scene's pixels: every segment sampled densely, mapped through the
view box, must miss the legend's box."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from PySide6 import QtCore

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6)
from nnviz import Config, Trainer
from nnviz.core import load_dataset
from nnviz.gui.frame import Frame, make_frame
from nnviz.gui.state import AppState
from nnviz.gui.views.corner_legend import LOWER_RIGHT, UPPER_LEFT, Segments, choose_corner
from nnviz.gui.views.roc_view import RocView
from nnviz.service.seeds import SeedGroup

#: The ROC view's size in the window at 933x600, 1280x720 with Metrics open, 1280x720,
#: 1920x1080 and 2560x1440 (measured on the real window).
WINDOW_SIZES = [(285, 211), (285, 270), (458, 270), (778, 446), (1098, 622)]


@functools.cache
def frame(preset: str, iterations: int) -> Frame:
    trainer = Trainer(Config.preset(preset))
    if iterations:
        trainer.step(iterations)
    return make_frame(trainer.snapshot(), trainer.config, trainer.data)


def shown(qtbot, size: tuple[int, int], shown_frame: Frame) -> RocView:
    view = RocView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(shown_frame)
    qtbot.wait(20)  # the layout settles
    return view


def box_rect(view: RocView) -> QtCore.QRectF:
    """The plot's box (inside the axes) in scene coordinates."""
    return view.plot_widget.getPlotItem().vb.sceneBoundingRect()


def legend_rect(view: RocView) -> QtCore.QRectF:
    """The legend's box, and the seed note's when shown, in scene coordinates."""
    rect = view.legend.sceneBoundingRect()
    if view.seed_auc.isVisible():
        rect = rect.united(view.seed_auc.sceneBoundingRect())
    return rect


def scene_points(view: RocView, x: np.ndarray, y: np.ndarray, per_segment: int = 40):
    """The polyline through (x, y), sampled `per_segment` times a segment, in scene pixels."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) > 1:
        t = np.linspace(0.0, 1.0, per_segment, endpoint=False)
        x = np.append((x[:-1, None] + np.diff(x)[:, None] * t).ravel(), x[-1])
        y = np.append((y[:-1, None] + np.diff(y)[:, None] * t).ravel(), y[-1])
    box = view.plot_widget.getPlotItem().vb
    origin = box.mapViewToScene(QtCore.QPointF(0.0, 0.0))
    unit = box.mapViewToScene(QtCore.QPointF(1.0, 1.0))
    return origin.x() + x * (unit.x() - origin.x()), origin.y() + y * (unit.y() - origin.y())


def covered(view: RocView, items) -> list[str]:
    """The shown items with a point of their line (or marker) in the legend's box."""
    rect = legend_rect(view)
    hits = []
    for name, item in items:
        if not item.isVisible():
            continue
        x, y = item.getData()
        if x is None or len(x) == 0:
            continue
        sx, sy = scene_points(view, x, y)
        inside = (sx >= rect.left()) & (sx <= rect.right())
        inside &= (sy >= rect.top()) & (sy <= rect.bottom())
        if inside.any():
            hits.append(f"{name}: {int(inside.sum())} points")
    return hits


def roc_items(view: RocView) -> list:
    classes = [(f"class {k}", curve) for k, curve in enumerate(view.class_curves.curves)]
    points = [("train point", view.train_point), ("test point", view.test_point)]
    return [("train", view.train_curve), ("test", view.test_curve), *classes, *points]


@pytest.mark.parametrize("size", WINDOW_SIZES)
def test_the_iris_legend_is_inside_the_plot_and_off_every_curve(qtbot, size):
    view = shown(qtbot, size, frame("iris", 300))
    assert view.legend.isVisible() and len(view.legend_texts()) == 5
    assert box_rect(view).contains(legend_rect(view)), "the legend is clipped or outside"
    box = box_rect(view)  # and the legend takes no room from the plot
    assert box.height() >= 0.6 * view.height() and box.width() >= 0.75 * view.width()
    assert covered(view, roc_items(view)) == []
    # The AUCs read at 8 pt or more, with three decimals or four.
    test = frame("iris", 300).metrics.test
    for k, text in enumerate(view.legend_texts()[2:]):
        assert text.startswith(f"class {k}  AUC ")
        assert float(text.split()[-1]) == pytest.approx(test.class_auc[k], abs=5e-4)
    for _, label in view.legend.items:
        assert float(label.opts["size"].removesuffix("pt")) >= 8


@pytest.mark.parametrize("size", [(285, 216), (458, 276)])
def test_a_network_worse_than_chance_has_its_legend_in_the_upper_left(qtbot, size):
    """The seed preset untrained: AUC 0.25, its curves under the diagonal."""
    shown_frame = frame("seed", 0)
    assert shown_frame.test_roc.auc < 0.5
    view = shown(qtbot, size, shown_frame)
    assert box_rect(view).contains(legend_rect(view))
    assert covered(view, roc_items(view)) == []


@pytest.mark.parametrize("size", [(285, 216), (458, 276)])
def test_the_regression_legend_covers_no_prediction(qtbot, size):
    view = shown(qtbot, size, frame("regression", 300))
    assert view.legend_texts() == ["train", "test", "y = x"]
    assert box_rect(view).contains(legend_rect(view))
    points = [("train", view.predictions.train), ("test", view.predictions.test)]
    assert covered(view, points) == []


def test_the_legend_follows_a_resize_and_stays_in_the_plot(qtbot):
    view = shown(qtbot, (1098, 622), frame("iris", 300))
    large = view.corner_legend.font_size
    for size in [(285, 211), (458, 270), (1098, 622)]:
        view.resize(*size)
        qtbot.waitUntil(lambda size=size: view.plot_widget.width() == size[0])
        qtbot.wait(20)
        assert box_rect(view).contains(legend_rect(view))
        assert covered(view, roc_items(view)) == []
    assert view.corner_legend.font_size == large == 9  # back to the large font


# -- the geometry ------------------------------------------------------------------------------


def test_segments_count_those_through_the_box_without_a_vertex_in_it():
    rect = (0.4, 0.6, 0.4, 0.6)
    through = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))  # the diagonal, no vertex inside
    beside = (np.array([0.0, 1.0]), np.array([0.9, 0.9]))
    broken = (np.array([0.0, np.nan, 1.0]), np.array([0.0, np.nan, 1.0]))  # NaN: no segment
    assert Segments([through]).count(rect) == 1
    assert Segments([beside]).count(rect) == 0
    assert Segments([broken]).count(rect) == 0
    assert Segments([], [(np.array([0.5, 0.9]), np.array([0.5, 0.5]))]).count(rect) == 1
    vertical = (np.array([0.5, 0.5]), np.array([0.0, 1.0]))
    assert Segments([vertical, through]).count(rect) == 2
    lone = (np.array([0.5]), np.array([0.5]))  # a line of one point, inside
    assert Segments([lone, beside]).count(rect) == 1


def test_the_corner_changes_only_for_a_clearly_clearer_one():
    home = LOWER_RIGHT
    assert choose_corner(home, {home: (0, 3), UPPER_LEFT: (0, 0)}, home) == UPPER_LEFT
    assert choose_corner(home, {home: (4, 0), UPPER_LEFT: (3, 0)}, home) == home  # not by half
    assert choose_corner(home, {home: (4, 0), UPPER_LEFT: (2, 0)}, home) == UPPER_LEFT
    assert choose_corner(UPPER_LEFT, {home: (0, 0), UPPER_LEFT: (0, 0)}, home) == home
    assert choose_corner(UPPER_LEFT, {home: (1, 0), UPPER_LEFT: (2, 0)}, home) == home


@functools.cache
def seeds_frame() -> Frame:
    """A run of 4 seeds as the window draws it: the other seeds' curves and the AUC's note."""
    config = Config(hidden=(4,), samples=300, seeds=4, learning_rate=0.5)
    data = load_dataset(config)
    state = AppState(config, data)
    group = SeedGroup.start(config, data)
    group.advance(400)
    state.start_run(config, data, group.snapshot(), seeds=group.states())
    return state.frame


@pytest.mark.parametrize("size", [(285, 216), (458, 276), (778, 452)])
def test_the_seeds_note_is_inside_the_plot_with_the_legend(qtbot, size):
    view = shown(qtbot, size, seeds_frame())
    assert view.seed_auc.isVisible() and view.seed_auc.toPlainText().startswith("AUC of 4 seeds")
    assert box_rect(view).contains(legend_rect(view))
    assert not view.legend.sceneBoundingRect().intersects(view.seed_auc.sceneBoundingRect())


@pytest.mark.parametrize(
    ("preset", "iterations"), [("iris", 300), ("seed", 0), ("regression", 300), ("seeds", 400)]
)
def test_placing_the_legend_does_not_repaint_an_idle_view(qtbot, preset, iterations):
    """The legend is placed before each paint: a placement that moved anything, even there and
    back, would ask for another paint, forever (hundreds a second)."""
    shown_frame = seeds_frame() if preset == "seeds" else frame(preset, iterations)
    view = shown(qtbot, (285, 211), shown_frame)
    qtbot.wait(200)  # the first paints
    paints = []
    view.plot_widget.scene().sigPrepareForPaint.connect(lambda: paints.append(1))
    qtbot.wait(500)
    assert len(paints) <= 2
