"""Classification metrics of the train and the test split: the one place nnviz computes them.

Two modes share every number:

- fast (`split_metrics(..., full=False)`, `evaluate_weights(..., full=False)`): loss, accuracy,
  misclassification, AUC, the ROC curve and the confusion matrix at the threshold. About 1 ms a
  split of 1000 points, so a live window and a sweep call it for every frame and every row.
- full (the default of `evaluate_weights`, or `.full()` on a fast result): fast, plus sklearn's
  classification report as a dict and as text, and each class's precision, recall, F1 and
  support. The report costs about 10 ms a split; it is computed on first use, from the
  probabilities the fast result holds, never by a second forward pass. The CLI, report.txt and
  the window's Metrics view use it.

ROC and AUC come from `sklearn.metrics.roc_curve` and `auc` (what `roc_auc_score` computes for
two classes, from the same curve), the report from `classification_report`; the counts are NumPy
sums equal to `confusion_matrix`'s. `operating_point(threshold)` gives the counts, rates and
precision at any other threshold from the same probabilities.

This module imports only the network below it (and the config and dataset types); the trainer,
the run folder and the window import it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .config import Config
from .datasets import Dataset
from .network import OUTPUTS, forward_layers, loss_value
from .tasks import task_of

#: The classes' names in reports, index 0 and 1.
CLASS_NAMES = ("class 0", "class 1")
SPLITS = ("train", "test")
#: The ROC of a split whose AUC is undefined (one class only, or a diverged network).
_CHANCE = (np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([np.inf, 0.0]))


def confusion_counts(y: np.ndarray, p: np.ndarray, threshold: float) -> np.ndarray:
    """[[TN, FP], [FN, TP]] of predicting class 1 when p >= threshold, as sklearn orders them.

    Equal to `sklearn.metrics.confusion_matrix(y, p >= threshold, labels=[0, 1])`; a NaN
    probability predicts class 0.
    """
    actual = np.asarray(y).astype(bool)
    predicted = np.asarray(p) >= threshold
    tp = int(np.count_nonzero(actual & predicted))
    fn = int(np.count_nonzero(actual)) - tp
    fp = int(np.count_nonzero(predicted)) - tp
    tn = actual.size - tp - fn - fp
    return np.array([[tn, fp], [fn, tp]], dtype=np.int64)


def _ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator, 0 for an empty denominator (sklearn's zero_division=0)."""
    return numerator / denominator if denominator else 0.0


@dataclass(frozen=True)
class OperatingPoint:
    """The counts and rates of predicting class 1 when p >= `threshold`."""

    threshold: float
    confusion: np.ndarray  # [[TN, FP], [FN, TP]]

    @property
    def tn(self) -> int:
        return int(self.confusion[0, 0])

    @property
    def fp(self) -> int:
        return int(self.confusion[0, 1])

    @property
    def fn(self) -> int:
        return int(self.confusion[1, 0])

    @property
    def tp(self) -> int:
        return int(self.confusion[1, 1])

    @property
    def false_positive_rate(self) -> float:
        return self.fp / max(self.fp + self.tn, 1)

    @property
    def true_positive_rate(self) -> float:
        """Also class 1's recall."""
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def precision(self) -> float:
        """Class 1's precision, TP / (TP + FP); 0 when nothing is predicted as class 1."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """Class 1's recall, TP / (TP + FN); 0 when the split has no class 1 points."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def accuracy(self) -> float:
        total = int(self.confusion.sum())
        return (self.tn + self.tp) / total if total else math.nan

    @property
    def rates(self) -> tuple[float, float]:
        """(false positive rate, true positive rate): the point on the ROC curve."""
        return (self.false_positive_rate, self.true_positive_rate)


