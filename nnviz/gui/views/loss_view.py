"""The loss curve: train and test loss against iteration, from the snapshot's history."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .. import style
from ..frame import Frame

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
    is divided by the split's size to put train (750 points) and test (250) on one scale."""
    history = frame.snapshot.history
    train, test = history.train_loss, history.test_loss
    if frame.config.loss == "sse":
        train = train / len(frame.data.y_train)
        test = test / len(frame.data.y_test)
    return history.iteration, train, test


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
        self.legend = style.light_legend(item, offset=(-10, 10))
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
        self._loss: str | None = None
        self._empty = False  # showing a run with fewer than two points (a fixed 0-1 x range)

        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addStretch(1)
        controls.addWidget(self.log_scale_check)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.plot_widget, 1)

    def show_frame(self, frame: Frame) -> None:
        iteration, train, test = loss_curves(frame)
        self.train_curve.setData(iteration, train)
        self.test_curve.setData(iteration, test)
        self._fit_x_range(len(iteration))
        if frame.config.loss != self._loss:
            self._loss = frame.config.loss
            label = LOSS_LABELS.get(self._loss, f"loss ({self._loss})")
            self.plot_widget.getPlotItem().setLabel("left", label)

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
