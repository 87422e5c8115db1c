"""Which line segments pass through which boxes: the diagram's label placement and the plots'
corner legends both ask it, so the clipping lives once, here, without Qt."""

from __future__ import annotations

import numpy as np


def crossings(
    boxes: np.ndarray, segments: np.ndarray, margins: np.ndarray | None = None
) -> np.ndarray:
    """(C, E) whether segment e passes through box c grown by `margins[e]`, in part or whole.

    `boxes` is (C, 4): x_min, y_min, x_max, y_max (the diagram's left, top, right, bottom);
    `segments` is (E, 2, 2): each segment's two (x, y) ends. A segment of no length counts where
    its point lies in the box; a segment with a NaN end passes through none.
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    segments = np.asarray(segments, dtype=float).reshape(-1, 2, 2)
    result = np.zeros((len(boxes), len(segments)), dtype=bool)
    if not len(segments) or not len(boxes):
        return result
    margins = np.zeros(len(segments)) if margins is None else np.asarray(margins, dtype=float)
    # Only segments whose bounding box meets the boxes' can (most of a big network's do not;
    # NaN compares false: none).
    low = segments.min(axis=1) - margins[:, None]
    high = segments.max(axis=1) + margins[:, None]
    near = (low[:, 0] <= boxes[:, 2].max()) & (high[:, 0] >= boxes[:, 0].min())
    near &= (low[:, 1] <= boxes[:, 3].max()) & (high[:, 1] >= boxes[:, 1].min())
    if near.any():
        result[:, near] = _clip(boxes, segments[near], margins[near])
    return result


def _clip(boxes: np.ndarray, segments: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """(C, E) whether segment e passes through box c grown by `margins[e]` (Liang-Barsky: the
    segment start + t delta, t in [0, 1], is in the box where p t <= q at each edge)."""
    start = segments[:, 0]
    delta = segments[:, 1] - start
    grow = margins[None, :]
    x0, y0 = boxes[:, 0, None] - grow, boxes[:, 1, None] - grow
    x1, y1 = boxes[:, 2, None] + grow, boxes[:, 3, None] + grow
    t0 = np.zeros((len(boxes), len(segments)))
    t1 = np.ones_like(t0)
    ok = np.ones_like(t0, dtype=bool)
    sx, sy, dx, dy = start[:, 0], start[:, 1], delta[:, 0], delta[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-dx, sx - x0), (dx, x1 - sx), (-dy, sy - y0), (dy, y1 - sy)):
            parallel = p == 0
            ok &= ~(parallel & (q < 0))
            t = q / p
            t0 = np.where(~parallel & (p < 0), np.maximum(t0, t), t0)
            t1 = np.where(~parallel & (p > 0), np.minimum(t1, t), t1)
    return ok & (t0 <= t1)
