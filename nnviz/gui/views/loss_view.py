"""The loss curve: train and test loss against iteration, from the snapshot's history; for a run
of several seeds, the median over the seeds with the band from their minimum to their maximum."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ...service.seeds import LossBand
from .. import style
from ..frame import Frame
from .corner_legend import LOWER_LEFT, SMALL, UPPER_RIGHT, CornerLegend

#: The y-axis label for each of the core's losses; sse is plotted per point (see `loss_curves`).
LOSS_LABELS = {
    "sse": "loss per point (SSE / n)",
    "mse": "loss (MSE)",
    "bce": "loss (BCE)",
}

#: Pixels for the y axis: its label and tick labels as long as "0.0001".
LEFT_AXIS_WIDTH = 64


class LossAxis(pg.AxisItem):
    """A y axis whose log mode labels only 1, 2 and 5 times a power of ten (pyqtgraph labels
    every minor tick when there is room, which crowds 0.06 0.07 0.08 0.09 together)."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        strings = super().logTickStrings(values, scale, spacing)
        mantissas = [f"{10.0**v * scale:.1e}"[0] for v in values]
        return [s if m in "125" else "" for s, m in zip(strings, mantissas)]


def loss_curves(frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iteration, train, test) as plotted: the core's sse is a sum over the split's points, so it
    is divided by the split's size to put train (750 points) and test (250) on one scale (a
    canvas emptied to draw on has no training points: divided by 1, not 0)."""
    history = frame.snapshot.history
    train, test = history.train_loss, history.test_loss
    if frame.config.loss == "sse":
        train = train / max(len(frame.data.y_train), 1)
        test = test / max(len(frame.data.y_test), 1)
    return history.iteration, train, test


def band_curves(frame: Frame, band: LossBand) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(iteration, train, test) of the band over the seeds, each loss as (median, min, max)
    rows, on the scale of `loss_curves`."""
    train, test = band.train, band.test
    if frame.config.loss == "sse":
        train = train / max(len(frame.data.y_train), 1)
        test = test / max(len(frame.data.y_test), 1)
    return band.iteration, train, test


#: The band's fill: the curve's colour, faint.
BAND_ALPHA = 50
#: A band of more rows is drawn from bins of rows (the lowest and highest of each bin), as
#: pyqtgraph's "peak" downsampling draws a curve: the same envelope, fewer vertices to fill.
BAND_POINTS = 512