@dataclass(frozen=True)
class SplitMetrics:
    """Fast metrics of one split at one decision threshold (see the module)."""

    labels: np.ndarray  # 0/1 ints
    probabilities: np.ndarray  # p(class 1) of each point
    threshold: float
    loss: float
    auc: float
    accuracy: float
    misclassification: float
    confusion: np.ndarray  # [[TN, FP], [FN, TP]] at `threshold`
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray

    @property
    def is_full(self) -> bool:
        return False

    def operating_point(self, threshold: float | None = None) -> OperatingPoint:
        """Counts and rates at `threshold` (default: this result's), from the same probabilities."""
        if threshold is None or threshold == self.threshold:
            return OperatingPoint(self.threshold, self.confusion)
        return OperatingPoint(
            threshold, confusion_counts(self.labels, self.probabilities, threshold)
        )

    def full(self) -> FullSplitMetrics:
        """These metrics with the classification report added (full mode); no new forward."""
        fields = {name: getattr(self, name) for name in SplitMetrics.__dataclass_fields__}
        return FullSplitMetrics(**fields)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to metrics.json (without the curves; the report in full mode)."""
        report = {"report": self.report} if isinstance(self, FullSplitMetrics) else {}
        return {
            "loss": self.loss,
            "auc": self.auc,
            "accuracy": self.accuracy,
            "misclassification": self.misclassification,
            **report,
            "confusion": self.confusion.tolist(),
        }


class ReportColumns:
    """Each class's precision, recall, F1 and support, read from a full-mode `report` (sklearn's
    classification report as a dict) under the names `_class_names` gives."""

    report: dict[str, Any]
    _class_names: tuple[str, ...]

    @property
    def precision(self) -> np.ndarray:
        return self._per_class("precision")

    @property
    def recall(self) -> np.ndarray:
        return self._per_class("recall")

    @property
    def f1(self) -> np.ndarray:
        return self._per_class("f1-score")

    @property
    def support(self) -> np.ndarray:
        """Points of each class in the split."""
        return self._per_class("support").astype(np.int64)

    def _per_class(self, key: str) -> np.ndarray:
        return np.array([self.report[name][key] for name in self._class_names], dtype=float)


@dataclass(frozen=True)
class FullSplitMetrics(ReportColumns, SplitMetrics):
    """Full mode: the fast metrics plus sklearn's classification report at the threshold.

    The report, its text and the per-class arrays are computed on first use and then kept.
    """

    @property
    def is_full(self) -> bool:
        return True

    def full(self) -> FullSplitMetrics:
        return self

    @cached_property
    def report(self) -> dict[str, Any]:
        """`classification_report(..., output_dict=True)`: per class, accuracy and averages."""
        return _classification_report(self.labels, self._predicted, output_dict=True)

    @cached_property
    def report_text(self) -> str:
        """`classification_report(..., digits=4)` as report.txt and the Metrics view show it."""
        return _classification_report(self.labels, self._predicted, digits=4)

    @property
    def _predicted(self) -> np.ndarray:
        return (self.probabilities >= self.threshold).astype(int)

    @property
    def _class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES


def _classification_report(
    y: np.ndarray, predicted: np.ndarray, names: tuple[str, ...] = CLASS_NAMES, **kwargs: Any
) -> Any:
    # imported where it is used, as in datasets.make_points: it is slow to import
    import sklearn
    from sklearn.metrics import classification_report

    # Inputs are ours and already checked: skip sklearn's parameter validation.
    with sklearn.config_context(skip_parameter_validation=True):
        return classification_report(
            y,
            predicted,
            labels=list(range(len(names))),
            target_names=list(names),
            zero_division=0,
            **kwargs,
        )


def _roc(y: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(AUC, fpr, tpr, thresholds); NaN and the chance line with one class or a NaN/inf p."""
    if np.unique(y).size != 2 or not np.all(np.isfinite(p)):
        fpr, tpr, thresholds = (array.copy() for array in _CHANCE)
        return math.nan, fpr, tpr, thresholds
    import sklearn
    from sklearn.metrics import auc, roc_curve

    # Checked above: skipping sklearn's validation saves time every frame.
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        fpr, tpr, thresholds = roc_curve(y, p)
        area = auc(fpr, tpr)  # what roc_auc_score computes for two classes, from this curve
    return float(area), fpr, tpr, thresholds


def split_metrics(
    y: np.ndarray,
    p: np.ndarray,
    logit: np.ndarray,
    loss: str,
    threshold: float,
    *,
    full: bool = False,
) -> SplitMetrics:
    """Score probabilities `p` (logits `logit`) against 0/1 labels `y` at `threshold`."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p)
    confusion = confusion_counts(y, p, threshold)
    # the count of right predictions is exact, so this equals np.mean(predicted == y)
    accuracy = float(confusion[0, 0] + confusion[1, 1]) / y.size if y.size else math.nan
    auc, fpr, tpr, thresholds = _roc(y, p)
    with np.errstate(all="ignore"):
        loss_of_split = loss_value(loss, p, y, logit)
    metrics = SplitMetrics(
        labels=y,
        probabilities=p,
        threshold=threshold,
        loss=loss_of_split,
        auc=auc,
        accuracy=accuracy,
        misclassification=1.0 - accuracy,
        confusion=confusion,
        fpr=fpr,
        tpr=tpr,
        thresholds=thresholds,
    )
    return metrics.full() if full else metrics


def class_names(k: int) -> tuple[str, ...]:
    """The classes' names in reports: "class 0" .. "class k-1"."""
    return tuple(f"class {c}" for c in range(k))


