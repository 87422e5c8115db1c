"""Where a grid of values crosses a level, as line segments (no Qt): the decision boundary, a
class region's edge, and the other seeds' boundaries are all drawn from it."""

from __future__ import annotations

import numpy as np


def threshold_contour(
    z: np.ndarray, extent: tuple[float, float, float, float], level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Line segments where the row-major grid `z` ([y, x], sampled at the corners of `extent`)
    crosses `level`, as x and y arrays of point pairs (for `connect="pairs"`).

    Marching squares, vectorised, on the few cells whose corners are not all on one side. A saddle
    cell (two opposite corners above the level) is resolved by the mean of its corners, as
    `skimage.measure.find_contours` does. Cells next to NaN values give no segments.
    """
    ny, nx = z.shape
    above = z >= level
    bl, br, tl, tr = above[:-1, :-1], above[:-1, 1:], above[1:, :-1], above[1:, 1:]
    j, i = np.nonzero((bl != br) | (bl != tl) | (bl != tr))
    bl, br, tl, tr = bl[j, i], br[j, i], tl[j, i], tr[j, i]
    z_bl, z_br, z_tl, z_tr = z[j, i], z[j, i + 1], z[j + 1, i], z[j + 1, i + 1]

    def crossing(z0: np.ndarray, z1: np.ndarray) -> np.ndarray:
        """Where along an edge from z0 to z1 the level lies, as a fraction in [0, 1] (clipped:
        with values near the float limits, as a diverging node map has, the quotient overflows)."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.clip((level - z0) / (z1 - z0), 0.0, 1.0)

    # The crossing point on each edge of each cell: bottom, top, left, right (in grid units).
    i, j = i.astype(float), j.astype(float)
    px = np.column_stack([i + crossing(z_bl, z_br), i + crossing(z_tl, z_tr), i, i + 1])
    py = np.column_stack([j, j + 1, j + crossing(z_bl, z_tl), j + crossing(z_br, z_tr)])
    crossed = np.column_stack([bl != br, tl != tr, bl != tl, br != tr])
    count = crossed.sum(axis=1)

    # Ordinary cells: one segment between the two crossed edges.
    cell = np.nonzero(count == 2)[0]
    first = np.argmax(crossed[cell], axis=1)
    second = 3 - np.argmax(crossed[cell, ::-1], axis=1)
    starts, ends = [(cell, first)], [(cell, second)]

    # Saddles: two segments. If the centre is on the bottom-left corner's side, that corner joins
    # the top-right one and the other two corners are cut off (bottom+right, top+left edges);
    # otherwise the bottom-left (bottom+left) and top-right (top+right) corners are cut off.
    cell = np.nonzero(count == 4)[0]
    if len(cell):
        centre = (z_bl[cell] + z_br[cell] + z_tl[cell] + z_tr[cell]) / 4
        joined = (centre >= level) == bl[cell]
        starts += [(cell, np.zeros_like(cell)), (cell, np.ones_like(cell))]
        ends += [(cell, np.where(joined, 3, 2)), (cell, np.where(joined, 2, 3))]

    def points(parts: list) -> tuple[np.ndarray, np.ndarray]:
        rows = np.concatenate([r for r, _ in parts])
        edges = np.concatenate([e for _, e in parts])
        return px[rows, edges], py[rows, edges]

    (x0, y0), (x1, y1) = points(starts), points(ends)
    keep = np.isfinite(x0) & np.isfinite(y0) & np.isfinite(x1) & np.isfinite(y1)
    xmin, xmax, ymin, ymax = extent
    dx, dy = (xmax - xmin) / (nx - 1), (ymax - ymin) / (ny - 1)
    x = xmin + np.column_stack([x0[keep], x1[keep]]).ravel() * dx
    y = ymin + np.column_stack([y0[keep], y1[keep]]).ravel() * dy
    return x, y
