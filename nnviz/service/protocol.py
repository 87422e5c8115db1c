"""The messages between the window and its training process, in one module both sides import.

Commands go to the process, replies come back; each is a small frozen dataclass that pickles
across the pipe. `run` numbers the `Configure` or `OpenSession` that started a run, so the
window can drop snapshots that were already on their way from the run before. Confirmations
carry data (the path written), never text to compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.config import Config
from ..core.datasets import Dataset
from ..core.explain import StepThrough
from ..core.replay import ReplayPoint
from ..core.trainer import Snapshot
from .seeds import SeedStates

# -- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Configure:
    """Start a new run: a fresh network of `config` on `dataset`, paused."""

    run: int
    config: Config
    dataset: Dataset


@dataclass(frozen=True)
class OpenSession:
    """Start a new run from a session file's bytes (`name` is for messages)."""

    run: int
    data: bytes
    name: str


@dataclass(frozen=True)
class Restore:
    """Start a new run that continues from `snapshot` (the window's newest state, after the
    previous training process died): its weights, iteration and history, a fresh optimizer;
    with several seeds, every network from `seeds`."""

    run: int
    config: Config
    dataset: Dataset
    snapshot: Snapshot
    seeds: SeedStates | None = None


@dataclass(frozen=True)
class UpdateConfig:
    """Apply a config that differs only in live fields (learning rate, iterations, ...)."""

    config: Config


@dataclass(frozen=True)
class Play:
    """Train until the target iteration, paused by `Pause`."""


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Step:
    """Train `count` iterations, then pause."""

    count: int


@dataclass(frozen=True)
class Reset:
    """Back to the run's initial weights, bit for bit."""


@dataclass(frozen=True)
class SetWeights:
    """Continue from these weights (already checked against the network's layout): one dict
    for the selected seed, or one for each seed."""

    weights: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class SetWeight:
    """Change one entry of the selected seed's weights as they are when the process reads this."""

    name: str
    index: tuple[int, ...]
    value: float


@dataclass(frozen=True)
class SetData:
    """Train on `dataset` from now on (points drawn by hand): every network keeps its weights,
    iteration, history and optimizer state, and playing goes on (see service.data_change)."""

    dataset: Dataset


@dataclass(frozen=True)
class SetSpeed:
    """Iterations per second while playing; None trains as fast as possible."""

    iterations_per_second: float | None


@dataclass(frozen=True)
class Resume:
    """Continue training from a replay point of this run (`seeds`: every seed's state there,
    for a run of several seeds)."""

    point: ReplayPoint
    seeds: SeedStates | None = None


@dataclass(frozen=True)
class SelectSeed:
    """Show, edit and explain seed `index` (0 to K - 1) of a run of several seeds."""

    index: int


@dataclass(frozen=True)
class Explain:
    """Take the selected seed's next iteration apart (replied to with `Explained`)."""


@dataclass(frozen=True)
class SaveSession:
    """Save the run, every seed of it, as a session file. `dataset`: the points on screen when
    the run does not train on them yet (a drawing under 2 training points, which is never sent
    as `SetData`): the session holds them, every network carried on to them as by `SetData`.
    `view`: what the window shows of the run (core.session.SessionFile), kept in the file."""

    path: str
    dataset: Dataset | None = None
    view: dict[str, Any] | None = None


@dataclass(frozen=True)
class WriteRun:
    """Write the files of `nnviz train --out` for the live state into `folder`."""

    folder: str


@dataclass(frozen=True)
class Quit:
    pass


Command = (
    Configure
    | OpenSession
    | Restore
    | UpdateConfig
    | Play
    | Pause
    | Step
    | Reset
    | SetWeights
    | SetWeight
    | SetData
    | SetSpeed
    | Resume
    | SelectSeed
    | Explain
    | SaveSession
    | WriteRun
    | Quit
)

# -- replies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotReply:
    """The newest state of run `run`, with the replay points recorded since the last reply.

    `snapshot` and `points` are the selected seed's; with several seeds, `seeds` holds every
    seed's newest state (and the loss band) and `seed_points` every seed's state at each point.
    """

    run: int
    snapshot: Snapshot
    playing: bool
    message: str  # a divergence message, or ""
    points: tuple[ReplayPoint, ...] = ()
    seeds: SeedStates | None = None
    seed_points: tuple[SeedStates, ...] = ()


@dataclass(frozen=True)
class Explained:
    """The next iteration of run `run`, taken apart."""

    run: int
    step: StepThrough


@dataclass(frozen=True)
class Saved:
    """A session was written to `path`."""

    path: str


@dataclass(frozen=True)
class RunWritten:
    """`WriteRun` wrote these files."""

    folder: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Failed:
    """A command or training failed; the process keeps serving."""

    command: str  # the failed command's class name, or "training"
    message: str


Reply = SnapshotReply | Explained | Saved | RunWritten | Failed
