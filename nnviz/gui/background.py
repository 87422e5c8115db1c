"""Reading the user's files off the GUI thread.

A session, a CSV file or a weights file can take seconds to read and check (the core's readers
bound how long, not that it is instant), and the window must keep drawing and answering
meanwhile. Controllers take a `Reader`: the window gives them a `FileReader`, which reads on a
worker thread, and tests give them `read_now`, which reads at once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal, Slot

Work = Callable[[], Any]
Done = Callable[[Any], None]
Failed = Callable[[Exception], None]


class Reader(Protocol):
    """Run `work`, then `done(result)` or `failed(error)` in the GUI thread."""

    def __call__(self, work: Work, done: Done, failed: Failed) -> None: ...


def read_now(work: Work, done: Done, failed: Failed) -> None:
    """A Reader that reads in the caller's thread (controller tests, scripts)."""
    try:
        result = work()
    except Exception as error:  # handed to `failed`, as FileReader does
        failed(error)
        return
    done(result)


class FileReader(QObject):
    """Reads on one worker thread, a request at a time; a result that a newer request has
    overtaken is dropped. `busy_changed` says when the window is waiting for a file."""

    busy_changed = Signal(bool)
    _finished = Signal(int, object, object)  # ticket, result, error: queued to the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnviz-reader")
        self._ticket = 0
        self._waiting: tuple[int, Done, Failed] | None = None
        self._finished.connect(self._on_finished)

    @property
    def busy(self) -> bool:
        return self._waiting is not None

    def __call__(self, work: Work, done: Done, failed: Failed) -> None:
        self._ticket += 1
        self._waiting = (self._ticket, done, failed)
        self._pool.submit(self._read, self._ticket, work)
        self.busy_changed.emit(True)

    def shutdown(self) -> None:
        """Wait for the read under way (the core's caps keep it short) and drop its result."""
        self._waiting = None
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _read(self, ticket: int, work: Work) -> None:
        try:
            result, error = work(), None
        except Exception as caught:  # reported in the GUI thread
            result, error = None, caught
        self._finished.emit(ticket, result, error)

    @Slot(int, object, object)
    def _on_finished(self, ticket: int, result: Any, error: Exception | None) -> None:
        waiting = self._waiting
        if waiting is None or waiting[0] != ticket:
            return  # overtaken by a newer request, or shut down
        self._waiting = None
        self.busy_changed.emit(False)
        _, done, failed = waiting
        if error is None:
            done(result)
        else:
            failed(error)
