"""The confusion matrices (train and test) and sklearn's classification report, at the threshold.

Everything comes from the frame's metrics (`nnviz.core.metrics`): the counts from its fast mode,
every frame, and the text report from its full mode, which costs about 10 ms a split. So the
report is computed for the chosen split only, only while the report is visible, and at most
`REPORT_HZ` times a second; a timer brings it up to date with the newest frame once frames stop,
and `flush_report()` does so at once (before a picture is taken).
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ...core.metrics import SPLITS, Metrics
from .. import style
from ..frame import Frame

#: The classification report is recomputed at most this many times a second.
REPORT_HZ = 5.0
#: The cells' names by (actual, predicted).
CELL_NAMES = (("TN", "FP"), ("FN", "TP"))
#: The report's widest line, in characters (sklearn's layout with digits=4).
REPORT_COLUMNS = 53
MIN_REPORT_POINTS = 6.5
BACKGROUND = (255, 255, 255)
GRID_LINE = (200, 200, 200)
MUTED = (110, 110, 110)
REPORT_LABEL = "Classification report of"


def _fitting(metrics: QtGui.QFontMetrics, width: float, texts: list[str]) -> str:
    """The first (longest) of `texts` that fits in `width` pixels, else the last."""
    for text in texts:
        if metrics.horizontalAdvance(text) <= width:
            return text
    return texts[-1]


def _blend(color: tuple[int, int, int], strength: float) -> QtGui.QColor:
    """`color` mixed with white: strength 0 is white, 1 the full colour."""
    strength = min(max(strength, 0.0), 1.0)
    r, g, b = (round(255 + (c - 255) * strength) for c in color)
    return QtGui.QColor(r, g, b)


class ConfusionMatrix(QtWidgets.QWidget):
    """One split's K x K confusion matrix: rows are the actual class, columns the predicted one.

    Each cell shows its count and the share of its row (TN and FP add up to 100% of the actual
    class 0 points; with several classes a diagonal cell's share is that class's recall). It is
    tinted with the colour of the predicted class, stronger for a larger share, so a good
    classifier shows a diagonal of class colours (orange top-left, blue bottom-right for two),
    like the regions of the decision boundary.
    """

    def __init__(self, title: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.counts = np.zeros((2, 2), dtype=np.int64)
        self.setMinimumSize(150, 140)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding
        )
        self._title_font = QtGui.QFont(self.font())
        self._title_font.setBold(True)
        self._small_font = QtGui.QFont(self.font())
        self._small_font.setPointSizeF(max(self.font().pointSizeF() - 1.0, 7.0))
        self._count_font = QtGui.QFont(self.font())
        self._count_font.setBold(True)

    def set_counts(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts, dtype=np.int64)
        k = math.isqrt(counts.size)
        counts = counts.reshape(k, k)
        if not np.array_equal(counts, self.counts):
            self.counts = counts
            self.update()

    def rates(self) -> np.ndarray:
        """Each cell's share of its row (of the actual class); 0 for a class with no points."""
        totals = self.counts.sum(axis=1, keepdims=True)
        return np.divide(self.counts, np.maximum(totals, 1))

    def accuracy(self) -> float:
        total = int(self.counts.sum())
        return float(np.trace(self.counts)) / total if total else float("nan")

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(240, 190)

    @property
    def classes(self) -> int:
        return len(self.counts)

    def _grid(self) -> tuple[float, float, float, float]:
        """(left, top, cell width, cell height) of the K x K grid: a column of row labels on
        the left, the title and a row of column labels above, a caption line below."""
        k = self.classes
        line = QtGui.QFontMetrics(self._small_font).height()
        title_height = QtGui.QFontMetrics(self._title_font).height()
        left = QtGui.QFontMetrics(self._small_font).horizontalAdvance("actual 0") + 10
        top = title_height + line + 4
        bottom = self.height() - line - 4
        return (
            left,
            top,
            max((self.width() - left - 4) / k, 10.0),
            max((bottom - top) / k, 10.0),
        )

    def cell_rect(
        self, row: int, column: int, grid: tuple[float, float, float, float] | None = None
    ) -> QtCore.QRectF:
        """Where the cell (actual `row`, predicted `column`) is drawn."""
        left, top, cell_w, cell_h = grid or self._grid()
        return QtCore.QRectF(left + column * cell_w, top + row * cell_h, cell_w, cell_h)

    def cell_color(self, row: int, column: int, rate: float | None = None) -> QtGui.QColor:
        """The predicted class's colour, stronger for a larger share of the actual class."""
        rate = float(self.rates()[row, column]) if rate is None else rate
        return _blend(style.CLASS_COLORS[column], 0.08 + 0.82 * rate)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
        text = QtGui.QColor(*style.TEXT)
        muted = QtGui.QColor(*MUTED)
        small = QtGui.QFontMetrics(self._small_font)
        line = small.height()
        width = self.width()

        total = int(self.counts.sum())
        accuracy = self.accuracy()
        wrong = total - int(np.trace(self.counts))
        painter.setFont(self._title_font)
        painter.setPen(text)
        title_height = QtGui.QFontMetrics(self._title_font).height()

        # The title and the caption are centred on the grid as far as the widget allows.
        grid = left, top, cell_w, cell_h = self._grid()
        k = self.classes
        bottom = top + k * cell_h
        centre = left + k * cell_w / 2
        span = 2 * min(centre, width - centre)
        painter.drawText(
            QtCore.QRectF(centre - span / 2, 0, span, title_height),
            QtCore.Qt.AlignmentFlag.AlignCenter,
            _fitting(
                QtGui.QFontMetrics(self._title_font),
                span,
                [f"{self.title} ({total:,} points)", f"{self.title} ({total:,})", self.title],
            ),
        )

        painter.setFont(self._small_font)
        painter.setPen(muted)
        for column in range(k):
            rect = QtCore.QRectF(left + column * cell_w, title_height + 2, cell_w, line)
            label = _fitting(
                small, cell_w - 4, [f"predicted {column}", f"pred. {column}", f"{column}"]
            )
            painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, label)
        for row in range(k):
            rect = QtCore.QRectF(0, top + row * cell_h, left - 6, cell_h)
            painter.drawText(
                rect,
                QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                f"actual {row}",
            )

        rates = self.rates()
        count_font = QtGui.QFont(self._count_font)
        count_font.setPixelSize(int(max(11, min(cell_h * 0.28, cell_w * 0.2, 22))))
        count_height = QtGui.QFontMetrics(count_font).height()
        for row in range(k):
            for column in range(k):
                rect = self.cell_rect(row, column, grid)
                rate = float(rates[row, column])
                fill = self.cell_color(row, column, rate)
                painter.fillRect(rect, fill)
                luminance = 0.299 * fill.redF() + 0.587 * fill.greenF() + 0.114 * fill.blueF()
                dark = luminance < 0.55
                painter.setPen(QtGui.QColor(255, 255, 255) if dark else text)
                block = count_height + line
                y0 = rect.center().y() - block / 2
                painter.setFont(count_font)
                painter.drawText(
                    QtCore.QRectF(rect.left(), y0, rect.width(), count_height),
                    QtCore.Qt.AlignmentFlag.AlignCenter,
                    f"{int(self.counts[row, column]):,}",
                )
                painter.setFont(self._small_font)
                painter.drawText(
                    QtCore.QRectF(rect.left(), y0 + count_height, rect.width(), line),
                    QtCore.Qt.AlignmentFlag.AlignCenter,
                    _fitting(small, cell_w - 4, self._cell_texts(row, column, rate)),
                )
        painter.setPen(QtGui.QPen(QtGui.QColor(*GRID_LINE), 1))
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawRect(QtCore.QRectF(left, top, k * cell_w, k * cell_h))

        painter.setFont(self._small_font)
        painter.setPen(text)
        if total:
            caption = _fitting(
                small,
                span,
                [
                    f"accuracy {100 * accuracy:.1f}%  ·  {wrong:,} wrong",
                    f"accuracy {100 * accuracy:.1f}%",
                    f"{100 * accuracy:.1f}%",
                ],
            )
        else:
            caption = "no points in this split"
        painter.drawText(
            QtCore.QRectF(centre - span / 2, bottom + 2, span, line),
            QtCore.Qt.AlignmentFlag.AlignCenter,
            caption,
        )
        painter.end()

    def _cell_texts(self, row: int, column: int, rate: float) -> list[str]:
        """A cell's caption, longest first: "TN  93.1%" for two classes, else the share."""
        share = f"{100 * rate:.1f}%"
        if self.classes == 2:
            return [f"{CELL_NAMES[row][column]}  {share}", share]
        return [share, f"{100 * rate:.0f}%", ""]


