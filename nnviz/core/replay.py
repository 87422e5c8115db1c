"""A bounded record of past training states for the history slider (no Qt here).

`ReplayStore` keeps the states of a run log-spaced over iterations plus the most recent ones, so
that its memory does not grow with the length of the run:

* at most ``log_points + recent_points`` points (192 + 64 = 256 by default), fewer when the
  weights are large: never more than ``budget_bytes // weights_nbytes`` (64 MiB by default), and
  never fewer than 2 (the first and the latest);
* each point is a `ReplayPoint`: the iteration, the snapshot's scalar metrics and a reference to
  the snapshot's read-only weights (never copied). Its size is the weights' bytes plus under
  1 KB of Python objects (measured: 690 B; 855 B in all for the seed network's 21 parameters);
* one history: that of the newest snapshot, at most ``MAX_HISTORY`` + 1 rows of 5 columns
  (about 82 KB); a past point's loss curve is that history cut at the point's iteration.

So the seed network's replay stays under 256 x (168 B + 1 KB) + 82 KB, about 0.4 MB, for a run
of any length (measured after 200,000 iterations: 256 points, 0.28 MB). The `nbytes` property
counts the arrays (weights and history), not the Python objects around them.

Snapshots are added in iteration order. A snapshot at or before the newest kept iteration means the
run went back (a reset, "Resume from here", an edited weight): the points after it are dropped.

The log spacing is kept greedily: when the store is full, the point whose removal leaves the
smallest gap in log(1 + iteration) between its neighbours goes. The first point and the most recent
`recent_points` are never removed. Until the store is full every snapshot is kept; after that the
kept old points end up with consecutive iteration ratios that are roughly constant, like the
ticks of a log axis, except near the start, where snapshots are already sparser than that.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .history import HistoryArrays
from .optimizers import OPTIMIZERS
from .trainer import Snapshot, Trainer

LOG_POINTS = 192
RECENT_POINTS = 64
BUDGET_BYTES = 64 * 2**20
#: `next_replay_iteration`: every iteration below this, then a constant ratio.
DENSE_REPLAY = 20
REPLAY_RATIO = 1.05


@dataclass(frozen=True, slots=True)
class ReplayPoint:
    """One past state: the iteration, its metrics and the snapshot's own read-only weights."""

    iteration: int
    target: int
    train_loss: float
    test_loss: float
    train_accuracy: float
    test_accuracy: float
    weights: Mapping[str, np.ndarray]
    seconds: float
    diverged_at: int | None = None

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> ReplayPoint:
        return cls(
            iteration=snapshot.iteration,
            target=snapshot.target,
            train_loss=snapshot.train_loss,
            test_loss=snapshot.test_loss,
            train_accuracy=snapshot.train_accuracy,
            test_accuracy=snapshot.test_accuracy,
            weights=snapshot.weights,  # the snapshot's read-only arrays, shared, not copied
            seconds=snapshot.seconds,
            diverged_at=snapshot.diverged_at,
        )

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.weights.values())

    def __reduce__(self):
        """Pickle as plain data (for the pipe from the training process); re-frozen on load."""
        state = {name: getattr(self, name) for name in self.__dataclass_fields__}
        state["weights"] = dict(self.weights)
        return (_point_from_state, (state,))


def _point_from_state(state: dict) -> ReplayPoint:
    for array in state["weights"].values():
        array.flags.writeable = False
    state["weights"] = MappingProxyType(state["weights"])
    return ReplayPoint(**state)


def next_replay_iteration(iteration: int, ratio: float = REPLAY_RATIO) -> int:
    """The iteration after `iteration` at which a trainer should record a `ReplayPoint`.

    Every iteration up to DENSE_REPLAY, then `ratio` times further each time: a 20,000-iteration
    run gets about 160 points and a 200,000-iteration run about 210, most of them early, where
    training changes most. A loop that reports only every few hundred iterations (the window's
    training process, at 40 snapshots a second) records these as well, so the replay shows the
    start of training however fast it went.
    """
    if iteration < DENSE_REPLAY:
        return iteration + 1
    return max(iteration + 1, math.ceil(iteration * ratio))


def resume_state(trainer: Trainer, point: ReplayPoint) -> dict[str, Any]:
    """A `Trainer.training_state()` that continues `trainer`'s run from an earlier `point`
    ("Resume from here"); give it to `trainer.restore_training_state`, which checks it.

    The point's weights at its iteration, its seconds, the history cut at its iteration, and a
    fresh optimizer: exact for plain gradient descent (full-batch training then repeats the
    original run bit for bit); momentum and Adam start again from zero. Mini-batches keep the
    shuffling where it is now.
    """
    if point.iteration > trainer.iteration:
        raise ValueError(
            f"cannot resume from iteration {point.iteration}: the run is at {trainer.iteration}"
        )
    history = _cut(trainer.history.arrays(), point.iteration, point)
    return _continued(trainer, point.iteration, point.seconds, point.weights, history)


