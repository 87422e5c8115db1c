"""The plane the boundary view and the node maps show, for data with any number of inputs (no Qt).

Two inputs are the plane itself (x1 x x2), as the article draws it. Data with more inputs (iris
4, wine 13, a wide CSV) is a function on a d-dimensional space, so the views show a 2-D section
of it: either a *slice*, two chosen inputs with every other input held at its training mean or
at one training sample's value, or the training inputs' first two *principal components* (a
grid in PC space mapped back to raw inputs through the mean and the components). Either way the
view evaluates the network at genuine raw points, through the task's crosses, and the points
are drawn at their coordinates in the plane (`project`), so the caption says which section it is.

PCA is plain SVD of the centred training inputs (`numpy.linalg.svd`), with each component's sign
fixed so that its largest entry is positive: the picture does not flip between two runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import Config, Dataset
from ..core.datasets import padded_bounds

#: What the sections are called in the selector and the caption.
MODES = ("pca", "slice")
#: The window remembers the plane last chosen for at most this many datasets.
MAX_REMEMBERED = 32


@dataclass(frozen=True)
class PlaneChoice:
    """What the user asked for: PCA, or a slice through inputs `axes` with the others held at
    their mean (`sample` None) or at training sample `sample`. Ignored for 2-D data."""

    mode: str = "pca"
    axes: tuple[int, int] = (0, 1)
    sample: int | None = None

    def fits(self, data: Dataset) -> bool:
        """`data` has the chosen inputs and training sample (PCA fits any data)."""
        return self.mode == "pca" or (
            self.axes_fit(data.n_inputs) and self.sample_fits(len(data.x_train))
        )

    def axes_fit(self, inputs: int) -> bool:
        """The slice's two axes are distinct inputs of data with `inputs` of them."""
        i, j = self.axes
        return 0 <= i < inputs and 0 <= j < inputs and i != j

    def sample_fits(self, samples: int) -> bool:
        """The held sample, if any, is one of `samples` training samples."""
        return self.sample is None or 0 <= self.sample < samples

    def to_json(self) -> dict[str, Any]:
        """As a session's view and the settings keep it."""
        return {"mode": self.mode, "axes": list(self.axes), "sample": self.sample}

    @classmethod
    def from_json(cls, value: object) -> PlaneChoice:
        """The choice `to_json` wrote; PCA for anything else. A kept choice is a preference, so
        an unknown or damaged one falls back quietly."""
        if not isinstance(value, dict):
            return cls()
        mode, axes, sample = value.get("mode"), value.get("axes"), value.get("sample")
        if (
            mode in MODES
            and isinstance(axes, list)
            and len(axes) == 2
            and all(_index(axis) for axis in axes)
            and axes[0] != axes[1]
            and (sample is None or _index(sample))
        ):
            return cls(mode, (axes[0], axes[1]), sample)
        return cls()


