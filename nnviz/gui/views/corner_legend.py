"""A legend inside a plot, in the corner its data leave empty, and as small as it must be to
stay there: the ROC view's and the loss view's.

A legend outside the plot takes rows or columns from a plot that is a few hundred pixels across
at most, and the ROC's legend under its axis, with no rows left, was laid over the curves. Inside,
it goes where the data are not: an ROC curve runs from (0, 0) to (1, 1), and a network better
than chance bows it to the upper left, so the lower right, under the chance diagonal, is empty
(the corner ROC plots usually put their legend in); a network worse than chance (an untrained
one, one of chaos's seeds) bows it the other way, and the legend moves to the upper left.
Predicted against true is the same picture about y = x. Loss curves fall from the upper left, so
their legend keeps the upper right, and moves to the lower left while they are still high there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.LegendItem import ItemSample
from PySide6 import QtCore, QtGui, QtWidgets

from ...core.segments import crossings
from .. import style

#: (font size in points, short texts), largest first: the first the plot has room for wins.
STYLES = ((9.0, False), (8.0, False), (8.0, True))
#: Pixels between the box and the plot's edges.
MARGIN = 5
#: Pixels around the box the data must also keep clear of: half a threshold marker.
CLEARANCE = 5
#: Height of a legend row's sample, px (pyqtgraph's are 20 px: rows much taller than the text).
SAMPLE_HEIGHT = 12
LOWER_RIGHT, UPPER_LEFT, UPPER_RIGHT, LOWER_LEFT = (
    "lower right",
    "upper left",
    "upper right",
    "lower left",
)
BOX_FILL = (255, 255, 255, 225)
#: The box's fill where it covers data (neither corner keeps them all clear): what is under it
#: still shows.
SEE_THROUGH_ALPHA = 140
BOX_PEN = (200, 200, 200)

Rect = tuple[float, float, float, float]  # x0, x1, y0, y1 in the data's coordinates


class Sample(ItemSample):
    """A legend sample SAMPLE_HEIGHT px high, drawn as pyqtgraph's (clicking it still hides the
    curve), so a row is as tall as its text."""

    def __init__(self, item: pg.GraphicsObject) -> None:
        super().__init__(item)
        self.setFixedHeight(SAMPLE_HEIGHT)

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(0, 0, 20, SAMPLE_HEIGHT)

    def paint(self, painter: QtGui.QPainter, *args) -> None:
        painter.translate(0, SAMPLE_HEIGHT / 2 - 10)  # pyqtgraph draws about y = 10
        super().paint(painter, *args)


class FixedLegend(pg.LegendItem):
    """A legend the view places: dragging it would only see it put back at the next frame."""

    def mouseDragEvent(self, event) -> None:
        event.ignore()


class Segments:
    """Lines' segments and points, gathered once a frame to count those in each corner's box."""

    def __init__(
        self,
        lines: Sequence[tuple[np.ndarray, np.ndarray]],
        points: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    ) -> None:
        gap = np.array([np.nan])  # between the lines
        x, y = gap, gap
        if lines:
            x = np.concatenate([a for line in lines for a in (gap, np.asarray(line[0], float))])
            y = np.concatenate([a for line in lines for a in (gap, np.asarray(line[1], float))])
            x, y = np.append(x, gap), np.append(y, gap)
        x0, y0, x1, y1 = x[:-1], y[:-1], x[1:], y[1:]
        # A line of one point: a segment of no length.
        lone = np.isnan(x1) & np.isnan(np.append(gap, x[:-2]))
        x1, y1 = np.where(lone, x0, x1), np.where(lone, y0, y1)
        #: (E, 2, 2) each segment's two (x, y) ends; NaN where a gap breaks the lines.
        self.ends = np.stack([np.stack([x0, y0], axis=1), np.stack([x1, y1], axis=1)], axis=1)
        self.points = [(np.asarray(px, float), np.asarray(py, float)) for px, py in points]

    def count(self, rect: Rect) -> int:
        """How many segments and points lie in `rect` in part or whole. A segment that crosses
        the rect with no end in it counts."""
        left, right, bottom, top = rect
        count = 0
        for x, y in self.points:
            count += int(np.count_nonzero((x >= left) & (x <= right) & (y >= bottom) & (y <= top)))
        return count + int(
            np.count_nonzero(crossings(np.array([[left, bottom, right, top]]), self.ends))
        )


def choose_corner(current: str, scores: dict[str, tuple[int, int]], home: str) -> str:
    """The corner for the box, from each of two corners' (data, faint data) crossed: `home`
    when it is as clear as the other; the other only when clearly clearer (none, or at most half
    as many crossed), so the box does not hop between corners as the data move near both."""
    away = next(corner for corner in scores if corner != home)
    best = home if scores[home] <= scores[away] else away
    if best in (current, home):
        return best
    (crossed, faint), (now_crossed, now_faint) = scores[best], scores[current]
    if crossed < now_crossed:
        return best if crossed == 0 or 2 * crossed <= now_crossed else current
    return best if 2 * faint <= now_faint else current


#: How the fit judges a style roomy. UNDER_DIAGONAL (an ROC, predicted against true): its box in
#: the home corner lies under y = x, where no curve of a network better than chance goes.
#: SMALL (data that leave no known region empty): it takes at most two thirds of the plot's
#: width and half its height.
UNDER_DIAGONAL, SMALL = "under diagonal", "small"


class CornerLegend:
    """A legend, and a note under it, in one box inside `box`, in one of two `corners` (the
    first preferred): its style the largest that is `roomy` (UNDER_DIAGONAL or SMALL) in the
    first corner, its corner the one that keeps the data of each frame clear."""

    def __init__(self, box: pg.ViewBox, corners: tuple[str, str], roomy: str) -> None:
        self.box, self.corners, self.roomy = box, corners, roomy
        self.legend = FixedLegend(
            offset=None,
            labelTextColor=style.TEXT,
            labelTextSize="9pt",
            brush=pg.mkBrush(*BOX_FILL),
            pen=pg.mkPen(*BOX_PEN),
            horSpacing=4,
            verSpacing=0,
            sampleType=Sample,
        )
        self.legend.layout.setContentsMargins(4, 2, 6, 2)
        self.legend.setParentItem(box)
        self.legend.setZValue(30)
        self.note = pg.TextItem(color=style.TEXT, fill=pg.mkBrush(*BOX_FILL), anchor=(0, 0))
        self.note.setParentItem(box)
        self.note.setZValue(30)
        self.note.setVisible(False)
        self._notes: tuple[str, str] | None = None  # (text, short text) under the legend
        self._texts: dict[int, tuple[str, str]] = {}  # id(item) -> (text, short text)
        self.font_size, self.short = STYLES[0]
        self.corner = corners[0]
        self._fitted: tuple | None = None  # _fit_key() at the last fit
        self.lines: list[pg.GraphicsObject] = []  # data the box must keep clear of
        self.points: list[pg.GraphicsObject] = []  # scatter points it must keep clear of
        self.faint: list[pg.GraphicsObject] = []  # lines it keeps clear of where it can
        self.areas: list[QtWidgets.QGraphicsPathItem] = []  # filled areas, the same

    # -- entries ---------------------------------------------------------------------------

    def add(self, item: pg.GraphicsObject, text: str, short: str | None = None) -> None:
        """A row for `item`; `short` is its text where the plot is small."""
        self._texts[id(item)] = (text, short or text)
        self.legend.addItem(item, self._shown(item))
        label = self.legend.getLabel(item)
        label.item.document().setDocumentMargin(1)  # 4 px by default: rows far apart
        label.setText(self._shown(item))
        self._fitted = None

    def remove(self, item: pg.GraphicsObject) -> None:
        self.legend.removeItem(item)
        self._texts.pop(id(item), None)
        self._fitted = None

    def clear(self) -> None:
        self.legend.clear()
        self._texts = {}
        self._fitted = None

    def set_text(self, item: pg.GraphicsObject, text: str, short: str | None = None) -> None:
        """An entry's texts, set on the label only when they change (each change relays it)."""
        texts = (text, short or text)
        if self._texts.get(id(item)) != texts:
            self._texts[id(item)] = texts
            self.legend.getLabel(item).setText(self._shown(item))

    def texts(self) -> list[str]:
        """The entries as shown, top to bottom."""
        return [label.text for _, label in self.legend.items]

    def set_note(self, text: str | None, short: str | None = None) -> None:
        """The text under the legend, and the shorter one for small plots (None: none)."""
        notes = None if text is None else (text, short or text)
        if notes != self._notes:
            self._notes = notes
            self._show_note()
            self._fitted = None

    def _show_note(self) -> None:
        if self._notes is not None:
            text = self._notes[self.short]
            if text != self.note.toPlainText():
                self.note.setText(text)

    def _shown(self, item: pg.GraphicsObject) -> str:
        text, short = self._texts[id(item)]
        return short if self.short else text

    # -- size --------------------------------------------------------------------------------

    def _apply_style(self, font_size: float, short: bool) -> None:
        self.font_size, self.short = font_size, short
        size = f"{font_size:g}pt"
        self.legend.opts["labelTextSize"] = size  # for rows added later
        for sample, label in self.legend.items:
            label.setText(self._shown(sample.item), size=size)
        font = QtGui.QFont(self.note.textItem.font())
        font.setPointSizeF(font_size)
        self.note.setFont(font)
        self._show_note()

    def _legend_size(self) -> tuple[float, float]:
        size = self.legend.layout.preferredSize()
        return size.width(), size.height()

    def _block_size(self) -> tuple[float, float]:
        """The legend's and, under it, the note's size, px."""
        width, height = self._legend_size()
        if self._notes is not None:
            note = self.note.boundingRect()
            width, height = max(width, note.width()), height + 2 + note.height()
        return width, height

    def _room(self) -> tuple[float, float]:
        return self.box.width() - 2 * MARGIN, self.box.height() - 2 * MARGIN

    def fit(self) -> None:
        """The largest roomy style, else the smallest; where even that does not fit in the
        plot, the note is left out, then the legend."""
        room_w, room_h = self._room()
        for font_size, short in STYLES:
            self._apply_style(font_size, short)
            size = self._block_size()
            if self.roomy == UNDER_DIAGONAL:
                x0, _, _, y1 = self._rect(self.corners[0], size, CLEARANCE)
                if y1 <= x0:
                    break
            elif size[0] <= room_w * 2 / 3 and size[1] <= room_h / 2:
                break
        note = self._notes is not None and size[0] <= room_w and size[1] <= room_h
        width, height = size if note else self._legend_size()
        self.note.setVisible(note)
        self.legend.setVisible(width <= room_w and height <= room_h)
        self.legend.resize(*self._legend_size())
        self._fitted = self._fit_key()

    def _fit_key(self) -> tuple:
        """What the fit depends on: the plot's size (and range, for UNDER_DIAGONAL), and the
        box's size."""
        box = self.box
        view_range = box.viewRange() if self.roomy == UNDER_DIAGONAL else None
        return box.width(), box.height(), view_range, self._block_size()

    def fit_if_changed(self) -> None:
        """Fit again if the plot or the texts changed size: views call it after a frame, so
        the texts and the note are the fitted ones at once (place() does it before a paint)."""
        if self._fitted != self._fit_key():
            self.fit()

    # -- place -------------------------------------------------------------------------------

    def _pixel_rect(self, corner: str, size: tuple[float, float]) -> QtCore.QRectF:
        """The box in `corner`, in the plot's pixels."""
        width, height = size
        left = self.box.width() - MARGIN - width if "right" in corner else MARGIN
        top = self.box.height() - MARGIN - height if "lower" in corner else MARGIN
        return QtCore.QRectF(left, top, width, height)

    def _rect(self, corner: str, size: tuple[float, float], clearance: float = 0.0) -> Rect:
        """The box in `corner`, `clearance` px wider on each side, in the data's coordinates."""
        pixels = self._pixel_rect(corner, size)
        pixels.adjust(-clearance, -clearance, clearance, clearance)
        ends = self.box.mapToView(pixels.topLeft()), self.box.mapToView(pixels.bottomRight())
        (x0, x1), (y0, y1) = sorted(p.x() for p in ends), sorted(p.y() for p in ends)
        return x0, x1, y0, y1

    def shown_size(self) -> tuple[float, float]:
        """The box's size as drawn, px (with the note only when it is shown)."""
        return self._block_size() if self.note.isVisible() else self._legend_size()

    def place(self) -> None:
        """Fit again if the plot or the texts changed size, then put the box in the corner that
        keeps the data clear (choose_corner), see-through where neither does. Views call it
        before each paint (the scene's sigPrepareForPaint), once the plot has its range."""
        self.fit_if_changed()
        if not self.legend.isVisible():
            return
        size = self.shown_size()
        data, faint = Segments(_data(self.lines), _data(self.points)), Segments(_data(self.faint))
        areas = [item.path() for item in self.areas if item.isVisible()]
        scores = {}
        for corner in self.corners:
            rect = self._rect(corner, size, CLEARANCE)
            x0, x1, y0, y1 = rect
            covered = sum(
                path.intersects(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0)) for path in areas
            )
            scores[corner] = (data.count(rect), faint.count(rect) + covered)
        self.corner = choose_corner(self.corner, scores, self.corners[0])
        self._move(size)
        alpha = SEE_THROUGH_ALPHA if any(scores[self.corner]) else BOX_FILL[3]
        if self.legend.opts["brush"].color().alpha() != alpha:
            fill = pg.mkBrush(*BOX_FILL[:3], alpha)
            self.legend.setBrush(fill)
            self.note.fill = fill
            self.note.update()

    def _move(self, size: tuple[float, float]) -> None:
        """The legend at the box's top, the note under it, both flush with the corner's side."""
        box = self._pixel_rect(self.corner, size)
        legend_width, legend_height = self._legend_size()
        note_top = box.top() + legend_height + 2
        # Each position set once: a move there and back would still repaint, and a repaint
        # places the box again.
        if "right" in self.corner:
            self.legend.setPos(box.right() - legend_width, box.top())
            self.note.setPos(box.right() - self.note.boundingRect().width(), note_top)
        else:
            self.legend.setPos(box.left(), box.top())
            self.note.setPos(box.left(), note_top)


def _data(items: Sequence[pg.GraphicsObject]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (x, y) the shown items draw, in the plot's coordinates (log10 on a log axis); a
    curve hidden from its legend sample may be covered."""
    data = []
    for item in items:
        if item.isVisible():
            x, y = item.getData()
            if x is not None and y is not None and len(x):
                data.append((x, y))
    return data
