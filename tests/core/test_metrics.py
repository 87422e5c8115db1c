"""nnviz.core.metrics: the fast and the full mode against sklearn, the operating point at any
threshold, and the article's published numbers (no Qt)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from sklearn.metrics import (
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from nnviz import Config, Trainer
from nnviz.core.metrics import (
    FullSplitMetrics,
    Metrics,
    SplitMetrics,
    confusion_counts,
    evaluate_setup,
    split_metrics,
)
from nnviz.core.network import forward_layers

#: A small example with a tie and points on both sides of 0.5.
Y = np.array([0, 0, 1, 1, 1, 0, 1, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8, 0.65, 0.7, 0.9, 0.2, 0.5, 0.5])
LOGIT = np.log(P / (1 - P))
NAMES = ["class 0", "class 1"]
SHARED = tuple(field.name for field in dataclasses.fields(SplitMetrics))


def _report(y, p, threshold, **kwargs):
    predicted = (p >= threshold).astype(int)
    return classification_report(
        y, predicted, labels=[0, 1], target_names=NAMES, zero_division=0, **kwargs
    )


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


@pytest.fixture(scope="module")
def seed_run() -> Trainer:
    """The published setup trained for its 20000 iterations (about half a second)."""
    trainer = Trainer(Config.preset("seed"))
    trainer.step(trainer.config.iterations)
    return trainer


# -- against sklearn on a known example ----------------------------------------------------------


def test_a_known_example_equals_sklearn():
    full = split_metrics(Y, P, LOGIT, "sse", 0.5, full=True)
    assert full.auc == roc_auc_score(Y, P)
    fpr, tpr, thresholds = roc_curve(Y, P)
    np.testing.assert_array_equal(full.fpr, fpr)
    np.testing.assert_array_equal(full.tpr, tpr)
    np.testing.assert_array_equal(full.thresholds, thresholds)
    predicted = (P >= 0.5).astype(int)
    np.testing.assert_array_equal(full.confusion, confusion_matrix(Y, predicted, labels=[0, 1]))
    np.testing.assert_array_equal(full.confusion, [[3, 1], [1, 5]])  # counted by hand
    assert full.accuracy == np.mean(predicted == Y) == 0.8
    assert full.misclassification == 1 - full.accuracy
    assert full.loss == 0.5 * np.sum((P - Y) ** 2)
    assert full.report == _report(Y, P, 0.5, output_dict=True)
    assert full.report_text == _report(Y, P, 0.5, digits=4)
    precision, recall, f1, support = precision_recall_fscore_support(
        Y, predicted, labels=[0, 1], zero_division=0
    )
    np.testing.assert_array_equal(full.precision, precision)
    np.testing.assert_array_equal(full.recall, recall)
    np.testing.assert_array_equal(full.f1, f1)
    np.testing.assert_array_equal(full.support, support)
    np.testing.assert_array_equal(full.support, [4, 6])


def test_the_losses_of_a_known_example():
    assert split_metrics(Y, P, LOGIT, "mse", 0.5).loss == np.mean((P - Y) ** 2)
    bce = split_metrics(Y, P, LOGIT, "bce", 0.5).loss
    assert bce == pytest.approx(-np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P)), rel=1e-12)


def test_sklearns_textbook_auc():
    y, p = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert split_metrics(y, p, p, "sse", 0.5).auc == 0.75


def test_confusion_counts_equal_sklearn_on_edge_cases():
    y = np.array([0, 0, 1, 1, 1])
    for p in (np.array([0.1, 0.9, 0.2, 0.8, 0.5]), np.zeros(5), np.ones(5), np.full(5, np.nan)):
        for threshold in (0.0, 0.5, 1.0):
            predicted = (p >= threshold).astype(int)
            np.testing.assert_array_equal(
                confusion_counts(y, p, threshold), confusion_matrix(y, predicted, labels=[0, 1])
            )


def test_undefined_auc_gives_nan_and_the_chance_line():
    one_class = split_metrics(np.ones(4), P[:4], LOGIT[:4], "sse", 0.5, full=True)
    diverged = split_metrics(Y, np.where(Y, np.nan, 0.2), LOGIT, "sse", 0.5)
    for metrics in (one_class, diverged):
        assert math.isnan(metrics.auc)
        np.testing.assert_array_equal(metrics.fpr, [0.0, 1.0])
        np.testing.assert_array_equal(metrics.tpr, [0.0, 1.0])
    assert one_class.report["class 0"]["support"] == 0
    assert one_class.operating_point().false_positive_rate == 0.0  # no negatives: 0, not NaN


# -- the two modes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        Config.preset("seed", iterations=300),
        Config(loss="bce", activation="relu", hidden=(6, 3), init="he", iterations=200),
        Config(loss="mse", threshold=0.3, iterations=100),
        Config(iterations=0),
    ],
    ids=["seed", "bce-relu", "mse-0.3", "untrained"],
)
def test_fast_and_full_modes_agree_on_shared_fields(config):
    trainer = Trainer(config)
    trainer.step(config.iterations)
    fast = trainer.evaluate(full=False)
    full = trainer.evaluate()
    assert not fast.is_full and full.is_full
    for split in ("train", "test"):
        a, b = fast.split(split), full.split(split)
        assert type(a) is SplitMetrics and type(b) is FullSplitMetrics
        for name in SHARED:
            assert _same(getattr(a, name), getattr(b, name)), (split, name)
        upgraded = a.full()  # the fast result completed, without a second forward
        assert upgraded.probabilities is a.probabilities
        assert upgraded.report == b.report and upgraded.report_text == b.report_text
        assert not hasattr(a, "report")
    assert fast.full().to_dict() == full.to_dict()
    assert fast.report_text() == full.report_text()
    assert full.full() is full


def test_to_dict_keeps_metrics_json_layout():
    full = split_metrics(Y, P, LOGIT, "sse", 0.5, full=True)
    assert list(full.to_dict()) == [
        "loss",
        "auc",
        "accuracy",
        "misclassification",
        "report",
        "confusion",
    ]
    fast = split_metrics(Y, P, LOGIT, "sse", 0.5)
    assert "report" not in fast.to_dict()
    metrics = Metrics(fast, full, 0.5)
    assert list(metrics.to_dict()) == ["threshold", "train", "test"]
    with pytest.raises(ValueError):
        metrics.split("validation")


def test_one_forward_pass_gives_what_evaluate_gives(seed_run):
    """The probabilities and logits the metrics score are the network's own forward."""
    trainer = seed_run
    metrics = trainer.evaluate(full=False)
    a, p = forward_layers(trainer.weights(), trainer.data.x_test, "sigmoid")[-1]
    direct = split_metrics(trainer.data.y_test, p[:, 0], a[:, 0], "sse", 0.5)
    for name in SHARED:
        assert _same(getattr(direct, name), getattr(metrics.test, name)), name


