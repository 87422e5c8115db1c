"""The history slider: scrub back through training, resume from a past state, export the replay.

The bar owns a `ReplayStore` and never draws the network itself. The window feeds it every
snapshot it receives (with any replay points recorded since) and draws what the bar asks for:

* ``add_snapshot(snapshot, points)`` returns True while the bar follows training (draw it);
* ``point_selected(point)``: the user scrubbed to a past state, draw ``store.snapshot(point)``;
* ``live_requested()``: follow training again, draw ``store.snapshot()`` (the newest state);
* ``resume_requested(point)``: continue training from that state (the bar has already dropped
  the later points and gone live).

Export renders each chosen point through the callable given to `set_frame_renderer`, which
returns a picture of the window's views showing that point, and writes the pictures as numbered
PNGs or as one looping GIF (`nnviz.core.gif`, no imaging library needed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.files import FileFormatError, atomic_write
from ..core.gif import GifWriter, build_palette
from ..core.replay import ReplayPoint, ReplayStore
from ..core.trainer import Snapshot

FrameRenderer = Callable[[ReplayPoint], QtGui.QImage]

#: Export defaults: frames taken evenly over the kept points, GIF timing and width.
EXPORT_FRAMES = 60
GIF_DELAY_MS = 100
GIF_MAX_WIDTH = 960
LAST_FRAME_MS = 1500
#: GIF frames the palette is built from; window pictures share most colours, so a few suffice.
PALETTE_SAMPLES = 8
REPLAY_COLOR = "#b35c00"  # the label while replaying: a dark orange that reads as "not live"


def export_points(store: ReplayStore, count: int) -> list[ReplayPoint]:
    """`count` points spread evenly over the kept ones, always the first and the latest.

    Even in the store's order, not in iterations: the old points are log-spaced, so an exported
    animation spends as long on the first hundred iterations as on the last ten thousand.
    """
    if len(store) == 0 or count < 1:
        return []
    indices = np.unique(np.rint(np.linspace(0, len(store) - 1, min(count, len(store)))))
    return [store[int(i)] for i in indices]


def image_to_rgb(image: QtGui.QImage) -> np.ndarray:
    """An (h, w, 3) uint8 copy of a QImage's pixels."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    return rows[:, : 3 * width].reshape(height, width, 3).copy()


def png_bytes(image: QtGui.QImage) -> bytes:
    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise FileFormatError("cannot encode the picture as PNG")
    buffer.close()
    return bytes(data.data())


class ExportCancelled(Exception):
    """The user cancelled an export; nothing (GIF) or only the finished frames (PNG) are kept."""


