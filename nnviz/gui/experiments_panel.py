"""The Experiments panel: the form, table, plot and buttons of a sweep (or the article's three
tables).

The sweep itself (its thread, cancel, and the end of joblib's worker processes) belongs to an
`ExperimentsController` (`controllers/experiments.py`), which the panel builds unless it is given
one, and whose signals it draws. `ExperimentsPanel.shutdown()` shuts the controller down; the main
window calls it from its closeEvent, and the panel calls it itself when it is closed. Deleting
the panel deletes the controller it built, which stops and joins a running sweep.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from ..core import Config, ConfigError
from ..core.config import field_names
from ..core.files import FileFormatError, write_text
from ..core.sweep import (
    METRICS,
    Sweep,
    SweepProgress,
    SweepResult,
    SweepRow,
    article_tables,
    field_label,
    parse_values,
    split_by_task,
    value_text,
)
from .color_scheme import error_color
from .controllers.experiments import ExperimentsController
from .export import save_png, save_svg
from .views.sweep_view import SweepView

ARTICLE = "article"
CUSTOM = "custom"
#: Fields a sweep can vary from the panel (paths are left to the CLI).
#: The window's seeds are not a sweep's: a sweep trains each value with --repeats seeds.
SWEEPABLE = tuple(
    name for name in field_names() if name not in {"csv_path", "init_weights", "seeds"}
)
#: Example values offered when a field is chosen.
EXAMPLE_VALUES = {
    "iterations": "1,10,100,1000,5000,10000,20000",
    "hidden": "1,2,3,5,10,20,50",
    "learning_rate": "0.001,0.01,0.1,0.5,1.0",
    "activation": "sigmoid,tanh,relu",
    "noise": "0.05,0.1,0.2,0.3,0.4",
    "weight_seed": "1,2,3,4,5",
}
#: Sort key of the value column, and of every numeric column.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


# -- the table -------------------------------------------------------------------------------


#: How a metric column is headed.
METRIC_HEADERS = {
    "train_auc": "train AUC",
    "train_accuracy": "train accuracy",
    "train_misclassification": "train miscl.",
    "test_auc": "test AUC",
    "test_accuracy": "test accuracy",
    "test_misclassification": "test miscl.",
    "train_r2": "train R²",
    "test_r2": "test R²",
    "final_loss": "final loss",
    "seconds": "seconds",
}


class SweepTableModel(QtCore.QAbstractTableModel):
    """The rows of one SweepResult: value, the metrics its task measures (`result.metrics()`:
    AUC, accuracy and misclassification, or R² for a regression; mean ± std with repeats),
    diverged."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._result: SweepResult | None = None

    def set_result(self, result: SweepResult | None) -> None:
        self.beginResetModel()
        self._result = result
        self.endResetModel()

    def result(self) -> SweepResult | None:
        return self._result

    def metrics(self) -> tuple[str, ...]:
        """The metric columns, after the value column."""
        return METRICS if self._result is None else self._result.metrics()

    def headers(self) -> tuple[str, ...]:
        return ("value", *(METRIC_HEADERS[m] for m in self.metrics()), "diverged")

    def row(self, index: int) -> SweepRow:
        assert self._result is not None
        return self._result.rows[index]

    def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self._result is None else len(self._result.rows)

    def columnCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.metrics()) + 2

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if section == 0 and self._result is not None:
                return field_label(self._result.param)
            return self.headers()[section]
        return str(section + 1)

    def data(self, index: QtCore.QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._result is None:
            return None
        row, column = self._result.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == SORT_ROLE:
            return self._sort_key(row, index.row(), column)
        metrics = self.metrics()
        if role == Qt.ItemDataRole.ToolTipRole and 0 < column <= len(metrics):
            metric = metrics[column - 1]
            if self._result.repeats > 1:
                return (
                    f"{metric}: mean {row.mean(metric):.6g}, std {row.std(metric):.3g}, "
                    f"min {row.min(metric):.6g}, max {row.max(metric):.6g}"
                )
            return f"{metric}: {row.mean(metric)!r}"
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        return None

    def _text(self, row: SweepRow, column: int) -> str:
        if column == 0:
            return value_text(row.value)
        metrics = self.metrics()
        if column == len(metrics) + 1:
            if self._result is not None and self._result.repeats > 1:
                return f"{row.diverged}/{len(row.runs)}"
            return "yes" if row.diverged else "no"
        metric = metrics[column - 1]
        digits = {"seconds": 2, "final_loss": 3}.get(metric, 4)
        text = _number(row.mean(metric), digits)
        if self._result is not None and self._result.repeats > 1 and metric != "seconds":
            text += " ± " + _number(row.std(metric), digits)
        return text

    def _sort_key(self, row: SweepRow, position: int, column: int) -> float:
        if column == 0:  # numbers by value, anything else in the sweep's order
            value = (
                row.value[0] if isinstance(row.value, tuple) and len(row.value) == 1 else row.value
            )
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            return float(position)
        metrics = self.metrics()
        if column == len(metrics) + 1:
            return float(row.diverged)
        value = row.mean(metrics[column - 1])
        return -math.inf if math.isnan(value) else value


def _number(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


class _SortProxy(QtCore.QSortFilterProxyModel):
    """Sorts on SORT_ROLE (numbers), so 10 comes after 5 and 0.001 before 0.01."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)


# -- the panel -------------------------------------------------------------------------------


class ExperimentsPanel(QtWidgets.QWidget):
    """Choose a sweep, run it with progress and Cancel, and read, sort, copy and export the results.

    Signals: `config_chosen(Config)` on a double-click of a row (the main window loads it),
    `sweep_started()`, `results_ready(list[SweepResult])`, `sweep_cancelled()` and
    `sweep_failed(str)`. Call `set_base_config(config)` to sweep around the window's current setup
    and `shutdown()` from the window's closeEvent. `controller` runs the sweeps: the panel builds
    its own (as its child) unless it is given one.
    """

    config_chosen = QtCore.Signal(object)
    sweep_started = QtCore.Signal()
    results_ready = QtCore.Signal(object)
    sweep_cancelled = QtCore.Signal()
    sweep_failed = QtCore.Signal(str)

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        *,
        n_jobs: int = 2,
        controller: ExperimentsController | None = None,
    ) -> None:
        super().__init__(parent)
        self._base = Config.preset("seed")
        self.controller = controller if controller is not None else ExperimentsController(self)
        self._results: list[SweepResult] = []

        # -- what to run
        self.mode_combo = QtWidgets.QComboBox()
        self.mode_combo.addItem("Article tables (iterations, hidden nodes, learning rate)", ARTICLE)
        self.mode_combo.addItem("One field over a list of values", CUSTOM)
        self.mode_combo.setToolTip(
            "The article's three experiments on the seed setup at 10000 iterations, or a sweep "
            "of your own around the current configuration."
        )
        self.field_combo = QtWidgets.QComboBox()
        for name in SWEEPABLE:
            self.field_combo.addItem(name.replace("_", " "), name)
        self.values_edit = QtWidgets.QLineEdit()
        self.values_edit.setPlaceholderText("comma-separated, e.g. 1,2,5,10")
        self.values_edit.setToolTip(
            "Values of the field, comma-separated. For several hidden layers per value, "
            "separate values with ';', e.g. 8,4; 16,16."
        )
        self.repeats_spin = QtWidgets.QSpinBox()
        self.repeats_spin.setRange(1, 100)
        self.repeats_spin.setToolTip(
            "Train each configuration with this many weight seeds and show mean, spread and range."
        )
        self.jobs_spin = QtWidgets.QSpinBox()
        self.jobs_spin.setRange(1, 64)
        self.jobs_spin.setValue(n_jobs)
        self.jobs_spin.setToolTip(
            "Worker processes that train in parallel (1 trains in this process, in the background)."
        )
        self.cluster_edit = QtWidgets.QLineEdit()
        self.cluster_edit.setPlaceholderText("this machine")
        self.cluster_edit.setToolTip(
            "Where the sweep trains: empty (or 'local') for this machine, a dask scheduler such "
            "as tcp://host:8786 (pip install 'nnviz[dask]') or a ray head such as "
            "ray://host:10001 (pip install 'nnviz[ray]'). The data goes with the work."
        )
        self.base_label = QtWidgets.QLabel()
        self.base_label.setWordWrap(True)
        self.base_label.setStyleSheet("color: palette(mid);")

        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Sweep", self.mode_combo)
        form.addRow("Field", self.field_combo)
        form.addRow("Values", self.values_edit)
        numbers = QtWidgets.QHBoxLayout()
        numbers.addWidget(self.repeats_spin)
        numbers.addWidget(QtWidgets.QLabel("Parallel jobs"))
        numbers.addWidget(self.jobs_spin)
        numbers.addStretch(1)
        form.addRow("Seeds", numbers)
        form.addRow("Cluster", self.cluster_edit)
        form.addRow("", self.base_label)

        # -- running
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.setToolTip("Train every configuration of the sweep in the background.")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("")
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setWordWrap(True)
        run_row = QtWidgets.QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress_bar, 1)

        # -- results
        self.table_combo = QtWidgets.QComboBox()
        self.table_combo.setToolTip("The table to show when a run made several.")
        self.model = SweepTableModel(self)
        self.proxy = _SortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table_view = QtWidgets.QTableView()
        self.table_view.setModel(self.proxy)
        self.table_view.setSortingEnabled(True)
        self.table_view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # sweep order until a click
        self.table_view.setSelectionBehavior(
            QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows
        )
        self.table_view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.setAlternatingRowColors(True)
        self.table_view.verticalHeader().setVisible(False)
        self.table_view.horizontalHeader().setStretchLastSection(True)
        self.table_view.setToolTip("Double-click a row to load its configuration into the window.")
        self.copy_action = QtGui.QAction("Copy as CSV", self.table_view)
        self.copy_action.setShortcut(QtGui.QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.table_view.addAction(self.copy_action)
        self.table_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.copy_button = QtWidgets.QPushButton("Copy")
        self.copy_button.setToolTip("Copy the table (or the selected rows) as CSV.")
        self.export_table_button = QtWidgets.QPushButton("Export table…")
        self.export_plot_button = QtWidgets.QPushButton("Export plot…")
        for button in (self.copy_button, self.export_table_button, self.export_plot_button):
            button.setEnabled(False)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.table_combo, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.export_table_button)
        buttons.addWidget(self.export_plot_button)

        self.view = SweepView()

        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(form)
        left_layout.addLayout(run_row)
        left_layout.addWidget(self.status_label)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.table_view, 1)
        # Stacked, not side by side: the panel lives in a dock beside the four views.
        splitter = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(left)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self.mode_combo.currentIndexChanged.connect(self._on_mode_combo_changed)
        self.field_combo.currentIndexChanged.connect(self._on_field_combo_changed)
        self.run_button.clicked.connect(self._on_run_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.copy_action.triggered.connect(self._on_copy_clicked)
        self.export_table_button.clicked.connect(self._on_export_table_clicked)
        self.export_plot_button.clicked.connect(self._on_export_plot_clicked)
        self.table_combo.currentIndexChanged.connect(self._on_table_combo_changed)
        self.table_view.doubleClicked.connect(self._on_table_double_clicked)
        self.controller.started.connect(self._on_controller_started)
        self.controller.progress_changed.connect(self._on_controller_progress_changed)
        self.controller.finished.connect(self._on_controller_finished)
        self.controller.cancelled.connect(self._on_controller_cancelled)
        self.controller.failed.connect(self._on_controller_failed)

        self.field_combo.setCurrentIndex(SWEEPABLE.index("hidden"))
        self._on_field_combo_changed(self.field_combo.currentIndex())
        self._on_mode_combo_changed(self.mode_combo.currentIndex())

    # -- API for the main window and tests ---------------------------------------------------

    def set_base_config(self, config: Config) -> None:
        """The configuration a custom sweep varies (the window's current one)."""
        self._base = config
        self._show_base()

    def base_config(self) -> Config:
        return self._base

    def set_custom_sweep(self, param: str, values: str, repeats: int = 1) -> None:
        """Fill in a custom sweep, as a user would (values as typed)."""
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(CUSTOM))
        index = self.field_combo.findData(param)
        if index < 0:
            raise ValueError(f"{param!r} cannot be swept from the panel")
        self.field_combo.setCurrentIndex(index)
        self.values_edit.setText(values)
        self.repeats_spin.setValue(repeats)

    def set_article_sweep(self, repeats: int = 1) -> None:
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(ARTICLE))
        self.repeats_spin.setValue(repeats)

    def sweeps(self) -> list[Sweep]:
        """The sweeps the form describes (a custom sweep whose values mix regression and
        classification becomes one table each); raises ConfigError for a bad field or value."""
        repeats = self.repeats_spin.value()
        if self.mode_combo.currentData() == ARTICLE:
            return list(article_tables(repeats=repeats))
        param = self.field_combo.currentData()
        values = parse_values(param, self.values_edit.text())
        return split_by_task(Sweep(param, values, self._base, repeats=repeats))

    def run(self) -> bool:
        """Start the sweep the form describes; False (with the reason shown) if it is invalid."""
        if self.is_running():
            return False
        try:
            sweeps = self.sweeps()
        except ConfigError as error:
            self._show_status(str(error), error=True)
            return False
        return self.controller.start(sweeps, n_jobs=self.jobs_spin.value(), cluster=self.cluster())

    def cluster(self) -> str | None:
        """The dask scheduler or ray head to run on, or None for this machine."""
        text = self.cluster_edit.text().strip()
        return None if text in ("", "local") else text

    def set_cluster(self, address: str | None) -> None:
        self.cluster_edit.setText(address or "")

    def cancel(self) -> None:
        """Ask a running sweep to stop; `sweep_cancelled` follows within about a second."""
        if self.controller.cancel():
            self.cancel_button.setEnabled(False)
            self.progress_bar.setFormat("cancelling…")

    def is_running(self) -> bool:
        return self.controller.is_running()

    def shutdown(self) -> None:
        """Stop a running sweep, join its thread and end the worker processes of every sweep
        run here (the main window's closeEvent calls this)."""
        running = self.controller.is_running()
        self.controller.shutdown()
        if running:
            self._set_running(False)
            self.progress_bar.setFormat("stopped")

    def results(self) -> list[SweepResult]:
        return list(self._results)

    def current_result(self) -> SweepResult | None:
        return self.model.result()

    def show_results(self, results: list[SweepResult]) -> None:
        """Show finished results (also usable to display results computed elsewhere)."""
        self._results = list(results)
        self.table_combo.blockSignals(True)
        self.table_combo.clear()
        for result in self._results:
            self.table_combo.addItem(f"{result.name}: {result.sweep.label}")
        self.table_combo.blockSignals(False)
        self.table_combo.setVisible(len(self._results) > 1)
        self._show_table(0)

    def displayed_rows(self) -> list[SweepRow]:
        """The rows in the order the table shows them (after sorting)."""
        return [
            self.model.row(self.proxy.mapToSource(self.proxy.index(r, 0)).row())
            for r in range(self.proxy.rowCount())
        ]

    def selected_rows(self) -> list[SweepRow]:
        chosen = {index.row() for index in self.table_view.selectionModel().selectedRows()}
        return [row for r, row in enumerate(self.displayed_rows()) if r in chosen]

    def table_csv(self, selected_only: bool = False) -> str:
        """The shown table as CSV (nnviz's sweep.csv columns), in the displayed order."""
        result = self.model.result()
        if result is None:
            return ""
        rows = self.selected_rows() if selected_only else self.displayed_rows()
        return result.csv_text(rows)

    def copy_table(self) -> str:
        """Put the selected rows (or the whole table) on the clipboard as CSV; returns the text."""
        text = self.table_csv(selected_only=bool(self.selected_rows()))
        if text:
            QtWidgets.QApplication.clipboard().setText(text)
            self._show_status(f"copied {text.count(chr(10)) - 1} rows as CSV")
        return text

    def export_table(self, path: str | Path) -> Path:
        result = self.model.result()
        if result is None:
            raise FileFormatError("there is no table to export yet")
        return write_text(path, result.csv_text(self.displayed_rows()))

    def export_plot(self, path: str | Path) -> Path:
        """The plot as SVG (a .svg path) or else as a PNG at twice the on-screen size."""
        path = Path(path)
        if self.model.result() is None:
            raise FileFormatError("there is no plot to export yet")
        if path.suffix.lower() == ".svg":
            return save_svg(self.view.plot_widget, path, title="nnviz sweep")
        return save_png(self.view.plot_widget, path.with_suffix(".png"), scale=2.0)

    # -- events ------------------------------------------------------------------------------

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    @QtCore.Slot(int)
    def _on_mode_combo_changed(self, index: int) -> None:
        custom = self.mode_combo.currentData() == CUSTOM
        self.field_combo.setEnabled(custom)
        self.values_edit.setEnabled(custom)
        self._show_base()

    @QtCore.Slot(int)
    def _on_field_combo_changed(self, index: int) -> None:
        example = EXAMPLE_VALUES.get(self.field_combo.currentData())
        if example is not None:
            self.values_edit.setPlaceholderText(f"e.g. {example}")
            if not self.values_edit.text() or self.values_edit.text() in EXAMPLE_VALUES.values():
                self.values_edit.setText(example)

    @QtCore.Slot()
    def _on_run_clicked(self) -> None:
        self.run()

    @QtCore.Slot()
    def _on_cancel_clicked(self) -> None:
        self.cancel()

    @QtCore.Slot()
    def _on_controller_started(self) -> None:
        self._set_running(True)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("starting workers…")
        self._show_status("")
        self.sweep_started.emit()

    @QtCore.Slot(object)
    def _on_controller_progress_changed(self, progress: SweepProgress) -> None:
        self.progress_bar.setValue(round(1000 * progress.fraction))
        self.progress_bar.setFormat(
            f"{progress.trainings_done}/{progress.trainings_total} trainings  %p%"
        )

    @QtCore.Slot(object)
    def _on_controller_finished(self, results: list[SweepResult]) -> None:
        self._set_running(False)
        self.progress_bar.setValue(1000)
        self.progress_bar.setFormat("done")
        runs = sum(len(row.runs) for result in results for row in result.rows)
        self._show_status(f"{runs} runs in {len(results)} table{'s' if len(results) > 1 else ''}")
        self.show_results(results)
        self.results_ready.emit(results)

    @QtCore.Slot()
    def _on_controller_cancelled(self) -> None:
        self._set_running(False)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("cancelled")
        self._show_status("cancelled")
        self.sweep_cancelled.emit()

    @QtCore.Slot(str)
    def _on_controller_failed(self, message: str) -> None:
        self._set_running(False)
        self.progress_bar.setFormat("failed")
        self._show_status(message, error=True)
        self.sweep_failed.emit(message)

    @QtCore.Slot(int)
    def _on_table_combo_changed(self, index: int) -> None:
        self._show_table(index)

    @QtCore.Slot(QtCore.QModelIndex)
    def _on_table_double_clicked(self, index: QtCore.QModelIndex) -> None:
        if index.isValid():
            row = self.model.row(self.proxy.mapToSource(index).row())
            self.config_chosen.emit(row.config)

    @QtCore.Slot()
    def _on_copy_clicked(self) -> None:
        self.copy_table()

    @QtCore.Slot()
    def _on_export_table_clicked(self) -> None:
        result = self.model.result()
        if result is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export table", f"{result.name}.csv", "CSV (*.csv)"
        )
        if path:
            self._export(self.export_table, path)

    @QtCore.Slot()
    def _on_export_plot_clicked(self) -> None:
        result = self.model.result()
        if result is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export plot", f"{result.name}.png", "PNG image (*.png);;SVG drawing (*.svg)"
        )
        if path:
            self._export(self.export_plot, path)

    # -- helpers -----------------------------------------------------------------------------

    def _export(self, export, path: str) -> None:
        try:
            written = export(path)
        except FileFormatError as error:
            self._show_status(str(error), error=True)
        else:
            self._show_status(f"wrote {written}")

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.mode_combo, self.repeats_spin, self.jobs_spin, self.cluster_edit):
            widget.setEnabled(not running)
        custom = self.mode_combo.currentData() == CUSTOM
        self.field_combo.setEnabled(custom and not running)
        self.values_edit.setEnabled(custom and not running)

    def _show_table(self, index: int) -> None:
        result = self._results[index] if 0 <= index < len(self._results) else None
        self.model.set_result(result)
        self.table_view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.proxy.sort(-1)
        self.table_view.resizeColumnsToContents()
        self.view.show_result(result)
        for button in (self.copy_button, self.export_table_button, self.export_plot_button):
            button.setEnabled(result is not None)

    def _show_base(self) -> None:
        if self.mode_combo.currentData() == ARTICLE:
            text = "The article's setup: seed preset, 10000 iterations, 5 hidden nodes, lr 0.1."
        else:
            c = self._base
            text = (
                f"Around the current setup: {c.dataset}, hidden {value_text(c.hidden)}, "
                f"{c.activation}, lr {c.learning_rate:g}, {c.iterations} iterations."
            )
        self.base_label.setText(text)

    def _show_status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setStyleSheet(f"color: {error_color(self)};" if error else "")
        self.status_label.setText(text)
