"""What the views draw of every seed of a run of several seeds, computed once per redraw (no Qt).

The selected seed is drawn as a single run is (frame.py); the others are drawn faintly, from
one stacked forward pass of all K networks (`core.batched.kernel.StackedPass`, the numbers of
their own Trainers) on the training and test points and on a coarse SEED_GRID x SEED_GRID grid:
each seed's AUCs (mean ± standard deviation), its decision boundary (one marching-squares call
over all K grids) and its test ROC curve. For 64 seeds of the seed network about 8-9 ms a
redraw on 2 busy cores (16 seeds: 2.5 ms; benchmarks/bench_frames.py), so the GUI thread does
it every frame.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..core import Dataset
from ..core.batched.kernel import StackedPass
from ..core.network import Layout
from ..service.seeds import LossBand, SeedStates
from .contours import threshold_contour
from .frame import SeedView, grid_points

#: The other seeds' boundaries come from this coarser grid (the selected seed's: GRID_SIZE).
SEED_GRID = 48


class SeedEvaluator:
    """Evaluates K networks of one layout on a run's data and a coarse grid over its extent."""

    def __init__(self, count: int, layout: Layout, data: Dataset, activation: str, loss: str):
        self.layout, self.data = layout, data
        self._params = np.zeros((count, layout.size))
        grad = np.zeros_like(self._params)
        self._extent = data.bounds
        grid = grid_points(self._extent, SEED_GRID)
        shared = {
            "grid": (grid, np.zeros(len(grid))),
            "train": (data.x_train, data.y_train),
            "test": (data.x_test, data.y_test),
        }
        self._passes = {
            name: StackedPass(layout, self._params, grad, len(x), activation, loss, (x, y))
            for name, (x, y) in shared.items()
        }

    def view(
        self, states: SeedStates, selected: int, threshold: float, band: LossBand | None
    ) -> SeedView:
        np.copyto(self._params, states.params)
        with np.errstate(all="ignore"):
            for stacked in self._passes.values():
                stacked.forward()
        outputs = {name: stacked.out[-1][:, 0] for name, stacked in self._passes.items()}
        data = self.data
        test_labels = data.y_test >= 0.5
        others = np.arange(states.count) != selected
        return SeedView(
            weight_seed=states.weight_seed,
            selected=selected,
            train_auc=aucs(outputs["train"], data.y_train >= 0.5),
            test_auc=aucs(outputs["test"], test_labels),
            boundaries=boundaries(
                outputs["grid"].reshape(-1, SEED_GRID, SEED_GRID), self._extent, threshold
            ),
            other_rocs=roc_curves(outputs["test"][others], test_labels),
            band=band,
            diverged=tuple(at is not None for at in states.diverged_at),
        )


def aucs(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each row's ROC AUC as the Mann-Whitney statistic: the share of (positive, negative) pairs
    the row orders right, ties counting half (what sklearn's roc_auc_score gives, to rounding;
    scipy's rankdata would add a second to the window's start). NaN when a class is missing.

    Counted from where each positive lands when a row's sorted negatives and positives are
    merged (a stable argsort of two sorted runs is one merge, for every row in one call): the
    j-th positive at position m has m - j negatives before it, ties included when the negatives
    are merged first (upto), left out when the positives are (lower). The counts are integers,
    so each AUC is exactly its pair count's (both splits of 64 seeds: 1.6-1.8 ms, against
    2.1-2.4 ms for a searchsorted per row and side)."""
    positives = np.sort(probabilities[:, labels], axis=1)
    negatives = np.sort(probabilities[:, ~labels], axis=1)
    p, q = positives.shape[1], negatives.shape[1]
    if not p * q:
        return np.full(len(probabilities), np.nan)
    position = np.arange(p + q)  # j-th positive at position m: m - j scores of the other class

    def placed(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        merged = np.concatenate([first, second], axis=1)
        return np.argsort(merged, axis=1, kind="stable")

    upto = (placed(negatives, positives) >= q) @ position
    lower = (placed(positives, negatives) < p) @ position
    return (upto + lower - p * (p - 1)) / 2 / (p * q)


def boundaries(
    grids: np.ndarray, extent: tuple[float, float, float, float], level: float
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Each (K, n, n) grid's contour at `level`, as x, y point pairs: one marching-squares call
    over the grids stacked with a row of NaN between them (which no segment crosses)."""
    count, n = len(grids), grids.shape[-1]
    stacked = np.full((count, n + 1, n), np.nan, dtype=float)
    stacked[:, :n] = grids
    rows = count * (n + 1)
    x, y = threshold_contour(stacked.reshape(rows, n), (0.0, n - 1.0, 0.0, rows - 1.0), level)
    xmin, xmax, ymin, ymax = extent
    seed = (np.minimum(y[0::2], y[1::2]) // (n + 1)).astype(int)  # both ends in one block
    seed = np.repeat(seed, 2)
    x = xmin + x * (xmax - xmin) / (n - 1)
    y = ymin + (y - seed * (n + 1)) * (ymax - ymin) / (n - 1)
    order = np.argsort(seed, kind="stable")
    starts = np.searchsorted(seed[order], np.arange(count + 1))
    x, y = x[order], y[order]
    return tuple((x[a:b], y[a:b]) for a, b in itertools.pairwise(starts))


def roc_curves(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ROC curve (fpr, tpr from (0, 0), one point per distinct score), all in one
    pair of arrays with NaN between the curves, for one faint PlotCurveItem."""
    count, n = probabilities.shape
    positives = int(labels.sum())
    negatives = n - positives
    if not count or not positives or not negatives:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-probabilities, axis=1, kind="stable")
    scores = np.take_along_axis(probabilities, order, axis=1)
    hits = labels[order]
    tpr = np.cumsum(hits, axis=1) / positives
    fpr = np.cumsum(~hits, axis=1) / negatives
    last = np.ones((count, 1), dtype=bool)
    ends = np.concatenate([scores[:, :-1] != scores[:, 1:], last], axis=1)
    keep = np.concatenate([last, ends, last], axis=1)
    start, gap = np.zeros((count, 1)), np.full((count, 1), np.nan)
    x = np.concatenate([start, fpr, gap], axis=1)[keep]
    y = np.concatenate([start, tpr, gap], axis=1)[keep]
    return x, y
