"""The ROC: train and test curves with their AUC, the chance diagonal and the threshold's point;
for a run of several seeds, the other seeds' test curves faintly and the AUC's mean ± sd."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import style
from ..frame import Frame, RocCurve, SeedView
from .corner_legend import LOWER_RIGHT, UNDER_DIAGONAL, UPPER_LEFT, CornerLegend
from .roc_tasks import ClassCurves, PredictionScatter, r2_title

#: The axes show [0, 1] with this much room on each side: the curves never touch the frame, and
#: the "1.0" tick labels fit (pyqtgraph hides a tick label that would cross the axis' end).
PADDING = 0.04
GRID_COLOR = (232, 232, 232)
#: The other seeds' test curves: the test colour, faint.
SEED_CURVE_ALPHA = 60


def auc_text(split: str, roc: RocCurve, digits: int = 4) -> str:
    """The legend entry of one split: "train  AUC 0.9974", or "AUC n/a" when undefined."""
    auc = "n/a" if math.isnan(roc.auc) else f"{roc.auc:.{digits}f}"
    return f"{split}  AUC {auc}"


class RocView(QtWidgets.QWidget):
    """Train (solid) and test (dashed) ROC curves, with each curve's point at the threshold."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = style.light_plot_widget("false positive rate", "true positive rate")
        item = self.plot_widget.getPlotItem()
        item.disableAutoRange()
        item.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=PADDING)
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
        item.hideButtons()

        # A static grid at the tick positions, as one item: the axes' own grid repaints the whole
        # view on every change and costs about 4 ms a redraw here.
        ticks = np.linspace(0.0, 1.0, 6)
        ends = np.zeros_like(ticks), np.ones_like(ticks)
        grid_x = np.concatenate([np.column_stack([ticks, ticks]), np.column_stack(ends)]).ravel()
        grid_y = np.concatenate([np.column_stack(ends), np.column_stack([ticks, ticks])]).ravel()
        self.grid = pg.PlotCurveItem(grid_x, grid_y, connect="pairs", pen=pg.mkPen(*GRID_COLOR))
        self.grid.setZValue(-10)
        item.addItem(self.grid)
        self.chance = item.plot(
            [0.0, 1.0],
            [0.0, 1.0],
            pen=pg.mkPen(*style.CHANCE_COLOR, width=1, style=QtCore.Qt.PenStyle.DashLine),
        )
        # The legend and the AUC over seeds, in one box inside the plot (corner_legend.py).
        self.corner_legend = CornerLegend(item.vb, (LOWER_RIGHT, UPPER_LEFT), UNDER_DIAGONAL)
        self.legend = self.corner_legend.legend
        self.seed_auc = self.corner_legend.note
        self.plot_widget.scene().sigPrepareForPaint.connect(self._on_scene_prepare_for_paint)
        self.train_curve = item.plot(pen=pg.mkPen(*style.TRAIN_CURVE, width=2))
        self.test_curve = item.plot(
            pen=pg.mkPen(*style.TEST_CURVE, width=2, style=QtCore.Qt.PenStyle.DashLine)
        )
        self.corner_legend.add(self.train_curve, "train")
        self.corner_legend.add(self.test_curve, "test")
        marker = {"size": 10, "pen": pg.mkPen(255, 255, 255, width=1.5)}
        self.train_point = pg.ScatterPlotItem(brush=pg.mkBrush(*style.TRAIN_CURVE), **marker)
        self.test_point = pg.ScatterPlotItem(brush=pg.mkBrush(*style.TEST_CURVE), **marker)
        for point in (self.train_point, self.test_point):
            point.setZValue(10)
            item.addItem(point)
        # A legend entry for the markers, drawn with a neutral sample that is not in the plot.
        self._point_sample = pg.PlotDataItem(
            pen=None, symbol="o", symbolSize=9, symbolBrush=(110, 110, 110), symbolPen="w"
        )
        self.corner_legend.add(self._point_sample, "threshold")
        self.seed_curves = pg.PlotCurveItem(
            pen=pg.mkPen(*style.TEST_CURVE, SEED_CURVE_ALPHA, width=1), connect="finite"
        )
        self.seed_curves.setZValue(-1)
        item.addItem(self.seed_curves)

        self.class_curves = ClassCurves(item)
        self.predictions = PredictionScatter(item)
        self._kind = "binary"
        self._class_entries = 0  # class curves in the legend
        self._title: str | None = None
        self._watch()

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget, 1)

    @QtCore.Slot()
    def _on_scene_prepare_for_paint(self) -> None:
        """Place the legend once a paint, after the plot took its new range and size (the
        box's own prepareForPaint, connected first, runs first)."""
        self.corner_legend.place()

    def _watch(self) -> None:
        """Tell the legend which of the shown items it must keep clear of."""
        legend = self.corner_legend
        if self._kind == "regression":
            legend.lines, legend.faint = [], []
            legend.points = [self.predictions.train, self.predictions.test]
            return
        legend.lines = [self.train_curve, self.test_curve, *self.class_curves.curves]
        legend.faint = [self.seed_curves]
        legend.points = [self.train_point, self.test_point]

    def show_frame(self, frame: Frame) -> None:
        if frame.kind != self._kind:
            self._set_kind(frame.kind)
        if frame.kind != "binary":
            self._show_task(frame)
        else:
            self._show_binary(frame)
        self.corner_legend.fit_if_changed()  # placed before the next paint

    def _show_binary(self, frame: Frame) -> None:
        train, test = frame.train_roc, frame.test_roc
        self.train_curve.setData(train.fpr, train.tpr)
        self.test_curve.setData(test.fpr, test.tpr)
        self.train_point.setData(pos=np.array([train.operating_point]))
        self.test_point.setData(pos=np.array([test.operating_point]))
        legend = self.corner_legend
        legend.set_text(self.train_curve, auc_text("train", train), auc_text("train", train, 3))
        legend.set_text(self.test_curve, auc_text("test", test), auc_text("test", test, 3))
        threshold = f"{frame.threshold:.2f}"
        legend.set_text(self._point_sample, f"at threshold {threshold}", f"threshold {threshold}")
        self.show_seeds(frame.seeds)

    def show_seeds(self, seeds: SeedView | None) -> None:
        """The other seeds' test curves, faintly, and the AUC over all seeds in a corner."""
        if seeds is None:
            self.seed_curves.setData([], [])
            self.corner_legend.set_note(None)
            return
        self.seed_curves.setData(*seeds.other_rocs)
        self.corner_legend.set_note(self.seed_auc_text(seeds), self.seed_auc_text(seeds, True))

    @staticmethod
    def seed_auc_text(seeds: SeedView, short: bool = False) -> str:
        """The note under the legend; the short one, for a small plot, leaves the faint
        curves unexplained."""
        auc = f"train {seeds.auc_text('train')}\ntest  {seeds.auc_text('test')}"
        if short:
            return f"AUC of {seeds.count} seeds\n{auc}"
        return f"AUC of {seeds.count} seeds (mean ± sd)\n{auc}\nfaint: the other seeds' test curves"

    # -- several classes and regression -----------------------------------------------------

    def _set_kind(self, kind: str) -> None:
        """Switch the plot between ROC curves (two or several classes) and predicted versus
        true (regression): its items, axes and legend entries."""
        self.show_seeds(None)  # a run of several seeds is always binary
        self._kind = kind
        roc, binary, regression = kind != "regression", kind == "binary", kind == "regression"
        for shown in (self.grid, self.chance, self.train_curve, self.test_curve):
            shown.setVisible(roc)
        for shown in (self.train_point, self.test_point):
            shown.setVisible(binary)
        self.class_curves.set_visible(0)
        self.predictions.set_visible(regression)
        item = self.plot_widget.getPlotItem()
        if regression:
            style.set_axis_labels(item, "true target", "predicted target")
            entries = [
                (self.predictions.train, "train"),
                (self.predictions.test, "test"),
                (self.predictions.identity, "y = x"),
            ]
        else:
            style.set_axis_labels(item, "false positive rate", "true positive rate")
            item.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=PADDING)
            entries = [(self.train_curve, "train"), (self.test_curve, "test")]
            if binary:
                entries.append((self._point_sample, "threshold"))
        self.predictions.range = None
        self.corner_legend.clear()
        for entry, text in entries:
            self.corner_legend.add(entry, text)
        self._class_entries = 0
        self._set_title(None)
        self._watch()

    def _show_task(self, frame: Frame) -> None:
        metrics = frame.metrics
        if frame.kind == "regression":
            scatter = self.predictions
            scatter.show(metrics.train, metrics.test)
            target_range = scatter.target_range(metrics.train, metrics.test)
            if scatter.range != target_range:
                scatter.place(*target_range)
                self.plot_widget.getPlotItem().setRange(
                    xRange=target_range, yRange=target_range, padding=0
                )
            self._set_title(r2_title(metrics.train, metrics.test))
            return
        train, test = frame.train_roc, frame.test_roc
        self.train_curve.setData(train.fpr, train.tpr)
        self.test_curve.setData(test.fpr, test.tpr)
        legend = self.corner_legend
        legend.set_text(
            self.train_curve, auc_text("train  macro", train), auc_text("train", train, 3)
        )
        legend.set_text(self.test_curve, auc_text("test  macro", test), auc_text("test", test, 3))
        texts = self.class_curves.show(metrics.test)
        classes = len(texts)
        if classes != self._class_entries:  # a new run with another number of classes
            for curve in self.class_curves.curves[: self._class_entries]:
                legend.remove(curve)
            for curve, (text, short) in zip(self.class_curves.curves, texts):
                legend.add(curve, text, short)
            self._class_entries = classes
            self.class_curves.set_visible(classes)
            self._set_title("each class against the rest (test)")
        for curve, (text, short) in zip(self.class_curves.curves, texts):
            legend.set_text(curve, text, short)

    def _set_title(self, text: str | None) -> None:
        """The plot's title, set only when it changes (each change lays the plot out again)."""
        if text != self._title:
            self._title = text
            self.plot_widget.setTitle(text, size="9pt", color=style.TEXT)

    def plot_title(self) -> str | None:
        """The title shown above the plot (R² for regression), or None."""
        return self._title

    def legend_texts(self) -> list[str]:
        """The legend's entries as shown, top to bottom."""
        return self.corner_legend.texts()
