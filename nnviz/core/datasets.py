"""Two-class point sets in the plane, split into train and test the way the article does."""

from __future__ import annotations

import math
from array import array as typed_array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import SAMPLES_MAX, Config
from .readers import csv_rows, open_regular

#: The largest CSV file of points read: 64 bytes for each of the most points nnviz trains on
#: (a row it writes takes at most 58), so a file this size has room for SAMPLES_MAX rows.
MAX_CSV_BYTES = 64 * SAMPLES_MAX


class DataError(ValueError):
    """A dataset could not be made or read; the message says what to fix."""


@dataclass(frozen=True)
class Dataset:
    """Read-only train and test arrays; labels are 0/1 floats."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self) -> None:
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            array.flags.writeable = False

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of all points with a margin, for drawing the input plane."""
        points = np.vstack([self.x_train, self.x_test])
        low, high = points.min(axis=0), points.max(axis=0)
        pad = 0.1 * np.maximum(high - low, 1e-9)
        return (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])


def make_points(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """All points and labels of the configured dataset, before the split."""
    n, noise, seed = config.samples, config.noise, config.data_seed
    # scikit-learn is imported where it is used: it takes most of a second, which every
    # `nnviz --version` and every training process would otherwise pay for nothing.
    from sklearn.datasets import make_circles, make_moons

    if config.dataset == "moons":
        return make_moons(n_samples=n, noise=noise, random_state=seed)
    if config.dataset == "circles":
        return make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)
    if config.dataset == "csv":
        return load_points_csv(config.csv_path)
    rng = np.random.RandomState(seed)
    if config.dataset == "xor":
        x = rng.uniform(-1.0, 1.0, (n, 2))
        y = (x[:, 0] * x[:, 1] > 0).astype(int)
        return x + rng.normal(0.0, noise, x.shape), y
    if config.dataset == "gauss":
        y = np.arange(n) % 2
        centers = np.where(y[:, None] == 1, 1.0, -1.0)
        return centers + rng.normal(0.0, 0.35 + noise, (n, 2)), y
    if config.dataset == "spiral":
        return _spiral(n, noise, rng)
    raise DataError(f"unknown dataset {config.dataset!r}")


def _spiral(n: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved arms, one turn and a half each, as in TensorFlow Playground."""
    y = np.arange(n) % 2
    t = np.linspace(0.0, 1.0, n, endpoint=False)[rng.permutation(n)]
    radius = 0.1 + 0.9 * t
    angle = 3.0 * math.pi * t + math.pi * y
    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return x + rng.normal(0.0, noise * 0.5, x.shape), y


def load_points_csv(path: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Read x1,x2,label rows with a header line; labels must be 0 or 1.

    Only a regular file of at most MAX_CSV_BYTES is read, line by line, and at most SAMPLES_MAX
    rows of it, so a FIFO, /dev/zero or a huge file is refused at once with a DataError.
    """
    if not path:
        raise DataError("no CSV file was given")
    path = Path(path)
    with open_regular(path, MAX_CSV_BYTES, DataError, "CSV files") as handle:
        rows = csv_rows(handle, path.name, DataError, max_bytes=MAX_CSV_BYTES, max_rows=SAMPLES_MAX)
        try:
            return _parse_points(rows, path.name)
        except OSError as error:
            raise DataError(f"cannot read {path}: {error.strerror or error}") from None


def _parse_points(
    rows: Iterator[tuple[int, list[str]]], name: str
) -> tuple[np.ndarray, np.ndarray]:
    _, header = next(rows, (0, []))
    if not header:
        raise DataError(f"{name} is empty; expected a header x1,x2,label and rows of numbers")
    if [cell.strip().lower() for cell in header[:3]] != ["x1", "x2", "label"]:
        raise DataError(
            f"{name}: the first line must be the header x1,x2,label (found {','.join(header)})"
        )
    points, labels = (
        typed_array("d"),
        typed_array("b"),
    )  # 17 bytes a point, where tuples take over 100
    for line_number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 3:
            raise DataError(
                f"{name} line {line_number}: expected 3 columns x1,x2,label, found {len(row)}"
            )
        try:
            x1, x2, label = float(row[0]), float(row[1]), float(row[2])
        except ValueError:
            raise DataError(
                f"{name} line {line_number}: {','.join(row[:3])!r} is not three numbers"
            ) from None
        if not (math.isfinite(x1) and math.isfinite(x2)):
            raise DataError(f"{name} line {line_number}: coordinates must be finite numbers")
        if label not in (0.0, 1.0):
            raise DataError(f"{name} line {line_number}: label {row[2].strip()!r} must be 0 or 1")
        points.extend((x1, x2))
        labels.append(int(label))
    if len(labels) < 8:
        raise DataError(f"{name} has {len(labels)} data rows; nnviz needs at least 8")
    y = np.array(labels, dtype=np.int64)
    if np.unique(y).size < 2:
        raise DataError(f"{name} has only label {y[0]}; both classes 0 and 1 are needed")
    return np.array(points, dtype=float).reshape(-1, 2), y


def load_dataset(config: Config) -> Dataset:
    """The configured points, split with `train_test_split(test_size, random_state=split_seed)`."""
    from sklearn.model_selection import train_test_split  # imported late: see make_points

    x, y = make_points(config)
    n_test = math.ceil(len(x) * config.test_size)  # train_test_split's own rounding
    if n_test < 1 or len(x) - n_test < 2:
        raise DataError(
            f"test_size {config.test_size} leaves no test or training points out of {len(x)}"
        )
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=config.test_size, random_state=config.split_seed
    )
    return Dataset(
        np.ascontiguousarray(x_train, dtype=float),
        np.asarray(y_train, dtype=float),
        np.ascontiguousarray(x_test, dtype=float),
        np.asarray(y_test, dtype=float),
    )
