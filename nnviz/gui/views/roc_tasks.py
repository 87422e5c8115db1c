"""What the ROC view draws for the tasks beyond two classes (issue 14).

Several classes: one curve per class, that class against the rest on the test points, in the
class's colour (the macro-average curves of both splits are the view's own train and test
curves). Regression has no ROC: its place shows the predictions against the targets, both
splits, with the line y = x where a perfect network would put every point.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from ...core.config import CLASSES_MAX
from ...core.metrics import MulticlassSplitMetrics, RegressionSplitMetrics
from .. import style

#: Marker sizes of the predicted-versus-true points (as the boundary view's).
TRAIN_SIZE = 6
TEST_SIZE = 8


class ClassCurves:
    """One-vs-rest test curves, one per class, added to `item` once (CLASSES_MAX of them)."""

    def __init__(self, item: pg.PlotItem) -> None:
        self.curves = [
            item.plot(pen=pg.mkPen(*color, width=1.5)) for color in style.CLASS_COLORS[:CLASSES_MAX]
        ]
        for curve in self.curves:
            curve.setZValue(-2)  # under the macro-average curves
        self.set_visible(0)

    def set_visible(self, classes: int) -> None:
        """Show the first `classes` curves (0: none)."""
        for k, curve in enumerate(self.curves):
            curve.setVisible(k < classes)

    def show(self, split: MulticlassSplitMetrics) -> list[tuple[str, str]]:
        """Draw each class's curve; returns their legend texts ("class 0  AUC 0.9981") and
        the short ones for a small plot ("class 0  AUC 0.998")."""
        texts = []
        for k, (fpr, tpr, _) in enumerate(split.curves):
            self.curves[k].setData(fpr, tpr)
            auc = split.class_auc[k]
            text, short = (
                f"class {k}  AUC {'n/a' if math.isnan(auc) else f'{auc:.{d}f}'}" for d in (4, 3)
            )
            texts.append((text, short))
        return texts


class PredictionScatter:
    """Predicted against true target for both splits, with the line y = x."""

    def __init__(self, item: pg.PlotItem) -> None:
        self.identity = item.plot(
            pen=pg.mkPen(*style.CHANCE_COLOR, width=1, style=QtCore.Qt.PenStyle.DashLine)
        )
        self.train = pg.ScatterPlotItem(
            size=TRAIN_SIZE,
            symbol="o",
            brush=pg.mkBrush(*style.TRAIN_CURVE, 150),
            pen=pg.mkPen(255, 255, 255, 200, width=1),
        )
        self.test = pg.ScatterPlotItem(
            size=TEST_SIZE,
            symbol="t1",
            brush=pg.mkBrush(*style.TEST_CURVE, 200),
            pen=pg.mkPen(255, 255, 255, 200, width=1),
        )
        for z, points in enumerate((self.train, self.test)):
            points.setZValue(10 + z)
            item.addItem(points)
        self.range: tuple[float, float] | None = None
        self.set_visible(False)

    def set_visible(self, visible: bool) -> None:
        for item in (self.identity, self.train, self.test):
            item.setVisible(visible)

    def show(self, train: RegressionSplitMetrics, test: RegressionSplitMetrics) -> None:
        for points, split in ((self.train, train), (self.test, test)):
            finite = np.isfinite(split.predictions)  # a diverged network's are drawn nowhere
            points.setData(split.targets[finite], split.predictions[finite])

    def target_range(self, train: RegressionSplitMetrics, test: RegressionSplitMetrics) -> tuple:
        """Both axes' range: the targets' with a tenth of margin (fixed for a dataset, so the
        axes stay still while the predictions move)."""
        targets = np.concatenate([train.targets, test.targets])
        low, high = float(targets.min()), float(targets.max())
        pad = 0.1 * max(high - low, 1e-9)
        return (low - pad, high + pad)

    def place(self, low: float, high: float) -> None:
        self.identity.setData([low, high], [low, high])
        self.range = (low, high)


def r2_title(train: RegressionSplitMetrics, test: RegressionSplitMetrics) -> str:
    """ "R²  train 0.9812  ·  test 0.9781" ("n/a" where R² is undefined)."""

    def shown(r2: float) -> str:
        return "n/a" if math.isnan(r2) else f"{r2:.4f}"

    return f"R²  train {shown(train.r2)}  ·  test {shown(test.r2)}"
