"""Colours shared by every view: TensorFlow Playground's orange (negative, class 0) and blue."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

ORANGE = (245, 147, 34)  # negative weights, class 0
BLUE = (8, 119, 189)  # positive weights, class 1
NEUTRAL = (232, 234, 237)
TEXT = (40, 40, 40)


def probability_colormap() -> pg.ColorMap:
    """Diverging map for p in [0, 1]: orange at 0, near-white at 0.5, blue at 1."""
    return pg.ColorMap(np.array([0.0, 0.5, 1.0]), np.array([ORANGE, NEUTRAL, BLUE], dtype=np.ubyte))


def probability_lut() -> np.ndarray:
    """A 256-entry uint8 RGBA lookup table of `probability_colormap()`, for ImageItem."""
    return probability_colormap().getLookupTable(0.0, 1.0, 256, alpha=True)


#: One colour per class, up to CLASSES_MAX: Playground's orange and blue for classes 0 and 1,
#: then hues far from both and from the purple of the test curves (the ROC view draws a curve
#: per class in these colours next to them).
CLASS_COLORS = (
    ORANGE,
    BLUE,
    (44, 160, 44),  # green
    (214, 39, 40),  # red
    (140, 86, 75),  # brown
    (23, 190, 207),  # cyan
    (227, 119, 194),  # pink
    (188, 189, 34),  # olive
)


def class_colors(labels: np.ndarray) -> list[pg.QtGui.QBrush]:
    """One brush per point: orange for class 0, blue for class 1, then CLASS_COLORS."""
    brushes = [pg.mkBrush(*color) for color in CLASS_COLORS]
    return [brushes[int(label)] for label in labels]


def value_colors(values: np.ndarray, levels: tuple[float, float]) -> list[pg.QtGui.QBrush]:
    """One brush per point, its value's colour on `probability_colormap()` over `levels`
    (a regression's targets, coloured as the predicted surface under them)."""
    low, high = levels
    position = np.clip((np.asarray(values, float) - low) / (high - low), 0.0, 1.0)
    rgb = probability_colormap().map(np.nan_to_num(position, nan=0.5), mode="byte")
    return [pg.mkBrush(*color[:3]) for color in rgb]


def color_hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


# -- plots (added for the loss, boundary and ROC views) -------------------------------------------

AXIS_COLOR = (90, 90, 90)
CONTOUR_COLOR = (33, 33, 33)  # the decision-threshold line on the probability map
CHANCE_COLOR = (150, 150, 150)  # the ROC chance diagonal
LABEL_SIZE = "10pt"
# Splits in the loss and ROC views: near-black and purple, so they never read as a class colour.
TRAIN_CURVE = (33, 33, 33)
TEST_CURVE = (148, 82, 190)


def style_axis(axis: pg.AxisItem) -> None:
    """Dark axis line, ticks and tick labels, for a white background."""
    axis.setPen(pg.mkPen(*AXIS_COLOR))
    axis.setTextPen(pg.mkPen(*TEXT))


def light_plot_widget(
    x_label: str, y_label: str, axis_items: dict[str, pg.AxisItem] | None = None
) -> pg.PlotWidget:
    """A white PlotWidget with dark axes and labelled x/y axes, legible at about 450x350 px."""
    widget = pg.PlotWidget(background="w", axisItems=axis_items)
    item = widget.getPlotItem()
    item.layout.setContentsMargins(2, 8, 14, 2)  # room for the last tick labels at the edges
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        style_axis(axis)
        axis.enableAutoSIPrefix(False)  # no "(x0.001)" on a loss or a rate
    set_axis_labels(item, x_label, y_label)
    return widget


def set_axis_labels(item: pg.PlotItem, x_label: str, y_label: str) -> None:
    """Name the bottom and left axes in the plots' label style."""
    label_style = {"color": pg.mkColor(TEXT).name(), "font-size": LABEL_SIZE}
    item.setLabel("bottom", x_label, **label_style)
    item.setLabel("left", y_label, **label_style)
