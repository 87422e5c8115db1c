"""A Trainer served in a child process, driven by commands over a pipe (no Qt here).

The window's QThread owns this process. Training runs in its own interpreter so that redrawing
never competes with it for the GIL: measured here, a plain thread lost half its speed to a GUI
redrawing at 33 Hz, while a separate process keeps the training core to itself.

Commands are tuples: ("configure", run, config_dict, dataset), ("update", config_dict), ("play",),
("pause",), ("step", n), ("reset",), ("set_weights", weights), ("set_weight", name, index,
value), ("speed", its_per_second | None),
("open_session", run, bytes, name), ("save_session", path), ("write_run", folder),
("resume", ReplayPoint), ("explain",), ("quit",). Replies are ("snapshot", run, Snapshot, playing,
message, replay points), ("explain", StepThrough), ("done", message) and ("error", message).
`run` numbers the configure/open_session that started a run, so the window can drop replies
that were already on their way from the run before.
"""

from __future__ import annotations

import contextlib
import time
from multiprocessing.connection import Connection

from .core import Config, Trainer, TrainingDiverged
from .core.explain import explain_step
from .core.files import write_run
from .core.replay import ReplayRecorder, resume_state
from .core.session import load_session_bytes, save_session

#: Send at most this many snapshots a second while playing, plus the final one.
SEND_RATE = 40.0
#: Aim for training chunks of this many seconds between command checks.
CHUNK_SECONDS = 0.005


class TrainingServer:
    """The command loop: trains in short chunks and checks for commands between them."""

    def __init__(self, commands: Connection, replies: Connection) -> None:
        self.commands, self.replies = commands, replies
        self.trainer: Trainer | None = None
        self.playing = False
        self.speed: float | None = None  # iterations per second, None = as fast as possible
        self.chunk = 64
        self.last_sent = 0.0
        self.running = True
        self.generation = 0
        self.next_due = 0.0  # when slow motion trains next

    def serve(self) -> None:
        while self.running:
            if not self.playing:
                self.commands.poll(None)
            while self.running and self.commands.poll():
                self.handle(self.commands.recv())
            if self.playing and self.running:
                try:
                    self.train_for_a_while()
                except Exception as error:  # report it and pause, keep serving
                    self.playing = False
                    self.error(f"training stopped: {type(error).__name__}: {error}")
                    self.send()

    def handle(self, command: tuple) -> None:
        kind, *args = command
        try:
            if kind == "quit":
                self.running = False
            elif kind == "configure":
                self.generation, config, dataset = args
                self.adopt(Trainer(Config.from_dict(config), dataset))
            elif kind == "speed":
                self.speed, self.next_due = args[0], 0.0
            elif self.trainer is None:
                self.error("no network is configured yet")
            elif kind == "update":
                self.trainer.update_config(Config.from_dict(args[0]))
                self.send()
            elif kind == "play":
                trainer = self.trainer
                self.playing = (
                    trainer.iteration < trainer.config.iterations and trainer.diverged_at is None
                )
                self.last_sent = 0.0
                self.send()
            elif kind == "pause":
                self.playing = False
                self.send()
            elif kind == "step":
                self.playing = False
                self.recorder.advance(args[0])
                self.send()
            elif kind == "reset":
                self.playing = False
                self.trainer.reset()
                self.recorder.restart()
                self.send()
            elif kind == "set_weights":
                self.trainer.set_weights(args[0])
                self.recorder.restart()
                self.send()
            elif kind == "set_weight":  # one entry, applied to the weights as they are now
                name, index, value = args
                weights = self.trainer.weights()
                weights[name][index] = value
                self.trainer.set_weights(weights)
                self.recorder.restart()
                self.send()
            elif kind == "resume":
                self.playing = False
                self.trainer.restore_training_state(resume_state(self.trainer, args[0]))
                self.recorder.restart()
                self.send()
            elif kind == "explain":
                self.replies.send(("explain", explain_step(self.trainer)))
            elif kind == "open_session":
                self.generation, data, name = args
                self.adopt(load_session_bytes(data, name))
            elif kind == "save_session":
                self.done(f"saved {save_session(args[0], self.trainer)}")
            elif kind == "write_run":
                written = write_run(args[0], self.trainer, self.trainer.evaluate())
                self.done(f"wrote {len(written)} files to {args[0]}")
            else:
                self.error(f"unknown command {kind!r}")
        except TrainingDiverged as error:
            self.playing = False
            self.error(str(error))
        except (ValueError, OSError) as error:
            self.playing = False
            self.error(str(error))
        except Exception as error:  # report it; the process must keep serving
            self.playing = False
            self.error(f"{kind} failed: {type(error).__name__}: {error}")

    def train_for_a_while(self) -> None:
        trainer = self.trainer
        remaining = trainer.config.iterations - trainer.iteration
        if self.speed is None:
            n = min(self.chunk, remaining)
            started = time.perf_counter()
            self.recorder.advance(n)
            elapsed = time.perf_counter() - started
            # keep each chunk near CHUNK_SECONDS so commands are answered promptly
            scale = CHUNK_SECONDS / max(elapsed, 1e-6)
            self.chunk = max(1, min(100_000, int(self.chunk * min(max(scale, 0.5), 2.0))))
        else:  # paced: at most 50 wake-ups a second, on a clock that commands do not reset
            now = time.perf_counter()
            if now < self.next_due:
                self.commands.poll(self.next_due - now)  # wait, but wake at once for a command
                return
            n = max(1, int(self.speed / 50))
            self.recorder.advance(min(n, remaining))
            period = n / self.speed
            self.next_due = max(self.next_due, now - period) + period  # catch up one period at most
        finished = trainer.iteration >= trainer.config.iterations or trainer.diverged_at is not None
        if finished:
            self.playing = False
        now = time.perf_counter()
        if finished or now - self.last_sent >= 1.0 / SEND_RATE:
            self.send()

    def adopt(self, trainer: Trainer) -> None:
        """Train `trainer` from now on (a new network or a reopened session), paused."""
        self.trainer, self.recorder = trainer, ReplayRecorder(trainer)
        self.playing = False
        self.send()

    def send(self) -> None:
        """The newest snapshot, with the replay points recorded since the previous one."""
        self.last_sent = time.perf_counter()
        trainer = self.trainer
        self.replies.send(
            (
                "snapshot",
                self.generation,
                trainer.snapshot(),
                self.playing,
                trainer.divergence_message(),
                tuple(self.recorder.take()),
            )
        )

    def error(self, message: str) -> None:
        self.replies.send(("error", message))

    def done(self, message: str) -> None:
        """Report a finished file command (the window shows it in the status bar)."""
        self.replies.send(("done", message))


def serve(commands: Connection, replies: Connection) -> None:
    """Entry point of the child process."""
    # EOF or a broken pipe means the window went away: there is nobody to report to.
    with contextlib.suppress(EOFError, BrokenPipeError, KeyboardInterrupt):
        TrainingServer(commands, replies).serve()
