"""The QThread that owns training: it runs the training process and collects its replies.

Commands and replies are the dataclasses of `nnviz.service.protocol`. Snapshots land in a
one-slot mailbox (newest wins, replay points merged) and `snapshot_ready` is emitted only when
the mailbox goes from empty to full, so a slow redraw never builds a queue of events. Every
other reply becomes its own signal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import sys
import threading
from collections.abc import Iterator

from PySide6.QtCore import QObject, QThread, Signal

from ..core import Config, Dataset, Snapshot
from ..service.protocol import (
    Command,
    Configure,
    Explained,
    Failed,
    OpenSession,
    Quit,
    Reply,
    Restore,
    RunWritten,
    Saved,
    SnapshotReply,
)
from ..service.seeds import SeedStates
from ..service.server import serve

#: How long the thread blocks on the pipe before it checks its stop flag again.
POLL_SECONDS = 0.02


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a spawn child without re-running the host's main module.

    The child needs only nnviz.service.server. Spawn would otherwise re-import `__main__`,
    which fails for stdin and breaks scripts that open the window without a main guard.
    """
    main = sys.modules["__main__"]
    saved = {key: main.__dict__[key] for key in ("__file__", "__spec__") if key in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class TrainingThread(QThread):
    """Starts the training process, forwards commands to it, and turns its replies into signals.

    The thread stops cooperatively: `stop()` sets the interruption flag, which `run()` checks
    between reads, then asks the process to quit and joins it.
    """

    snapshot_ready = Signal()  # the mailbox went from empty to full: call `take()`
    explained = Signal(object)  # a StepThrough
    session_saved = Signal(str)  # the path written
    run_written = Signal(object)  # a RunWritten
    failed = Signal(str)  # a command failed; the process keeps serving
    process_died = Signal(str)  # the process is gone

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._mailbox: SnapshotReply | None = None
        self.run_number = 0  # which run replies belong to (see `configure`)
        self._new_process()

    def _new_process(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
        self._commands_in, self._commands = context.Pipe(duplex=False)
        self._replies, self._replies_out = context.Pipe(duplex=False)
        self._process = context.Process(
            target=serve,
            args=(self._commands_in, self._replies_out),
            name="nnviz-training",
            daemon=True,
        )

    @property
    def process_alive(self) -> bool:
        return self._process.is_alive()

    @property
    def process_id(self) -> int | None:
        return self._process.pid

    def restart(self) -> None:
        """A new training process after the last one died; the next command starts a run."""
        self.requestInterruption()
        self.wait()  # run() returned when it saw the process go
        self._process.join()
        self._commands.close()
        self._replies.close()
        self._new_process()
        self.start()

    def start(self) -> None:  # type: ignore[override]
        with _main_module_hidden():
            self._process.start()
        # The child's ends belong to the child now: holding them here would hide its death
        # (no end-of-file on its replies, no broken pipe on our commands).
        self._commands_in.close()
        self._replies_out.close()
        super().start()

    def send(self, command: Command) -> None:
        """Queue a command for the training process (called from the GUI thread only).

        A dead process takes nothing: `run()` sees it go and emits `process_died` once."""
        with contextlib.suppress(BrokenPipeError, OSError):
            self._commands.send(command)

    def configure(self, config: Config, dataset: Dataset) -> None:
        """Start a new run; replies from the previous run still in flight are dropped."""
        self.send(Configure(self._next_run(), config, dataset))

    def restore(
        self, config: Config, dataset: Dataset, snapshot: Snapshot, seeds: SeedStates | None
    ) -> None:
        """Start a new run that continues from `snapshot` (after a restart), with every
        seed's newest state for a run of several."""
        self.send(Restore(self._next_run(), config, dataset, snapshot, seeds))

    def open_session(self, data: bytes, name: str) -> None:
        """Start a new run from a session file's bytes."""
        self.send(OpenSession(self._next_run(), data, name))

    def _next_run(self) -> int:
        """Number a new run and forget the old run's snapshot, in one step that the reading
        thread cannot come between."""
        with self._lock:
            self.run_number += 1
            self._mailbox = None
            return self.run_number

    def take(self) -> SnapshotReply | None:
        """The newest snapshot reply, or None if nothing arrived since the last take."""
        with self._lock:
            reply, self._mailbox = self._mailbox, None
        return reply

    def run(self) -> None:
        watched = [self._replies, self._process.sentinel]
        while not self.isInterruptionRequested():
            try:
                ready = multiprocessing.connection.wait(watched, POLL_SECONDS)
                if self._replies not in ready:
                    if ready:  # only the sentinel: the process is gone
                        raise EOFError
                    continue
                reply = self._replies.recv()
            except (EOFError, OSError):
                if not self.isInterruptionRequested():
                    self._process.join(1.0)  # its pipe closes a moment before it is reaped
                    code = self._process.exitcode
                    self.process_died.emit(
                        f"the training process stopped unexpectedly (exit code {code})"
                    )
                return
            self._dispatch(reply)

    def _dispatch(self, reply: Reply) -> None:
        if isinstance(reply, SnapshotReply):
            self._deliver(reply)
        elif isinstance(reply, Explained):
            if reply.run == self.run_number:  # a step-through of the old network is stale
                self.explained.emit(reply.step)
        elif isinstance(reply, Saved):
            self.session_saved.emit(reply.path)
        elif isinstance(reply, RunWritten):
            self.run_written.emit(reply)
        elif isinstance(reply, Failed):
            self.failed.emit(reply.message)

    def _deliver(self, reply: SnapshotReply) -> None:
        with self._lock:
            if reply.run != self.run_number:  # from the run before: already on its way
                return
            previous = self._mailbox
            if previous is not None:  # the newest snapshot wins, but no replay point is lost
                reply = dataclasses.replace(
                    reply,
                    points=previous.points + reply.points,
                    seed_points=previous.seed_points + reply.seed_points,
                )
            self._mailbox = reply
        if previous is None:
            self.snapshot_ready.emit()

    def stop(self, timeout_ms: int = 1000) -> None:
        """Stop the process and the thread and wait for both (never `terminate()`)."""
        self.requestInterruption()
        if self._process.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self._commands.send(Quit())
        while not self.wait(timeout_ms):  # run() returns within POLL_SECONDS once interrupted
            self.requestInterruption()
        self._process.join(timeout_ms / 1000)
        if self._process.is_alive():  # unresponsive: a last resort for the child, not the thread
            self._process.kill()
            self._process.join()
        self._commands.close()
        self._replies.close()
