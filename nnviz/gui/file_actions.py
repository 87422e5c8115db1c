"""The File menu: sessions, recent files, imports, exports and drag-and-drop.

Every action has a plain method that takes a path (used by tests, drops and the command line)
and a menu slot that asks for the path first. Failures show the core's message in the window's
banner and change nothing.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from ..core import Layout
from ..core.files import (
    FileFormatError,
    save_data_csv,
    save_history_csv,
    save_weights,
    write_text,
)
from ..core.metrics import evaluate_setup
from ..core.session import SESSION_SUFFIX, load_session, load_weights_for, session_bytes
from .export import save_png, save_svg

if TYPE_CHECKING:
    from .main_window import MainWindow

MAX_RECENT = 8
VIEW_NAMES = ("network", "loss", "boundary", "roc")


class FileActions(QObject):
    """Builds the File menu of `window` and carries out its actions."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._recent: list[str] = []
        self._saving: str | None = None
        if window.settings is not None:
            stored = window.settings.value("recent", [])
            self._recent = [str(p) for p in (stored if isinstance(stored, list) else [stored])]
        self._build_menu(window.menuBar().addMenu("&File"))

    # -- menu ------------------------------------------------------------------------------

    def _add(self, menu: QMenu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        return action

    def _build_menu(self, menu: QMenu) -> None:
        keys = QKeySequence.StandardKey
        self._add(
            menu,
            "Open session…",
            self._on_open_session_triggered,
            keys.Open,
            "Reopen a saved .nnviz session exactly as it was",
        )
        self.recent_menu = menu.addMenu("Open recent")
        self._add(
            menu,
            "Save session…",
            self._on_save_session_triggered,
            keys.Save,
            "Save everything needed to continue training later, bit for bit",
        )
        menu.addSeparator()
        self._add(
            menu,
            "Open CSV points…",
            self._on_open_csv_triggered,
            None,
            "Train on your own x1,x2,label points",
        )
        self._add(
            menu,
            "Import weights…",
            self._on_import_weights_triggered,
            None,
            "Load .npz or .json weights into the current network",
        )
        menu.addSeparator()
        export = menu.addMenu("Export")
        for name in VIEW_NAMES:
            export.addMenu(self.view_menu(name))
        self._add(export, "Window as PNG…", self._on_export_window_triggered)
        export.addSeparator()
        self._add(export, "Weights (.npz, .json)…", self._on_export_weights_triggered)
        self._add(export, "History (.csv)…", self._on_export_history_triggered)
        self._add(export, "Dataset (.csv)…", self._on_export_dataset_triggered)
        self._add(export, "Classification report (.txt)…", self._on_export_report_triggered)
        export.addSeparator()
        self._add(
            export,
            "Export all…",
            self._on_export_all_triggered,
            "Ctrl+E",
            "A folder laid out like `nnviz train --out`, with the four pictures",
        )
        menu.addSeparator()
        self._add(menu, "Quit", self.window.close, keys.Quit)
        self._fill_recent()

    def view_menu(self, name: str, parent: QWidget | None = None) -> QMenu:
        """Export choices for one view (used in the File menu and on the view itself)."""
        menu = QMenu(name.capitalize(), parent or self.window)
        self._add(menu, "PNG…", partial(self._ask_view_export, name, 1.0, "png"))
        self._add(menu, "PNG at 2× (slides)…", partial(self._ask_view_export, name, 2.0, "png"))
        self._add(menu, "SVG…", partial(self._ask_view_export, name, 1.0, "svg"))
        return menu

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent:
            self._add(self.recent_menu, path, partial(self.open_path, path))
        self.recent_menu.setEnabled(bool(self._recent))

    def _remember(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        self._recent = [path, *(p for p in self._recent if p != path)][:MAX_RECENT]
        if self.window.settings is not None:
            self.window.settings.setValue("recent", self._recent)
        self._fill_recent()

    @property
    def recent(self) -> list[str]:
        return list(self._recent)

    # -- actions by path -------------------------------------------------------------------

    def open_path(self, path: str | Path) -> bool:
        """Open a dropped or named file by its suffix: a session, CSV points or weights."""
        suffix = Path(path).suffix.lower()
        if suffix == SESSION_SUFFIX:
            return self.open_session(path)
        if suffix == ".csv":
            return self.window.use_csv_points(str(path))
        if suffix in (".npz", ".json"):
            return self.import_weights(path)
        self.window.show_message(
            f"nnviz opens .nnviz sessions, .csv points and .npz/.json "
            f"weights, not {Path(path).name}"
        )
        return False

    def open_session(self, path: str | Path) -> bool:
        try:
            trainer = load_session(path)
        except FileFormatError as error:
            self.window.show_message(str(error))
            return False
        self.window.adopt_session(trainer, session_bytes(trainer), Path(path).name)
        self._remember(path)
        return True

    def save_session(self, path: str | Path) -> None:
        path = Path(path)
        if path.suffix != SESSION_SUFFIX:
            path = path.with_name(path.name + SESSION_SUFFIX)
        self.window.thread.send("save_session", str(path))
        self._saving = str(path)  # remembered as recent once the process says it is written

    def on_done(self, message: str) -> None:
        """The training process finished a file command (`message` is its report)."""
        if self._saving is not None and message == f"saved {self._saving}":
            self._remember(self._saving)
            self._saving = None

    def import_weights(self, path: str | Path) -> bool:
        window = self.window
        layout = Layout(window.config.hidden, window.dataset.x_train.shape[1])
        try:
            weights = load_weights_for(path, layout)
        except FileFormatError as error:
            window.show_message(str(error))
            return False
        window.thread.send("set_weights", weights)
        return True

    def export_view(self, name: str, path: str | Path, scale: float = 1.0) -> Path:
        area = self.window.view_area(name)
        if Path(path).suffix.lower() == ".svg":
            return save_svg(area, path, title=f"nnviz {name}")
        return save_png(area, path, scale=scale)

    def export_all(self, folder: str | Path) -> list[Path]:
        """The CLI's `--out` layout: run files from the trainer, pictures from these views.

        Pause first for a folder whose pictures and files show the same iteration; while
        training plays, the files are written a moment after the pictures.
        """
        folder = Path(folder)
        self.window.inspection.replay_bar.go_live()  # the run files are the live state's
        self.window.thread.send("write_run", str(folder))
        return [
            self.export_view(name, folder / f"{name}.{kind}")
            for name in VIEW_NAMES
            for kind in ("png", "svg")
        ]

    def export_report(self, path: str | Path) -> Path:
        window, snapshot = self.window, self.window.shown
        data, config = window.dataset, window.config
        metrics = evaluate_setup(snapshot.weights, data, config)
        text = (
            f"nnviz classification report, iteration {snapshot.iteration}, "
            f"threshold {config.threshold:g}\n\n{metrics.report_text()}"
        )
        return write_text(path, text)

    # -- menu slots ------------------------------------------------------------------------

    def _ask(self, title: str, default: str, filters: str, save: bool = True) -> str | None:
        ask = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = ask(self.window, title, default, filters)
        return path or None

    def _guarded(self, action, *args) -> None:
        try:
            written = action(*args)
        except FileFormatError as error:
            self.window.show_message(str(error))
            return
        if written:
            self.window.statusBar().showMessage(f"saved {written}", 5000)

    def _ask_view_export(self, name: str, scale: float, kind: str) -> None:
        suffix = f"@{int(scale)}x" if scale != 1 else ""
        path = self._ask(
            f"Export the {name} view",
            f"{name}{suffix}.{kind}",
            "SVG (*.svg)" if kind == "svg" else "PNG (*.png)",
        )
        if path:
            self._guarded(self.export_view, name, path, scale)

    @Slot()
    def _on_open_session_triggered(self) -> None:
        path = self._ask("Open session", "", f"nnviz sessions (*{SESSION_SUFFIX})", save=False)
        if path:
            self.open_session(path)

    @Slot()
    def _on_save_session_triggered(self) -> None:
        path = self._ask(
            "Save session", f"session{SESSION_SUFFIX}", f"nnviz sessions (*{SESSION_SUFFIX})"
        )
        if path:
            self.save_session(path)

    @Slot()
    def _on_open_csv_triggered(self) -> None:
        path = self._ask("Open points", "", "CSV files (*.csv)", save=False)
        if path:
            self.window.use_csv_points(path)

    @Slot()
    def _on_import_weights_triggered(self) -> None:
        path = self._ask("Import weights", "", "Weights (*.npz *.json)", save=False)
        if path:
            self.import_weights(path)

    @Slot()
    def _on_export_window_triggered(self) -> None:
        path = self._ask("Save the window", "nnviz.png", "PNG (*.png)")
        if path:
            self._guarded(save_png, self.window, path)

    @Slot()
    def _on_export_weights_triggered(self) -> None:
        path = self._ask("Export weights", "weights.npz", "NumPy (*.npz);;JSON (*.json)")
        if path:
            self._guarded(save_weights, path, self.window.shown.weights)

    @Slot()
    def _on_export_history_triggered(self) -> None:
        path = self._ask("Export history", "history.csv", "CSV (*.csv)")
        if path:
            self._guarded(save_history_csv, path, self.window.shown.history)

    @Slot()
    def _on_export_dataset_triggered(self) -> None:
        path = self._ask("Export dataset", "data.csv", "CSV (*.csv)")
        if path:
            self._guarded(save_data_csv, path, self.window.dataset)

    @Slot()
    def _on_export_report_triggered(self) -> None:
        path = self._ask("Export report", "report.txt", "Text (*.txt)")
        if path:
            self._guarded(self.export_report, path)

    @Slot()
    def _on_export_all_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Export all into a folder")
        if folder:
            self._guarded(self.export_all, folder)
