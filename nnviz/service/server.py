"""The run's networks served in a child process, driven by the commands of `protocol` over a pipe
(no Qt). A run is a `seeds.SeedGroup`: one Trainer, or a BatchedTrainer for several seeds.

The window's training thread owns this process. Training runs in its own interpreter so that
redrawing never competes with it for the GIL: measured here, a plain thread lost half its speed
to a GUI redrawing at 33 Hz, while a separate process keeps the training core to itself.

`TrainingServer.handle` dispatches each command through a table keyed by its type, to one small
method per command. Every command that changes the network is answered with a `SnapshotReply`;
`Explain`, `SaveSession` and `WriteRun` with `Explained`, `Saved` and `RunWritten`; a command
that fails, with `Failed`, and the process keeps serving. While playing, the server trains in
chunks of about CHUNK_SECONDS, checks for commands between them, and sends at most SEND_RATE
snapshots a second plus the final one.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ..core import TrainingDiverged
from ..core.explain import explain_step
from ..core.run_files import write_run
from ..core.session import load_seeds_session_bytes, save_seeds_session
from .data_change import continued_on, group_on
from .protocol import (
    Command,
    Configure,
    Explain,
    Explained,
    Failed,
    OpenSession,
    Pause,
    Play,
    Quit,
    Reply,
    Reset,
    Restore,
    Resume,
    RunWritten,
    Saved,
    SaveSession,
    SelectSeed,
    SetData,
    SetSpeed,
    SetWeight,
    SetWeights,
    SnapshotReply,
    Step,
    UpdateConfig,
    WriteRun,
)
from .seeds import SeedGroup, SeedRecorder, restored_group, write_seeds_run

#: Send at most this many snapshots a second while playing, plus the final one.
SEND_RATE = 40.0
#: Aim for training chunks of this many seconds between command checks.
CHUNK_SECONDS = 0.005
#: Several seeds train in longer chunks: each chunk ends by measuring every network's losses
#: and accuracies (0.5 ms for 16 seed networks, a tenth of a 5 ms chunk).
SEEDS_CHUNK_SECONDS = 0.02
#: Slow motion wakes up at most this many times a second.
PACED_WAKEUPS = 50
#: Commands that end a long Step early (the rest wait until it is done, in order).
ENDS_A_STEP = (
    Pause,
    Reset,
    Quit,
    Configure,
    OpenSession,
    Restore,
    Resume,
    SetWeights,
    SetWeight,
    Step,
)


class NoNetwork(ValueError):
    """A command that needs a network arrived before `Configure` or `OpenSession`."""


class TrainingServer:
    """The command loop: trains in short chunks and checks for commands between them."""

    def __init__(self, commands: Connection, replies: Connection) -> None:
        self.commands, self.replies = commands, replies
        self._group: SeedGroup | None = None
        self.recorder: SeedRecorder | None = None
        self.run = 0  # the run number of the Configure/OpenSession that started this run
        self.playing = False
        self.speed: float | None = None  # iterations per second, None = as fast as possible
        self.chunk = 64  # iterations per chunk at full speed, adapted to CHUNK_SECONDS
        self.last_sent = 0.0
        self.next_due = 0.0  # when slow motion trains next
        self.running = True
        self.pending: deque[Command] = deque()  # read while stepping, handled next
        self._handlers: dict[type, Callable[[Any], None]] = {
            Configure: self._configure,
            OpenSession: self._open_session,
            Restore: self._restore,
            UpdateConfig: self._update_config,
            Play: self._play,
            Pause: self._pause,
            Step: self._step,
            Reset: self._reset,
            SetWeights: self._set_weights,
            SetWeight: self._set_weight,
            SetData: self._set_data,
            SetSpeed: self._set_speed,
            Resume: self._resume,
            SelectSeed: self._select_seed,
            Explain: self._explain,
            SaveSession: self._save_session,
            WriteRun: self._write_run,
            Quit: self._quit,
        }

    @property
    def group(self) -> SeedGroup:
        """The networks being trained; raises NoNetwork before the first run starts."""
        if self._group is None:
            raise NoNetwork("no network is configured yet")
        return self._group

    # -- the loop ----------------------------------------------------------------------------

    def serve(self) -> None:
        """Answer commands until `Quit`; while playing, train between them."""
        while self.running:
            if not (self.playing or self.pending):
                self.commands.poll(None)
            while self.running and (self.pending or self.commands.poll()):
                self.handle(self.pending.popleft() if self.pending else self.commands.recv())
            if self.playing and self.running:
                try:
                    self.train_for_a_while()
                except Exception as error:  # report it and pause, keep serving
                    self.playing = False
                    self.reply(Failed("training", f"training stopped: {_describe(error)}"))
                    self.send()

    def handle(self, command: Command) -> None:
        """Carry out one command; a failure is replied as `Failed`, never raised.

        A failed command leaves training as it was (a failed save does not pause it); the
        snapshot sent after `Failed` tells the window what that is.
        """
        name = type(command).__name__
        try:
            handler = self._handlers.get(type(command))
            if handler is None:
                raise ValueError(f"unknown command {command!r}")
            handler(command)
            return
        except (TrainingDiverged, ValueError, OSError) as error:  # messages meant for the user
            self.reply(Failed(name, str(error)))
        except Exception as error:  # report it; the process must keep serving
            self.reply(Failed(name, f"{name} failed: {_describe(error)}"))
        if self._group is not None:
            self.send()

    def train_for_a_while(self) -> None:
        """One chunk of training while playing (or a wait for the next slow-motion beat)."""
        group, recorder = self.group, self.recorder
        remaining = group.config.iterations - group.iteration
        if self.speed is None:
            self._advance_a_chunk(remaining)
        else:  # paced: a few wake-ups a second, on a clock that commands do not reset
            now = time.perf_counter()
            if now < self.next_due:
                self.commands.poll(self.next_due - now)  # wait, but wake at once for a command
                return
            n = max(1, int(self.speed / PACED_WAKEUPS))
            recorder.advance(min(n, remaining))
            period = n / self.speed
            self.next_due = max(self.next_due, now - period) + period  # catch up one period at most
        finished = group.iteration >= group.config.iterations or group.diverged_at is not None
        if finished:
            self.playing = False
        if finished or time.perf_counter() - self.last_sent >= 1.0 / SEND_RATE:
            self.send()

    def _advance_a_chunk(self, limit: int) -> None:
        """Train at most `limit` iterations, in chunks kept near CHUNK_SECONDS so that commands
        are answered promptly."""
        started = time.perf_counter()
        self.recorder.advance(min(self.chunk, limit))
        seconds = CHUNK_SECONDS if self.group.count == 1 else SEEDS_CHUNK_SECONDS
        scale = seconds / max(time.perf_counter() - started, 1e-6)
        self.chunk = max(1, min(100_000, int(self.chunk * min(max(scale, 0.5), 2.0))))

    # -- replies -----------------------------------------------------------------------------

    def reply(self, reply: Reply) -> None:
        self.replies.send(reply)

    def send(self) -> None:
        """The newest snapshot, with the replay points recorded since the previous one."""
        self.last_sent = time.perf_counter()
        group, recorder = self.group, self.recorder
        self.reply(
            SnapshotReply(
                self.run,
                group.snapshot(),
                self.playing,
                group.divergence_message(),
                tuple(recorder.take()),
                group.states(),
                tuple(recorder.take_states()),
            )
        )

    def adopt(self, run: int, group: SeedGroup) -> None:
        """Train `group` from now on (a new run or a reopened session), paused."""
        self.run, self._group, self.recorder = run, group, SeedRecorder(group)
        self.playing = False
        self.send()

    # -- one method per command ----------------------------------------------------------------

    def _configure(self, command: Configure) -> None:
        self.adopt(command.run, SeedGroup.start(command.config, command.dataset))

    def _open_session(self, command: OpenSession) -> None:
        trainers = load_seeds_session_bytes(command.data, command.name)
        self.adopt(command.run, SeedGroup.of(trainers))

    def _restore(self, command: Restore) -> None:
        group = restored_group(command.config, command.dataset, command.snapshot, command.seeds)
        self.adopt(command.run, group)

    def _update_config(self, command: UpdateConfig) -> None:
        self.group.update_config(command.config)
        self.send()

    def _play(self, command: Play) -> None:
        group = self.group
        self.playing = group.iteration < group.config.iterations and group.diverged_at is None
        self.last_sent = 0.0
        self.send()

    def _pause(self, command: Pause) -> None:
        self.group  # noqa: B018  (fails before the first run, like every network command)
        self.playing = False
        self.send()

    def _step(self, command: Step) -> None:
        """Train `count` iterations in chunks, reading commands between them: one that changes
        the run (Pause, Reset, Quit, ...) ends the step early; the others wait their turn."""
        if command.count < 0:
            raise ValueError("the number of iterations must be >= 0")
        group = self.group
        self.playing = False
        target = group.iteration + command.count
        while True:
            self._advance_a_chunk(target - group.iteration)
            if group.iteration >= target or group.diverged_at is not None:
                break
            if self.commands.poll():
                self.pending.append(self.commands.recv())
                if isinstance(self.pending[-1], ENDS_A_STEP):
                    break
            if time.perf_counter() - self.last_sent >= 1.0 / SEND_RATE:
                self.send()
        self.send()

    def _reset(self, command: Reset) -> None:
        self.playing = False
        self.group.reset()
        self.recorder.restart()
        self.send()

    def _set_weights(self, command: SetWeights) -> None:
        self.group.set_weights(command.weights)
        self.recorder.restart()
        self.send()

    def _set_weight(self, command: SetWeight) -> None:
        """One entry of the selected seed's weights, applied to them as they are now (not as
        the window last saw them)."""
        group = self.group
        weights = group.snapshot().weights
        weights = {name: array.copy() for name, array in weights.items()}
        weights[command.name][command.index] = command.value
        group.set_weights([weights])
        self.recorder.restart()
        self.send()

    def _set_data(self, command: SetData) -> None:
        """Carry on with other points: the same networks, the same run and replay schedule,
        playing or not as before."""
        group = group_on(self.group, command.dataset)
        self._group = self.recorder.trainer = group
        self.send()

    def _set_speed(self, command: SetSpeed) -> None:
        self.speed, self.next_due = command.iterations_per_second, 0.0

    def _resume(self, command: Resume) -> None:
        self.playing = False
        self.group.resume(command.point, command.seeds)
        self.recorder.restart()
        self.send()

    def _select_seed(self, command: SelectSeed) -> None:
        self.group.select(command.index)
        self.send()

    def _explain(self, command: Explain) -> None:
        self.reply(Explained(self.run, explain_step(self.group.trainer())))

    def _save_session(self, command: SaveSession) -> None:
        trainers = self.group.trainers()
        if command.dataset is not None:  # the drawing on screen, which the run waits to train on
            trainers = [continued_on(trainer, command.dataset) for trainer in trainers]
        self.reply(Saved(str(save_seeds_session(command.path, trainers, command.view))))

    def _write_run(self, command: WriteRun) -> None:
        group = self.group
        if group.count > 1:
            written = write_seeds_run(command.folder, group)
        else:
            trainer = group.trainer()
            written = write_run(command.folder, trainer, trainer.evaluate())
        self.reply(RunWritten(command.folder, tuple(str(path) for path in written)))

    def _quit(self, command: Quit) -> None:
        self.running = False


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def serve(commands: Connection, replies: Connection) -> None:
    """Entry point of the child process: serve until `Quit` or until the window goes away."""
    # EOF or a broken pipe means the window went away: there is nobody to report to.
    with contextlib.suppress(EOFError, BrokenPipeError, KeyboardInterrupt):
        TrainingServer(commands, replies).serve()
