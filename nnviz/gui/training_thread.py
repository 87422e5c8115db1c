"""The QThread that owns training: it runs the training process and collects its snapshots."""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QThread, Signal

from ..core import Config, Dataset, Snapshot
from ..training_process import serve

#: How long the thread blocks on the pipe before it checks its stop flag again.
POLL_SECONDS = 0.02


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a spawn child without re-running the host's main module.

    The child needs only nnviz.training_process. Spawn would otherwise re-import `__main__`,
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


@dataclass(frozen=True)
class Delivery:
    """The newest snapshot, whether training is still running, and any divergence message."""

    snapshot: Snapshot
    playing: bool
    message: str
    points: tuple = ()  # replay points recorded since the previous delivery


class TrainingThread(QThread):
    """Starts the training process, forwards commands to it, and keeps only its newest snapshot.

    Snapshots land in a one-slot mailbox (newest wins) and `snapshot_ready` is emitted only when
    the mailbox goes from empty to full, so a slow redraw never builds a queue of events. The
    thread stops cooperatively: `stop()` sets the interruption flag, which `run()` checks between
    reads, then asks the process to quit and joins it.
    """

    snapshot_ready = Signal()
    error_reported = Signal(str)
    done_reported = Signal(str)
    explain_ready = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
        self._commands_in, self._commands = context.Pipe(duplex=False)
        self._replies, self._replies_out = context.Pipe(duplex=False)
        self._process = context.Process(
            target=serve,
            args=(self._commands_in, self._replies_out),
            name="nnviz-training",
            daemon=True,
        )
        self._lock = threading.Lock()
        self._mailbox: Delivery | None = None
        self.snapshots_received = 0
        self.generation = 0  # which run replies belong to (see `configure`)

    def start(self) -> None:  # type: ignore[override]
        with _main_module_hidden():
            self._process.start()
        # The child's ends belong to the child now: holding them here would hide its death
        # (no end-of-file on its replies, no broken pipe on our commands).
        self._commands_in.close()
        self._replies_out.close()
        super().start()

    def send(self, *command: Any) -> None:
        """Queue a command for the training process (called from the GUI thread only)."""
        if not self._process.is_alive():
            self.error_reported.emit("the training process has stopped; restart nnviz")
            return
        try:
            self._commands.send(command)
        except (BrokenPipeError, OSError):
            self.error_reported.emit("the training process has stopped; restart nnviz")

    def configure(self, config: Config, dataset: Dataset) -> None:
        """Start a new run; replies from the previous run still in flight are dropped."""
        self.generation += 1
        self.send("configure", self.generation, config.to_dict(), dataset)

    def open_session(self, data: bytes, name: str) -> None:
        self.generation += 1
        self.send("open_session", self.generation, data, name)

    def take(self) -> Delivery | None:
        """The newest delivery, or None if nothing arrived since the last take."""
        with self._lock:
            delivery, self._mailbox = self._mailbox, None
        return delivery

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
                    code = self._process.exitcode
                    self.error_reported.emit(
                        f"the training process stopped unexpectedly (exit code {code}); "
                        "restart nnviz"
                    )
                return
            if reply[0] == "snapshot":
                generation, *rest = reply[1:]
                if generation == self.generation:
                    self._deliver(Delivery(*rest))
            elif reply[0] == "done":
                self.done_reported.emit(reply[1])
            elif reply[0] == "explain":
                self.explain_ready.emit(reply[1])
            else:
                self.error_reported.emit(reply[1])

    def _deliver(self, delivery: Delivery) -> None:
        with self._lock:
            was_empty = self._mailbox is None
            if not was_empty:  # the newest snapshot wins, but no replay point is lost
                points = self._mailbox.points + delivery.points
                delivery = dataclasses.replace(delivery, points=points)
            self._mailbox = delivery
            self.snapshots_received += 1
        if was_empty:
            self.snapshot_ready.emit()

    def stop(self, timeout_ms: int = 1000) -> None:
        """Stop the process and the thread and wait for both (never `terminate()`)."""
        self.requestInterruption()
        if self._process.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self._commands.send(("quit",))
        while not self.wait(timeout_ms):  # run() returns within POLL_SECONDS once interrupted
            self.requestInterruption()
        self._process.join(timeout_ms / 1000)
        if self._process.is_alive():  # unresponsive: a last resort for the child, not the thread
            self._process.kill()
            self._process.join()
        self._commands.close()
        self._replies.close()