@dataclass(frozen=True)
class MulticlassSplitMetrics(ReportColumns):
    """Metrics of one split of a K-class softmax network (see the module).

    The prediction is the most probable class; `confusion` is K x K, rows the true class and
    columns the predicted one (sklearn's `confusion_matrix`). ROC curves are one class against
    the rest (`curves[k]` = fpr, tpr, thresholds), `class_auc[k]` their areas and `auc` the
    macro average over the classes the split holds (sklearn's `roc_auc_score(...,
    multi_class="ovr", average="macro")`); `fpr`/`tpr` are the macro-average curve (each class's
    tpr interpolated at every fpr, then averaged). Full mode adds the classification report.
    """

    labels: np.ndarray  # class indices
    probabilities: np.ndarray  # (n, K)
    threshold: float
    loss: float
    auc: float
    accuracy: float
    misclassification: float
    confusion: np.ndarray
    class_auc: np.ndarray
    curves: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    fpr: np.ndarray
    tpr: np.ndarray
    is_full: bool = False

    task = "multiclass"

    @property
    def n_classes(self) -> int:
        return self.probabilities.shape[1]

    @property
    def predicted(self) -> np.ndarray:
        """The most probable class of each point (class 0 for a row of NaN)."""
        return np.argmax(np.nan_to_num(self.probabilities, nan=-1.0), axis=1)

    def full(self) -> MulticlassSplitMetrics:
        """These metrics in full mode (the report is computed on first use); no new forward."""
        if self.is_full:
            return self
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return MulticlassSplitMetrics(**{**fields, "is_full": True})

    @cached_property
    def report(self) -> dict[str, Any]:
        return _classification_report(
            self.labels, self.predicted, class_names(self.n_classes), output_dict=True
        )

    @cached_property
    def report_text(self) -> str:
        return _classification_report(
            self.labels, self.predicted, class_names(self.n_classes), digits=4
        )

    @property
    def _class_names(self) -> tuple[str, ...]:
        return class_names(self.n_classes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to metrics.json: the K x K confusion matrix, macro and
        per-class AUC (and the report in full mode)."""
        report = {"report": self.report} if self.is_full else {}
        return {
            "loss": self.loss,
            "auc": self.auc,
            "accuracy": self.accuracy,
            "misclassification": self.misclassification,
            "class_auc": self.class_auc.tolist(),
            **report,
            "confusion": self.confusion.tolist(),
        }


def multiclass_metrics(
    y: np.ndarray, p: np.ndarray, logit: np.ndarray, *, full: bool = False
) -> MulticlassSplitMetrics:
    """Score (n, K) softmax probabilities `p` (logits `logit`) against class indices `y`."""
    y = np.asarray(y).astype(np.int64)
    p = np.asarray(p)
    k = p.shape[1]
    predicted = np.argmax(np.nan_to_num(p, nan=-1.0), axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    accuracy = float(np.trace(confusion)) / y.size if y.size else math.nan
    curves, areas = [], []
    for c in range(k):
        area, fpr, tpr, thresholds = _roc((y == c).astype(int), p[:, c])
        curves.append((fpr, tpr, thresholds))
        areas.append(area)
    class_auc = np.array(areas)
    defined = class_auc[np.isfinite(class_auc)]
    auc = float(defined.mean()) if defined.size and np.all(np.isfinite(p)) else math.nan
    with np.errstate(all="ignore"):
        loss = loss_value("ce", p, y, logit, "softmax")
    fpr, tpr = _macro_curve([curve for curve, area in zip(curves, areas) if np.isfinite(area)])
    return MulticlassSplitMetrics(
        labels=y,
        probabilities=p,
        threshold=0.5,
        loss=loss,
        auc=auc,
        accuracy=accuracy,
        misclassification=1.0 - accuracy,
        confusion=confusion,
        class_auc=class_auc,
        curves=tuple(curves),
        fpr=fpr,
        tpr=tpr,
        is_full=full,
    )


def _macro_curve(curves: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """The macro-average ROC curve: every class's tpr at every fpr any class reaches, averaged."""
    if not curves:
        return _CHANCE[0].copy(), _CHANCE[1].copy()
    fpr = np.unique(np.concatenate([curve[0] for curve in curves]))
    tpr = np.mean([np.interp(fpr, curve[0], curve[1]) for curve in curves], axis=0)
    return fpr, tpr


@dataclass(frozen=True)
class RegressionSplitMetrics:
    """Metrics of one split of a regression network: MSE (its loss), R² (sklearn's
    `r2_score`: 1 - SSE / the targets' sum of squares about their mean), MAE, and the targets
    and predictions for a predicted-versus-true plot. AUC, accuracy and misclassification do not
    apply and are NaN, so a sweep's table still reads."""

    targets: np.ndarray
    predictions: np.ndarray
    threshold: float
    loss: float
    mse: float
    r2: float
    mae: float

    task = "regression"
    auc = math.nan
    accuracy = math.nan
    misclassification = math.nan
    is_full = True

    def full(self) -> RegressionSplitMetrics:
        return self

    @property
    def labels(self) -> np.ndarray:
        return self.targets

    @property
    def report_text(self) -> str:
        return (
            f"mean squared error  {self.mse:.6g}\nR^2                 {self.r2:.4f}\n"
            f"mean absolute error {self.mae:.6g}\npoints              {self.targets.size}\n"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "mse": self.mse, "r2": self.r2, "mae": self.mae}


def regression_metrics(y: np.ndarray, prediction: np.ndarray) -> RegressionSplitMetrics:
    """Score predictions against targets `y`; R² is NaN for constant targets (or a diverged
    network)."""
    y = np.asarray(y, dtype=float)
    prediction = np.asarray(prediction, dtype=float)
    with np.errstate(all="ignore"):
        error = prediction - y
        mse = float(np.mean(error * error)) if y.size else math.nan
        spread = float(np.sum((y - y.mean()) ** 2)) if y.size else 0.0
        r2 = 1.0 - mse * y.size / spread if spread > 0 and math.isfinite(mse) else math.nan
        mae = float(np.mean(np.abs(error))) if y.size else math.nan
    return RegressionSplitMetrics(
        targets=y, predictions=prediction, threshold=0.5, loss=mse, mse=mse, r2=r2, mae=mae
    )


#: One split's metrics of any task.
AnySplitMetrics = SplitMetrics | MulticlassSplitMetrics | RegressionSplitMetrics


@dataclass(frozen=True)
class Metrics:
    """Both splits' metrics at one threshold, fast or full."""

    train: AnySplitMetrics
    test: AnySplitMetrics
    threshold: float

    @property
    def is_full(self) -> bool:
        return self.train.is_full and self.test.is_full

    def split(self, name: str) -> SplitMetrics:
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {name!r}")
        return self.train if name == "train" else self.test

    def full(self) -> Metrics:
        """Full mode for both splits (this object when it already is)."""
        if self.is_full:
            return self
        return Metrics(self.train.full(), self.test.full(), self.threshold)

    def report_text(self) -> str:
        """Both splits' classification reports, as report.txt holds them."""
        train, test = self.train.full(), self.test.full()
        return f"train\n{train.report_text}\ntest\n{test.report_text}"

    @property
    def task(self) -> str:
        """ "binary", "multiclass" or "regression"."""
        return getattr(self.train, "task", "binary")

    def to_dict(self) -> dict[str, Any]:
        """metrics.json's metrics; "task" is named for every task but the article's binary."""
        task = {} if self.task == "binary" else {"task": self.task}
        return {
            **task,
            "threshold": self.threshold,
            "train": self.train.to_dict(),
            "test": self.test.to_dict(),
        }


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
    full: bool = True,
    task: str = "binary",
) -> Metrics:
    """Metrics of a weight dict (e.g. a snapshot's) on the given splits of network inputs: one
    forward a split. `task` is "binary" (the article's), "multiclass" or "regression"."""
    output = OUTPUTS[task]
    splits = []
    for x, y in ((x_train, y_train), (x_test, y_test)):
        a, p = forward_layers(weights, x, activation, output)[-1]
        if task == "multiclass":
            splits.append(multiclass_metrics(y, p, a, full=full))
        elif task == "regression":
            splits.append(regression_metrics(y, p[:, 0]))
        else:
            splits.append(split_metrics(y, p[:, 0], a[:, 0], loss, threshold, full=full))
    return Metrics(train=splits[0], test=splits[1], threshold=threshold)


def evaluate_setup(
    weights: Mapping[str, np.ndarray], data: Dataset, config: Config, *, full: bool = True
) -> Metrics:
    """Metrics of `weights` on both splits of `data`, with `config`'s activation, loss, features
    and threshold (a trainer, a window's frame or a sweep's row)."""
    task = task_of(config, data)
    return evaluate_weights(
        weights,
        task.inputs(data.x_train),
        data.y_train,
        task.inputs(data.x_test),
        data.y_test,
        activation=config.activation,
        loss=config.loss,
        threshold=config.threshold,
        full=full,
        task=task.kind,
    )
