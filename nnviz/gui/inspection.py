"""Looking inside training: explain mode, replay, live metrics, node maps and weight edits.

This controller owns the panels for those features and wires them to the window's views and
training thread, so the main window only forwards snapshots and frames to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import QDockWidget

from ..core.explain import node_levels, node_output_grid
from .experiments_panel import ExperimentsPanel
from .explain_panel import ExplainPanel
from .frame import GRID_SIZE, Frame
from .replay_bar import ReplayBar
from .training_thread import Delivery
from .views.metrics_view import MetricsView
from .views.network_view import ask_weight_value

if TYPE_CHECKING:
    from .main_window import MainWindow


class Inspection(QObject):
    """Explain, Metrics and replay for `window`; see the module docstring."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.explain_panel = ExplainPanel()
        self.metrics_view = MetricsView()
        self.replay_bar = ReplayBar()
        self.hovered_node: tuple[int, int] | None = None
        self.experiments_panel = ExperimentsPanel()
        self.explain_dock = self._dock("Explain", self.explain_panel, "explain_dock")
        self.metrics_dock = self._dock("Metrics", self.metrics_view, "metrics_dock")
        self.experiments_dock = self._dock(
            "Experiments", self.experiments_panel, "experiments_dock"
        )
        window.tabifyDockWidget(self.metrics_dock, self.explain_dock)
        window.tabifyDockWidget(self.explain_dock, self.experiments_dock)
        for dock in (self.metrics_dock, self.explain_dock, self.experiments_dock):
            dock.hide()

        self.explain_action = QAction("Explain", window, checkable=True)
        self.explain_action.setShortcut(QKeySequence("E"))
        self.explain_action.setToolTip(
            "Walk through one iteration: forward, loss, backward and update, with the article's "
            "formulas and live numbers (E)"
        )
        self.explain_action.toggled.connect(self._on_explain_toggled)
        self.metrics_action = self.metrics_dock.toggleViewAction()
        self.metrics_action.setText("Metrics")
        self.metrics_action.setShortcut(QKeySequence("M"))
        self.metrics_action.setToolTip("Confusion matrix and classification report, live (M)")
        self.experiments_action = self.experiments_dock.toggleViewAction()
        self.experiments_action.setText("Experiments")
        self.experiments_action.setShortcut(QKeySequence("X"))
        self.experiments_action.setToolTip(
            "Sweep one setting over values, or rerun the article's three tables, in the "
            "background (X)"
        )
        self.experiments_panel.config_chosen.connect(self._on_experiments_config_chosen)
        for action in (
            self.explain_action,
            self.metrics_action,
            self.experiments_action,
            self.explain_panel.previous_action,
            self.explain_panel.next_action,
        ):
            window.addAction(action)

        network, panel = window.network_view, self.explain_panel
        panel.phase_changed.connect(network.show_explain)
        panel.step_requested.connect(self._on_explain_step_requested)
        network.item_clicked.connect(panel.select_hit)
        network.node_hovered.connect(self._on_network_node_hovered)
        network.weight_edit_requested.connect(self._on_network_weight_edit_requested)
        window.boundary_view.train_scatter.sigClicked.connect(self._on_boundary_point_clicked)
        window.thread.explain_ready.connect(self._on_thread_explain_ready)
        self.explain_dock.visibilityChanged.connect(self._on_explain_dock_visibility_changed)

        bar = self.replay_bar
        bar.point_selected.connect(self._on_replay_point_selected)
        bar.live_requested.connect(self._on_replay_live_requested)
        bar.resume_requested.connect(self._on_replay_resume_requested)
        bar.set_frame_renderer(self._render_replay_frame)

    def _dock(self, title: str, widget, name: str) -> QDockWidget:
        dock = QDockWidget(title, self.window, objectName=name)
        dock.setWidget(widget)
        dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    # -- called by the window --------------------------------------------------------------

    def take_delivery(self, delivery: Delivery) -> bool:
        """Keep a delivery for replay; True when the window should draw it (not replaying)."""
        return self.replay_bar.add_snapshot(delivery.snapshot, delivery.points)

    def restart(self) -> None:
        """A new network or session: forget the replay and leave explain mode."""
        self.replay_bar.clear()
        self.explain_action.setChecked(False)
        self.experiments_panel.set_base_config(self.window.config)

    def shutdown(self) -> None:
        """Stop background work (a running sweep) before the window closes."""
        self.experiments_panel.shutdown()

    @Slot(object)
    def _on_experiments_config_chosen(self, config) -> None:
        self.window.load_config(config)

    def after_draw(self, frame: Frame) -> None:
        """Per frame: the metrics, and the hovered node's map in the boundary view."""
        self.metrics_view.show_frame(frame)
        if self.hovered_node is not None:
            self._show_node_map(frame, *self.hovered_node)

    # -- explain ---------------------------------------------------------------------------

    @Slot(bool)
    def _on_explain_toggled(self, on: bool) -> None:
        window = self.window
        if on:
            if window.playing:
                window.thread.send("pause")
            self.explain_dock.show()
            self.explain_dock.raise_()
            window.thread.send("explain")
        else:
            window.network_view.clear_explain()
            self.explain_dock.hide()

    @Slot(bool)
    def _on_explain_dock_visibility_changed(self, visible: bool) -> None:
        if not visible and not self.explain_dock.isVisible():
            self.explain_action.setChecked(False)

    @Slot(object)
    def _on_thread_explain_ready(self, step) -> None:
        if self.explain_action.isChecked():
            self.explain_panel.set_step(step)

    @Slot()
    def _on_explain_step_requested(self) -> None:
        self.window.thread.send("step", 1)
        self.window.thread.send("explain")  # commands run in order: this explains the next one

    @Slot(object, object, object)
    def _on_boundary_point_clicked(self, item, points, event) -> None:
        if self.explain_action.isChecked() and len(points):
            self.explain_panel.set_sample(int(points[0].index()))

    # -- inside the network ----------------------------------------------------------------

    @Slot(object)
    def _on_network_node_hovered(self, node) -> None:
        self.hovered_node = node
        frame = self.window.frame
        if frame is None:
            return
        if node is None:
            self.window.boundary_view.plot.setTitle(None)
            self.window.boundary_view.show_frame(frame)
        else:
            self._show_node_map(frame, *node)

    def _show_node_map(self, frame: Frame, layer: int, unit: int) -> None:
        """Show one unit's output over the input plane, large, in the boundary view."""
        weights, activation = frame.snapshot.weights, frame.config.activation
        grid = node_output_grid(weights, activation, layer, unit, frame.extent, GRID_SIZE)
        levels = node_levels(activation, layer, len(weights) // 2, grid)
        view = self.window.boundary_view
        view.image.setImage(grid, autoLevels=False, levels=levels)
        view.colorbar.setLevels(levels)
        name = (
            "input"
            if layer == 0
            else "output"
            if layer == len(weights) // 2
            else (f"hidden {layer}")
        )
        view.plot.setTitle(f"{name} unit {unit + 1}: its output over the input plane", size="9pt")

    @Slot(str, tuple, float)
    def _on_network_weight_edit_requested(self, name: str, index: tuple, value: float) -> None:
        window = self.window
        if not self.replay_bar.is_live():
            window.show_message("Go back to live training (End) to edit weights.")
            return
        new_value = ask_weight_value(window, name, index, value)
        if new_value is None or window.snapshot is None:
            return
        self.set_weight(name, index, new_value)

    def set_weight(self, name: str, index: tuple, value: float) -> None:
        """Continue training from the current weights with one entry changed (the process
        applies it to its weights as they are then, so no training is lost while playing)."""
        self.window.thread.send("set_weight", name, tuple(index), float(value))

    # -- replay ----------------------------------------------------------------------------

    @Slot(object)
    def _on_replay_point_selected(self, point) -> None:
        self.window.draw(self.replay_bar.store.snapshot(point))

    @Slot()
    def _on_replay_live_requested(self) -> None:
        if self.window.snapshot is not None:
            self.window.draw(self.window.snapshot)

    @Slot(object)
    def _on_replay_resume_requested(self, point) -> None:
        self.window.thread.send("resume", point)

    def _render_replay_frame(self, point) -> QImage:
        self.window.draw(self.replay_bar.store.snapshot(point))
        self.metrics_view.flush_report()
        return self.window.views_area.grab().toImage()
