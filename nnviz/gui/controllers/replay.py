"""Replay: the history slider's choices become the state's shown frame, and "Resume here"
continues training from a past state."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from ...core.replay import ReplayPoint
from ...service.protocol import Resume
from ..state import AppState
from .training import TrainingClient


class ReplayController(QObject):
    """Replays kept states of `state` and resumes training from them through `client`."""

    def __init__(
        self, state: AppState, client: TrainingClient, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.state, self.client = state, client

    def select_index(self, index: int) -> None:
        """Show the kept state at `index` (clamped)."""
        store = self.state.replay
        if len(store) == 0:
            return
        point = store[min(max(index, 0), len(store) - 1)]
        if point is not self.state.replayed:
            self.state.replay_at(point)

    def select_iteration(self, iteration: int) -> None:
        if len(self.state.replay):
            self.select_index(self.state.replay.index_of(iteration))

    def hold_newest(self) -> None:
        """Stop following training, holding the newest kept state."""
        self.select_index(len(self.state.replay) - 1)

    def resume(self) -> None:
        """Continue training from the replayed state, forgetting the states after it."""
        point: ReplayPoint | None = self.state.replayed
        if point is None:
            return
        self.client.send(Resume(point, self.state.seed_states(point.iteration)))
        self.state.forget_after(point)

    @Slot()
    def go_live(self) -> None:
        self.state.go_live()
