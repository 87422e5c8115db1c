"""Weight edits: a clicked edge or bias gets a typed value, and imported weight files replace
the network's weights; training continues from them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Slot

from ...core import Layout
from ...core.files import FileFormatError, load_weights, split_seed_weights
from ...service.protocol import SetWeight, SetWeights
from ..background import Reader, read_now
from ..state import AppState
from .training import TrainingClient

#: Asks the user for a new value: (name, index, current value) -> value, or None if cancelled.
AskValue = Callable[[str, tuple, float], "float | None"]


class WeightEditController(QObject):
    """Changes the weights of `state`'s network through `client`."""

    def __init__(
        self,
        state: AppState,
        client: TrainingClient,
        ask_value: AskValue,
        parent: QObject | None = None,
        read: Reader = read_now,
    ) -> None:
        super().__init__(parent)
        self.state, self.client, self.ask_value, self.read = state, client, ask_value, read

    @Slot(str, tuple, float)
    def on_edit_requested(self, name: str, index: tuple, value: float) -> None:
        """An edge or bias was clicked: ask for its new value, then set it."""
        if not self.state.is_live:
            self.state.show_notice("Go back to live training (End) to edit weights.")
            return
        if self._entry(name, index) is None:  # the click came from a network that is gone
            return
        new_value = self.ask_value(name, tuple(index), value)
        if new_value is not None:
            self.set_weight(name, index, new_value)

    def set_weight(self, name: str, index: tuple, value: float) -> bool:
        """Continue from the current weights with one entry changed (the process applies it
        to its weights as they are then, so no training is lost while playing)."""
        if self._entry(name, index) is None:
            return False
        self.client.send(SetWeight(name, tuple(int(i) for i in index), float(value)))
        return True

    def import_weights(self, path: str | Path) -> None:
        """Load `.npz` / `.json` weights into the current network (shapes checked), read by
        `read`; a refusal shows in the banner. A file of one network's weights goes to the
        selected seed, a file of every seed's (core.files.stack_seed_weights) to each seed."""
        state = self.state
        layout = state.network_layout()
        network, seeds = state.config, state.seed_count

        def use(weights: list[dict]) -> None:
            if state.config.hidden == network.hidden:  # still the network they were read for
                self.client.send(SetWeights(tuple(weights)))

        read = partial(_read_seed_weights, path, layout, seeds)
        self.read(read, use, self._on_read_failed)

    def _on_read_failed(self, error: Exception) -> None:
        known = isinstance(error, (FileFormatError, OSError))
        self.state.set_message(str(error) if known else f"{type(error).__name__}: {error}")

    def _entry(self, name: str, index: tuple) -> float | None:
        """The current value of weights[name][index], or None if no such entry exists now."""
        shown = self.state.newest
        array = None if shown is None else shown.weights.get(name)
        if array is None or len(index) != array.ndim:
            return None
        if any(not 0 <= int(i) < n for i, n in zip(index, array.shape)):
            return None
        return float(array[tuple(int(i) for i in index)])


def _read_seed_weights(path: str | Path, layout: Layout, seeds: int) -> list[dict]:
    """The weights in a file, one dict per seed it holds (1, or every seed of the run), each
    checked against `layout`; a FileFormatError names the file and what does not fit."""
    name = Path(path).name
    try:
        weights = split_seed_weights(load_weights(path))
    except FileFormatError as error:
        raise FileFormatError(f"{name}: {error}") from None
    if len(weights) not in (1, seeds):
        raise FileFormatError(
            f"{name} holds the weights of {len(weights)} seeds; this run trains {seeds}"
        )
    for one in weights:
        try:
            layout.from_weights(one)
        except ValueError as error:
            raise FileFormatError(f"{name}: {error}") from None
    return weights
