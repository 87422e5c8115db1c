"""Colours shared by every view: TensorFlow Playground's orange (negative, class 0) and blue."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

ORANGE = (245, 147, 34)  # negative weights, class 0
BLUE = (8, 119, 189)  # positive weights, class 1
NEUTRAL = (232, 234, 237)
TEXT = (40, 40, 40)
TRAIN_COLOR = (31, 119, 180)
TEST_COLOR = (214, 39, 40)


def probability_colormap() -> pg.ColorMap:
    """Diverging map for p in [0, 1]: orange at 0, near-white at 0.5, blue at 1."""
    return pg.ColorMap(np.array([0.0, 0.5, 1.0]), np.array([ORANGE, NEUTRAL, BLUE], dtype=np.ubyte))


def probability_lut() -> np.ndarray:
    """A 256-entry uint8 RGBA lookup table of `probability_colormap()`, for ImageItem."""
    return probability_colormap().getLookupTable(0.0, 1.0, 256, alpha=True)


def class_colors(labels: np.ndarray) -> list[pg.QtGui.QBrush]:
    """One brush per point: orange for class 0, blue for class 1."""
    brushes = {0: pg.mkBrush(*ORANGE), 1: pg.mkBrush(*BLUE)}
    return [brushes[int(label)] for label in labels]
