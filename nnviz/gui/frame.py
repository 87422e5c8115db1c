"""What the views draw for one snapshot, computed once per redraw in the GUI thread (no Qt here).

The metrics are `nnviz.core.metrics`' fast mode, from one forward pass a split; the Metrics view
completes them to full mode (the classification report) when it shows the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core import Config, Dataset, Snapshot, predict_proba
from ..core.metrics import Metrics, SplitMetrics, evaluate_setup
from ..service.seeds import LossBand

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
    def of(cls, split: SplitMetrics) -> RocCurve:
        return cls(split.fpr, split.tpr, split.auc, split.operating_point().rates)


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
        """Mean and sample standard deviation of a split's AUC over the seeds (NaN ignored)."""
        return spread(self.train_auc if split == "train" else self.test_auc)

    def auc_text(self, split: str) -> str:
        """The mean ± sd as "0.9412 ± 0.0231", or "n/a" when no seed's AUC is defined."""
        mean, sd = self.auc(split)
        return "n/a" if math.isnan(mean) else f"{mean:.4f} ± {sd:.4f}"


def spread(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1, as a sweep's repeats) of the finite values."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return math.nan, math.nan
    sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return float(finite.mean()), sd


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
    metrics: Metrics  # fast mode, at the config's threshold
    seeds: SeedView | None = None  # every seed, for a run of several (the snapshot: the selected)

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


def make_frame(
    snapshot: Snapshot,
    config: Config,
    data: Dataset,
    grid: np.ndarray | None = None,
    seeds: SeedView | None = None,
) -> Frame:
    """Evaluate the snapshot's network on the input grid and on both splits (`seeds`: what is
    drawn of the other seeds, see gui.seeds)."""
    extent = data.bounds
    if grid is None:
        grid = grid_points(extent)
    weights = snapshot.weights
    probabilities = predict_proba(weights, grid, config.activation).astype(np.float32)
    probabilities = probabilities.reshape(GRID_SIZE, GRID_SIZE)
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
    )
