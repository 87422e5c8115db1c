"""The main window: control panel, four views, toolbar and status bar, wired to the training thread.

The window is the controller: it turns panel edits into configs (live update or reset), turns
toolbar actions into commands for the training thread, and turns snapshots into frames for the
views. The views only draw; the training thread only trains.
"""

from __future__ import annotations

import json
import random
import time

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStyle,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import Config, ConfigError, DataError, Dataset, Snapshot, Trainer, load_dataset
from ..core.files import FileFormatError
from .control_panel import ControlPanel
from .file_actions import FileActions
from .frame import Frame, grid_points, make_frame
from .inspection import Inspection
from .training_thread import Delivery, TrainingThread
from .views.boundary_view import BoundaryView
from .views.loss_view import LossView
from .views.network_view import NetworkView
from .views.roc_view import RocView

#: Redraw at most this often (40 Hz); snapshots arriving faster are coalesced, newest wins.
MIN_REDRAW_SECONDS = 1 / 40
SPEEDS = [
    ("max speed", None),
    ("3000 it/s", 3000.0),
    ("300 it/s", 300.0),
    ("30 it/s", 30.0),
    ("10 it/s", 10.0),
    ("3 it/s", 3.0),
    ("1 it/s", 1.0),
]
DEFAULT_SIZE = (1440, 900)


