"""Start the window: application identity, icon, settings, and the scripted `--train` run."""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import sys
import time
from collections.abc import Sequence
from importlib import resources

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication

from .. import __version__
from ..core import Config
from ..flags import USER_ERRORS, config_from_args, config_overrides, gui_parser, usage_error
from .main_window import MainWindow, stored_config
from .plots import quiet_offscreen

APP_ID = "io.github.nnviz.nnviz"
#: The stall probe ticks this often; a longer gap between ticks is event-loop stall.
PROBE_MS = 5


def app_icon() -> QIcon:
    """nnviz's icon in every size from 16 to 512 px, read from the package's own files.

    The PNGs (rendered from nnviz.svg by packaging/make_icons.py) are read as bytes through
    importlib.resources, so the icon works from a wheel, a zip or a frozen bundle, and needs no
    Qt SVG plugin.
    """
    icon = QIcon()
    for entry in (resources.files("nnviz") / "resources").iterdir():
        if entry.name.startswith("nnviz-") and entry.name.endswith(".png"):
            pixmap = QPixmap()
            if pixmap.loadFromData(entry.read_bytes(), "PNG"):
                icon.addPixmap(pixmap)
    return icon


def application() -> QApplication:
    """The QApplication, created once with nnviz's name, desktop id and icon."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("nnviz")
    app.setApplicationDisplayName("nnviz")
    app.setOrganizationName("nnviz")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    return app


def settle_heap() -> None:
    """Collect once, then leave every object alive now out of later collections (`gc.freeze`).

    Start-up leaves about 150,000 long-lived objects (Qt wrappers, pyqtgraph, scikit-learn). A
    full collection walks all of them, and mid-training it held the event loop for 60-125 ms
    (measured with `nnviz gui --train`); frozen, later collections walk only what came after.
    """
    gc.collect()
    gc.freeze()


def settle_heap_after_first_frame(window: MainWindow) -> None:
    """`settle_heap` once the window has drawn its first frame: start-up's objects exist then."""
    window.frame_drawn.connect(lambda _iteration: settle_heap(), Qt.SingleShotConnection)


class ScriptedRun(QObject):
    """`--train N --screenshot FILE --quit`: train through the real worker path and measure.

    A 5 ms probe timer measures the longest gap in the event loop while training runs, from
    the first frame drawn during training to the last.
    """

    def __init__(
        self, window: MainWindow, iterations: int, screenshot: str | None, quit_after: bool
    ) -> None:
        super().__init__(window)
        self.window, self.iterations = window, iterations
        self.screenshot, self.quit_after = screenshot, quit_after
        self.max_stall = 0.0
        self._probe = QTimer(self, interval=PROBE_MS)
        self._probe.timeout.connect(self._on_probe_timeout)
        self.exit_code = 0

    def start(self) -> None:
        QTimer.singleShot(0, self._begin)

    @Slot()
    def _begin(self) -> None:
        """Set the target, then press Play once the training process is up (it takes ~1 s);
        a session named on the command line is read first."""
        window = self.window
        if window.file_reader.busy:
            QTimer.singleShot(20, self._begin)
            return
        window.config_edits.load(window.config.replace(iterations=self.iterations))
        if window.process_ready:
            self._play()
        else:
            window.training.ready.connect(self._play)

    @Slot()
    def _play(self) -> None:
        window = self.window
        window.frame_drawn.connect(self._on_window_frame_drawn)
        self.redraws_before = window.redraws
        self.started = self._last_tick = time.perf_counter()
        window.play()

    @Slot()
    def _on_probe_timeout(self) -> None:
        now = time.perf_counter()
        self.max_stall = max(self.max_stall, now - self._last_tick - PROBE_MS / 1000)
        self._last_tick = now

    @Slot(int)
    def _on_window_frame_drawn(self, iteration: int) -> None:
        if not self._probe.isActive() and self.window.state.playing:
            self._last_tick = time.perf_counter()
            self._probe.start()
        snapshot = self.window.state.newest
        if iteration < self.iterations and snapshot.diverged_at is None:
            return
        seconds = time.perf_counter() - self.started
        self._probe.stop()
        self.window.frame_drawn.disconnect(self._on_window_frame_drawn)
        redraws = self.window.redraws - self.redraws_before
        done = snapshot.iteration
        seeds = self.window.state.seed_count
        networks = (
            f", {seeds} seeds: {done * seeds / seconds:,.0f} network-it/s" if seeds > 1 else ""
        )
        if self.screenshot and not self.window.grab().save(self.screenshot, "PNG"):
            print(f"nnviz: error: cannot write {self.screenshot}", file=sys.stderr)
            self.exit_code = 1
        print(
            f"trained {done} iterations in {seconds:.2f} s ({done / seconds:,.0f} it/s{networks}), "
            f"{redraws} redraws ({redraws / seconds:.1f} Hz), "
            f"max event-loop stall {self.max_stall * 1000:.0f} ms",
            flush=True,
        )
        if self.quit_after:
            self.window.close()
            QApplication.instance().exit(self.exit_code)


def run_gui(args: argparse.Namespace, config: Config) -> int:
    """Open the window (the default command); returns the exit code."""
    multiprocessing.freeze_support()
    with quiet_offscreen():  # the offscreen platform's notice on every shown window is noise
        return _run_window(args, config)


def _run_window(args: argparse.Namespace, config: Config) -> int:
    app = application()
    scripted = args.train is not None
    # A scripted run is reproducible: it neither reads nor overwrites the user's settings.
    settings = None if scripted else QSettings()
    explicit = bool(config_overrides(args))
    if settings is not None and not explicit and args.preset is None:
        config = stored_config(settings) or config
    preset = args.preset or ("seed" if not explicit else None)
    # A session or a scripted run starts at once; a plain launch shows the window first.
    loads_later = not scripted and not args.session
    window = MainWindow(config, settings, preset=preset, load_after_show=loads_later)
    window.setWindowIcon(app_icon())
    if args.window_size:
        window.resize(*args.window_size)
    window.show()
    settle_heap_after_first_frame(window)
    if args.session:
        window.files.open_path(args.session)
    if scripted:
        run = ScriptedRun(window, args.train, args.screenshot, args.quit)
        run.start()
    return app.exec()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `nnviz-gui` launcher (no console on Windows): `nnviz gui`'s flags.

    It parses through nnviz.flags, not nnviz.cli, so the window never imports the CLI.
    """
    parser = gui_parser("nnviz-gui")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run_gui(args, config_from_args(args))
    except USER_ERRORS as error:
        return usage_error(parser.prog, error)