class LossView(QtWidgets.QWidget):
    """Train (solid) and test (dashed) loss against iteration, with a log-scale toggle."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.log_scale_check = QtWidgets.QCheckBox("log scale")
        self.log_scale_check.setToolTip("Show the loss on a logarithmic axis.")
        self.log_scale_check.toggled.connect(self._on_log_scale_toggled)

        self.plot_widget = style.light_plot_widget(
            "iteration", LOSS_LABELS["sse"], axis_items={"left": LossAxis("left")}
        )
        item = self.plot_widget.getPlotItem()
        # A fixed width, so the plot does not jump as the tick labels get longer during training.
        item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        item.setLimits(xMin=0)  # iteration 0 alone would otherwise centre the axis on 0
        # Inside the plot, in the corner the curves leave empty (corner_legend.py).
        self.corner_legend = CornerLegend(item.vb, (UPPER_RIGHT, LOWER_LEFT), SMALL)
        self.legend = self.corner_legend.legend
        self.plot_widget.scene().sigPrepareForPaint.connect(self._on_scene_prepare_for_paint)
        # 1 px pens: 2 px lines made the redraw about 3x slower (3.5 ms vs 1.0 ms with 2000 points).
        curve_options = {
            "clipToView": True,
            "autoDownsample": True,
            "downsampleMethod": "peak",
            "connect": "finite",
        }
        self.train_curve = item.plot(
            name="train", pen=pg.mkPen(*style.TRAIN_CURVE, width=1), **curve_options
        )
        self.test_curve = item.plot(
            name="test",
            pen=pg.mkPen(*style.TEST_CURVE, width=1, style=QtCore.Qt.PenStyle.DashLine),
            **curve_options,
        )
        self._build_bands(item)
        self.corner_legend.add(self.train_curve, "train")
        self.corner_legend.add(self.test_curve, "test")
        self.corner_legend.lines = [self.train_curve, self.test_curve]
        self.corner_legend.areas = list(self.bands.values())
        self._loss: str | None = None
        self._empty = False  # showing a run with fewer than two points (a fixed 0-1 x range)
        self._legend_seeds = 1  # the seeds the legend names

        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addStretch(1)
        controls.addWidget(self.log_scale_check)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.plot_widget, 1)

    def _build_bands(self, item: pg.PlotItem) -> None:
        """For several seeds: each split's min-max band, one filled polygon in view
        coordinates (pyqtgraph's FillBetweenItem rebuilt its path from both edge curves on
        each of their changes: 22 ms a redraw for two bands of 2,000 points, this about 1 ms)."""
        self.bands: dict[str, QtWidgets.QGraphicsPathItem] = {}
        for split, colour in (("train", style.TRAIN_CURVE), ("test", style.TEST_CURVE)):
            band = QtWidgets.QGraphicsPathItem()
            band.setBrush(pg.mkBrush(*colour, BAND_ALPHA))
            band.setPen(pg.mkPen(None))
            band.setZValue(-5)
            band.setVisible(False)
            item.addItem(band)
            self.bands[split] = band
        self._band_rows: tuple | None = None  # (iteration, train, test) last drawn

    def _draw_bands(self) -> None:
        """Each band as the polygon along its minimum and back along its maximum (log10 of
        the losses on a log axis, as pyqtgraph maps curves)."""
        iteration, train, test = self._band_rows
        step = -(-len(iteration) // BAND_POINTS)  # rows per bin, rounded up
        edges = np.arange(0, len(iteration), step)  # each bin's first row; the last ends it
        at = np.append(iteration[edges], iteration[-1]).astype(float)
        x = np.concatenate([at, at[::-1]])
        for split, rows in (("train", train), ("test", test)):
            low = np.minimum.reduceat(rows[1], edges)
            high = np.maximum.reduceat(rows[2], edges)
            low, high = np.append(low, rows[1][-1]), np.append(high, rows[2][-1])
            y = np.concatenate([low, high[::-1]])
            if self.log_scale():
                with np.errstate(divide="ignore", invalid="ignore"):
                    y = np.log10(np.maximum(y, 1e-300))
            path = pg.arrayToQPath(x, y, connect="finite")
            path.closeSubpath()
            self.bands[split].setPath(path)

    def show_frame(self, frame: Frame) -> None:
        band = frame.seeds.band if frame.seeds is not None else None
        if band is None:
            iteration, train, test = loss_curves(frame)
        else:  # the curves are the seeds' medians
            self._band_rows = band_curves(frame, band)
            self._draw_bands()
            iteration, train, test = self._band_rows
            train, test = train[0], test[0]
        self._show_bands(0 if band is None else frame.seeds.count)
        self.train_curve.setData(iteration, train)
        self.test_curve.setData(iteration, test)
        self._fit_x_range(len(iteration))
        if frame.config.loss != self._loss:
            self._loss = frame.config.loss
            label = LOSS_LABELS.get(self._loss, f"loss ({self._loss})")
            self.plot_widget.getPlotItem().setLabel("left", label)
        self.corner_legend.fit_if_changed()  # placed before the next paint

    @QtCore.Slot()
    def _on_scene_prepare_for_paint(self) -> None:
        """Place the legend once a paint, after the plot took its new range and size (the
        box's own prepareForPaint, connected first, runs first)."""
        self.corner_legend.place()

    def _show_bands(self, seeds: int) -> None:
        """Bands and legend for `seeds` seeds (0: one network, no band)."""
        if seeds == self._legend_seeds:
            return
        self._legend_seeds = seeds
        for band in self.bands.values():
            band.setVisible(bool(seeds))
        for split, curve in (("train", self.train_curve), ("test", self.test_curve)):
            if seeds:
                text = f"{split}: median and min–max of {seeds} seeds"
                self.corner_legend.set_text(curve, text, f"{split}: median, min–max")
            else:
                self.corner_legend.set_text(curve, split)

    def legend_texts(self) -> list[str]:
        """The legend's entries as shown, top to bottom."""
        return self.corner_legend.texts()

    def _fit_x_range(self, points: int) -> None:
        """A new run starts from an empty axis, not the last run's range; then it follows."""
        item = self.plot_widget.getPlotItem()
        if points < 2 and not self._empty:
            item.setXRange(0, 1, padding=0)
        elif points >= 2 and self._empty:
            item.enableAutoRange(x=True)
        self._empty = points < 2

    def set_log_scale(self, log: bool) -> None:
        self.log_scale_check.setChecked(log)

    def log_scale(self) -> bool:
        return self.log_scale_check.isChecked()

    @QtCore.Slot(bool)
    def _on_log_scale_toggled(self, checked: bool) -> None:
        self.plot_widget.getPlotItem().setLogMode(y=checked)
        if self._band_rows is not None:
            self._draw_bands()
