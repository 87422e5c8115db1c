"""A sweep's metrics against the swept value: train solid, test dashed, min-max bars over seeds.

A regression sweep has no AUC, accuracy or misclassification: the Metric menu then offers R²
alone, and a classification sweep brings back the classification metrics (and the user's last
choice among them).

The window's Experiments panel shows one metric at a time; `nnviz sweep` draws all three side by
side with the same class and exports the picture (`save_sweep_plot`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ...core.sweep import SweepResult, value_text
from .. import style

#: The metrics a user can pick for a classification sweep: key, menu text, plot title.
METRIC_CHOICES = (
    ("auc", "AUC", "AUC"),
    ("accuracy", "accuracy", "accuracy"),
    ("misclassification", "misclassification", "misclassification rate"),
)
#: ... and for a regression sweep, which has no AUC, accuracy or misclassification.
REGRESSION_CHOICES = (("r2", "R²", "R²"),)
#: The menu entry that shows a classification sweep's three plots side by side.
ALL = "all"
ALL_TEXT = "all three"
LEFT_AXIS_WIDTH = 48
GRID_ALPHA = 0.2
#: Up to this many values on a linear axis, the ticks are the values themselves.
MAX_VALUE_TICKS = 12


def numeric_positions(values: Sequence) -> np.ndarray | None:
    """The x position of each value, or None when they are not all numbers (then x is the index).

    A one-layer `hidden` value (5,) counts as the number 5.
    """
    positions = []
    for value in values:
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        positions.append(float(value))
    return np.array(positions)


def spans_decades(x: np.ndarray) -> bool:
    """True when every value is positive and the largest is at least ten times the smallest."""
    return bool(len(x) > 1 and np.all(x > 0) and x.max() >= 10 * x.min())


class ValueAxis(pg.AxisItem):
    """An x axis whose log mode reads 0.001, 0.01, 1, 10, 1000 (not 10^-3 ... 10^3), and labels
    only 1, 2 and 5 times a power of ten, so the minor ticks of a short range do not crowd."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        strings = []
        for value in values:
            number = 10.0**value * scale
            mantissa = f"{number:.1e}"[0]
            strings.append(_plain_number(number) if mantissa in "125" else "")
        return strings


def _plain_number(number: float) -> str:
    if number >= 1:
        return f"{round(number):d}"
    return f"{number:.6f}".rstrip("0").rstrip(".")


class _MetricPlot:
    """One metric's plot: train and test curves with markers, and their error bars."""

    def __init__(self, layout: pg.GraphicsLayout, key: str, title: str) -> None:
        self.key = key
        self.item = pg.PlotItem(axisItems={"bottom": ValueAxis("bottom")})
        self.item.setTitle(title, color=pg.mkColor(*style.TEXT).name(), size="10pt")
        for name in ("left", "bottom"):
            axis = self.item.getAxis(name)
            style.style_axis(axis)
            axis.enableAutoSIPrefix(False)
        self.item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        self.item.showGrid(x=True, y=True, alpha=GRID_ALPHA)
        self.item.layout.setContentsMargins(2, 4, 12, 2)
        self.item.setMenuEnabled(False)
        self.item.hideButtons()
        train_color, test_color = style.TRAIN_CURVE, style.TEST_CURVE
        self.train = self.item.plot(
            pen=pg.mkPen(*train_color, width=2),
            symbol="o",
            symbolSize=8,
            symbolBrush=pg.mkBrush(*train_color),
            symbolPen=pg.mkPen(255, 255, 255),
            name="train",
        )
        self.test = self.item.plot(
            pen=pg.mkPen(*test_color, width=2, style=QtCore.Qt.PenStyle.DashLine),
            symbol="s",
            symbolSize=8,
            symbolBrush=pg.mkBrush(*test_color),
            symbolPen=pg.mkPen(255, 255, 255),
            name="test",
        )
        self.train_bars = pg.ErrorBarItem(pen=pg.mkPen(*train_color, width=1.5))
        self.test_bars = pg.ErrorBarItem(pen=pg.mkPen(*test_color, width=1.5))
        for bars in (self.train_bars, self.test_bars):
            bars.setZValue(-1)
            self.item.addItem(bars)
        self.layout = layout


def menu_entries(regression: bool) -> list[tuple[str, str]]:
    """The Metric menu's (key, text) entries for a sweep of one kind."""
    if regression:
        return [(key, text) for key, text, _ in REGRESSION_CHOICES]
    return [*((key, text) for key, text, _ in METRIC_CHOICES), (ALL, ALL_TEXT)]