class ReplayExportDialog(QtWidgets.QDialog):
    """Format, number of frames and, for a GIF, frame time and width."""

    def __init__(self, points: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export replay")
        self.gif_button = QtWidgets.QRadioButton("Animated GIF", checked=True)
        self.png_button = QtWidgets.QRadioButton("Series of PNG files in a folder")
        self.frames = QtWidgets.QSpinBox(minimum=1, maximum=max(points, 1))
        self.frames.setValue(min(EXPORT_FRAMES, points))
        self.frames.setToolTip(
            f"Taken evenly from the {points} kept states: the early ones are log-spaced, so "
            "the start of training, where most changes, gets as many frames as the end."
        )
        self.delay = QtWidgets.QSpinBox(minimum=20, maximum=5000, singleStep=10, suffix=" ms")
        self.delay.setValue(GIF_DELAY_MS)
        self.width_box = QtWidgets.QSpinBox(minimum=160, maximum=4096, singleStep=40, suffix=" px")
        self.width_box.setValue(GIF_MAX_WIDTH)
        self.width_box.setToolTip("Larger pictures are scaled down to this width")
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QtWidgets.QFormLayout(self)
        form.addRow(self.gif_button)
        form.addRow(self.png_button)
        form.addRow("Frames", self.frames)
        form.addRow("Frame time", self.delay)
        form.addRow("Largest width", self.width_box)
        form.addRow(buttons)
        self.png_button.toggled.connect(self._on_png_button_toggled)

    def is_gif(self) -> bool:
        return self.gif_button.isChecked()

    @QtCore.Slot(bool)
    def _on_png_button_toggled(self, png: bool) -> None:
        self.delay.setEnabled(not png)
        self.width_box.setEnabled(not png)


class ReplayBar(QtWidgets.QWidget):
    """A slider over the kept states, with Live, "Resume from here" and "Export replay…"."""

    point_selected = QtCore.Signal(object)
    resume_requested = QtCore.Signal(object)
    live_requested = QtCore.Signal()

    def __init__(
        self, store: ReplayStore | None = None, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store if store is not None else ReplayStore()
        self._live = True
        self._selected: ReplayPoint | None = None  # the replayed point, None while live
        self._renderer: FrameRenderer | None = None
        self._setting_slider = False
        self._exporting = False

        style = self.style()
        self.live_button = QtWidgets.QToolButton(text="Live", checkable=True, checked=True)
        self.live_button.setIcon(
            style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaSkipForward)
        )
        self.live_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.live_button.setToolTip("Follow training: show the newest state (End)")
        self.live_button.toggled.connect(self._on_live_button_toggled)

        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(8)
        self.slider.setToolTip(
            "Scrub back through training. Early states are kept log-spaced, recent ones densely, "
            "so the whole run fits in a bounded memory."
        )
        self.slider.valueChanged.connect(self._on_slider_value_changed)

        self.label = QtWidgets.QLabel()
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.label.setMinimumWidth(
            self.label.fontMetrics().horizontalAdvance("replay  iteration 20,000,000 of 20,000,000")
        )

        self.resume_button = QtWidgets.QPushButton("Resume from here")
        self.resume_button.setToolTip(
            "Continue training from the state shown, forgetting the states after it"
        )
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.export_button = QtWidgets.QPushButton("Export replay…")
        self.export_button.setToolTip("Save the replay as an animated GIF or a series of PNGs")
        self.export_button.clicked.connect(self._on_export_button_clicked)

        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(QtWidgets.QLabel("History"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.live_button)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.export_button)

        end = QtGui.QShortcut(QtGui.QKeySequence("End"), self.slider)
        end.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        end.activated.connect(self.go_live)
        self._refresh()

    # -- the window's side -----------------------------------------------------------------

    def add_snapshot(self, snapshot: Snapshot, points: Sequence[ReplayPoint] = ()) -> bool:
        """Keep `snapshot`, after the `points` recorded since the previous one; True when the bar
        follows training, so the window should draw the snapshot.

        A state at or before the newest kept iteration means the run went back (a reset, a new
        network): if that drops the replayed point, the bar follows training again. During an
        export the answer is False, so that live frames never land in the exported pictures.
        """
        incoming = [p.iteration for p in points if p.iteration < snapshot.iteration]
        first = min([*incoming, snapshot.iteration])
        latest = self.store.latest
        rewound = latest is not None and first <= latest.iteration
        self.store.add(snapshot, points)
        selected = self._selected
        if not self._live and selected is not None and rewound and selected.iteration >= first:
            self._live, self._selected = True, None
        self._refresh()
        return self._live and not self._exporting

    def is_exporting(self) -> bool:
        return self._exporting

    def set_frame_renderer(self, renderer: FrameRenderer | None) -> None:
        """`renderer(point)` draws the views at `point` and returns a picture of them."""
        self._renderer = renderer
        self._refresh()

    def clear(self) -> None:
        self.store.clear()
        self._live, self._selected = True, None
        self._refresh()

    # -- state -----------------------------------------------------------------------------

    def is_live(self) -> bool:
        return self._live

    def selected_point(self) -> ReplayPoint | None:
        """The state shown: the replayed point, or the newest while live (None when empty)."""
        return self._selected if not self._live else self.store.latest

    def select_index(self, index: int) -> None:
        """Replay the kept point at `index` (as if the user moved the slider there)."""
        if len(self.store) == 0:
            return
        index = min(max(index, 0), len(self.store) - 1)
        point = self.store[index]
        if not self._live and point is self._selected:
            return
        self._live, self._selected = False, point
        self._refresh()
        self.point_selected.emit(point)

    def select_iteration(self, iteration: int) -> None:
        """Replay the kept point nearest to `iteration`."""
        if len(self.store):
            self.select_index(self.store.index_of(iteration))

    @QtCore.Slot()
    def go_live(self) -> None:
        """Follow training again."""
        was_live = self._live
        self._live, self._selected = True, None
        self._refresh()
        if not was_live:
            self.live_requested.emit()

    def resume(self) -> None:
        """Continue training from the replayed point: drop the later points and follow again."""
        point = self._selected
        if self._live or point is None:
            return
        self.resume_requested.emit(point)
        self.store.truncate_after(point.iteration)
        self.go_live()

    # -- export ----------------------------------------------------------------------------

    def export_pngs(
        self,
        folder: str | Path,
        points: Sequence[ReplayPoint] | None = None,
        progress: Callable[[int], bool] | None = None,
    ) -> list[Path]:
        """Write one PNG per point into `folder` (made if missing); returns the paths.

        `progress(done)` is called after each frame; returning False cancels.
        """
        renderer = self._require_renderer()
        points = export_points(self.store, EXPORT_FRAMES) if points is None else list(points)
        folder = Path(folder)
        paths = []
        self._exporting = True
        try:
            for number, point in enumerate(points, start=1):
                image = renderer(point)
                path = folder / f"replay_{number:04d}_iteration_{point.iteration}.png"
                data = png_bytes(image)
                paths.append(atomic_write(path, lambda handle, data=data: handle.write(data)))
                if progress is not None and not progress(number):
                    raise ExportCancelled(f"cancelled after {number} of {len(points)} frames")
        finally:
            self._restore_display()
        return paths

    def export_gif(
        self,
        path: str | Path,
        points: Sequence[ReplayPoint] | None = None,
        *,
        delay_ms: int = GIF_DELAY_MS,
        max_width: int = GIF_MAX_WIDTH,
        progress: Callable[[int], bool] | None = None,
    ) -> Path:
        """Write the points as one looping GIF, frames scaled down to at most `max_width`.

        The one palette comes from PALETTE_SAMPLES frames spread over the replay (from the
        untrained to the trained look), rendered first and kept for their turn. `progress` as in
        `export_pngs`; a cancelled GIF leaves no file.
        """
        renderer = self._require_renderer()
        points = export_points(self.store, EXPORT_FRAMES) if points is None else list(points)
        if not points:
            raise FileFormatError("the replay is empty: there is nothing to export")

        def frame(point: ReplayPoint) -> np.ndarray:
            image = renderer(point)
            if image.width() > max_width:
                image = image.scaledToWidth(
                    max_width, QtCore.Qt.TransformationMode.SmoothTransformation
                )
            return image_to_rgb(image)

        def write(handle) -> None:
            count = len(points)
            samples = np.unique(np.rint(np.linspace(0, count - 1, min(count, PALETTE_SAMPLES))))
            rendered = {int(i): frame(points[int(i)]) for i in samples}  # rendered once
            shape = rendered[0].shape
            palette = build_palette(rendered.values())
            with GifWriter(handle, shape[1], shape[0], palette, delay_ms=delay_ms) as gif:
                for index, point in enumerate(points):
                    rgb = rendered.pop(index) if index in rendered else frame(point)
                    if rgb.shape != shape:  # the window was resized meanwhile
                        rgb = _fit(rgb, shape)
                    # the last frame stays up longer, so that a loop reads as a loop
                    last = index == count - 1 and count > 1
                    gif.add_frame(rgb, max(delay_ms, LAST_FRAME_MS) if last else None)
                    if progress is not None and not progress(index + 1):
                        raise ExportCancelled(f"cancelled after {index + 1} of {count} frames")

        self._exporting = True
        try:
            return atomic_write(path, write)
        finally:
            self._restore_display()

    # -- internals -------------------------------------------------------------------------

    def _require_renderer(self) -> FrameRenderer:
        if self._renderer is None:
            raise FileFormatError("no frame renderer is set: the window supplies one")
        return self._renderer

    def _restore_display(self) -> None:
        """After an export drew other states, ask the window to draw the chosen one again."""
        self._exporting = False
        if self._live:
            self.live_requested.emit()
        elif self._selected is not None:
            self.point_selected.emit(self._selected)

    def _refresh(self) -> None:
        count = len(self.store)
        latest = self.store.latest
        self._setting_slider = True
        try:
            self.slider.setRange(0, max(count - 1, 0))
            if self._live or self._selected is None:
                self.slider.setValue(max(count - 1, 0))
            else:
                self.slider.setValue(self.store.index_of(self._selected.iteration))
        finally:
            self._setting_slider = False
        self.slider.setEnabled(count > 1)
        self.live_button.blockSignals(True)
        self.live_button.setChecked(self._live)
        self.live_button.blockSignals(False)
        self.resume_button.setEnabled(not self._live and self._selected is not None)
        self.export_button.setEnabled(count > 0 and self._renderer is not None)
        if latest is None:
            self.label.setText("no states yet")
        elif self._live or self._selected is None:
            self.label.setText(f"<b>live</b>  iteration {latest.iteration:,}")
        else:
            self.label.setText(
                f"<span style='color:{REPLAY_COLOR}'><b>replay</b>  iteration "
                f"{self._selected.iteration:,}</span> of {latest.iteration:,}"
            )

    # -- slots -----------------------------------------------------------------------------

    @QtCore.Slot(int)
    def _on_slider_value_changed(self, index: int) -> None:
        if not self._setting_slider:
            self.select_index(index)

    @QtCore.Slot(bool)
    def _on_live_button_toggled(self, checked: bool) -> None:
        if checked:
            self.go_live()
        elif len(self.store):
            self.select_index(len(self.store) - 1)  # stop following: hold the newest state
        else:
            self._refresh()

    @QtCore.Slot()
    def _on_resume_button_clicked(self) -> None:
        self.resume()

    @QtCore.Slot()
    def _on_export_button_clicked(self) -> None:
        dialog = ReplayExportDialog(len(self.store), self)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        points = export_points(self.store, dialog.frames.value())
        if dialog.is_gif():
            path, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Export replay as GIF", "nnviz-replay.gif", "Animated GIF (*.gif)"
            )
        else:
            path = QtWidgets.QFileDialog.getExistingDirectory(
                self, "Export replay as PNG files into a folder"
            )
        if not path:
            return
        progress = QtWidgets.QProgressDialog(
            "Rendering the replay…", "Cancel", 0, len(points), self
        )
        progress.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)

        def step(done: int) -> bool:
            progress.setValue(done)
            return not progress.wasCanceled()

        try:
            if dialog.is_gif():
                self.export_gif(
                    path,
                    points,
                    delay_ms=dialog.delay.value(),
                    max_width=dialog.width_box.value(),
                    progress=step,
                )
            else:
                self.export_pngs(path, points, progress=step)
        except ExportCancelled:
            pass
        except FileFormatError as error:
            QtWidgets.QMessageBox.warning(self, "nnviz", str(error))
        finally:
            progress.close()


def _fit(rgb: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Crop or pad (with white) a frame to `shape`."""
    out = np.full(shape, 255, dtype=np.uint8)
    height, width = min(shape[0], rgb.shape[0]), min(shape[1], rgb.shape[1])
    out[:height, :width] = rgb[:height, :width]
    return out
