"""The loss and accuracy record of a run, kept in growable arrays (no per-row Python objects)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLUMNS = ("iteration", "train_loss", "test_loss", "train_accuracy", "test_accuracy")


@dataclass(frozen=True)
class HistoryArrays:
    """A read-only copy of the history, one array per column."""

    iteration: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray

    def __len__(self) -> int:
        return len(self.iteration)


class History:
    """Rows appended during training, at most one per iteration, in increasing iteration order."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.empty((capacity, len(COLUMNS)))
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    @property
    def last_iteration(self) -> int:
        return int(self._data[self._rows - 1, 0]) if self._rows else -1

    def append(
        self,
        iteration: int,
        train_loss: float,
        test_loss: float,
        train_accuracy: float,
        test_accuracy: float,
    ) -> None:
        if iteration <= self.last_iteration:
            return
        if self._rows == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self._rows] = (iteration, train_loss, test_loss, train_accuracy, test_accuracy)
        self._rows += 1

    def clear(self) -> None:
        self._rows = 0

    def thin(self, dense_below: int, stride: int) -> None:
        """Keep rows before `dense_below` and rows at multiples of `stride`, plus the last one."""
        iterations = self._data[: self._rows, 0]
        keep = (iterations < dense_below) | (iterations % stride == 0)
        keep[self._rows - 1] = True
        kept = self._data[: self._rows][keep]
        self._rows = len(kept)
        self._data[: self._rows] = kept

    def truncate(self, iteration: int) -> None:
        """Forget rows after `iteration`, for resuming from an earlier state."""
        self._rows = int(np.searchsorted(self._data[: self._rows, 0], iteration, side="right"))

    def arrays(self) -> HistoryArrays:
        columns = []
        for index in range(len(COLUMNS)):
            column = self._data[: self._rows, index].copy()
            if index == 0:
                column = column.astype(np.int64)
            column.flags.writeable = False
            columns.append(column)
        return HistoryArrays(*columns)

    def load(self, table: np.ndarray) -> None:
        """Replace the rows with a (rows, 5) table, e.g. read back from history.csv."""
        table = np.asarray(table, dtype=float).reshape(-1, len(COLUMNS))
        self._data = np.empty((max(1024, 2 * len(table)), len(COLUMNS)))
        self._data[: len(table)] = table
        self._rows = len(table)