class ReportText(QtWidgets.QPlainTextEdit):
    """Read-only monospace text whose font shrinks (down to MIN_REPORT_POINTS) so that lines of
    REPORT_COLUMNS characters fit the width without a horizontal scroll bar."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, readOnly=True)
        self.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.base_font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        self.setFont(self.base_font)
        self.set_lines(8)

    def set_lines(self, count: int) -> None:
        """Tall enough for `count` lines at the full size (8: a report of two classes, K + 6
        of K classes); the matrices take the rest."""
        lines = QtGui.QFontMetrics(self.base_font).lineSpacing()
        self.setFixedHeight(count * lines + 2 * int(self.document().documentMargin()) + 4)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        room = event.size().width() - 2 * self.document().documentMargin() - 4
        font = QtGui.QFont(self.base_font)
        size = font.pointSizeF()
        while size > MIN_REPORT_POINTS:
            font.setPointSizeF(size)
            if QtGui.QFontMetricsF(font).horizontalAdvance("x" * REPORT_COLUMNS) <= room:
                break
            size -= 0.5
        font.setPointSizeF(max(size, MIN_REPORT_POINTS))
        if font != self.font():
            self.setFont(font)


class MetricsView(QtWidgets.QWidget):
    """Confusion matrices for train and test side by side, and the classification report of one
    split below them; everything at the frame's decision threshold."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(*BACKGROUND))
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(*style.TEXT))
        self.setPalette(palette)

        self.matrices = {split: ConfusionMatrix(split) for split in SPLITS}
        self.threshold_label = QtWidgets.QLabel()
        self.threshold_label.setToolTip(
            "A point is predicted as class 1 when the network's p(class 1) is at least the "
            "threshold. Move the threshold in the control panel to trade false positives (FP) "
            "for false negatives (FN)."
        )
        self.split_box = QtWidgets.QComboBox()
        self.split_box.addItems(["test", "train"])
        self.split_box.setToolTip("The split whose classification report is shown")
        self.split_box.currentTextChanged.connect(self._on_split_box_changed)

        self.report = ReportText()
        self.report.setToolTip(
            "sklearn.metrics.classification_report at the threshold: precision = TP / (TP + FP), "
            "recall = TP / (TP + FN), f1 their harmonic mean, support the number of points"
        )

        self.regression_table = QtWidgets.QLabel(textFormat=QtCore.Qt.TextFormat.RichText)
        self.regression_table.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.regression_table.hide()
        matrices = QtWidgets.QHBoxLayout()
        matrices.setSpacing(12)
        for split in SPLITS:
            matrices.addWidget(self.matrices[split], 1)
        matrices.addWidget(self.regression_table, 1)
        header = QtWidgets.QHBoxLayout()
        self.report_label = QtWidgets.QLabel(REPORT_LABEL)
        header.addWidget(self.report_label)
        header.addWidget(self.split_box)
        header.addStretch(1)
        header.addWidget(self.threshold_label)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(4)
        layout.addLayout(matrices, 1)
        layout.addLayout(header)
        layout.addWidget(self.report)

        self.frame: Frame | None = None
        self._report_frame: Frame | None = None  # the frame the report text shows
        self._report_split = ""
        self._report_time = -1.0
        self.reports_computed = 0
        self._report_timer = QtCore.QTimer(self, singleShot=True)
        self._report_timer.timeout.connect(self._update_report)

    # -- feeding ---------------------------------------------------------------------------

    def show_frame(self, frame: Frame) -> None:
        self.frame = frame
        regression = frame.kind == "regression"
        for split in SPLITS:
            self.matrices[split].setVisible(not regression)
        self.regression_table.setVisible(regression)
        if regression:
            table = regression_table(frame.metrics)
            if self.regression_table.text() != table:
                self.regression_table.setText(table)
            text = ""
        else:
            for split in SPLITS:
                self.matrices[split].set_counts(frame.metrics.split(split).confusion)
            binary = frame.kind == "binary"
            text = f"threshold {frame.threshold:.2f}" if binary else "the most probable class"
        if self.threshold_label.text() != text:
            self.threshold_label.setText(text)
        label = "Errors of" if regression else REPORT_LABEL
        if self.report_label.text() != label:
            self.report_label.setText(label)
        self._schedule_report()

    def counts(self, split: str) -> np.ndarray:
        """The confusion matrix shown for `split`: [[TN, FP], [FN, TP]] for two classes,
        K x K (rows actual, columns predicted) for more."""
        return self.matrices[split].counts.copy()

    def report_split(self) -> str:
        return self.split_box.currentText()

    def set_report_split(self, split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        self.split_box.setCurrentText(split)

    def report_text(self) -> str:
        return self.report.toPlainText()

    def report_is_current(self) -> bool:
        """True when the report shows the newest frame's chosen split."""
        return self._report_frame is self.frame and self._report_split == self.report_split()

    def flush_report(self) -> None:
        """Bring the report up to the newest frame now, throttle or not: call it before taking
        a picture (a replay export), so the text matches the matrices."""
        self._report_timer.stop()
        self._update_report()

    # -- internals -------------------------------------------------------------------------

    def _schedule_report(self) -> None:
        if self.report_is_current() or not self.report.isVisible():
            return  # showEvent brings a hidden report up to date
        wait = self._report_time + 1.0 / REPORT_HZ - time.perf_counter()
        if wait <= 0:
            self._report_timer.stop()
            self._update_report()
        elif not self._report_timer.isActive():
            self._report_timer.start(int(wait * 1000) + 1)

    @QtCore.Slot()
    def _update_report(self) -> None:
        frame = self.frame
        if frame is None or self.report_is_current():
            return
        split = self.report_split()
        text = frame.metrics.split(split).full().report_text.rstrip()
        if text != self.report.toPlainText():
            self.report.set_lines(max(8, text.count("\n") + 1))
            self.report.setPlainText(text)
        self._report_frame, self._report_split = frame, split
        self._report_time = time.perf_counter()
        self.reports_computed += 1

    @QtCore.Slot(str)
    def _on_split_box_changed(self, split: str) -> None:
        self._report_time = -1.0  # a choice by the user is answered at once
        self._schedule_report()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._report_time = -1.0
        QtCore.QTimer.singleShot(0, self, self._schedule_report)


def regression_table(metrics: Metrics) -> str:
    """R², MSE and MAE of both splits as an HTML table (a regression has no confusion matrix)."""

    def cell(value: float, digits: str) -> str:
        return "n/a" if math.isnan(value) else format(value, digits)

    rows = [
        ("R²", "r2", ".4f"),
        ("mean squared error", "mse", ".4g"),
        ("mean absolute error", "mae", ".4g"),
    ]
    head = "".join(f"<th align='right'>&nbsp;&nbsp;{split}</th>" for split in SPLITS)
    body = "".join(
        f"<tr><td>{name}</td>"
        + "".join(
            f"<td align='right'>&nbsp;&nbsp;<b>{cell(getattr(metrics.split(s), key), digits)}</b></td>"
            for s in SPLITS
        )
        + "</tr>"
        for name, key, digits in rows
    )
    points = "".join(
        f"<td align='right'>&nbsp;&nbsp;{metrics.split(s).targets.size:,}</td>" for s in SPLITS
    )
    return (
        f"<table cellspacing='4'><tr><th></th>{head}</tr>{body}<tr><td>points</td>{points}</tr>"
        "</table>"
    )
