"""Explain mode: pause, ask the training process to take the next iteration apart, and show
it in the explain panel and the network diagram; a step moves on to the next iteration.

The step-through belongs to one network and one iteration: a new run asks for a new one, and
Play leaves explain mode, since the step-through would go stale at once.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, Signal, Slot

from ...core import Config
from ...core.explain import StepThrough
from ...service.protocol import Explain
from ..state import AppState
from .training import TrainingClient


class ExplainPanelView(Protocol):
    def set_step(self, step: StepThrough) -> None: ...
    def set_sample(self, sample: int | None) -> None: ...


class ExplainDiagram(Protocol):
    def clear_explain(self) -> None: ...


class TrainingCommands(Protocol):
    """Pause and Step as the training controller gives them (the state shows them at once)."""

    def pause(self) -> None: ...
    def step(self, count: int = 1) -> None: ...


class ExplainController(QObject):
    """Explain mode for `state`, shown in `panel` and `diagram`."""

    active_changed = Signal(bool)

    def __init__(
        self,
        state: AppState,
        client: TrainingClient,
        training: TrainingCommands,
        panel: ExplainPanelView,
        diagram: ExplainDiagram,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.client, self.training = state, client, training
        self.panel, self.diagram = panel, diagram
        self.active = False
        state.network_changed.connect(self._on_state_network_changed)
        state.data_changed.connect(self._on_state_network_changed)  # drawn points: samples moved
        state.config_changed.connect(self._on_state_config_changed)
        state.playing_changed.connect(self._on_state_playing_changed)

    def set_active(self, active: bool) -> None:
        if active == self.active:
            return
        self.active = active
        self.state.clear_notice()
        if active:
            if self.state.playing:
                self.training.pause()
            self.state.go_live()  # the step-through explains the newest state
            self.client.send(Explain())
        else:
            self.diagram.clear_explain()
        self.active_changed.emit(active)

    def next_iteration(self) -> None:
        """Train one iteration, then explain the one after it (commands run in order)."""
        if not self.active:
            return
        self.training.step(1)
        self.client.send(Explain())

    def select_sample(self, index: int) -> None:
        """Explain for one training sample (a clicked point) instead of the whole batch."""
        if self.active and 0 <= index < len(self.state.dataset.y_train):
            self.panel.set_sample(index)

    @Slot(object)
    def on_explained(self, step: StepThrough) -> None:
        if self.active:
            self.panel.set_step(step)

    @Slot()
    def _on_state_network_changed(self) -> None:
        if self.active:  # explain the new network's first iteration
            self.diagram.clear_explain()
            self.client.send(Explain())

    @Slot(object)
    def _on_state_config_changed(self, config: Config) -> None:
        if self.active:  # the update phase depends on the learning rate, L1, L2
            self.client.send(Explain())

    @Slot(bool)
    def _on_state_playing_changed(self, playing: bool) -> None:
        if playing:
            self.set_active(False)
