"""What the views draw for one snapshot, computed once per redraw in the GUI thread (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sklearn
from sklearn.metrics import auc, roc_curve

from ..core import Config, Dataset, Snapshot, predict_proba

#: Boundary grid resolution: 150x150 evaluates in about 1 ms in float64.
GRID_SIZE = 150


@dataclass(frozen=True)
class RocCurve:
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float
    operating_point: tuple[float, float]  # (fpr, tpr) at the decision threshold


@dataclass(frozen=True)
class Frame:
    """One redraw's worth of data: the snapshot plus everything derived from its weights."""

    snapshot: Snapshot
    config: Config
    data: Dataset
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax of the grid
    probabilities: np.ndarray  # (GRID_SIZE, GRID_SIZE) float32, row-major: [y, x]
    train_roc: RocCurve
    test_roc: RocCurve

    @property
    def threshold(self) -> float:
        return self.config.threshold


def grid_points(extent: tuple[float, float, float, float], size: int = GRID_SIZE) -> np.ndarray:
    """(size*size, 2) points covering `extent`, row-major in y then x."""
    xmin, xmax, ymin, ymax = extent
    xs = np.linspace(xmin, xmax, size)
    ys = np.linspace(ymin, ymax, size)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def roc(y: np.ndarray, p: np.ndarray, threshold: float) -> RocCurve:
    """ROC through sklearn.metrics; degenerate inputs give the chance line and a NaN AUC."""
    y = y.astype(int)
    predicted = p >= threshold
    positives, negatives = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    point = (
        float(np.sum(predicted & (y == 0))) / negatives,
        float(np.sum(predicted & (y == 1))) / positives,
    )
    if np.unique(y).size < 2 or not np.all(np.isfinite(p)):
        return RocCurve(np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan"), point)
    # Inputs are ours and already checked: skipping sklearn's validation saves ~5 ms a frame.
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        fpr, tpr, _ = roc_curve(y, p)
        area = auc(fpr, tpr)  # what roc_auc_score computes for two classes, from the same curve
    return RocCurve(fpr, tpr, float(area), point)


def make_frame(
    snapshot: Snapshot, config: Config, data: Dataset, grid: np.ndarray | None = None
) -> Frame:
    """Evaluate the snapshot's network on the input grid and on both splits."""
    extent = data.bounds
    if grid is None:
        grid = grid_points(extent)
    weights, activation = snapshot.weights, config.activation
    probabilities = predict_proba(weights, grid, activation).astype(np.float32)
    probabilities = probabilities.reshape(GRID_SIZE, GRID_SIZE)
    train = roc(data.y_train, predict_proba(weights, data.x_train, activation), config.threshold)
    test = roc(data.y_test, predict_proba(weights, data.x_test, activation), config.threshold)
    return Frame(snapshot, config, data, extent, probabilities, train, test)