class SweepView(QtWidgets.QWidget):
    """AUC, accuracy or misclassification (or all three) of a sweep against the swept value, or
    R² for a regression sweep.

    Build once, then `show_result(result)`. The Metric menu offers only the metrics of the shown
    result's task: the user's choice stays while it applies, and otherwise the task's first metric
    is shown. The x axis is logarithmic when the values are positive and span at least a decade,
    and categorical (one tick per value) when they are not numbers. With repeats, the markers are
    means and the bars span the minimum to the maximum over seeds.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._regression = False
        #: The metric the user last chose; shown whenever the result's task offers it.
        self._chosen = METRIC_CHOICES[0][0]
        self.metric_combo = QtWidgets.QComboBox()
        self._fill_menu()
        self.metric_combo.setToolTip("The metric to plot against the swept value.")
        self.metric_combo.currentIndexChanged.connect(self._on_metric_combo_changed)

        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setBackground("w")
        self.plot_widget.ci.layout.setContentsMargins(4, 4, 4, 4)
        # The caption is part of the picture, so exported plots say what they show.
        self.caption = self.plot_widget.ci.addLabel(
            "",
            row=0,
            col=0,
            colspan=len(METRIC_CHOICES),
            color=pg.mkColor(*style.TEXT),
            size="10pt",
        )
        self.plots = {
            key: _MetricPlot(self.plot_widget.ci, key, label)
            for key, _, label in (*METRIC_CHOICES, *REGRESSION_CHOICES)
        }
        self._visible: list[str] = []
        self._result: SweepResult | None = None
        self._log_x = False
        self._value_ticks: list[str] = []

        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addWidget(QtWidgets.QLabel("Metric"))
        controls.addWidget(self.metric_combo)
        controls.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.plot_widget, 1)
        self._arrange()

    # -- public ------------------------------------------------------------------------------

    def current_metric(self) -> str:
        return self.metric_combo.currentData()

    def menu_metrics(self) -> list[str]:
        """The keys the Metric menu offers now, in its order."""
        return [self.metric_combo.itemData(i) for i in range(self.metric_combo.count())]

    def shown_metrics(self) -> list[str]:
        """The keys of the plots in the picture, left to right."""
        return list(self._visible)

    def set_metric(self, key: str) -> None:
        """Show "auc", "accuracy", "misclassification" or "all" (three plots side by side) for
        a classification sweep, "r2" for a regression. A metric of the other task is kept as the
        choice and shown once a result of its task arrives."""
        if key not in self.plots and key != ALL:
            raise ValueError(f"unknown metric {key!r}")
        self._chosen = key
        index = self.metric_combo.findData(key)
        if index >= 0:
            self.metric_combo.setCurrentIndex(index)

    def result(self) -> SweepResult | None:
        return self._result

    def show_result(self, result: SweepResult | None) -> None:
        """Draw a sweep's rows (None clears the plots)."""
        self._result = result
        self._set_regression(result is not None and result.task == "regression")
        if result is None:
            for plot in self.plots.values():
                _clear(plot)
            self._set_caption("")
            return
        values = [row.value for row in result.rows]
        numeric = numeric_positions(values)
        x = numeric if numeric is not None else np.arange(len(values), dtype=float)
        log = numeric is not None and spans_decades(numeric)
        self._log_x = log
        drawn = {key for key, _ in menu_entries(self._regression)}
        for key, plot in self.plots.items():
            if key in drawn:  # the other task's plots would be all NaN: they are emptied
                self._draw(plot, result, x, log, categorical=numeric is None, values=values)
            else:
                _clear(plot)
        self._set_caption(self._caption_text(result, log))

    def value_ticks(self) -> list[str]:
        """The x tick labels when they are the values themselves (few values, or categories)."""
        return list(self._value_ticks)

    def plotted_data(self, key: str) -> dict[str, np.ndarray]:
        """What a metric's plot holds: x, train and test as drawn (for tests and checks)."""
        plot = self.plots[key]
        x, train = plot.train.getData()
        _, test = plot.test.getData()
        return {"x": x, "train": train, "test": test, "log_x": self._log_x}

    # -- drawing -----------------------------------------------------------------------------

    def _draw(
        self,
        plot: _MetricPlot,
        result: SweepResult,
        x: np.ndarray,
        log: bool,
        *,
        categorical: bool,
        values: list,
    ) -> None:
        item = plot.item
        item.setLogMode(x=log, y=False)
        item.setLabel("bottom", result.sweep.label, color=pg.mkColor(*style.TEXT).name())
        bottom = item.getAxis("bottom")
        if categorical or (not log and len(values) <= MAX_VALUE_TICKS):
            # one tick per value: 1, 2, 3 hidden nodes, never 1.5
            ticks = [(float(p), value_text(v)) for p, v in zip(x, values)]
            bottom.setTicks([ticks, []])
        else:
            ticks = []
            bottom.setTicks(None)
        self._value_ticks = [label for _, label in ticks]
        # The bars are not log-aware items: give them the axis' own coordinates.
        bar_x = np.log10(x) if log else x
        span = float(bar_x.max() - bar_x.min()) if len(bar_x) > 1 else 1.0
        beam = 0.025 * (span or 1.0)
        for split, curve, bars in (
            ("train", plot.train, plot.train_bars),
            ("test", plot.test, plot.test_bars),
        ):
            metric = f"{split}_{plot.key}"
            mean = np.array([row.mean(metric) for row in result.rows])
            curve.setData(x, mean, connect="finite")
            if result.repeats > 1:
                low = np.array([row.min(metric) for row in result.rows])
                high = np.array([row.max(metric) for row in result.rows])
                bars.setData(x=bar_x, y=mean, top=high - mean, bottom=mean - low, beam=beam)
                bars.setVisible(True)
            else:
                bars.setVisible(False)
        item.enableAutoRange()
        if categorical:
            item.setXRange(-0.5, len(values) - 0.5, padding=0.02)

    def _caption_text(self, result: SweepResult, log: bool) -> str:
        train, test = (pg.mkColor(*color).name() for color in (style.TRAIN_CURVE, style.TEST_CURVE))
        legend = [
            f'<span style="color:{train}">\u2501\u2501\u25cf\u2501\u2501 train</span>',
            f'<span style="color:{test}">\u2505\u2505\u25a0\u2505\u2505 test</span>',
        ]
        if result.repeats > 1:
            legend.append(f"mean of {result.repeats} weight seeds, bars from min to max")
        if log:
            legend.append("log x")
        return f"{result.title()}<br>{'&nbsp;&nbsp;&nbsp;'.join(legend)}"

    def caption_text(self) -> str:
        return self.caption.text

    def _set_caption(self, html: str) -> None:
        self.caption.setText(html)
        # LabelItem asks for its text's full width; a long title must not widen the plots.
        self.caption.setMinimumWidth(0)

    def _set_regression(self, regression: bool) -> None:
        """Offer the metrics of the task, and show the plots that apply."""
        if regression == self._regression:
            return
        self._regression = regression
        self._fill_menu()
        self._arrange()

    def _fill_menu(self) -> None:
        """The task's entries, on the user's choice if the task has it, else on its first."""
        self.metric_combo.blockSignals(True)  # a refill is not the user's choice
        self.metric_combo.clear()
        for key, text in menu_entries(self._regression):
            self.metric_combo.addItem(text, key)
        self.metric_combo.setCurrentIndex(max(0, self.metric_combo.findData(self._chosen)))
        self.metric_combo.blockSignals(False)

    def _arrange(self) -> None:
        """Put the chosen plots into the layout, side by side (only on a change of metric)."""
        key = self.current_metric()
        visible = [k for k, *_ in METRIC_CHOICES] if key == ALL else [key]
        if visible == self._visible:
            return
        layout = self.plot_widget.ci
        for name in self._visible:
            layout.removeItem(self.plots[name].item)
        for column, name in enumerate(visible):
            layout.addItem(self.plots[name].item, row=1, col=column)
        self._visible = visible

    @QtCore.Slot(int)
    def _on_metric_combo_changed(self, index: int) -> None:
        self._chosen = self.current_metric()
        self._arrange()


