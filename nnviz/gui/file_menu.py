"""The File menu and the ⋯ export menus of the views: they ask for a path, then call the
file controller, which does the work."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QWidget

from ..core.session import SESSION_SUFFIX
from .controllers.files import VIEW_NAMES, FileController
from .export import save_png

SESSION_FILTER = f"nnviz sessions (*{SESSION_SUFFIX})"


class FileMenu(QObject):
    """Fills `menu` with the file actions of `files` for `window`."""

    def __init__(self, window: QMainWindow, files: FileController, menu: QMenu) -> None:
        super().__init__(window)
        self.window, self.files = window, files
        keys = QKeySequence.StandardKey
        self._add(menu, "Open session…", self._open_session, keys.Open, "Reopen a saved session")
        self.recent_menu = menu.addMenu("Open recent")
        self._add(
            menu,
            "Save session…",
            self._save_session,
            keys.Save,
            "Save everything needed to continue training later, bit for bit",
        )
        menu.addSeparator()
        self._add(menu, "Open CSV points…", self._open_csv, None, "Train on x1,x2,label points")
        self._add(menu, "Import weights…", self._import_weights, None, "Load .npz or .json weights")
        menu.addSeparator()
        export = menu.addMenu("Export")
        for name in VIEW_NAMES:
            export.addMenu(self.view_menu(name))
        self._add(export, "Window as PNG…", self._export_window)
        export.addSeparator()
        asks = [
            ("Weights (.npz, .json)…", files.export_weights, "weights.npz", "NumPy (*.npz);;JSON (*.json)"),
            ("History (.csv)…", files.export_history, "history.csv", "CSV (*.csv)"),
            ("Dataset (.csv)…", files.export_dataset, "data.csv", "CSV (*.csv)"),
            ("Classification report (.txt)…", files.export_report, "report.txt", "Text (*.txt)"),
        ]  # fmt: skip
        for text, action, default, filters in asks:
            self._add(export, text, partial(self._export, text, action, default, filters))
        export.addSeparator()
        self._add(
            export,
            "Export all…",
            self._export_all,
            "Ctrl+E",
            "A folder laid out like `nnviz train --out`, with the four pictures",
        )
        menu.addSeparator()
        self._add(menu, "Quit", window.close, keys.Quit)
        files.recent_changed.connect(self._on_files_recent_changed)
        self._fill_recent(files.recent)

    def view_menu(self, name: str, parent: QWidget | None = None) -> QMenu:
        """Export choices for one view (in the File menu and behind the view's ⋯ button)."""
        title = {"roc": "ROC"}.get(name, name.capitalize())
        menu = QMenu(title, parent or self.window)
        self._add(menu, "PNG…", partial(self._export_view, name, 1.0, "png"))
        self._add(menu, "PNG at 2× (slides)…", partial(self._export_view, name, 2.0, "png"))
        self._add(menu, "SVG…", partial(self._export_view, name, 1.0, "svg"))
        return menu

    # -- building --------------------------------------------------------------------------

    def _add(self, menu: QMenu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            self.window.addAction(action)  # works whatever has focus
        action.setStatusTip(tip)
        return action

    def _fill_recent(self, recent: list[str]) -> None:
        self.recent_menu.clear()
        for path in recent:
            self._add(self.recent_menu, path, partial(self.files.open_path, path))
        self.recent_menu.setEnabled(bool(recent))

    def _ask(self, title: str, default: str, filters: str, save: bool = True) -> str | None:
        ask = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = ask(self.window, title, default, filters)
        return path or None

    # -- slots -----------------------------------------------------------------------------

    @Slot(list)
    def _on_files_recent_changed(self, recent: list) -> None:
        self._fill_recent(recent)

    def _open_session(self) -> None:
        path = self._ask("Open session", "", SESSION_FILTER, save=False)
        if path:
            self.files.open_session(path)

    def _save_session(self) -> None:
        path = self._ask("Save session", f"session{SESSION_SUFFIX}", SESSION_FILTER)
        if path:
            self.files.save_session(path)

    def _open_csv(self) -> None:
        path = self._ask("Open points", "", "CSV files (*.csv)", save=False)
        if path:
            self.files.use_csv_points(path)

    def _import_weights(self) -> None:
        path = self._ask("Import weights", "", "Weights (*.npz *.json)", save=False)
        if path:
            self.files.open_path(path)  # by its suffix: weights

    def _export_view(self, name: str, scale: float, kind: str) -> None:
        suffix = f"@{int(scale)}x" if scale != 1 else ""
        filters = "SVG (*.svg)" if kind == "svg" else "PNG (*.png)"
        path = self._ask(f"Export the {name} view", f"{name}{suffix}.{kind}", filters)
        if path:
            self.files.guarded(self.files.export_view, name, path, scale)

    def _export_window(self) -> None:
        path = self._ask("Save the window", "nnviz.png", "PNG (*.png)")
        if path:
            self.files.guarded(save_png, self.window, path)

    def _export(self, title: str, action, default: str, filters: str) -> None:
        path = self._ask(f"Export {title.rstrip('…')}", default, filters)
        if path:
            self.files.guarded(action, path)

    def _export_all(self) -> None:
        """A new or existing folder: a save dialog accepts a name that does not exist yet."""
        path = self._ask("Export all into a folder", "nnviz-export", "Folders (*)")
        if path:
            self.files.guarded(self.files.export_all, Path(path))
