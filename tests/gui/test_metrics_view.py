"""The confusion matrices and the classification report, fed frames from a real trainer."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtGui
from sklearn.metrics import classification_report, confusion_matrix

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6)
from nnviz import Config, Trainer
from nnviz.core import predict_proba
from nnviz.core.metrics import confusion_counts, evaluate_setup
from nnviz.gui import style
from nnviz.gui.frame import Frame, make_frame
from nnviz.gui.views.metrics_view import REPORT_HZ, MetricsView

SIZE = (450, 350)


@pytest.fixture(scope="module")
def run() -> tuple[Trainer, Frame, Frame]:
    trainer = Trainer(Config.preset("seed"))
    untrained = make_frame(trainer.snapshot(), trainer.config, trainer.data)
    trained = make_frame(trainer.step(3000), trainer.config, trainer.data)
    return trainer, untrained, trained


def _with_threshold(frame: Frame, threshold: float) -> Frame:
    config = frame.config.replace(threshold=threshold)
    return make_frame(frame.snapshot, config, frame.data)


def _shown(qtbot) -> MetricsView:
    view = MetricsView()
    qtbot.addWidget(view)
    view.resize(*SIZE)
    view.show()
    qtbot.waitExposed(view)
    return view


def _sklearn(frame: Frame, split: str) -> tuple[np.ndarray, str]:
    data = frame.data
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    p = predict_proba(frame.snapshot.weights, x, frame.config.activation)
    predicted = (p >= frame.threshold).astype(int)
    report = classification_report(
        y.astype(int),
        predicted,
        labels=[0, 1],
        target_names=["class 0", "class 1"],
        digits=4,
        zero_division=0,
    )
    return confusion_matrix(y.astype(int), predicted, labels=[0, 1]), report.rstrip()


def _pixel(widget, point) -> tuple[int, int, int]:
    image = widget.grab().toImage()
    colour = image.pixelColor(int(point.x()), int(point.y()))
    return colour.red(), colour.green(), colour.blue()


# -- numbers ------------------------------------------------------------------------------------


def test_counts_are_sklearns_confusion_matrix(qtbot, run):
    _, untrained, trained = run
    view = _shown(qtbot)
    for frame in (untrained, trained):
        view.show_frame(frame)
        for split in ("train", "test"):
            expected, _ = _sklearn(frame, split)
            np.testing.assert_array_equal(view.counts(split), expected)
    assert view.counts("train").sum() == 750 and view.counts("test").sum() == 250


def test_moving_the_threshold_moves_the_matrix(qtbot, run):
    _, _, trained = run
    view = _shown(qtbot)
    previous = None
    for threshold in (0.1, 0.5, 0.9):
        frame = _with_threshold(trained, threshold)
        view.show_frame(frame)
        # the same weights give the same probabilities; only the threshold moved
        np.testing.assert_array_equal(
            frame.metrics.test.probabilities, trained.metrics.test.probabilities
        )
        counts = view.counts("test")
        np.testing.assert_array_equal(counts, _sklearn(frame, "test")[0])
        if previous is not None:  # a higher threshold predicts class 1 less often
            assert counts[:, 1].sum() < previous[:, 1].sum()
            assert counts[0, 1] <= previous[0, 1] and counts[1, 1] <= previous[1, 1]
        previous = counts
        assert view.threshold_label.text() == f"threshold {threshold:.2f}"
        # the ROC view's operating point is the matrix's (FPR, TPR)
        (tn, fp), (fn, tp) = counts
        assert frame.test_roc.operating_point == pytest.approx((fp / (fp + tn), tp / (tp + fn)))


def test_report_is_sklearns_for_the_chosen_split(qtbot, run):
    _, _, trained = run
    view = _shown(qtbot)
    view.show_frame(trained)
    qtbot.waitUntil(view.report_is_current)
    assert view.report_split() == "test"
    assert view.report_text() == _sklearn(trained, "test")[1]
    # the same text as the metrics the CLI writes (nnviz.core.metrics' full mode)
    metrics = evaluate_setup(trained.snapshot.weights, trained.data, trained.config)
    assert view.report_text() == metrics.test.report_text.rstrip()
    view.set_report_split("train")
    qtbot.waitUntil(view.report_is_current)
    assert view.report_text() == _sklearn(trained, "train")[1]
    with pytest.raises(ValueError):
        view.set_report_split("validation")


def test_the_report_is_throttled_and_catches_up(qtbot, run):
    trainer, _, _ = run
    view = _shown(qtbot)
    frames = [
        make_frame(trainer.step(5), trainer.config, trainer.data) for _ in range(40)
    ]  # frames of the same run, all different
    view.show_frame(frames[0])
    qtbot.waitUntil(view.report_is_current)
    computed = view.reports_computed
    started = time.perf_counter()
    for frame in frames[1:]:
        view.show_frame(frame)
    elapsed = time.perf_counter() - started
    # at most one report per 1/REPORT_HZ seconds went into that burst
    assert view.reports_computed - computed <= 1 + int(elapsed * REPORT_HZ)
    qtbot.waitUntil(view.report_is_current)  # the timer brings the newest frame's report
    assert view.report_text() == _sklearn(frames[-1], "test")[1]
    np.testing.assert_array_equal(view.counts("test"), _sklearn(frames[-1], "test")[0])


def test_flush_brings_the_report_up_to_date_for_a_picture(qtbot, run):
    _, untrained, trained = run
    view = _shown(qtbot)
    view.show_frame(untrained)
    qtbot.waitUntil(view.report_is_current)
    view.show_frame(trained)  # within the throttle interval the text would lag
    view.flush_report()  # at once: no event loop runs in between
    assert view.report_is_current()
    assert view.report_text() == _sklearn(trained, "test")[1]


def test_a_hidden_report_costs_nothing_until_shown(qtbot, run):
    _, untrained, trained = run
    view = MetricsView()
    qtbot.addWidget(view)
    view.resize(*SIZE)
    for frame in (untrained, trained):
        view.show_frame(frame)
    assert view.reports_computed == 0
    np.testing.assert_array_equal(view.counts("test"), _sklearn(trained, "test")[0])
    view.show()
    qtbot.waitUntil(view.report_is_current)
    assert view.reports_computed == 1
    assert view.report_text() == _sklearn(trained, "test")[1]


def test_counts_helper_matches_sklearn_on_edge_cases():
    y = np.array([0, 0, 1, 1, 1])
    for p in (np.array([0.1, 0.9, 0.2, 0.8, 0.5]), np.zeros(5), np.ones(5), np.full(5, np.nan)):
        predicted = (p >= 0.5).astype(int)
        np.testing.assert_array_equal(
            confusion_counts(y, p, 0.5), confusion_matrix(y, predicted, labels=[0, 1])
        )


# -- looks --------------------------------------------------------------------------------------


def test_cells_are_tinted_by_the_predicted_class(qtbot, run):
    _, _, trained = run
    view = _shown(qtbot)
    view.show_frame(trained)
    matrix = view.matrices["test"]
    rates = matrix.rates()
    assert rates[0, 0] > 0.9 and rates[1, 1] > 0.9
    # sample each cell near its top-left corner, away from the text
    corner = {
        (row, column): matrix.cell_rect(row, column).topLeft() + QtGui.QVector2D(6, 6).toPointF()
        for row in range(2)
        for column in range(2)
    }
    tn, fp = _pixel(matrix, corner[0, 0]), _pixel(matrix, corner[0, 1])
    fn, tp = _pixel(matrix, corner[1, 0]), _pixel(matrix, corner[1, 1])
    assert np.abs(np.subtract(tn, style.ORANGE)).max() < 40  # strong orange: predicted 0
    assert np.abs(np.subtract(tp, style.BLUE)).max() < 40  # strong blue: predicted 1
    for faint in (fp, fn):
        assert min(faint) > 200  # a small share is nearly white


def test_untrained_frame_draws_and_reports(qtbot, run):
    """At iteration 0 every point gets p close to 0.5; the view shows whatever sklearn says."""
    _, untrained, _ = run
    view = _shown(qtbot)
    view.show_frame(untrained)
    qtbot.waitUntil(view.report_is_current)
    assert view.report_text() == _sklearn(untrained, "test")[1]
    assert not view.grab().toImage().isNull()
