"""Files: sessions, recent files, CSV points, weight imports and every export, each by path.

The File menu (`file_menu.py`) asks for the paths; this controller does the work, so tests and
drops call it directly. A failure shows the core's message in the banner and changes nothing.
Files of the live run (sessions, `Export all`) are written by the training process, which owns
the exact state; pictures are drawn here from the views.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtWidgets import QWidget

from ...core.files import (
    FileFormatError,
    save_data_csv,
    save_history_csv,
    save_weights,
    stack_seed_weights,
    write_text,
)
from ...core.metrics import evaluate_setup
from ...core.session import SESSION_SUFFIX, read_session_file, seeds_session_bytes
from ...service.protocol import RunWritten, SaveSession, WriteRun
from ...service.seeds import SeedGroup
from ..background import Reader, read_now
from ..export import save_png, save_svg
from ..plane import PlaneChoice
from ..state import AppState
from .config_edits import ConfigEditController
from .training import TrainingClient, TrainingController
from .weights import WeightEditController

MAX_RECENT = 8


def _read_session(path: str | Path) -> tuple[SeedGroup, bytes, PlaneChoice | None]:
    """The session's networks (every seed), its bytes for the training process (both worker
    work), and the plane it was saved in (None if it says none: a file from before planes were
    saved, or of data with two inputs)."""
    opened = read_session_file(path)
    view = opened.view or {}
    plane = PlaneChoice.from_json(view["plane"]) if "plane" in view else None
    return SeedGroup.of(opened.trainers), seeds_session_bytes(opened.trainers), plane


VIEW_NAMES = ("network", "loss", "boundary", "roc")
PICTURE_KINDS = ("png", "svg")


class FileController(QObject):
    """Opens and writes files for `state`; `views` maps a view name to the widget it exports."""

    recent_changed = Signal(list)  # the recent sessions, newest first
    status = Signal(str)  # a short report of what was written

    def __init__(
        self,
        state: AppState,
        client: TrainingClient,
        training: TrainingController,
        config_edits: ConfigEditController,
        weights: WeightEditController,
        views: Mapping[str, Callable[[], QWidget]],
        settings: QSettings | None = None,
        parent: QObject | None = None,
        read: Reader = read_now,
    ) -> None:
        super().__init__(parent)
        self.state, self.client, self.training, self.read = state, client, training, read
        self.config_edits, self.weights, self.views = config_edits, weights, views
        self.settings = settings
        self._saving: dict[str, str] = {}  # sessions the process is writing -> the hold then
        self._pictures: dict[str, int] = {}  # Export all folders -> pictures drawn here
        stored = settings.value("recent", []) if settings is not None else []
        self._recent = [str(p) for p in (stored if isinstance(stored, list) else [stored])]

    @property
    def recent(self) -> list[str]:
        return list(self._recent)

    # -- opening ---------------------------------------------------------------------------

    def open_path(self, path: str | Path) -> bool:
        """Open a dropped or named file by its suffix: a session, CSV points or weights.
        False if nnviz does not open files of its kind; a file that fails to read says so in
        the banner when the reading is done."""
        suffix = Path(path).suffix.lower()
        if suffix == SESSION_SUFFIX:
            self.open_session(path)
        elif suffix == ".csv":
            self.use_csv_points(path)
        elif suffix in (".npz", ".json"):
            self.weights.import_weights(path)
        else:
            self.state.set_message(
                f"nnviz opens .nnviz sessions, .csv points and .npz/.json weights, "
                f"not {Path(path).name}"
            )
            return False
        return True

    def open_session(self, path: str | Path) -> None:
        """Read the session with `read` (off the GUI thread in the window), then show it and
        hand its exact state to the training process."""
        self.status.emit(f"opening {Path(path).name}…")
        self.read(partial(_read_session, path), partial(self._on_session_read, path), self._failed)

    def _on_session_read(
        self, path: str | Path, read: tuple[SeedGroup, bytes, PlaneChoice | None]
    ) -> None:
        group, data, plane = read
        self.training.adopt_session(group, data, Path(path).name, plane)
        self._remember(path)
        self.status.emit(f"opened {Path(path).name}")

    def _failed(self, error: Exception) -> None:
        known = isinstance(error, (FileFormatError, OSError))
        self.state.set_message(str(error) if known else f"{type(error).__name__}: {error}")

    def use_csv_points(self, path: str | Path) -> bool:
        """Train on the points of a CSV file of x1,x2,label rows."""
        try:
            config = self.state.config.replace(dataset="csv", csv_path=str(path))
        except ValueError as error:
            self.state.set_message(str(error))
            return False
        return self.config_edits.load(config)

    # -- writing ---------------------------------------------------------------------------

    def save_session(self, path: str | Path) -> Path:
        """Ask the training process to save its exact state; remembered once it is written.

        The session holds the points on screen: a drawing the process does not train on yet
        (under 2 training points) goes with the command, and reopens waiting for points as it
        is now; the report of the save says so. Of data with more than two inputs it holds the
        plane shown too."""
        path = Path(path)
        if path.suffix != SESSION_SUFFIX:
            path = path.with_name(path.name + SESSION_SUFFIX)
        state = self.state
        self._saving[str(path.resolve())] = state.hold
        data = state.dataset  # None while the first data loads (the process then says so)
        shown = data if data is not state.trained_data else None
        wide = data is not None and data.n_inputs > 2
        view = {"plane": state.plane.choice.to_json()} if wide else None
        self.client.send(SaveSession(str(path), shown, view))
        return path

    def export_view(self, name: str, path: str | Path, scale: float = 1.0) -> Path:
        area = self.views[name]()
        if Path(path).suffix.lower() == ".svg":
            return save_svg(area, path, title=f"nnviz {name}")
        return save_png(area, path, scale=scale)

    def export_all(self, folder: str | Path) -> list[Path]:
        """The CLI's `--out` layout: run files from the training process, pictures from the
        views. Pause first for pictures and files of the same iteration."""
        folder = Path(folder)
        self.state.go_live()  # the run files are the live state's
        pictures = [
            self.export_view(name, folder / f"{name}.{kind}")
            for name in VIEW_NAMES
            for kind in PICTURE_KINDS
        ]
        self._pictures[str(folder)] = len(pictures)
        self.client.send(WriteRun(str(folder)))
        return pictures

    def export_weights(self, path: str | Path) -> Path:
        """The shown weights: of every seed for a run of several (see
        core.files.stack_seed_weights), else of the one network as `W1`, `b1`, ..."""
        state = self.state
        shown = state.shown
        seeds = state.seed_states(shown.iteration)
        if seeds is None:
            return save_weights(path, shown.weights)
        layout = state.network_layout()
        weights = [seeds.weights(layout, k) for k in range(seeds.count)]
        numbers = [seeds.weight_seed + k for k in range(seeds.count)]
        return save_weights(path, stack_seed_weights(weights, numbers))

    def export_history(self, path: str | Path) -> Path:
        return save_history_csv(path, self.state.shown.history)

    def export_dataset(self, path: str | Path) -> Path:
        return save_data_csv(path, self.state.dataset)

    def export_report(self, path: str | Path) -> Path:
        state = self.state
        snapshot, config = state.shown, state.config
        metrics = evaluate_setup(snapshot.weights, state.dataset, config)
        text = (
            f"nnviz classification report, iteration {snapshot.iteration}, "
            f"threshold {config.threshold:g}\n\n{metrics.report_text()}"
        )
        return write_text(path, text)

    def guarded(self, action: Callable[..., Path | list[Path]], *args) -> bool:
        """Run an export; report what it wrote, or show why it could not."""
        try:
            written = action(*args)
        except FileFormatError as error:
            self.state.set_message(str(error))
            return False
        if isinstance(written, Path):
            self.status.emit(f"saved {written}")
        return True

    # -- replies ---------------------------------------------------------------------------

    @Slot(str)
    def on_session_saved(self, path: str) -> None:
        resolved = str(Path(path).resolve())
        hold = self._saving.pop(resolved, None)
        if hold is not None:
            self._remember(resolved)
        self.status.emit(f"saved {path} as drawn. {hold}" if hold else f"saved {path}")

    @Slot(object)
    def on_run_written(self, reply: RunWritten) -> None:
        pictures = self._pictures.pop(reply.folder, 0)
        self.status.emit(f"wrote {len(reply.paths) + pictures} files to {reply.folder}")

    # -- recent ----------------------------------------------------------------------------

    def _remember(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        self._recent = [path, *(p for p in self._recent if p != path)][:MAX_RECENT]
        if self.settings is not None:
            self.settings.setValue("recent", self._recent)
        self.recent_changed.emit(self.recent)
