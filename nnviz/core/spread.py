"""The mean ± standard deviation, minimum and maximum of a metric over several networks: a
sweep's repeats, `nnviz train --seeds` and its metrics.json, the window's run of several seeds.

One function, so the same seeds give the same numbers everywhere, in a module of its own that
imports only NumPy (the training process and the window's frame need it without the sweeps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Spread:
    """Mean, sample standard deviation, minimum and maximum of the defined values, and how
    many were defined."""

    mean: float
    sd: float
    min: float
    max: float
    count: int

    def to_dict(self) -> dict[str, float]:
        """The JSON form of a run of several seeds' metrics.json."""
        return {"mean": self.mean, "sd": self.sd, "min": self.min, "max": self.max}


def spread(values: Sequence[float] | np.ndarray) -> Spread:
    """The spread of `values` leaving out NaN (an AUC is undefined when a split lacks a class)
    and infinities; the sample standard deviation (ddof 1) is 0 for one value, and every number
    is NaN for none."""
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if not len(finite):
        return Spread(math.nan, math.nan, math.nan, math.nan, 0)
    sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return Spread(float(finite.mean()), sd, float(finite.min()), float(finite.max()), len(finite))
