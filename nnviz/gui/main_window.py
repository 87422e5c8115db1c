"""The main window: builds the views, panels, docks, toolbar and menus, and wires them to the
application state and its controllers. It holds no logic of its own: what a key or a click
means is decided by a controller, and what is on screen comes from the state's frames.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPalette,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFrame,
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

from ..core import Config, Dataset, load_dataset
from ..core.replay import ReplayPoint
from .background import FileReader
from .banner import Banner
from .color_scheme import SCHEMES, apply_scheme, tinted_icon
from .control_panel import ControlPanel
from .controllers.config_edits import ConfigEditController
from .controllers.draw_points import DrawPointsController
from .controllers.experiments import ExperimentsController
from .controllers.explain import ExplainController
from .controllers.files import FileController
from .controllers.node_maps import NodeMapController
from .controllers.replay import ReplayController
from .controllers.training import REFUSALS, TrainingController
from .controllers.weights import WeightEditController
from .draw_bar import DrawBar
from .experiments_panel import ExperimentsPanel
from .explain_panel import ExplainPanel
from .file_menu import FileMenu
from .frame import Frame
from .plane import choices_from_text, choices_text
from .replay_bar import ReplayBar
from .state import AppState
from .training_thread import TrainingThread
from .views.boundary_view import BoundaryView
from .views.loss_view import LossView
from .views.metrics_view import MetricsView
from .views.network_view import NetworkView, ask_weight_value
from .views.roc_view import RocView

SPEEDS = [
    ("max speed", None),
    ("3000 it/s", 3000.0),
    ("300 it/s", 300.0),
    ("30 it/s", 30.0),
    ("10 it/s", 10.0),
    ("3 it/s", 3.0),
    ("1 it/s", 1.0),
]
#: Docks narrower than their content scroll: with one open the window still fits 1280 px.
DOCK_MIN_WIDTH = 260
DEFAULT_SIZE = (1440, 900)
#: In Explain, the network row's share of the views' height, and the shares of boundary, loss
#: and (hidden) ROC in the row below.
EXPLAIN_TOP_SHARE = 0.55
EXPLAIN_BOTTOM_SHARES = (0.5, 0.5, 0.0)
EXPLAIN_DOCK_WIDTH = 380
#: The title over the ROC view: its ROC curves, or a regression's predictions (bold, as _titled).
ROC_TITLES = ("<b>ROC</b>", "<b>Predicted vs true</b>")
#: Wait at most this many 10 ms turns for the window to be exposed before loading the data.
EXPOSE_WAITS = 100


def _titled(title: str, view: QWidget, menu: QMenu, tools: QWidget | None = None) -> QWidget:
    """A view under a bold title, with a ⋯ button that opens its export menu (and `tools`
    before it)."""
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
    header.addWidget(label, 1 if tools is None else 0)
    if tools is not None:
        header.addWidget(tools, 1)
    header.addWidget(button)
    layout.addLayout(header)
    layout.addWidget(view, 1)
    return box


class MainWindow(QMainWindow):
    """nnviz's window. `frame_drawn(iteration)` fires after each redraw (tests wait on it)."""

    frame_drawn = Signal(int)

    def __init__(
        self,
        config: Config | None = None,
        settings: QSettings | None = None,
        *,
        preset: str | None = "seed",
        dataset: Dataset | None = None,
        load_after_show: bool = False,
    ) -> None:
        """With `load_after_show`, the data is loaded and the first run started once the window
        is on screen (importing scikit-learn would otherwise double the time to a window)."""
        super().__init__()
        self.settings = settings
        self.setWindowTitle("Watch a neural network learn")
        self.setAcceptDrops(True)
        config = config or Config.preset("seed")
        self.redraws = 0
        self._expose_waits = 0
        self._icons: dict[QAction, QStyle.StandardPixmap] = {}  # re-tinted with the colours
        self._sizes_before_explain: list[list[int]] | None = None

        if dataset is None and not load_after_show:
            dataset = load_dataset(config)
        self.state = AppState(config, dataset, self)
        if settings is not None:  # the plane last chosen of each dataset with more inputs
            self.state.remember_plane_choices(choices_from_text(settings.value("view/planes")))
        self.training_thread = TrainingThread()
        self.training = TrainingController(self.state, self.training_thread, self)
        self.file_reader = FileReader(self)  # the user's files are read off the GUI thread
        self.controls = ControlPanel()
        self.config_edits = ConfigEditController(
            self.state, self.training, self.controls, self, read=self.file_reader
        )
        self.network_view = NetworkView()
        self.boundary_view = BoundaryView()
        self.loss_view = LossView()
        self.roc_view = RocView()
        self.loss_view.set_log_scale(True)  # the interesting part of a loss curve is its tail
        self.metrics_view = MetricsView()
        self.explain_panel = ExplainPanel()
        self.experiments = ExperimentsController(self)
        self.experiments_panel = ExperimentsPanel(controller=self.experiments)
        self.explain = ExplainController(
            self.state,
            self.training_thread,
            self.training,
            self.explain_panel,
            self.network_view,
            self,
        )
        self.replay = ReplayController(self.state, self.training_thread, self)
        self.replay_bar = ReplayBar(self.state, self.replay)
        self.replay_bar.set_frame_renderer(self._render_past)
        self.weights = WeightEditController(
            self.state,
            self.training_thread,
            partial(ask_weight_value, self),
            self,
            read=self.file_reader,
        )
        self.node_maps = NodeMapController(self.state, self.boundary_view, self)
        self.drawing = DrawPointsController(
            self.state, self.training_thread, self.boundary_view.painter, self.training, self
        )
        self.files = FileController(
            self.state,
            self.training_thread,
            self.training,
            self.config_edits,
            self.weights,
            {
                "network": lambda: self.network_view.plot_widget,
                "loss": lambda: self.loss_view.plot_widget,
                "boundary": lambda: self.boundary_view.plot_widget,
                "roc": lambda: self.roc_view.plot_widget,
            },
            settings,
            self,
            read=self.file_reader,
        )

        self._build_actions()
        self.file_menu = FileMenu(self, self.files, self.menuBar().addMenu("&File"))
        self._build_drawing()
        self._build_menus()
        self._build_layout()
        self._build_docks()
        self._build_view_menu()
        self.status = QLabel()
        self.statusBar().addWidget(self.status, 1)
        self._connect()

        self.controls.set_config(config, preset)
        self.experiments_panel.set_base_config(config)
        self.training_thread.start()
        self._first_run_pending = dataset is None
        if dataset is not None:
            self.training.start_run(config, dataset)
        else:
            self.status.setText("Loading scikit-learn and the data…")
        self._restore_geometry()
        if self.settings is not None:
            self.experiments_panel.set_cluster(str(self.settings.value("experiments/cluster", "")))
        stored_scheme = self.settings.value("view/color_scheme") if self.settings else None
        self.set_color_scheme(stored_scheme if stored_scheme in SCHEMES else "auto")
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_desktop_scheme_changed)

    # -- reading ---------------------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self.state.config

    @property
    def process_ready(self) -> bool:
        return self.training.process_ready

    # -- building --------------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Callable[..., object],
        shortcut: str | None = None,
        tip: str = "",
        icon: QStyle.StandardPixmap | None = None,
        checkable: bool = False,
    ) -> QAction:
        """A window action (its key works whatever has focus) whose tooltip shows its key."""
        action = QAction(text, self, checkable=checkable)
        if icon is not None:
            self._icons[action] = icon
            action.setIcon(self._icon(icon))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            tip = f"{tip} ({key})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)  # a window shortcut: works whatever has focus
        return action

    def _build_actions(self) -> None:
        pixmap = QStyle.StandardPixmap
        training = self.training
        self.play_action = self._action(
            "Play", training.toggle_play, "Space", "Start or pause training", pixmap.SP_MediaPlay
        )
        self.step_action = self._action(
            "Step", partial(training.step, 1), "Right", "Run one iteration",
            pixmap.SP_MediaSeekForward,
        )  # fmt: skip
        self.step_n_action = self._action(
            "Step N", self._on_step_n_triggered, "Shift+Right", "Run N iterations",
            pixmap.SP_MediaSkipForward,
        )  # fmt: skip
        self.reset_action = self._action(
            "Reset", training.reset, "R", "Back to the same initial weights",
            pixmap.SP_BrowserReload,
        )  # fmt: skip
        self.reseed_action = self._action(
            "New weights", self.config_edits.new_weights, "N",
            "Draw new initial weights (a new weight seed)",
        )  # fmt: skip
        self.explain_action = self._action(
            "Explain", self.explain.set_active, "E",
            "Walk through one iteration: forward, loss, backward and update, with the article's "
            "formulas and live numbers", checkable=True,
        )  # fmt: skip
        self.escape_action = self._action(
            "Leave the field", self._on_escape_triggered, "Escape", "Give the keys back"
        )
        self.step_count = QSpinBox(minimum=1, maximum=1_000_000, value=100)
        self.step_count.setToolTip("N, the number of iterations Step N runs")
        self.step_count.setKeyboardTracking(False)
        self.speed = QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.speed.setToolTip("Training speed: as fast as possible, or slow motion for teaching")

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
        play_button = toolbar.widgetForAction(self.play_action)
        self.play_action.setText("Pause")  # room for the longer label: the toolbar never shifts
        play_button.setMinimumWidth(play_button.sizeHint().width())
        self.play_action.setText("Play")

    def _build_menus(self) -> None:
        train_menu = self.menuBar().addMenu("&Training")
        for action in (
            self.play_action,
            self.step_action,
            self.step_n_action,
            self.reset_action,
            self.reseed_action,
        ):
            train_menu.addAction(action)
        self.view_menu = self.menuBar().addMenu("&View")

    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.controls.sizeHint().width() + 24)

        menu = self.file_menu.view_menu
        self.top_row = top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(_titled("Network", self.network_view, menu("network", self)))
        self.boundary_box = _titled(
            "Decision boundary", self.boundary_view, menu("boundary", self), self.draw_bar
        )
        top.addWidget(self.boundary_box)
        self.bottom_row = bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(_titled("Loss", self.loss_view, menu("loss", self)))
        self.roc_box = _titled("ROC", self.roc_view, menu("roc", self))
        self.roc_title = next(  # "Predicted vs true" for regression
            label for label in self.roc_box.findChildren(QLabel) if label.text() == ROC_TITLES[0]
        )
        bottom.addWidget(self.roc_box)
        self.views_area = views = QSplitter(Qt.Orientation.Vertical)
        views.addWidget(top)
        views.addWidget(bottom)
        for splitter in (top, bottom, views):
            splitter.setChildrenCollapsible(False)
        views.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # where the keys go at launch
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(views, 1)
        right_layout.addWidget(self.replay_bar)
        self.banner = Banner(right)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(scroll)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        self.setCentralWidget(main)
        self.resize(*DEFAULT_SIZE)

    def _dock(self, title: str, widget: QWidget, name: str, sideways: bool = True) -> QDockWidget:
        """A dock that scrolls rather than widen the window past a 1280 px screen; a dock
        whose content wraps (`sideways=False`) scrolls only up and down."""
        dock = QDockWidget(title, self, objectName=name)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        if not sideways:
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(widget)
        scroll.setMinimumWidth(min(widget.minimumSizeHint().width(), DOCK_MIN_WIDTH))
        dock.setWidget(scroll)
        dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        return dock

    def _dock_action(self, dock: QDockWidget, key: str, tip: str) -> QAction:
        """A key that brings `dock` to the front (even from behind another tab), or hides it."""
        action = self._action(dock.windowTitle(), partial(self._toggle_dock, dock), key, tip)
        action.setCheckable(True)  # shows whether the dock is in front; `triggered` toggles it
        dock.visibilityChanged.connect(action.setChecked)
        return action

    def _build_docks(self) -> None:
        self.explain_dock = self._dock(
            "Explain", self.explain_panel, "explain_dock", sideways=False
        )
        self.metrics_dock = self._dock("Metrics", self.metrics_view, "metrics_dock")
        self.experiments_dock = self._dock(
            "Experiments", self.experiments_panel, "experiments_dock"
        )
        self.tabifyDockWidget(self.metrics_dock, self.explain_dock)
        self.tabifyDockWidget(self.explain_dock, self.experiments_dock)
        self.metrics_action = self._dock_action(
            self.metrics_dock, "M", "Confusion matrix and classification report, live"
        )
        self.experiments_action = self._dock_action(
            self.experiments_dock,
            "X",
            "Sweep one setting over values, or rerun the article's three tables, in the background",
        )
        self.toolbar.addSeparator()
        for action in (self.explain_action, self.metrics_action, self.experiments_action):
            self.toolbar.addAction(action)
            self.view_menu.addAction(action)
        for action in (self.explain_panel.previous_action, self.explain_panel.next_action):
            self.addAction(action)

    def _build_view_menu(self) -> None:
        """Colours (follow the desktop, light, dark) and Restore defaults, under the docks."""
        menu = self.view_menu
        menu.addSeparator()
        colours = menu.addMenu("&Colours")
        group = QActionGroup(self)
        self.scheme_actions: dict[str, QAction] = {}
        for name, text in SCHEMES.items():
            action = QAction(text, self, checkable=True)
            action.triggered.connect(partial(self.set_color_scheme, name))
            group.addAction(action)
            colours.addAction(action)
            self.scheme_actions[name] = action
        menu.addSeparator()
        self.restore_defaults_action = menu.addAction("&Restore defaults", self.restore_defaults)
        self.restore_defaults_action.setToolTip(
            "The seed setup, the default window layout and colours; recent files are kept"
        )
        self._default_state = self.saveState()

    def _connect(self) -> None:
        state, thread, training = self.state, self.training_thread, self.training
        thread.snapshot_ready.connect(training.on_snapshot_ready)
        thread.failed.connect(training.on_failed)
        thread.process_died.connect(training.on_process_died)
        thread.explained.connect(self.explain.on_explained)
        thread.session_saved.connect(self.files.on_session_saved)
        thread.run_written.connect(self.files.on_run_written)
        self.files.status.connect(self._on_files_status)
        self.banner.closed.connect(self._on_banner_closed)

        state.frame_changed.connect(self._on_state_frame_changed)
        state.playing_changed.connect(self._on_state_playing_changed)
        state.message_changed.connect(self._on_state_message_changed)
        state.network_changed.connect(self._on_state_network_changed)
        state.config_changed.connect(self._on_state_config_changed)

        controls, edits = self.controls, self.config_edits
        controls.field_edited.connect(edits.on_panel_field_edited)
        controls.preset_chosen.connect(edits.on_panel_preset_chosen)
        controls.regenerate_requested.connect(edits.on_panel_regenerate_requested)
        self.speed.currentIndexChanged.connect(self._on_speed_changed)
        self.experiments_panel.config_chosen.connect(self._on_experiments_config_chosen)

        self.explain.active_changed.connect(self._on_explain_active_changed)
        self.explain_dock.visibilityChanged.connect(self._on_explain_dock_visibility_changed)
        self.explain_panel.phase_changed.connect(self.network_view.show_explain)
        self.explain_panel.step_requested.connect(self.explain.next_iteration)
        self.network_view.item_clicked.connect(self.explain_panel.select_hit)
        self.boundary_view.point_clicked.connect(self.explain.select_sample)
        self.boundary_view.seed_clicked.connect(self.training.select_seed)
        self.network_view.node_hovered.connect(self.node_maps.on_node_hovered)
        self.boundary_view.plane_selector.plane_chosen.connect(self.state.set_plane_choice)
        self.network_view.weight_edit_requested.connect(self.weights.on_edit_requested)
        self._connect_drawing()

    # -- points you draw -------------------------------------------------------------------

    def _build_drawing(self) -> None:
        """Draw mode's actions (an Edit menu, and the row above the decision boundary)."""
        drawing = self.drawing
        self.draw_action = self._action(
            "Draw points", drawing.set_active, "D",
            "Click the decision boundary to add a point of the chosen class, Shift+click to "
            "remove one, drag to paint several", checkable=True,
        )  # fmt: skip
        self.empty_action = self._action(
            "Start from empty", drawing.start_from_empty, None,
            "Take every training point away and draw your own (the test points stay)",
        )  # fmt: skip
        self.undo_action = self._action("Undo", drawing.undo, "Ctrl+Z", "Undo the last stroke")
        self.redo_action = self._action(
            "Redo", drawing.redo, "Ctrl+Shift+Z", "Redo the stroke undone"
        )
        for action, short in (
            (self.draw_action, "Draw"),
            (self.empty_action, "Empty"),
            (self.undo_action, "↶"),
            (self.redo_action, "↷"),
        ):
            action.setIconText(short)  # the bar's button; menus keep the full text
        self.draw_bar = DrawBar(
            self.draw_action, self.empty_action, self.undo_action, self.redo_action
        )
        edit_menu = self.menuBar().addMenu("&Edit")
        for action in (self.undo_action, self.redo_action):
            edit_menu.addAction(action)
        edit_menu.addSeparator()
        for action in (self.draw_action, self.empty_action):
            edit_menu.addAction(action)
        self._on_drawing_history_changed()

    def _connect_drawing(self) -> None:
        painter, drawing = self.boundary_view.painter, self.drawing
        painter.stroke_started.connect(drawing.begin_stroke)
        painter.stroke_moved.connect(drawing.extend_stroke)
        painter.stroke_ended.connect(drawing.end_stroke)
        drawing.active_changed.connect(self._on_drawing_active_changed)
        drawing.history_changed.connect(self._on_drawing_history_changed)
        drawing.counts_changed.connect(self.draw_bar.set_counts)
        self.draw_bar.label_chosen.connect(drawing.set_label)
        self.state.hold_changed.connect(self._on_state_hold_changed)
        self.state.network_changed.connect(self._on_state_network_changed_for_drawing)

    @Slot(bool)
    def _on_drawing_active_changed(self, active: bool) -> None:
        """Drawing and Explain both want the boundary's clicks: one leaves for the other."""
        self.draw_action.setChecked(active)
        self.boundary_view.painter.set_active(active)
        self.draw_bar.set_drawing(active)
        if active:
            self.explain.set_active(False)

    @Slot()
    def _on_drawing_history_changed(self) -> None:
        self.undo_action.setEnabled(self.drawing.can_undo)
        self.redo_action.setEnabled(self.drawing.can_redo)

    @Slot(str)
    def _on_state_hold_changed(self, reason: str) -> None:
        if reason:
            self.statusBar().showMessage(reason)
        else:
            self.statusBar().clearMessage()

    @Slot()
    def _on_state_network_changed_for_drawing(self) -> None:
        data = self.state.dataset
        self.draw_bar.set_task(data.task, data.n_classes)

    # -- drawing ---------------------------------------------------------------------------

    @Slot(object)
    def _on_state_frame_changed(self, frame: Frame) -> None:
        roc_title = ROC_TITLES[frame.kind == "regression"]
        if self.roc_title.text() != roc_title:
            self.roc_title.setText(roc_title)
        for view in (self.network_view, self.boundary_view, self.loss_view, self.roc_view):
            view.show_frame(frame)
        self.metrics_view.show_frame(frame)
        self._show_status(frame)
        self.redraws += 1
        self.frame_drawn.emit(frame.snapshot.iteration)

    def _show_status(self, frame: Frame) -> None:
        s, seeds = frame.snapshot, frame.seeds
        rate = (
            f"{self.training.iterations_per_second:,.0f} it/s" if self.state.playing else "paused"
        )
        if seeds is None:
            # the frame's figures, of the points shown (the snapshot's, once the process has
            # them; drawn points it has not had yet, too)
            train, test = frame.metrics.train.loss, frame.metrics.test.loss
            self.status.setText(
                f"iteration {s.iteration:,} / {s.target:,}   ·   loss train {shown(train, '.4g')}"
                f"  test {shown(test, '.4g')}   ·   {status_scores(frame)}   ·   {rate}"
            )
            return
        if self.state.playing:
            rate += f" x {seeds.count - sum(seeds.diverged)} seeds"
        self.status.setText(
            f"iteration {s.iteration:,} / {s.target:,}   ·   AUC of {seeds.count} seeds: "
            f"train {seeds.auc_text('train')}  test {seeds.auc_text('test')}   ·   "
            f"seed {seeds.selected_weight_seed} (click a boundary for another): loss "
            f"{s.train_loss:.4g}, test AUC {frame.test_roc.auc:.4f}   ·   {rate}"
        )

    def _render_past(self, point: ReplayPoint) -> QImage:
        """A picture of the views at a kept state (the replay bar has drawn it), for export."""
        self.metrics_view.flush_report()
        return self.views_area.grab().toImage()

    # -- slots -----------------------------------------------------------------------------

    @Slot(bool)
    def _on_state_playing_changed(self, playing: bool) -> None:
        self.play_action.setText("Pause" if playing else "Play")
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self._icons[self.play_action] = icon
        self.play_action.setIcon(self._icon(icon))

    def _icon(self, pixmap: QStyle.StandardPixmap) -> QIcon:
        """The style's icon drawn in the toolbar's text colour, legible light or dark."""
        color = QApplication.palette().color(QPalette.ColorRole.ButtonText)
        return tinted_icon(self.style().standardIcon(pixmap), color)

    @Slot(str)
    def _on_state_message_changed(self, text: str) -> None:
        self.banner.show_text(text)

    @Slot()
    def _on_banner_closed(self) -> None:
        self.state.set_message("")

    @Slot()
    def _on_state_network_changed(self) -> None:
        self.experiments_panel.set_base_config(self.state.config)

    @Slot(object)
    def _on_state_config_changed(self, config: Config) -> None:
        self.experiments_panel.set_base_config(config)

    @Slot(str)
    def _on_files_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    @Slot(object)
    def _on_experiments_config_chosen(self, config: Config) -> None:
        self.config_edits.load(config)

    @Slot(int)
    def _on_speed_changed(self, index: int) -> None:
        self.training.set_speed(self.speed.itemData(index))

    @Slot()
    def _on_step_n_triggered(self) -> None:
        self.training.step(self.step_count.value())

    @Slot()
    def _on_escape_triggered(self) -> None:
        self.views_area.setFocus()

    @Slot(bool)
    def _on_explain_active_changed(self, active: bool) -> None:
        self.explain_action.setChecked(active)
        if active:
            self.drawing.set_active(False)
            self._raise_dock(self.explain_dock)
            self._give_the_diagram_room()
        else:
            self.explain_dock.hide()
            self._put_the_views_back()

    def _give_the_diagram_room(self) -> None:
        """Explain draws its numbers on the diagram: the network takes the whole top row, the
        boundary (to pick a sample) and the loss share the row below, the ROC steps aside (the
        status bar keeps its AUC), and the dock is wide enough for the formulas. Leaving
        Explain puts every view and size back."""
        if self._sizes_before_explain is not None:
            return
        splitters = (self.views_area, self.top_row, self.bottom_row)
        self._sizes_before_explain = [splitter.sizes() for splitter in splitters]
        self.bottom_row.insertWidget(0, self.boundary_box)
        self.roc_box.hide()
        height = sum(self.views_area.sizes())
        top = round(height * EXPLAIN_TOP_SHARE)
        self.views_area.setSizes([top, height - top])
        width = sum(self.bottom_row.sizes())
        self.bottom_row.setSizes([round(width * share) for share in EXPLAIN_BOTTOM_SHARES])
        dock_width = min(EXPLAIN_DOCK_WIDTH, self.width() // 4)
        self.resizeDocks([self.explain_dock], [dock_width], Qt.Orientation.Horizontal)

    def _put_the_views_back(self) -> None:
        if self._sizes_before_explain is None:
            return
        self.top_row.insertWidget(1, self.boundary_box)
        self.roc_box.show()
        self.layout().activate()  # the views take the dock's room back before their sizes
        splitters = (self.views_area, self.top_row, self.bottom_row)
        for splitter, sizes in zip(splitters, self._sizes_before_explain):
            splitter.setSizes(sizes)
        self._sizes_before_explain = None

    @Slot(bool)
    def _on_explain_dock_visibility_changed(self, visible: bool) -> None:
        """Closing the Explain dock leaves explain mode; another dock's tab in front does not."""
        if not visible and self.explain_dock.isHidden():
            self.explain.set_active(False)

    def _raise_dock(self, dock: QDockWidget) -> None:
        """Show a dock in front of any dock tabbed with it."""
        dock.show()
        dock.raise_()

    def _toggle_dock(self, dock: QDockWidget, *_) -> None:
        if dock.isVisible():  # a dock tabbed behind another is not visible: bring it forward
            dock.hide()
        else:
            self._raise_dock(dock)

    def set_color_scheme(self, choice: str, *_) -> None:
        """Colours from View > Colours: "auto" follows the desktop, "light" or "dark" do not."""
        self.color_scheme = choice
        self.scheme_actions[choice].setChecked(True)
        apply_scheme(QApplication.instance(), choice)
        for action, pixmap in self._icons.items():
            action.setIcon(self._icon(pixmap))

    @Slot()
    def _on_desktop_scheme_changed(self) -> None:
        if self.color_scheme == "auto":
            self.set_color_scheme("auto")

    def restore_defaults(self) -> None:
        """Forget what the window remembered: the seed setup, default layout and colours."""
        self.explain.set_active(False)
        self.restoreState(self._default_state)
        self.resize(*self._default_size())
        self.speed.setCurrentIndex(0)
        self.step_count.setValue(100)
        self.set_color_scheme("auto")
        self.config_edits.load(Config.preset("seed"), "seed")
        self.save_settings()

    # -- for scripts and tests -------------------------------------------------------------

    def play(self) -> None:
        self.training.play()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.files.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    # -- settings and closing --------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.views_area.setFocus()  # the window's keys work at once, not into a spin box
        self.activateWindow()  # keys reach it even where no window manager gives focus
        if self._first_run_pending:
            QTimer.singleShot(0, self._start_first_run_when_drawn)

    @Slot()
    def _start_first_run_when_drawn(self) -> None:
        """Load the data once the window is on screen and painted: the load blocks the event
        loop for a second or two, and keys pressed meanwhile wait in the queue for the run."""
        handle = self.windowHandle()
        if handle is not None and not handle.isExposed() and self._expose_waits < EXPOSE_WAITS:
            self._expose_waits += 1
            QTimer.singleShot(10, self._start_first_run_when_drawn)
            return
        if not self._first_run_pending:
            return
        self._first_run_pending = False
        self.repaint()
        config, message = self.state.config, ""
        try:
            dataset = load_dataset(config)
        except REFUSALS as error:  # the remembered setup's data is gone or unreadable
            message = (
                f"The last setup's data could not be loaded ({error}); this is the seed setup."
            )
            config = Config.preset("seed")
            dataset = load_dataset(config)
            self.controls.set_config(config, "seed")
        self.training.start_run(config, dataset)
        self.state.set_message(message)

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry") if self.settings else None
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        elif self.settings is not None:
            self.resize(*self._default_size())
        if self.settings is None:
            return
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def _default_size(self) -> tuple[int, int]:
        """DEFAULT_SIZE, or 80 % of a larger screen (a 4K screen is used), or 95 % of a
        smaller one."""
        if self.screen() is None:
            return DEFAULT_SIZE
        available = self.screen().availableGeometry()
        return tuple(
            min(max(default, int(room * 0.8)), int(room * 0.95))
            for default, room in zip(DEFAULT_SIZE, (available.width(), available.height()))
        )

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("view/color_scheme", self.color_scheme)
        self.settings.setValue("experiments/cluster", self.experiments_panel.cluster() or "")
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("config", self.state.config.to_json())
        self.settings.setValue("view/planes", choices_text(self.state.plane_choices))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.experiments_panel.shutdown()
        self.file_reader.shutdown()
        self.training_thread.stop()
        event.accept()


def status_scores(frame: Frame) -> str:
    """The status bar's scores of both splits: accuracy and AUC (macro AUC for several
    classes), or R² for a regression."""
    metrics = frame.metrics
    if frame.kind == "regression":
        return f"R² train {shown(metrics.train.r2)}  test {shown(metrics.test.r2)}"
    auc = "macro AUC" if frame.kind == "multiclass" else "AUC"
    train, test = metrics.train.accuracy, metrics.test.accuracy
    return (
        f"accuracy train {shown(train, '.3f')}  test {shown(test, '.3f')}"
        f"   ·   {auc} train {shown(frame.train_roc.auc)}  test {shown(frame.test_roc.auc)}"
    )


def shown(value: float, spec: str = ".4f") -> str:
    """`value` formatted by `spec`, or "—" when it is NaN: a split with no points (the test
    split of a drawing before its 4th point of a class) has no figures."""
    return "—" if math.isnan(value) else format(value, spec)


def stored_config(settings: QSettings) -> Config | None:
    """The configuration saved at the last close, if it is still valid and its data loads
    (a CSV file may have moved since)."""
    text = settings.value("config")
    if not isinstance(text, str):
        return None
    try:
        config = Config.from_dict(json.loads(text))
        if config.dataset == "csv" and not Path(config.csv_path).is_file():
            return None  # moved or gone (the points are read, off the GUI thread, later)
    except (ValueError, TypeError, OSError):
        return None
    return config