@dataclass(frozen=True, eq=False)
class Plane:
    """A 2-D section of the raw input space: raw point = origin + u * basis[0] + v * basis[1].

    `kind` is "plane" (2-D data: the inputs themselves), "slice" or "pca". `extent` covers the
    points' projections with a tenth of margin on each side (`padded_bounds`, as the data's
    own `Dataset.bounds`).
    """

    kind: str
    names: tuple[str, ...]  # the raw inputs' names
    origin: np.ndarray  # (d,)
    basis: np.ndarray  # (2, d)
    extent: tuple[float, float, float, float]
    axes: tuple[int, int] = (0, 1)
    sample: int | None = None
    explained: float = 1.0  # PCA: the share of the variance PC1 and PC2 hold

    @classmethod
    def of(cls, data: Dataset, choice: PlaneChoice | None = None) -> Plane:
        """The section of `data`'s input space that `choice` names (invalid parts fall back:
        axes beyond the inputs to the first two, a sample beyond the training set to the mean)."""
        choice = choice or PlaneChoice()
        names, d = tuple(data.feature_names), data.n_inputs
        if d == 2:
            return cls("plane", names, np.zeros(2), np.eye(2), data.bounds)
        x = data.x_train
        if choice.mode == "pca":
            mean = x.mean(axis=0)
            _, singular, vt = np.linalg.svd(x - mean, full_matrices=False)
            largest = np.argmax(np.abs(vt[:2]), axis=1)
            basis = vt[:2] * np.sign(vt[[0, 1], largest])[:, None]
            variance = singular**2
            explained = float(variance[:2].sum() / variance.sum()) if variance.sum() else 1.0
            extent = padded_bounds((_all_points(data) - mean) @ basis.T)
            return cls("pca", names, mean, basis, extent, explained=explained)
        i, j = choice.axes if choice.axes_fit(d) else (0, 1)
        sample = choice.sample if choice.sample_fits(len(x)) else None
        origin = (x.mean(axis=0) if sample is None else x[sample]).astype(float)
        origin[[i, j]] = 0.0
        basis = np.zeros((2, d))
        basis[0, i] = basis[1, j] = 1.0
        extent = padded_bounds(_all_points(data)[:, [i, j]])
        return cls("slice", names, origin, basis, extent, axes=(i, j), sample=sample)

    def __eq__(self, other: object) -> bool:
        """Equal planes draw the same picture (the views compare them to skip work)."""
        if not isinstance(other, Plane):
            return NotImplemented
        same = (self.kind, self.names, self.extent, self.axes, self.sample) == (
            other.kind,
            other.names,
            other.extent,
            other.axes,
            other.sample,
        )
        return (
            same
            and np.array_equal(self.origin, other.origin)
            and np.array_equal(self.basis, other.basis)
        )

    __hash__ = None  # mutable arrays inside: never a dict key

    @property
    def choice(self) -> PlaneChoice:
        """The choice that shows this plane (PCA for 2-D data, where choices mean nothing)."""
        return (
            PlaneChoice("slice", self.axes, self.sample) if self.kind == "slice" else PlaneChoice()
        )

    @property
    def axis_labels(self) -> tuple[str, str]:
        if self.kind == "pca":
            return ("PC1", "PC2")
        return (self.names[self.axes[0]], self.names[self.axes[1]])

    @property
    def caption(self) -> str:
        """What the view shows, in words; "" for 2-D data, whose plane needs no saying."""
        if self.kind == "pca":
            return f"PCA: PC1 × PC2, {self.explained:.0%} of variance"
        if self.kind == "slice":
            x, y = self.axis_labels
            held = "their mean" if self.sample is None else f"training sample {self.sample}"
            return f"slice: {x} × {y}, others at {held}"
        return ""

    def to_raw(self, uv: np.ndarray) -> np.ndarray:
        """Raw input points (n, d) of plane coordinates (n, 2)."""
        if self.kind == "plane":
            return uv
        return self.origin + uv @ self.basis

    def project(self, raw: np.ndarray) -> np.ndarray:
        """Plane coordinates (n, 2) of raw points (n, d): where the views draw them."""
        if self.kind == "plane":
            return raw
        return (raw - self.origin) @ self.basis.T

    def grid(self, size: int) -> np.ndarray:
        """(size * size, d) raw points covering the extent, rows in y then x (the boundary
        grid's order, [y, x] once reshaped)."""
        xmin, xmax, ymin, ymax = self.extent
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, size), np.linspace(ymin, ymax, size))
        return self.to_raw(np.column_stack([gx.ravel(), gy.ravel()]))


def _all_points(data: Dataset) -> np.ndarray:
    return np.vstack([data.x_train, data.x_test])


def _index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def plane_key(config: Config) -> str:
    """Which data a remembered plane choice is for: the dataset's name, or the CSV file's path."""
    return f"csv:{config.csv_path}" if config.dataset == "csv" else config.dataset


def choices_text(choices: Mapping[str, PlaneChoice]) -> str:
    """The plane choice of each dataset, as the settings keep it (JSON)."""
    return json.dumps({key: choice.to_json() for key, choice in choices.items()})


def choices_from_text(text: object) -> dict[str, PlaneChoice]:
    """`choices_text` read back (the newest MAX_REMEMBERED); a damaged text gives nothing and a
    damaged entry PCA, quietly: they are preferences."""
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    entries = list(document.items())[-MAX_REMEMBERED:]
    return {key: PlaneChoice.from_json(value) for key, value in entries}