def restart_state(trainer: Trainer, snapshot: Snapshot) -> dict[str, Any]:
    """A `Trainer.training_state()` that continues from `snapshot` on a new `trainer` of the
    same config and data: after the training process died, the window's newest snapshot is all
    that is left of the run. Weights, iteration, seconds and history are the snapshot's; the
    optimizer starts again from zero, as with `resume_state`."""
    return _continued(
        trainer, snapshot.iteration, snapshot.seconds, snapshot.weights, snapshot.history
    )


def _continued(
    trainer: Trainer,
    iteration: int,
    seconds: float,
    weights: Mapping[str, np.ndarray],
    history: HistoryArrays,
) -> dict[str, Any]:
    """`trainer`'s training state moved to `iteration` with `weights` and a fresh optimizer."""
    state = trainer.training_state()
    params = trainer.layout.from_weights(weights)
    optimizer = OPTIMIZERS[trainer.config.optimizer](trainer.layout.size).state()
    sampler = state["sampler"]
    state.update(
        iteration=iteration,
        seconds=seconds,
        diverged_at=None,
        params=params,
        optimizer=optimizer,
        history=history,
        checkpoint={
            "iteration": iteration,
            "params": params.copy(),
            "optimizer": {name: array.copy() for name, array in optimizer.items()},
            "sampler": None if sampler is None else {**sampler, "order": sampler["order"].copy()},
        },
    )
    return state


class ReplayRecorder:
    """Records `ReplayPoint`s on the `next_replay_iteration` schedule while a loop advances a
    trainer in chunks of any size, for a loop that reports less often than that (the training
    process). The weights come out bit for bit as with `trainer.advance(n)`.

    >>> from nnviz.core import Config, Trainer
    >>> recorder = ReplayRecorder(Trainer(Config.preset("seed")))
    >>> recorder.advance(500)
    >>> [point.iteration for point in recorder.take()][:3], len(recorder.take())
    ([0, 1, 2], 0)
    """

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.restart()

    def restart(self) -> None:
        """Start the schedule at the trainer's iteration (after a reset, a rewind, new weights);
        points not yet taken are dropped."""
        self._points: list[ReplayPoint] = []
        self._next = self.trainer.iteration  # the current state is the first point

    def advance(self, n: int) -> None:
        """`trainer.advance(n)`, pausing at each scheduled iteration to record a point."""
        trainer = self.trainer
        end = trainer.iteration + n
        self._record_if_due()
        while trainer.iteration < end and trainer.diverged_at is None:
            before = trainer.iteration
            trainer.advance(min(end, self._next) - before)
            if trainer.iteration <= before:  # diverged at once: the weights stayed
                break
            self._record_if_due()

    def take(self) -> list[ReplayPoint]:
        """The points recorded since the last take, oldest first."""
        points, self._points = self._points, []
        return points

    def _record_if_due(self) -> None:
        trainer = self.trainer
        if trainer.iteration >= self._next and trainer.diverged_at is None:
            self._points.append(ReplayPoint.from_snapshot(trainer.snapshot()))
            self._next = next_replay_iteration(trainer.iteration)