# -- the operating point -------------------------------------------------------------------------


def test_operating_point_follows_the_threshold():
    metrics = split_metrics(Y, P, LOGIT, "sse", 0.5)
    default = metrics.operating_point()
    assert default.threshold == 0.5
    np.testing.assert_array_equal(default.confusion, metrics.confusion)
    seen = set()
    for threshold in (0.0, 0.3, 0.5, 0.6, 0.75, 0.95):
        point = metrics.operating_point(threshold)
        predicted = (threshold <= P).astype(int)
        assert point.threshold == threshold
        np.testing.assert_array_equal(
            point.confusion, confusion_matrix(Y, predicted, labels=[0, 1])
        )
        assert point.precision == precision_score(Y, predicted, zero_division=0)
        assert point.recall == recall_score(Y, predicted, zero_division=0)
        assert point.true_positive_rate == point.recall
        assert point.accuracy == np.mean(predicted == Y)
        # the point lies on the ROC curve where sklearn puts that threshold
        fpr, tpr, thresholds = roc_curve(Y, P, drop_intermediate=False)
        if threshold in thresholds:
            at = list(thresholds).index(threshold)
            assert point.rates == (fpr[at], tpr[at])
        seen.add((point.precision, point.recall))
    assert len(seen) == 6  # precision and recall move with the threshold
    low, high = metrics.operating_point(0.3), metrics.operating_point(0.75)
    assert high.precision > low.precision and high.recall < low.recall


def test_operating_point_equals_a_fresh_evaluation_at_that_threshold(seed_run):
    trainer = seed_run
    at_half = trainer.evaluate(full=False)
    for threshold in (0.2, 0.8):
        moved = evaluate_setup(
            trainer.weights(), trainer.data, trainer.config.replace(threshold=threshold)
        )
        for split in ("train", "test"):
            point = at_half.split(split).operating_point(threshold)
            other = moved.split(split)
            np.testing.assert_array_equal(point.confusion, other.confusion)
            assert point.accuracy == other.accuracy
            assert point.precision == other.report["class 1"]["precision"]
            assert point.recall == other.report["class 1"]["recall"]
            assert point.rates == other.operating_point().rates


def test_nothing_predicted_positive_has_zero_precision():
    point = split_metrics(Y, P, LOGIT, "sse", 0.5).operating_point(0.99)
    assert point.tp == point.fp == 0
    assert point.precision == 0.0 and point.recall == 0.0 and point.rates == (0.0, 0.0)


# -- the article ---------------------------------------------------------------------------------


def test_the_article_numbers_in_both_modes(seed_run):
    trainer = seed_run
    full = trainer.evaluate()
    fast = trainer.evaluate(full=False)
    for metrics in (full, fast):
        assert metrics.test.auc == pytest.approx(0.9879, abs=5e-4)
        (tn, fp), (fn, tp) = metrics.test.confusion
        assert (tn + fp, fn + tp) == (118, 132)
    test = full.test
    weighted = test.report["weighted avg"]
    assert weighted["precision"] == pytest.approx(0.95, abs=5e-3)
    assert weighted["recall"] == pytest.approx(0.95, abs=5e-3)
    np.testing.assert_array_equal(test.support, [118, 132])
    assert (test.report["class 0"]["support"], test.report["class 1"]["support"]) == (118, 132)
    assert "0.9480" in test.report_text.splitlines()[-1]  # the weighted average row
