"""The datasets: point sets in the plane (two or more classes, or a regression target),
scikit-learn's iris and wine, and CSV files, split into train and test the way the article does."""

from __future__ import annotations

import dataclasses
import math
from array import array as typed_array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import SAMPLES_MAX, TABLES, TASKS, Config
from .readers import csv_rows, open_regular

#: The largest CSV file of points read: 64 bytes for each of the most points nnviz trains on
#: (a row it writes takes at most 58), so a file this size has room for SAMPLES_MAX rows.
MAX_CSV_BYTES = 64 * SAMPLES_MAX


class DataError(ValueError):
    """A dataset could not be made or read; the message says what to fix."""


#: The most inputs (columns before label or target) a CSV file may have, and classes it may use.
MAX_INPUTS = 64
MAX_CSV_CLASSES = 16


@dataclass(frozen=True)
class Dataset:
    """Read-only train and test arrays of raw inputs, and what they are for.

    `x_*` are (n, inputs) raw inputs (feature crosses are applied later, by
    `nnviz.core.features`). `y_*` are floats: 0/1 labels for a "binary" task, class indices
    0..n_classes-1 for "multiclass", the target for "regression" (n_classes 0).
    `feature_names` name the raw inputs (x1, x2, ... unless the data has its own names).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "binary"
    n_classes: int = 2
    feature_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            array.flags.writeable = False
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}")
        n_inputs = self.x_train.shape[1]
        if not self.feature_names:
            object.__setattr__(self, "feature_names", default_names(n_inputs))
        elif len(self.feature_names) != n_inputs:
            raise ValueError(f"{len(self.feature_names)} feature names for {n_inputs} inputs")

    @property
    def n_inputs(self) -> int:
        """Raw inputs per point."""
        return self.x_train.shape[1]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of all points with a margin, for drawing the input plane
        (of the first two inputs)."""
        return padded_bounds(np.vstack([self.x_train, self.x_test])[:, :2])


def padded_bounds(points: np.ndarray) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of (n, 2) points with a tenth of their range as margin on each
    side: the input plane's extent, or a 2-D section's (gui.plane); for no points (a canvas
    emptied to draw on) the unit square's, padded."""
    if not len(points):
        points = np.array([[-1.0, -1.0], [1.0, 1.0]])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-9)
    return (
        float(low[0] - pad[0]),
        float(high[0] + pad[0]),
        float(low[1] - pad[1]),
        float(high[1] + pad[1]),
    )


def default_names(n_inputs: int) -> tuple[str, ...]:
    return tuple(f"x{i + 1}" for i in range(n_inputs))


@dataclass(frozen=True)
class Points:
    """All points of a dataset before the split, with what they are for (see Dataset)."""

    x: np.ndarray
    y: np.ndarray
    task: str = "binary"
    n_classes: int = 2
    names: tuple[str, ...] = ()


def make_points(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """All points and labels of the configured dataset, before the split."""
    points = draw_points(config)
    return points.x, points.y


def draw_points(config: Config) -> Points:
    """All points of the configured dataset, with their task, classes and input names."""
    n, noise, seed = config.samples, config.noise, config.data_seed
    # scikit-learn is imported where it is used: it takes most of a second, which every
    # `nnviz --version` and every training process would otherwise pay for nothing.
    from sklearn.datasets import make_circles, make_moons

    if config.dataset == "moons":
        return Points(*make_moons(n_samples=n, noise=noise, random_state=seed))
    if config.dataset == "circles":
        return Points(*make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed))
    if config.dataset == "csv":
        return read_points_csv(config.csv_path)
    if config.dataset in TABLES:
        return _table(config.dataset)
    rng = np.random.RandomState(seed)
    if config.dataset == "xor":
        x = rng.uniform(-1.0, 1.0, (n, 2))
        y = (x[:, 0] * x[:, 1] > 0).astype(int)
        return Points(x + rng.normal(0.0, noise, x.shape), y)
    if config.dataset == "gauss":
        y = np.arange(n) % 2
        centers = np.where(y[:, None] == 1, 1.0, -1.0)
        return Points(centers + rng.normal(0.0, 0.35 + noise, (n, 2)), y)
    if config.dataset == "spiral":
        return _classes(*_spiral(n, noise, rng, config.classes), config.classes)
    if config.dataset == "blobs":
        return _classes(*_blobs(n, noise, rng, config.classes), config.classes)
    if config.dataset == "plane":
        return _plane(n, noise, rng)
    if config.dataset == "gauss-reg":
        return _gauss_regression(n, noise, rng)
    raise DataError(f"unknown dataset {config.dataset!r}")