class ReplayStore:
    """Past states of one run, log-spaced over iterations plus the most recent; see the module."""

    def __init__(
        self,
        log_points: int = LOG_POINTS,
        recent_points: int = RECENT_POINTS,
        budget_bytes: int = BUDGET_BYTES,
    ) -> None:
        if log_points < 1 or recent_points < 1:
            raise ValueError("log_points and recent_points must be at least 1")
        self.log_points, self.recent_points, self.budget_bytes = (
            log_points,
            recent_points,
            budget_bytes,
        )
        self._points: list[ReplayPoint] = []
        self._iterations: list[int] = []
        self._history: HistoryArrays | None = None  # the newest snapshot's
        self._latest: Snapshot | None = None  # the newest snapshot, while it is the last point
        self._log_limit, self._recent_limit = log_points, recent_points

    # -- adding and forgetting -------------------------------------------------------------

    def add(self, snapshot: Snapshot, points: Iterable[ReplayPoint] = ()) -> ReplayPoint:
        """Keep `snapshot` as the newest point, thinning older ones; returns its point.

        `points` are states recorded between the previous snapshot and this one (see
        `next_replay_iteration`); those before the snapshot's iteration are kept first.
        """
        for point in points:
            if point.iteration < snapshot.iteration:
                self.add_point(point)
        point = self.add_point(ReplayPoint.from_snapshot(snapshot))
        self._history, self._latest = snapshot.history, snapshot
        return point

    def add_point(self, point: ReplayPoint) -> ReplayPoint:
        """Keep a state that came without a history, as the newest point."""
        if self._points and point.iteration <= self._iterations[-1]:
            self.truncate_after(point.iteration - 1)
        if not self._points:
            self._set_limits(point.nbytes)
        self._points.append(point)
        self._iterations.append(point.iteration)
        self._latest = None  # until `add` sets it: the newest point is not a whole snapshot
        while len(self._points) > self.capacity:
            self._evict()
        return point

    def truncate_after(self, iteration: int) -> None:
        """Forget the points after `iteration` (training resumes from an earlier state)."""
        keep = bisect.bisect_right(self._iterations, iteration)
        if keep == len(self._points):
            return
        del self._points[keep:], self._iterations[keep:]
        self._latest = None
        if not self._points:
            self._history = None
        elif self._history is not None:
            self._history = _cut(self._history, iteration)

    def clear(self) -> None:
        self._points.clear()
        self._iterations.clear()
        self._history = self._latest = None

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._points)

    def __getitem__(self, index: int) -> ReplayPoint:
        return self._points[index]

    def points(self) -> tuple[ReplayPoint, ...]:
        return tuple(self._points)

    def iterations(self) -> np.ndarray:
        """The kept iterations, increasing."""
        return np.array(self._iterations, dtype=np.int64)

    @property
    def capacity(self) -> int:
        """The most points kept for the current run's weight size."""
        return self._log_limit + self._recent_limit

    @property
    def latest(self) -> ReplayPoint | None:
        return self._points[-1] if self._points else None

    def index_of(self, iteration: int) -> int:
        """The index of the kept point nearest to `iteration` (the earlier one on a tie)."""
        if not self._points:
            raise LookupError("the replay is empty")
        right = bisect.bisect_left(self._iterations, iteration)
        if right == 0:
            return 0
        if right == len(self._iterations):
            return right - 1
        before, after = self._iterations[right - 1], self._iterations[right]
        return right - 1 if iteration - before <= after - iteration else right

    def nearest(self, iteration: int) -> ReplayPoint:
        """The kept point nearest to `iteration`."""
        return self._points[self.index_of(iteration)]

    def snapshot(self, point: ReplayPoint | None = None) -> Snapshot:
        """`point` (default: the latest) as a Snapshot the views can draw.

        The latest point gives back the snapshot that was added. An older point gets the newest
        history cut at its iteration, ending with the point's own losses; its arrays are views of
        the stored ones except for that last row.
        """
        if point is None:
            point = self.latest
            if point is None:
                raise LookupError("the replay is empty")
        if self._latest is not None and point is self._points[-1]:
            return self._latest
        history = self._history
        history = _cut(history, point.iteration, point) if history is not None else _row(point)
        return Snapshot(
            iteration=point.iteration,
            target=point.target,
            train_loss=point.train_loss,
            test_loss=point.test_loss,
            train_accuracy=point.train_accuracy,
            test_accuracy=point.test_accuracy,
            weights=point.weights,
            history=history,
            seconds=point.seconds,
            diverged_at=point.diverged_at,
        )

    @property
    def nbytes(self) -> int:
        """Bytes held in arrays: every kept point's weights and the one history."""
        total = sum(point.nbytes for point in self._points)
        if self._history is not None:
            total += sum(
                getattr(self._history, name).nbytes for name in HistoryArrays.__dataclass_fields__
            )
        return total

    # -- thinning --------------------------------------------------------------------------

    def _set_limits(self, weights_nbytes: int) -> None:
        """Fit the point count to the byte budget: large networks keep fewer points."""
        wanted = self.log_points + self.recent_points
        allowed = max(2, min(wanted, self.budget_bytes // max(weights_nbytes, 1)))
        recent = max(1, round(allowed * self.recent_points / wanted))
        self._recent_limit, self._log_limit = recent, max(1, allowed - recent)

    def _evict(self) -> None:
        """Drop the old point whose neighbours are closest together in log(1 + iteration)."""
        # Candidates: every point after the first and before the protected recent ones.
        stop = len(self._points) - self._recent_limit
        logs = np.log1p(np.array(self._iterations[: stop + 1], dtype=float))
        merged_gaps = logs[2:] - logs[:-2]  # gap left behind by removing point 1 .. stop-1
        index = 1 + int(np.argmin(merged_gaps))
        del self._points[index], self._iterations[index]


def _cut(history: HistoryArrays, iteration: int, point: ReplayPoint | None = None) -> HistoryArrays:
    """The rows up to `iteration`, plus `point`'s own row when the history has none for it."""
    end = int(np.searchsorted(history.iteration, iteration, side="right"))
    columns = [getattr(history, name)[:end] for name in HistoryArrays.__dataclass_fields__]
    if point is not None and (end == 0 or history.iteration[end - 1] != iteration):
        row = _row(point)
        columns = [
            np.concatenate([column, getattr(row, name)])
            for column, name in zip(columns, HistoryArrays.__dataclass_fields__)
        ]
        for column in columns:
            column.flags.writeable = False
    return HistoryArrays(*columns)


def _row(point: ReplayPoint) -> HistoryArrays:
    values = (
        np.array([point.iteration], dtype=np.int64),
        np.array([point.train_loss]),
        np.array([point.test_loss]),
        np.array([point.train_accuracy]),
        np.array([point.test_accuracy]),
    )
    for value in values:
        value.flags.writeable = False
    return HistoryArrays(*values)
