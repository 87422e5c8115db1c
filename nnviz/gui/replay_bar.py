"""The history slider: scrub back through training, resume from a past state, export the replay.

The bar draws the state's replay store and sends the user's choices to the replay controller;
it keeps no position of its own. Export renders each chosen point through the callable given to
`set_frame_renderer`, which returns a picture of the window's views showing that point, and
writes the pictures as numbered PNGs or as one looping GIF (`nnviz.core.gif`, no imaging library
needed). While it renders, live snapshots are kept but not drawn (`AppState.draw_past`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.files import FileFormatError, atomic_write
from ..core.gif import GifWriter, build_palette
from ..core.replay import ReplayPoint, ReplayStore
from .color_scheme import is_dark
from .controllers.replay import ReplayController
from .state import AppState

FrameRenderer = Callable[[ReplayPoint], QtGui.QImage]

#: Export defaults: frames taken evenly over the kept points, GIF timing and width.
EXPORT_FRAMES = 60
GIF_DELAY_MS = 100
GIF_MAX_WIDTH = 960
LAST_FRAME_MS = 1500
#: GIF frames the palette is built from; window pictures share most colours, so a few suffice.
PALETTE_SAMPLES = 8
#: The label while replaying: an orange that reads as "not live", on light and on dark.
REPLAY_COLORS = {False: "#b35c00", True: "#ffad5c"}


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
    """A slider over the kept states, with Live, "Resume here" and "Export…" (a replay)."""

    def __init__(
        self, state: AppState, replay: ReplayController, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.state, self.replay = state, replay
        self._renderer: FrameRenderer | None = None
        self._setting_slider = False

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
        self.slider.setMinimumWidth(60)
        self.slider.setToolTip(
            "Scrub back through training. Early states are kept log-spaced, recent ones densely, "
            "so the whole run fits in a bounded memory."
        )
        self.slider.valueChanged.connect(self._on_slider_value_changed)

        self.label = QtWidgets.QLabel()
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        # room for a usual run's text, so the bar never jumps; longer runs widen it (the window
        # must still fit 1280 px with a dock open)
        self.label.setMinimumWidth(
            self.label.fontMetrics().horizontalAdvance("replay  iteration 20,000 of 20,000")
        )

        self.resume_button = QtWidgets.QPushButton("Resume here")
        self.resume_button.setToolTip(
            "Continue training from the state shown, forgetting the states after it"
        )
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.export_button = QtWidgets.QPushButton("Export…")
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
        end.activated.connect(self.replay.go_live)
        state.replay_changed.connect(self._on_state_replay_changed)
        self._refresh()

    def set_frame_renderer(self, renderer: FrameRenderer | None) -> None:
        """`renderer(point)` draws the views at `point` and returns a picture of them."""
        self._renderer = renderer
        self._refresh()

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
        points = self._export_points(points)
        folder = Path(folder)
        paths = []
        try:
            for number, point in enumerate(points, start=1):
                image = self._render(renderer, point)
                path = folder / f"replay_{number:04d}_iteration_{point.iteration}.png"
                data = png_bytes(image)
                paths.append(atomic_write(path, lambda handle, data=data: handle.write(data)))
                if progress is not None and not progress(number):
                    raise ExportCancelled(f"cancelled after {number} of {len(points)} frames")
        finally:
            self.state.thaw()
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
        points = self._export_points(points)
        if not points:
            raise FileFormatError("the replay is empty: there is nothing to export")

        def frame(point: ReplayPoint) -> np.ndarray:
            image = self._render(renderer, point)
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

        try:
            return atomic_write(path, write)
        finally:
            self.state.thaw()

    # -- internals -------------------------------------------------------------------------

    def _require_renderer(self) -> FrameRenderer:
        if self._renderer is None:
            raise FileFormatError("no frame renderer is set: the window supplies one")
        return self._renderer

    def _render(self, renderer: FrameRenderer, point: ReplayPoint) -> QtGui.QImage:
        """Draw `point` in the views, holding off live snapshots, and picture it."""
        self.state.draw_past(point)
        return renderer(point)

    def _export_points(self, points: Sequence[ReplayPoint] | None) -> list[ReplayPoint]:
        store = self.state.replay
        return export_points(store, EXPORT_FRAMES) if points is None else list(points)

    def _refresh(self) -> None:
        store, replayed = self.state.replay, self.state.replayed
        count, latest = len(store), store.latest
        self._setting_slider = True
        try:
            # One state (a new run, a reopened session) is the live end: the handle sits right.
            self.slider.setRange(0, max(count - 1, 1))
            if replayed is None:
                self.slider.setValue(self.slider.maximum())
            else:
                self.slider.setValue(store.index_of(replayed.iteration))
        finally:
            self._setting_slider = False
        self.slider.setEnabled(count > 1)
        self.live_button.blockSignals(True)
        self.live_button.setChecked(replayed is None)
        self.live_button.blockSignals(False)
        self.resume_button.setEnabled(replayed is not None)
        self.export_button.setEnabled(count > 0 and self._renderer is not None)
        if latest is None:
            self.label.setText("no states yet")
        elif replayed is None:
            self.label.setText(f"<b>live</b>  iteration {latest.iteration:,}")
        else:
            self.label.setText(
                f"<span style='color:{REPLAY_COLORS[is_dark(self)]}'><b>replay</b>  iteration "
                f"{replayed.iteration:,}</span> of {latest.iteration:,}"
            )

    # -- slots -----------------------------------------------------------------------------

    @QtCore.Slot()
    def _on_state_replay_changed(self) -> None:
        self._refresh()

    @QtCore.Slot(int)
    def _on_slider_value_changed(self, index: int) -> None:
        if not self._setting_slider:
            self.replay.select_index(index)

    @QtCore.Slot(bool)
    def _on_live_button_toggled(self, checked: bool) -> None:
        if checked:
            self.replay.go_live()
        elif len(self.state.replay):
            self.replay.hold_newest()  # stop following: hold the newest state
        else:
            self._refresh()

    @QtCore.Slot()
    def _on_resume_button_clicked(self) -> None:
        self.replay.resume()

    @QtCore.Slot()
    def _on_export_button_clicked(self) -> None:
        dialog = ReplayExportDialog(len(self.state.replay), self)
        try:
            if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
                self._export(dialog)
        finally:
            dialog.deleteLater()

    def _export(self, dialog: ReplayExportDialog) -> None:
        """Ask where, then write the replay as the accepted `dialog` says, with a progress bar."""
        points = export_points(self.state.replay, dialog.frames.value())
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
            self.state.set_message(str(error))
        finally:
            progress.close()
            progress.deleteLater()


def _fit(rgb: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Crop or pad (with white) a frame to `shape`."""
    out = np.full(shape, 255, dtype=np.uint8)
    height, width = min(shape[0], rgb.shape[0]), min(shape[1], rgb.shape[1])
    out[:height, :width] = rgb[:height, :width]
    return out
