"""Pictures of widgets as PNG (at any scale) and SVG, written atomically.

pyqtgraph 0.14.0's SVGExporter fails on every PlotItem (pyqtgraph #3485/#3495), so SVG goes
through QSvgGenerator and QWidget.render, which re-renders the scene as vectors. PNGs are
re-rendered at the asked scale rather than upscaled, so a 2x export is sharp.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QRectF, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QGraphicsView, QWidget

from ..core.files import FileFormatError, atomic_write


def render_image(widget: QWidget, scale: float = 1.0) -> QImage:
    """The widget drawn into an image `scale` times its size (lay it out and show it first).

    A QGraphicsView (every pyqtgraph plot) re-renders its scene into the larger target, so text
    and lines stay sharp; other widgets are drawn through a scaled painter.
    """
    QApplication.processEvents()  # a widget that was never laid out renders at size 0
    size = widget.size()
    if size.isEmpty():
        raise FileFormatError("the view has no size yet; show the window before exporting")
    target = QSize(round(size.width() * scale), round(size.height() * scale))
    image = QImage(target, QImage.Format.Format_ARGB32)
    image.fill(widget.palette().window().color())
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    if isinstance(widget, QGraphicsView):
        widget.render(painter, QRectF(image.rect()), widget.viewport().rect())
    else:
        painter.scale(scale, scale)
        _render(widget, painter)
    painter.end()
    return image


def save_png(widget: QWidget, path: str | Path, *, scale: float = 1.0) -> Path:
    """Write the widget as a PNG `scale` times its on-screen size."""
    image = render_image(widget, scale)
    return _save_via_temporary(path, lambda temp: image.save(temp, "PNG"))


def save_svg(widget: QWidget, path: str | Path, *, title: str = "nnviz") -> Path:
    """Write the widget as an SVG document with vector curves and text."""
    QApplication.processEvents()
    size = widget.size()
    if size.isEmpty():
        raise FileFormatError("the view has no size yet; show the window before exporting")

    def write(temp: str) -> bool:
        generator = QSvgGenerator()
        generator.setFileName(temp)
        generator.setSize(size)
        generator.setViewBox(QRect(0, 0, size.width(), size.height()))
        generator.setTitle(title)
        generator.setDescription("Exported from nnviz")
        painter = QPainter()
        if not painter.begin(generator):
            return False
        _render(widget, painter)
        return painter.end()

    return _save_via_temporary(path, write)


def _render(widget: QWidget, painter: QPainter) -> None:
    """Draw the widget at the painter's origin (the two render() overloads differ in PySide6)."""
    if isinstance(widget, QGraphicsView):
        widget.render(painter)
    else:
        widget.render(painter, QPoint())


def _save_via_temporary(path: str | Path, write) -> Path:
    """Let Qt write a temporary file, then move it into place atomically (no partial files)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nnviz-export-") as folder:
        temp = str(Path(folder) / path.name)
        if not write(temp) or not Path(temp).is_file():
            raise FileFormatError(f"cannot render {path.name}")
        data = Path(temp).read_bytes()
    return atomic_write(path, lambda handle: handle.write(data))