def _titled(title: str, view: QWidget, menu: QMenu) -> QWidget:
    """A view under a bold title, with a ⋯ button that opens its export menu."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.setSpacing(0)
    header = QHBoxLayout()
    label = QLabel(f"<b>{title}</b>")
    label.setContentsMargins(4, 2, 0, 2)
    button = QToolButton(text="⋯", toolTip=f"Export the {title.lower()} view")
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setAutoRaise(True)
    button.setMenu(menu)
    header.addWidget(label, 1)
    header.addWidget(button)
    layout.addLayout(header)
    layout.addWidget(view, 1)
    return box


class MainWindow(QMainWindow):
    """nnviz's window. `frame_drawn(iteration)` fires after each redraw (tests wait on it)."""

    frame_drawn = Signal(int)
    training_process_ready = Signal()

    def __init__(
        self,
        config: Config | None = None,
        settings: QSettings | None = None,
        *,
        preset: str | None = "seed",
    ) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("nnviz — watch a neural network learn")
        self.setAcceptDrops(True)
        self.config = config or Config.preset("seed")
        self.dataset: Dataset = load_dataset(self.config)
        self.snapshot: Snapshot | None = None  # the newest from training
        self.shown: Snapshot | None = None  # the one on screen (older while replaying)
        self.frame: Frame | None = None
        self.playing = False
        self.process_ready = False  # the training process has answered once
        self._pending_fields: set[str] = set()  # edits the core refused, kept for the next one
        self.redraws = 0
        self._grid = grid_points(self.dataset.bounds)
        self._last_redraw = 0.0
        self._rate_mark: tuple[float, int] | None = None
        self.iterations_per_second = 0.0

        self.controls = ControlPanel()
        self.network_view = NetworkView()
        self.boundary_view = BoundaryView()
        self.loss_view = LossView()
        self.roc_view = RocView()
        self.loss_view.set_log_scale(True)  # the interesting part of a loss curve is its tail
        self._build_actions()
        self._build_layout()
        self.status = QLabel()
        self.statusBar().addWidget(self.status, 1)

        self.thread = TrainingThread()
        self.thread.snapshot_ready.connect(self._on_thread_snapshot_ready)
        self.thread.error_reported.connect(self._on_thread_error_reported)
        self.thread.done_reported.connect(self._on_thread_done_reported)
        self.inspection = Inspection(self)
        self._right_layout.addWidget(self.inspection.replay_bar)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.inspection.explain_action)
        self.toolbar.addAction(self.inspection.metrics_action)
        self.toolbar.addAction(self.inspection.experiments_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.inspection.explain_action)
        view_menu.addAction(self.inspection.metrics_action)
        view_menu.addAction(self.inspection.experiments_action)
        self._redraw_timer = QTimer(self, singleShot=True)
        self._redraw_timer.timeout.connect(self._redraw)

        self.controls.field_edited.connect(self._on_controls_field_edited)
        self.controls.preset_chosen.connect(self._on_controls_preset_chosen)
        self.controls.regenerate_requested.connect(self._on_controls_regenerate_requested)
        self.controls.set_config(self.config, preset)

        self.thread.start()
        self._start_run(self.config, self.dataset)
        self._restore_geometry()

    # -- building --------------------------------------------------------------------------

    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.controls.sizeHint().width() + 24)

        self.banner = QLabel(wordWrap=True)
        self.banner.setStyleSheet(
            "background: #fdecea; color: #8a1f11; border: 1px solid #e0a39a; padding: 6px;"
        )
        self.banner.hide()

        top = QSplitter(Qt.Orientation.Horizontal)
        menu = self.files.view_menu
        top.addWidget(_titled("Network", self.network_view, menu("network", self)))
        top.addWidget(_titled("Decision boundary", self.boundary_view, menu("boundary", self)))
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(_titled("Loss", self.loss_view, menu("loss", self)))
        bottom.addWidget(_titled("ROC", self.roc_view, menu("roc", self)))
        self.views_area = views = QSplitter(Qt.Orientation.Vertical)
        views.addWidget(top)
        views.addWidget(bottom)
        for splitter in (top, bottom, views):
            splitter.setChildrenCollapsible(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(views, 1)
        self._right_layout = right_layout

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        self.setCentralWidget(main)
        self.resize(*DEFAULT_SIZE)

    def _action(
        self,
        text: str,
        slot,
        shortcut: QKeySequence | str | None = None,
        tip: str = "",
        icon: QStyle.StandardPixmap | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            tip = f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
        action.setToolTip(tip.strip())
        action.setStatusTip(tip.strip())
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        pixmap = QStyle.StandardPixmap
        self.play_action = self._action(
            "Play", self._on_play_triggered, "Space", "Start or pause training", pixmap.SP_MediaPlay
        )
        self.step_action = self._action(
            "Step",
            self._on_step_triggered,
            "Right",
            "Run one iteration",
            pixmap.SP_MediaSeekForward,
        )
        self.step_n_action = self._action(
            "Step N",
            self._on_step_n_triggered,
            "Shift+Right",
            "Run N iterations",
            pixmap.SP_MediaSkipForward,
        )
        self.reset_action = self._action(
            "Reset",
            self._on_reset_triggered,
            "R",
            "Back to the same initial weights",
            pixmap.SP_BrowserReload,
        )
        self.reseed_action = self._action(
            "New weights",
            self._on_reseed_triggered,
            "N",
            "Draw new initial weights (a new weight seed)",
        )
        self.step_count = QSpinBox(minimum=1, maximum=1_000_000, value=100)
        self.step_count.setToolTip("N, the number of iterations Step N runs")
        self.step_count.setKeyboardTracking(False)
        self.speed = QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.speed.setToolTip("Training speed: as fast as possible, or slow motion for teaching")
        self.speed.currentIndexChanged.connect(self._on_speed_changed)

        toolbar = QToolBar("Training", objectName="training_toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.play_action)
        toolbar.addAction(self.step_action)
        toolbar.addAction(self.step_n_action)
        toolbar.addWidget(self.step_count)
        toolbar.addSeparator()
        toolbar.addAction(self.reset_action)
        toolbar.addAction(self.reseed_action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Speed "))
        toolbar.addWidget(self.speed)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

        self.files = FileActions(self)
        train_menu = self.menuBar().addMenu("&Training")
        for action in (
            self.play_action,
            self.step_action,
            self.step_n_action,
            self.reset_action,
            self.reseed_action,
        ):
            train_menu.addAction(action)

    # -- runs ------------------------------------------------------------------------------

    def _start_run(self, config: Config, dataset: Dataset, trainer: Trainer | None = None) -> None:
        """Reset to a new network/data and draw its untrained state at once (from `trainer`,
        an untrained Trainer of this config the caller may already have built)."""
        self.config, self.dataset = config, dataset
        self._grid = grid_points(dataset.bounds)
        self.playing = False
        self._rate_mark = None
        self.thread.configure(config, dataset)
        self.thread.take()  # a snapshot of the previous run must not be drawn with this one
        self.thread.send("speed", self.speed.currentData())
        self.inspection.restart()
        trainer = trainer or Trainer(config, dataset)
        self._show(Delivery(trainer.snapshot(), False, ""))

    def _apply(self, config: Config) -> bool:
        """Apply a validated config: live fields go to the running trainer, others reset."""
        if config == self.config:
            return True
        if self.config.is_live_change(config):
            self.config = config
            self.inspection.experiments_panel.set_base_config(config)
            self.thread.send("update", config.to_dict())
            if self.shown is not None:
                self.draw(self.shown)
            return True
        try:
            dataset = load_dataset(config) if self._data_changed(config) else self.dataset
            trainer = Trainer(config, dataset)  # validates init weights etc. before resetting
        except (DataError, ConfigError, FileFormatError, ValueError) as error:
            field = getattr(error, "field", "dataset")
            self.controls.show_error(field, str(error))
            return False
        self._start_run(config, dataset, trainer)
        return True

    def _data_changed(self, config: Config) -> bool:
        names = ("dataset", "csv_path", "samples", "noise", "data_seed", "test_size", "split_seed")
        return any(getattr(config, n) != getattr(self.config, n) for n in names)

    # -- drawing ---------------------------------------------------------------------------

    def _show(self, delivery: Delivery) -> None:
        was_playing = self.playing
        self.playing = delivery.playing
        self._show_playing()
        if delivery.message:
            self._show_banner(delivery.message)
        elif was_playing is False and self.playing:
            self.banner.hide()
        self._measure_rate(delivery.snapshot)
        self.snapshot = delivery.snapshot
        if self.inspection.take_delivery(delivery):  # False while the user replays the past
            self.draw(delivery.snapshot)

    def draw(self, snapshot: Snapshot) -> None:
        """Draw every view for `snapshot`: the newest one, or a past one during replay."""
        self.shown = snapshot
        self.frame = frame = make_frame(snapshot, self.config, self.dataset, self._grid)
        for view in (self.network_view, self.boundary_view, self.loss_view, self.roc_view):
            view.show_frame(frame)
        self.inspection.after_draw(frame)
        self._show_status(frame)
        self.redraws += 1
        self._last_redraw = time.perf_counter()
        self.frame_drawn.emit(snapshot.iteration)

    def _measure_rate(self, snapshot: Snapshot) -> None:
        now = time.perf_counter()
        if not self.playing or self._rate_mark is None:
            self._rate_mark = (now, snapshot.iteration)
            return
        then, iteration = self._rate_mark
        if now - then >= 0.5:
            self.iterations_per_second = (snapshot.iteration - iteration) / (now - then)
            self._rate_mark = (now, snapshot.iteration)

    def _show_status(self, frame: Frame) -> None:
        s = frame.snapshot
        rate = f"{self.iterations_per_second:,.0f} it/s" if self.playing else "paused"
        self.status.setText(
            f"iteration {s.iteration:,} / {s.target:,}   ·   loss train {s.train_loss:.4g}"
            f"  test {s.test_loss:.4g}   ·   accuracy train {s.train_accuracy:.3f}"
            f"  test {s.test_accuracy:.3f}   ·   AUC train {frame.train_roc.auc:.4f}"
            f"  test {frame.test_roc.auc:.4f}   ·   {rate}"
        )

    def _show_banner(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.show()

    def show_message(self, message: str) -> None:
        """Say what went wrong in the banner above the views (never a modal dialog)."""
        self._show_banner(message)

    # -- files -----------------------------------------------------------------------------

    def view_area(self, name: str) -> QWidget:
        """The plot of a view by name, without its toggles: what an export draws."""
        views = {
            "network": self.network_view.plot_widget,
            "loss": self.loss_view.plot,
            "boundary": self.boundary_view.plot,
            "roc": self.roc_view.plot,
        }
        return views[name]

    def adopt_session(self, trainer: Trainer, data: bytes, name: str) -> None:
        """Show a reopened session and hand its exact state to the training process."""
        self.config, self.dataset = trainer.config, trainer.data
        self._grid = grid_points(self.dataset.bounds)
        self.playing = False
        self._rate_mark = None
        self.controls.clear_errors()
        self._pending_fields.clear()
        self.controls.set_config(trainer.config)
        self.thread.open_session(data, name)
        self.thread.take()
        self.banner.hide()
        self.inspection.restart()
        self._show(Delivery(trainer.snapshot(), False, trainer.divergence_message()))

    def load_config(self, config: Config) -> bool:
        """Show `config` in the controls and train it (e.g. a row chosen in Experiments)."""
        self.controls.clear_errors()
        self._pending_fields.clear()
        self.controls.set_config(config)
        return self._apply(config)

    def use_csv_points(self, path: str) -> bool:
        """Train on the points of a CSV file (from the menu or a drop)."""
        self.controls.clear_errors()
        try:
            config = self.config.replace(dataset="csv", csv_path=str(path))
        except ConfigError as error:
            self.show_message(str(error))
            return False
        self.controls.set_config(config)
        return self._apply(config)

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.files.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    # -- slots: training thread ------------------------------------------------------------

    @Slot()
    def _on_thread_snapshot_ready(self) -> None:
        if self._redraw_timer.isActive():
            return
        wait = MIN_REDRAW_SECONDS - (time.perf_counter() - self._last_redraw)
        self._redraw_timer.start(max(0, int(wait * 1000)))

    @Slot()
    def _redraw(self) -> None:
        delivery = self.thread.take()
        if delivery is None:
            return
        self._show(delivery)
        if not self.process_ready:
            self.process_ready = True
            self.training_process_ready.emit()

    @Slot(str)
    def _on_thread_error_reported(self, message: str) -> None:
        self._show_banner(message)

    @Slot(str)
    def _on_thread_done_reported(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)
        self.files.on_done(message)

    # -- slots: controls -------------------------------------------------------------------

    @Slot(str)
    def _on_controls_field_edited(self, name: str) -> None:
        """Change only the edited field (and earlier edits the core refused), never the rest:
        a widget may not show a value exactly (more decimals, a file the panel has no
        editor for), and rebuilding the config from every widget would silently change it."""
        self.controls.clear_errors()
        self.controls.preset.setCurrentIndex(-1)
        self._pending_fields.add(name)
        values = self.controls.values()
        try:
            config = self.config.replace(**{field: values[field] for field in self._pending_fields})
        except ConfigError as error:
            self.controls.show_error(error.field if error.field != "config" else name, str(error))
            return
        if self._apply(config):
            self._pending_fields.clear()

    @Slot(str)
    def _on_controls_preset_chosen(self, name: str) -> None:
        self.controls.clear_errors()
        self._pending_fields.clear()
        config = Config.preset(name)
        self.controls.set_config(config, name)
        self._apply(config)

    @Slot()
    def _on_controls_regenerate_requested(self) -> None:
        seed = (self.config.data_seed + 1) % 2**31
        self.controls.editor("data_seed").setValue(seed)

    @Slot(int)
    def _on_speed_changed(self, index: int) -> None:
        self.thread.send("speed", self.speed.itemData(index))

    # -- slots: actions --------------------------------------------------------------------

    @Slot()
    def _on_play_triggered(self) -> None:
        if self.playing:
            self.thread.send("pause")
            return
        self.inspection.explain_action.setChecked(False)  # the step-through would go stale
        if self.snapshot is not None and self.snapshot.iteration >= self.config.iterations:
            self._show_banner(
                f"Reached the target of {self.config.iterations:,} iterations. "
                "Raise Iterations to train further, or Reset."
            )
            return
        self.banner.hide()
        self.playing = True
        self._show_playing()
        self.thread.send("play")

    def _show_playing(self) -> None:
        self.play_action.setText("Pause" if self.playing else "Play")
        icon = (
            QStyle.StandardPixmap.SP_MediaPause
            if self.playing
            else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_action.setIcon(self.style().standardIcon(icon))

    def play(self) -> None:
        """Start training if it is not running (for scripts and tests)."""
        if not self.playing:
            self._on_play_triggered()

    @Slot()
    def _on_step_triggered(self) -> None:
        self.thread.send("step", 1)

    @Slot()
    def _on_step_n_triggered(self) -> None:
        self.thread.send("step", self.step_count.value())

    @Slot()
    def _on_reset_triggered(self) -> None:
        self.banner.hide()
        self.thread.send("reset")

    @Slot()
    def _on_reseed_triggered(self) -> None:
        self.controls.editor("weight_seed").setValue(random.randrange(2**31))

    # -- settings and closing --------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry") if self.settings else None
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        elif self.settings is not None and self.screen() is not None:
            available = self.screen().availableGeometry()  # a first start on a small screen
            self.resize(
                min(DEFAULT_SIZE[0], int(available.width() * 0.95)),
                min(DEFAULT_SIZE[1], int(available.height() * 0.95)),
            )
        if self.settings is None:
            return
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("config", self.config.to_json())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self._redraw_timer.stop()
        self.inspection.shutdown()
        self.thread.stop()
        event.accept()


def stored_config(settings: QSettings) -> Config | None:
    """The configuration saved at the last close, if it is still valid and its data loads
    (a CSV file may have moved since)."""
    text = settings.value("config")
    if not isinstance(text, str):
        return None
    try:
        config = Config.from_dict(json.loads(text))
        load_dataset(config)
    except (ValueError, TypeError, OSError):
        return None
    return config
