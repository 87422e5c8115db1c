"""What the views draw for one snapshot, computed once per redraw in the GUI thread (no Qt here).

The metrics are `nnviz.core.metrics`' fast mode, from one forward pass a split; the Metrics view
completes them to full mode (the classification report) when it shows the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core import Config, Dataset, Snapshot
from ..core.metrics import AnySplitMetrics, Metrics, evaluate_setup
from ..core.spread import spread
from ..core.tasks import Task, task_of
from ..service.seeds import LossBand
from .plane import Plane

#: Boundary grid resolution: 150x150 evaluates in about 1 ms in float64.
GRID_SIZE = 150


@dataclass(frozen=True)
class RocCurve:
    """What the ROC view draws of one split."""

    fpr: np.ndarray
    tpr: np.ndarray
    auc: float
    operating_point: tuple[float, float]  # (fpr, tpr) at the decision threshold

    @classmethod
    def of(cls, split: AnySplitMetrics) -> RocCurve:
        """A binary split's curve and threshold point; several classes' macro-average curve
        (no threshold: the prediction is the most probable class); none for regression."""
        kind = getattr(split, "task", "binary")
        if kind == "binary":
            return cls(split.fpr, split.tpr, split.auc, split.operating_point().rates)
        if kind == "multiclass":
            return cls(split.fpr, split.tpr, split.auc, (math.nan, math.nan))
        return cls(np.empty(0), np.empty(0), math.nan, (math.nan, math.nan))


@dataclass(frozen=True)
class SeedView:
    """Every seed of the shown state: AUCs, boundaries, faint ROC curves and the loss band."""

    weight_seed: int  # seed k has weight seed weight_seed + k
    selected: int
    train_auc: np.ndarray  # (K,)
    test_auc: np.ndarray  # (K,)
    boundaries: tuple[tuple[np.ndarray, np.ndarray], ...]  # per seed: x, y as point pairs
    other_rocs: tuple[np.ndarray, np.ndarray]  # the other seeds' test ROCs, NaN between
    band: LossBand | None
    diverged: tuple[bool, ...]

    @property
    def count(self) -> int:
        return len(self.test_auc)

    @property
    def selected_weight_seed(self) -> int:
        return self.weight_seed + self.selected

    def auc(self, split: str) -> tuple[float, float]:
        """Mean and sample standard deviation of a split's AUC over the seeds (core.spread:
        an undefined AUC left out, as `nnviz train --seeds` and sweeps do)."""
        auc = spread(self.train_auc if split == "train" else self.test_auc)
        return auc.mean, auc.sd

    def auc_text(self, split: str) -> str:
        """The mean ± sd as "0.9412 ± 0.0231", or "n/a" when no seed's AUC is defined."""
        mean, sd = self.auc(split)
        return "n/a" if math.isnan(mean) else f"{mean:.4f} ± {sd:.4f}"


@dataclass(frozen=True)
class Frame:
    """One redraw's worth of data: the snapshot plus everything derived from its weights."""

    snapshot: Snapshot
    config: Config
    data: Dataset
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax of the grid
    #: float32, row-major [y, x]: P(class 1) (GRID_SIZE, GRID_SIZE) for two classes, every
    #: class's probability (GRID_SIZE, GRID_SIZE, K) for more, the prediction for regression.
    probabilities: np.ndarray
    train_roc: RocCurve
    test_roc: RocCurve
    metrics: Metrics  # fast mode, at the config's threshold
    seeds: SeedView | None = None  # every seed, for a run of several (the snapshot: the selected)
    task: Task | None = None  # None: the article's binary task on two raw inputs
    plane: Plane | None = None  # the section of the input space the grid covers

    @property
    def threshold(self) -> float:
        return self.config.threshold

    @property
    def kind(self) -> str:
        """ "binary", "multiclass" or "regression"."""
        return "binary" if self.task is None else self.task.kind


def grid_points(extent: tuple[float, float, float, float], size: int = GRID_SIZE) -> np.ndarray:
    """(size*size, 2) points covering `extent`, row-major in y then x."""
    xmin, xmax, ymin, ymax = extent
    xs = np.linspace(xmin, xmax, size)
    ys = np.linspace(ymin, ymax, size)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def make_frame(
    snapshot: Snapshot,
    config: Config,
    data: Dataset,
    grid: np.ndarray | None = None,
    seeds: SeedView | None = None,
    *,
    plane: Plane | None = None,
) -> Frame:
    """Evaluate the snapshot's network on the input grid and on both splits (`seeds`: what is
    drawn of the other seeds, see gui.seeds). The grid covers `plane` (default: the first two
    inputs for 2-D data, the first two principal components for more); `grid` may pass its
    cached raw points, `plane.grid(GRID_SIZE)`."""
    plane = plane or Plane.of(data)
    extent = plane.extent
    if grid is None:
        grid = plane.grid(GRID_SIZE)
    weights = snapshot.weights
    task = task_of(config, data)
    probabilities = grid_values(task, weights, config.activation, grid)
    metrics = evaluate_setup(weights, data, config, full=False)
    return Frame(
        snapshot,
        config,
        data,
        extent,
        probabilities,
        RocCurve.of(metrics.train),
        RocCurve.of(metrics.test),
        metrics,
        seeds,
        task,
        plane,
    )


def grid_values(
    task: Task, weights: dict[str, np.ndarray], activation: str, grid: np.ndarray
) -> np.ndarray:
    """The network's answer on a square grid of raw points, float32 [y, x] (see
    Frame.probabilities): the task's own outputs, through its crosses."""
    size = math.isqrt(len(grid))
    values = task.outputs(weights, activation, grid).astype(np.float32)
    return (
        values.reshape(size, size, -1) if task.kind == "multiclass" else values.reshape(size, size)
    )
