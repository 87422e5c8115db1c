"""core.segments.crossings, which the diagram's labels and the plots' corner legends share:
checked against sampling points along each segment."""

from __future__ import annotations

import numpy as np

from nnviz.core.segments import crossings


def sampled(boxes: np.ndarray, segments: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """(C, E) whether any of 2001 points along segment e lies in box c grown by margins[e]."""
    t = np.linspace(0.0, 1.0, 2001)[None, :, None]
    points = segments[:, :1] + t * (segments[:, 1:] - segments[:, :1])  # (E, T, 2)
    grow = margins[None, :, None]
    x, y = points[None, ..., 0], points[None, ..., 1]
    inside = (x >= boxes[:, None, None, 0] - grow) & (x <= boxes[:, None, None, 2] + grow)
    inside &= (y >= boxes[:, None, None, 1] - grow) & (y <= boxes[:, None, None, 3] + grow)
    return inside.any(axis=2)


def test_crossings_agree_with_points_sampled_along_each_segment():
    rng = np.random.default_rng(3)
    corners = rng.uniform(0, 10, (40, 2, 2))
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    segments = rng.uniform(-2, 12, (300, 2, 2))
    margins = rng.uniform(0, 0.5, 300)
    got = crossings(boxes, segments, margins)
    want = sampled(boxes, segments, margins)
    assert got.shape == (40, 300)
    # Sampling can only miss a corner clipped by a hair; it never finds a crossing that is not.
    assert not (want & ~got).any()
    assert (got & ~want).sum() <= 2
    assert 0.05 < got.mean() < 0.95  # the case is neither all nor none


def test_crossings_of_points_nan_and_empty_inputs():
    box = np.array([[0.0, 0.0, 1.0, 1.0]])
    through = [[-1.0, 0.5], [2.0, 0.5]]  # no end inside
    point_in, point_out = [[0.5, 0.5], [0.5, 0.5]], [[2.0, 2.0], [2.0, 2.0]]
    broken = [[0.5, 0.5], [np.nan, np.nan]]
    got = crossings(box, np.array([through, point_in, point_out, broken]))
    assert got.tolist() == [[True, True, False, False]]
    assert crossings(box, np.zeros((0, 2, 2))).shape == (1, 0)
    assert crossings(np.zeros((0, 4)), np.array([through])).shape == (0, 1)
