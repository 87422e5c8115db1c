"""Feature crosses: what the network's input units are, computed from a dataset's raw inputs.

TensorFlow Playground offers x1, x2, x1², x2², x1·x2, sin x1 and sin x2 as inputs for its 2-D
data; `--features` picks any of them, in the order given. The Dataset always holds the raw
inputs (the points as drawn); `FeatureMap.apply` turns raw rows into network inputs, so the
trainer, the metrics, the step-through and the window's grids in raw coordinates all go through
the same function.

Data with more than two inputs (iris, wine, a wide CSV) takes its raw inputs as they are: only
the default `x1,x2`, which then means "every raw input", is allowed for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import FEATURES, RAW_FEATURES

RAW = RAW_FEATURES
__all__ = ["FEATURES", "LABELS", "RAW", "FeatureError", "FeatureMap"]

#: How the diagram and the explain panel name each input unit.
LABELS = {
    "x1": "x1",
    "x2": "x2",
    "x1sq": "x1²",
    "x2sq": "x2²",
    "x1x2": "x1·x2",
    "sinx1": "sin x1",
    "sinx2": "sin x2",
}


class FeatureError(ValueError):
    """The chosen crosses do not fit the data (more than two raw inputs)."""


@dataclass(frozen=True)
class FeatureMap:
    """Raw inputs (n, n_raw) -> network inputs (n, n_inputs).

    `names` are the network's input names: the feature codes for 2-D data, or the raw inputs'
    names when they pass through unchanged (`identity`).
    """

    features: tuple[str, ...]
    n_raw: int
    raw_names: tuple[str, ...]

    @classmethod
    def of(cls, features: tuple[str, ...], raw_names: tuple[str, ...]) -> FeatureMap:
        """The map of `features` for data whose raw inputs are `raw_names`; a FeatureError when
        crosses are asked of data that is not 2-D."""
        features = tuple(features)
        if len(raw_names) != 2 and features != RAW:
            raise FeatureError(
                f"feature crosses ({','.join(features)}) need data with 2 inputs; this data has "
                f"{len(raw_names)}, so only the default x1,x2 (every input as it is) is allowed"
            )
        return cls(features, len(raw_names), tuple(raw_names))

    @property
    def identity(self) -> bool:
        """True when the network sees the raw inputs unchanged (no copy is made)."""
        return self.features == RAW

    @property
    def n_inputs(self) -> int:
        return self.n_raw if self.identity else len(self.features)

    @property
    def names(self) -> tuple[str, ...]:
        """The network's input names: raw names, or crosses as written (x1², x1·x2, sin x1)."""
        if self.identity:
            return self.raw_names
        return tuple(LABELS[name] for name in self.features)

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Network inputs of raw rows: `raw` itself when nothing is crossed, else a new array."""
        if self.identity:
            return raw
        raw = np.asarray(raw, dtype=float)
        columns = {"x1": raw[:, 0], "x2": raw[:, 1]}
        out = np.empty((len(raw), len(self.features)))
        for column, name in enumerate(self.features):
            out[:, column] = _cross(name, columns)
        return out


def _cross(name: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    x1, x2 = columns["x1"], columns["x2"]
    if name in columns:
        return columns[name]
    if name == "x1sq":
        return x1 * x1
    if name == "x2sq":
        return x2 * x2
    if name == "x1x2":
        return x1 * x2
    if name == "sinx1":
        return np.sin(x1)
    return np.sin(x2)  # sinx2
