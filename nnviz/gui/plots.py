"""The four views as picture files, drawn offscreen for a headless run (`nnviz train --out DIR`).

The pictures come from the window's own view classes fed one `make_frame`, so a run folder and the
window always agree: there is one drawing code path. Each view is shown with
`WA_DontShowOnScreen`, which lays it out without mapping a window, so this works on a desktop as
well as on the offscreen platform.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QSize, Qt, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QWidget

from ..core.files import FileFormatError
from .export import save_png, save_svg
from .frame import make_frame
from .views.boundary_view import BoundaryView
from .views.loss_view import LossView
from .views.network_view import NetworkView
from .views.roc_view import RocView

if TYPE_CHECKING:
    from ..core import Trainer

#: Pixel size of each picture: about a view's size in the window, legible in a report.
PLOT_SIZE = (600, 450)
#: The pictures, in the order they are written: name -> view class.
PLOTS = {"network": NetworkView, "loss": LossView, "boundary": BoundaryView, "roc": RocView}

_app: QApplication | None = None  # a QApplication we created, kept alive for the process
#: What the offscreen platform says once for every top-level widget shown; harmless here.
_NOISE = "This plugin does not support propagateSizeHints()"


def ensure_application() -> QApplication:
    """The running QApplication, or a new one; a process with no display gets the offscreen one.

    A new application uses Qt's offscreen platform when the user chose none and Linux (or another
    X11/Wayland system) has no display: a headless server or CI can then draw without Xvfb.
    """
    global _app
    app = QCoreApplication.instance()
    if app is not None:
        if not isinstance(app, QApplication):
            raise RuntimeError("drawing plots needs a QApplication, not a QCoreApplication")
        return app
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if "QT_QPA_PLATFORM" not in os.environ and headless and sys.platform not in ("win32", "darwin"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    _app = QApplication(sys.argv[:1])
    return _app


@contextlib.contextmanager
def quiet_offscreen() -> Iterator[None]:
    """Drop the offscreen platform's propagateSizeHints notice; pass every other Qt message on."""

    def handler(mode, context, message: str) -> None:
        if message == _NOISE:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


def _laid_out(view: QWidget, size: QSize) -> QWidget:
    """Show `view` off screen and resize it until its plot area is exactly `size`."""
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    view.resize(size)
    view.show()
    area = view.plot_widget  # the plot, without the view's checkboxes
    for _ in range(4):  # the first pass learns the controls' height; one more is enough
        QApplication.processEvents()
        if area.size() == size:
            return area
        view.resize(view.size() + size - area.size())
    raise FileFormatError(
        f"cannot lay out the {type(view).__name__} at {size.width()}x{size.height()}"
    )


def _draw_all(trainer: Trainer, folder: Path, size: QSize) -> list[Path]:
    """Draw every view for the trainer's current state and save it into `folder`."""
    frame = make_frame(trainer.snapshot(), trainer.config, trainer.data)
    saved: list[Path] = []
    with quiet_offscreen():
        for name, view_class in PLOTS.items():
            view = view_class()
            try:
                if isinstance(view, LossView):
                    view.set_log_scale(True)  # as the window shows it
                area = _laid_out(view, size)
                view.show_frame(frame)
                QApplication.processEvents()
                if area.size() != size:  # the frame showed controls (a plane selector)
                    area = _laid_out(view, size)
                    view.show_frame(frame)
                saved.append(save_png(area, folder / f"{name}.png"))
                saved.append(save_svg(area, folder / f"{name}.svg", title=f"nnviz {name}"))
            finally:
                view.close()
    return saved


def write_plots(
    out_dir: str | Path, trainer: Trainer, *, size: tuple[int, int] = PLOT_SIZE
) -> list[Path]:
    """Write network, loss, boundary and roc as .png and .svg into `out_dir`; returns the paths.

    The pictures show the trainer's current state as the window would: the same views, the loss
    on a log scale, `size` pixels each. All eight are drawn into a hidden staging folder inside
    `out_dir` and only then renamed into place, so a failure (an unwritable folder, a full disk)
    raises FileFormatError and leaves none of them behind, not even a partial set.
    """
    ensure_application()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".nnviz-plots-", dir=out))
    except OSError as error:
        raise FileFormatError(f"cannot write {out}: {error.strerror or error}") from None
    try:
        staged = _draw_all(trainer, staging, QSize(*size))
        written: list[Path] = []
        for path in staged:
            try:
                written.append(path.replace(out / path.name))
            except OSError as error:
                for moved in written:  # all or none: take back what this call already moved
                    moved.unlink(missing_ok=True)
                raise FileFormatError(
                    f"cannot write {out / path.name}: {error.strerror or error}"
                ) from None
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
