"""Classification metrics through sklearn.metrics, for the train and the test split."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .network import forward_layers, loss_value

if TYPE_CHECKING:
    from .config import Config
    from .datasets import Dataset
    from .trainer import Trainer


@dataclass(frozen=True)
class SplitMetrics:
    """Metrics of one split at one decision threshold."""

    loss: float
    auc: float
    accuracy: float
    misclassification: float
    report: dict[str, Any]
    report_text: str
    confusion: np.ndarray
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    probabilities: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to metrics.json (without the curves)."""
        return {
            "loss": self.loss,
            "auc": self.auc,
            "accuracy": self.accuracy,
            "misclassification": self.misclassification,
            "report": self.report,
            "confusion": self.confusion.tolist(),
        }

    def operating_point(self, threshold: float) -> tuple[float, float]:
        """(false positive rate, true positive rate) of predicting 1 when p >= threshold."""
        (tn, fp), (fn, tp) = self.confusion
        return (fp / max(fp + tn, 1), tp / max(tp + fn, 1))


@dataclass(frozen=True)
class Metrics:
    train: SplitMetrics
    test: SplitMetrics
    threshold: float

    def report_text(self) -> str:
        """Both splits' classification reports, as report.txt holds them."""
        return f"train\n{self.train.report_text}\ntest\n{self.test.report_text}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "train": self.train.to_dict(),
            "test": self.test.to_dict(),
        }


def split_metrics(
    y: np.ndarray, p: np.ndarray, logit: np.ndarray, loss: str, threshold: float
) -> SplitMetrics:
    """Score probabilities `p` against 0/1 labels `y` with sklearn.metrics."""
    # imported where it is used, as in datasets.make_points: it is slow to import
    from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score, roc_curve

    y = np.asarray(y).astype(int)
    predicted = (p >= threshold).astype(int)
    both_classes = np.unique(y).size == 2
    if both_classes and np.all(np.isfinite(p)):
        auc = float(roc_auc_score(y, p))
        fpr, tpr, thresholds = roc_curve(y, p)
    else:  # AUC is undefined with one class present, or with a diverged network
        auc, fpr, tpr, thresholds = (
            math.nan,
            np.array([0.0, 1.0]),
            np.array([0.0, 1.0]),
            np.array([np.inf, 0.0]),
        )
    names = ["class 0", "class 1"]
    kwargs = {"labels": [0, 1], "target_names": names, "zero_division": 0}
    accuracy = float(np.mean(predicted == y))
    with np.errstate(all="ignore"):
        loss_of_split = loss_value(loss, p, y, logit)
    return SplitMetrics(
        loss=loss_of_split,
        auc=auc,
        accuracy=accuracy,
        misclassification=1.0 - accuracy,
        report=classification_report(y, predicted, output_dict=True, **kwargs),
        report_text=classification_report(y, predicted, digits=4, **kwargs),
        confusion=confusion_matrix(y, predicted, labels=[0, 1]),
        fpr=fpr,
        tpr=tpr,
        thresholds=thresholds,
        probabilities=p,
    )


def evaluate_weights(
    weights: Mapping[str, np.ndarray],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    activation: str,
    loss: str,
    threshold: float,
) -> Metrics:
    """Metrics of a weight dict (e.g. a snapshot's) on the given splits."""
    splits = []
    for x, y in ((x_train, y_train), (x_test, y_test)):
        a, p = forward_layers(weights, x, activation)[-1]
        splits.append(split_metrics(y, p[:, 0], a[:, 0], loss, threshold))
    return Metrics(train=splits[0], test=splits[1], threshold=threshold)


def evaluate(trainer: Trainer) -> Metrics:
    return evaluate_setup(trainer.weights(), trainer.data, trainer.config)


def evaluate_setup(weights: Mapping[str, np.ndarray], data: Dataset, config: Config) -> Metrics:
    """Metrics of `weights` on both splits of `data`, with `config`'s activation, loss and
    threshold (a window or a sweep that holds a snapshot rather than a trainer)."""
    return evaluate_weights(
        weights,
        data.x_train,
        data.y_train,
        data.x_test,
        data.y_test,
        activation=config.activation,
        loss=config.loss,
        threshold=config.threshold,
    )