def _classes(x: np.ndarray, y: np.ndarray, k: int) -> Points:
    return Points(x, y, "binary" if k == 2 else "multiclass", k)


def _spiral(
    n: int, noise: float, rng: np.random.RandomState, classes: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """`classes` interleaved arms, one turn and a half each, as in TensorFlow Playground (two
    arms); arm c is turned by 2 pi c / classes (pi for the second of two, as before)."""
    y = np.arange(n) % classes
    t = np.linspace(0.0, 1.0, n, endpoint=False)[rng.permutation(n)]
    radius = 0.1 + 0.9 * t
    angle = 3.0 * math.pi * t + (2.0 * math.pi / classes) * y
    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return x + rng.normal(0.0, noise * 0.5, x.shape), y


def _blobs(
    n: int, noise: float, rng: np.random.RandomState, classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """One round Gaussian blob per class, the centres evenly spaced on a circle of radius 1;
    spread 0.25 + noise, so the default noise 0.2 makes neighbours overlap a little."""
    y = np.arange(n) % classes
    angle = 2.0 * math.pi * y / classes
    centers = np.column_stack([np.cos(angle), np.sin(angle)])
    return centers + rng.normal(0.0, 0.25 + noise, (n, 2)), y


#: Playground's regression sets live on [-6, 6]^2; nnviz draws them on [-1, 1]^2 (the other
#: datasets' scale, where tanh and sigmoid units work), so its lengths are divided by 6.
_PLAYGROUND_RADIUS = 6.0


def _uniform_square(
    n: int, noise: float, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1, 1]^2, and the same points moved by Playground's label noise
    (uniform in +-noise), where the target is read."""
    x = rng.uniform(-1.0, 1.0, (n, 2))
    return x, x + noise * rng.uniform(-1.0, 1.0, (n, 2))


def _plane(n: int, noise: float, rng: np.random.RandomState) -> Points:
    """Playground's "regress plane": target (x1 + x2) / 10 in its units, 0.6 (x1 + x2) here."""
    x, moved = _uniform_square(n, noise, rng)
    return Points(x, 0.6 * (moved[:, 0] + moved[:, 1]), "regression", 0)


#: Playground's "regress gaussian": six bumps of height +-1, (centre x, centre y, sign).
_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def _gauss_regression(n: int, noise: float, rng: np.random.RandomState) -> Points:
    """The bump of largest magnitude at each point, each falling linearly from +-1 at its
    centre to 0 at distance 2 (Playground's units)."""
    x, moved = _uniform_square(n, noise, rng)
    target = np.zeros(n)
    for cx, cy, sign in _BUMPS:
        centre = np.array([cx, cy]) / _PLAYGROUND_RADIUS
        distance = np.hypot(*(moved - centre).T) * _PLAYGROUND_RADIUS
        bump = sign * np.clip(1.0 - distance / 2.0, 0.0, 1.0)
        target = np.where(np.abs(bump) > np.abs(target), bump, target)
    return Points(x, target, "regression", 0)


def _table(name: str) -> Points:
    """scikit-learn's iris (150 flowers, 4 measurements) or wine (178 wines, 13 analyses)."""
    from sklearn.datasets import load_iris, load_wine

    bunch = (load_iris if name == "iris" else load_wine)()
    names = tuple(str(feature).replace(" (cm)", "") for feature in bunch.feature_names)
    return Points(np.asarray(bunch.data, dtype=float), bunch.target, "multiclass", 3, names)


def load_points_csv(path: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    """The points and labels (or targets) of a CSV file; see `read_points_csv`."""
    points = read_points_csv(path)
    return points.x, points.y


def read_points_csv(path: str | Path | None) -> Points:
    """Read x1,x2,...,label rows (or x1,x2,...,target) with a header line.

    Labels are whole numbers 0 to K-1 (two classes: binary; more: multiclass); a `target`
    column holds any finite number (regression). Columns after the label are ignored.
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


def csv_columns(header: list[str]) -> tuple[int, str] | None:
    """(inputs, "label" or "target") of a header x1,...,xd,label|target (d >= 2; case and
    spaces ignored; more columns may follow), or None when it is not one."""
    cells = [cell.strip().lower() for cell in header]
    inputs = 0
    while inputs < min(len(cells), MAX_INPUTS + 1) and cells[inputs] == f"x{inputs + 1}":
        inputs += 1
    if 2 <= inputs <= MAX_INPUTS and len(cells) > inputs and cells[inputs] in ("label", "target"):
        return inputs, cells[inputs]
    return None


def _parse_points(rows: Iterator[tuple[int, list[str]]], name: str) -> Points:
    _, header = next(rows, (0, []))
    if not header:
        raise DataError(f"{name} is empty; expected a header x1,x2,label and rows of numbers")
    columns = csv_columns(header)
    if columns is None:
        raise DataError(
            f"{name}: the first line must be the header x1,x2,label (found {','.join(header)}); "
            f"up to {MAX_INPUTS} inputs x3, x4, ... may follow x2, and a regression file has "
            "target instead of label"
        )
    inputs, kind = columns
    width = inputs + 1
    points, labels = typed_array("d"), typed_array("d")  # 8 bytes a number, where floats take 24
    for line_number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < width:
            raise DataError(
                f"{name} line {line_number}: expected {width} columns "
                f"{','.join(h.strip() for h in header[:width])}, found {len(row)}"
            )
        try:
            values = [float(cell) for cell in row[:width]]
        except ValueError:
            raise DataError(
                f"{name} line {line_number}: {','.join(row[:width])!r} is not {width} numbers"
            ) from None
        if not all(math.isfinite(value) for value in values[:inputs]):
            raise DataError(f"{name} line {line_number}: coordinates must be finite numbers")
        label = values[inputs]
        if kind == "target" and not math.isfinite(label):
            raise DataError(f"{name} line {line_number}: the target must be a finite number")
        if kind == "label" and not (label % 1 == 0 and 0 <= label < MAX_CSV_CLASSES):
            raise DataError(
                f"{name} line {line_number}: label {row[inputs].strip()!r} must be a whole "
                f"number from 0 to {MAX_CSV_CLASSES - 1}"
            )
        points.extend(values[:inputs])
        labels.append(label + 0.0)
    if len(labels) < 8:
        raise DataError(f"{name} has {len(labels)} data rows; nnviz needs at least 8")
    x = np.array(points, dtype=float).reshape(-1, inputs)
    if kind == "target":
        return Points(x, np.array(labels, dtype=float), "regression", 0)
    y = np.array(labels, dtype=np.int64)
    present = np.unique(y)
    if present.size < 2:
        raise DataError(f"{name} has only label {y[0]}; at least two classes are needed")
    classes = int(present[-1]) + 1
    return Points(x, y, "binary" if classes == 2 else "multiclass", classes)


def load_dataset(config: Config) -> Dataset:
    """The configured points, split with `train_test_split(test_size, random_state=split_seed)`.

    iris and wine are standardised with the training split's mean and standard deviation (their
    measurements run from 0.1 to 1680, where tanh and sigmoid units saturate); everything else
    is kept as drawn or read.
    """
    from sklearn.model_selection import train_test_split  # imported late: see make_points

    points = draw_points(config)
    x, y = points.x, points.y
    n_test = math.ceil(len(x) * config.test_size)  # train_test_split's own rounding
    if n_test < 1 or len(x) - n_test < 2:
        raise DataError(
            f"test_size {config.test_size} leaves no test or training points out of {len(x)}"
        )
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=config.test_size, random_state=config.split_seed
    )
    if config.dataset in TABLES:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std[std == 0.0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return Dataset(
        np.ascontiguousarray(x_train, dtype=float),
        np.asarray(y_train, dtype=float),
        np.ascontiguousarray(x_test, dtype=float),
        np.asarray(y_test, dtype=float),
        points.task,
        points.n_classes,
        points.names,
    )


#: Of the points drawn by hand, every TEST_EVERY-th of a class (of all, for a regression) is a
#: test point: the article's 75/25 split, kept as a canvas is drawn.
TEST_EVERY = 4


def drawn_to_test(data: Dataset, label: float) -> bool:
    """Whether a point drawn with `label` goes to the test split: when it is the TEST_EVERY-th,
    2·TEST_EVERY-th, ... point of its class (of all points, for a regression) in both splits.
    Counting what is there, not the clicks, keeps the split near 75/25 through erasing and
    undo, and the same drawing always splits the same way."""
    if data.task == "regression":
        count = len(data.y_train) + len(data.y_test)
    else:
        count = int(np.sum(data.y_train == label) + np.sum(data.y_test == label))
    return (count + 1) % TEST_EVERY == 0


def with_points(
    data: Dataset,
    add: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    remove: np.ndarray | list[int] = (),
    *,
    test: np.ndarray | list[bool] | None = None,
    remove_test: np.ndarray | list[int] = (),
    min_train: int = 2,
) -> Dataset:
    """A new Dataset with points drawn by hand: the training points at indices `remove` and the
    test points at `remove_test` taken out, then raw points `add` (m, n_inputs) with `labels`
    (class indices, or targets for a regression) appended to the training split, or to the test
    split where the mask `test` is true. `data` itself is unchanged, so an undo is keeping the
    old Dataset. A DataError says what does not fit, or that fewer than `min_train` training
    points would remain (0 for a canvas being filled, which cannot train yet).
    """
    x_new = np.empty((0, data.n_inputs)) if add is None else np.asarray(add, dtype=float)
    y_new = np.empty(0) if labels is None else np.asarray(labels, dtype=float).reshape(-1)
    if x_new.ndim == 1:
        x_new = x_new[None]
    if x_new.ndim != 2 or x_new.shape[1] != data.n_inputs or len(y_new) != len(x_new):
        raise DataError(
            f"added points must be (m, {data.n_inputs}) with one label each, not "
            f"{x_new.shape} with {len(y_new)}"
        )
    to_test = np.zeros(len(x_new), bool) if test is None else np.asarray(test, bool).reshape(-1)
    if len(to_test) != len(x_new):
        raise DataError(f"the test mask needs one entry per added point, not {len(to_test)}")
    if not (np.all(np.isfinite(x_new)) and np.all(np.isfinite(y_new))):
        raise DataError("added points and their labels must be finite numbers")
    if data.task != "regression":
        classes = data.n_classes
        if np.any((y_new % 1 != 0) | (y_new < 0) | (y_new >= classes)):
            raise DataError(f"labels of added points must be classes 0 to {classes - 1}")
    keep = _kept(remove, len(data.x_train), "training")
    keep_test = _kept(remove_test, len(data.x_test), "test")
    if len(keep) + np.count_nonzero(~to_test) < min_train:
        raise DataError(f"at least {min_train} training points must remain")
    return dataclasses.replace(
        data,
        x_train=np.concatenate([data.x_train[keep], x_new[~to_test]]),
        y_train=np.concatenate([data.y_train[keep], y_new[~to_test] + 0.0]),
        x_test=np.concatenate([data.x_test[keep_test], x_new[to_test]]),
        y_test=np.concatenate([data.y_test[keep_test], y_new[to_test] + 0.0]),
    )


def _kept(remove: np.ndarray | list[int], n: int, split: str) -> np.ndarray:
    """The indices of a split of `n` points left after taking out `remove`."""
    remove = np.unique(np.asarray(remove, dtype=np.int64))
    if remove.size and (remove[0] < 0 or remove[-1] >= n):
        raise DataError(f"points to remove must be {split} indices from 0 to {n - 1}")
    return np.setdiff1d(np.arange(n), remove, assume_unique=True)


def nearest_point(
    data: Dataset, point: tuple[float, float], within: float
) -> tuple[str, int] | None:
    """The point of either split nearest `point` in the first two inputs, as ("train" or
    "test", its index), if it lies within `within` (for a click that removes a point); None
    otherwise."""
    best: tuple[float, str, int] | None = None
    for split, x in (("train", data.x_train), ("test", data.x_test)):
        if len(x):
            distance = np.hypot(*(x[:, :2] - np.asarray(point, dtype=float)).T)
            index = int(np.argmin(distance))
            if distance[index] <= within and (best is None or distance[index] < best[0]):
                best = (float(distance[index]), split, index)
    return None if best is None else best[1:]
