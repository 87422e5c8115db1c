"""Config edits: the control panel's edits, presets and seeds become the config that trains.

Only the edited field changes (with earlier edits the core refused): a widget may not show a
value exactly (more decimals, a file the panel has no editor for), so rebuilding the config from
every widget would silently change it. A refused value is shown under its control and changes
nothing.
"""

from __future__ import annotations

import random
from functools import partial
from typing import Any, Protocol

from PySide6.QtCore import QObject, Slot

from ...core import Config, ConfigError
from ..background import Reader, read_now
from ..state import AppState
from .training import REFUSALS, TrainingController

#: Seeds drawn for "New weights" and "Regenerate", within what Config accepts.
SEED_LIMIT = 2**32


class ConfigPanel(Protocol):
    """What this controller needs of the control panel (a stub in tests)."""

    def values(self) -> dict[str, Any]: ...
    def set_config(self, config: Config, preset: str | None = None) -> None: ...
    def show_error(self, field: str, message: str) -> None: ...
    def clear_errors(self) -> None: ...


class ConfigEditController(QObject):
    """Applies `panel` edits through `training`, and keeps the panel showing the state's config."""

    def __init__(
        self,
        state: AppState,
        training: TrainingController,
        panel: ConfigPanel,
        parent: QObject | None = None,
        read: Reader = read_now,
    ) -> None:
        super().__init__(parent)
        self.state, self.training, self.panel, self.read = state, training, panel, read
        self._pending: set[str] = set()  # edits the core refused, kept for the next one
        self._loading = False
        state.network_changed.connect(self._on_state_network_changed)

    def edit(self, name: str) -> bool:
        """The user changed field `name` in the panel."""
        self.panel.clear_errors()
        self._pending.add(name)
        values = self.panel.values()
        try:
            config = self.state.config.replace(**{field: values[field] for field in self._pending})
        except ConfigError as error:
            self.panel.show_error(error.field if error.field != "config" else name, str(error))
            return False
        if self._apply(config, name):
            self._pending.clear()
            return True
        return False

    def load(self, config: Config, preset: str | None = None) -> bool:
        """Show `config` in the panel and train it (a preset, a sweep row, CSV points)."""
        self.panel.clear_errors()
        self._pending.clear()
        self.panel.set_config(config, preset)
        self._loading = True  # the panel shows `config` already, with its preset's name
        try:
            return self._apply(config, "dataset")
        finally:
            self._loading = False

    def load_preset(self, name: str) -> bool:
        return self.load(Config.preset(name), name)

    def new_weights(self) -> bool:
        """Draw new initial weights: a new weight seed (every seed of the run counts up from
        it, so it leaves room for them below SEED_LIMIT)."""
        config = self.state.config
        return self.load(
            config.replace(weight_seed=random.randrange(SEED_LIMIT - config.seeds + 1))
        )

    def regenerate_data(self) -> bool:
        """New points from the next data seed."""
        seed = (self.state.config.data_seed + 1) % SEED_LIMIT
        return self.load(self.state.config.replace(data_seed=seed))

    def _apply(self, config: Config, field: str) -> bool:
        """Train `config`; False if it is refused at once. A config that reads the user's files
        is read by `read` (off the GUI thread in the window) and starts when it is done."""
        training = self.training
        if training.reads_files(config):
            edits, before = {*self._pending, field}, self.state.config
            self.read(
                training.preparation(config),
                partial(self._on_read, config, before),
                partial(self._on_read_failed, field, edits),
            )
            return True
        try:
            training.apply(config)
        except REFUSALS as error:
            self._show_refusal(field, error)
            return False
        return True

    def _on_read(self, config: Config, before: Config, prepared: tuple) -> None:
        if self.state.config is before:  # nothing else started meanwhile
            self.training.start_run(config, *prepared)

    def _on_read_failed(self, field: str, edits: set[str], error: Exception) -> None:
        self._pending |= edits  # kept for the next edit, as a refusal at once is
        self._show_refusal(field, error)

    def _show_refusal(self, field: str, error: Exception) -> None:
        message = str(error) if isinstance(error, REFUSALS) else f"{type(error).__name__}: {error}"
        self.panel.show_error(getattr(error, "field", None) or field, message)

    # -- slots -----------------------------------------------------------------------------

    @Slot(str)
    def on_panel_field_edited(self, name: str) -> None:
        self.edit(name)

    @Slot(str)
    def on_panel_preset_chosen(self, name: str) -> None:
        self.load_preset(name)

    @Slot()
    def on_panel_regenerate_requested(self) -> None:
        self.regenerate_data()

    @Slot()
    def _on_state_network_changed(self) -> None:
        if not (self._pending or self._loading):  # never overwrite an edit being fixed
            self.panel.set_config(self.state.config)
