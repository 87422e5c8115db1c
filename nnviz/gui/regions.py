"""The colour of each grid cell of a network with several classes (no Qt): the most probable
class's colour, the lighter the less sure the network is.

Confidence is how far the top probability rises above a uniform guess, (p_max - 1/K) / (1 - 1/K),
from 0 (every class equally likely) to 1 (certain). Even an unsure cell keeps a tint of its class
(`FLOOR`), so every region reads by its colour and the boundary between two regions shows as a
pale band, as the binary map's white band at p = 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The share of a class's colour an unsure cell keeps (a certain one: all of it).
FLOOR = 0.2


def class_regions(probabilities: np.ndarray, colors: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """(ny, nx, 4) uint8 RGBA of (ny, nx, K) probabilities: colour = `colors[argmax]` mixed with
    white by confidence. Cells with NaN (a diverged network) are white."""
    k = probabilities.shape[-1]
    finite = np.isfinite(probabilities).all(axis=-1)
    p = np.where(finite[..., None], probabilities, 0.0)
    top = np.argmax(p, axis=-1)
    confidence = np.clip((p.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    share = np.where(finite, FLOOR + (1.0 - FLOOR) * confidence, 0.0)[..., None]
    palette = np.asarray(colors, dtype=np.float32)[:k]
    rgb = 255.0 - (255.0 - palette[top]) * share
    out = np.empty((*top.shape, 4), dtype=np.uint8)
    out[..., :3] = np.round(rgb)
    out[..., 3] = 255
    return out


def class_margins(probabilities: np.ndarray) -> np.ndarray:
    """(K, ny, nx): each class's probability minus the largest other one; the level-0 line of
    class k's margin is the edge of its region (for `threshold_contour`)."""
    p = np.moveaxis(probabilities, -1, 0)
    k = p.shape[0]
    margins = np.empty_like(p)
    for c in range(k):
        others = np.delete(p, c, axis=0)
        margins[c] = p[c] - others.max(axis=0)
    return margins