def _clear(plot: _MetricPlot) -> None:
    for curve in (plot.train, plot.test):
        curve.setData([], [])
    for bars in (plot.train_bars, plot.test_bars):
        bars.setData(x=np.zeros(0), y=np.zeros(0), top=0, bottom=0)


def save_sweep_plot(
    result: SweepResult,
    png: str | Path | None,
    svg: str | Path | None,
    *,
    metric: str = ALL,
    size: tuple[int, int] | None = None,
    scale: float = 2.0,
) -> list[Path]:
    """Draw `result` in a SweepView off screen and save it as PNG and/or SVG (the CLI's plots).

    Needs a QApplication; `nnviz sweep` makes one on the offscreen platform.
    """
    from ..export import save_png, save_svg

    view = SweepView()
    # laid out and painted like a shown window, but with no platform window (and so no
    # "propagateSizeHints" warnings from the offscreen platform)
    view.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
    try:
        view.set_metric(metric)
        if size is None:
            wide = metric == ALL and result.task != "regression"
            size = (1260, 430) if wide else (560, 430)
        view.resize(*size)
        view.show()
        view.show_result(result)
        QtWidgets.QApplication.processEvents()
        saved = []
        if png is not None:
            saved.append(save_png(view.plot_widget, png, scale=scale))
        if svg is not None:
            saved.append(save_svg(view.plot_widget, svg, title=f"nnviz {result.name}"))
        return saved
    finally:
        view.close()
        view.deleteLater()
