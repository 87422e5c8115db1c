"""Experiments: a sweep's lifecycle, from start through progress to its results, a cancel or an
error, and the end of its worker processes when the window closes.

The sweep runs in a `SweepThread`, a QThread whose `run()` calls `nnviz.core.sweep.run_sweeps`;
the training itself happens in joblib's worker processes, so the window stays responsive. The
thread stops cooperatively: `stop()` sets a `threading.Event` that `run_sweeps` polls every 20 ms,
and `run_sweeps` then stops its workers between chunks of training (well within a second).

`ExperimentsController` needs no view: it reports through signals, which the Experiments panel
(`experiments_panel.py`) draws, so `tests/gui/test_experiments_controller.py` drives it alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ...core.sweep import Sweep, SweepCancelled, SweepProgress, SweepResult, run_sweeps

#: At most this many progress updates a second leave the sweep's thread.
PROGRESS_HZ = 20.0


class SweepThread(QThread):
    """Runs `run_sweeps(sweeps)` once and reports through signals (queued to the GUI thread).

    Exactly one of `sweep_finished(list)`, `sweep_cancelled()` or `sweep_failed(str)` is emitted
    at the end. Results are frozen dataclasses, so sending them by reference is safe.
    """

    progress_changed = Signal(object)  # SweepProgress
    sweep_finished = Signal(object)  # list[SweepResult]
    sweep_cancelled = Signal()
    sweep_failed = Signal(str)

    def __init__(
        self, sweeps: Sequence[Sweep], n_jobs: int | None = None, cluster: str | None = None
    ) -> None:
        super().__init__()  # no parent: the controller keeps it and joins it
        self._sweeps = list(sweeps)
        self._n_jobs, self._cluster = n_jobs, cluster
        self._stop = threading.Event()
        self._last_progress = 0.0
        self._progress_lock = threading.Lock()

    def stop(self) -> None:
        """Ask the sweep to stop (from any thread); it ends within about a second."""
        self._stop.set()
        self.requestInterruption()

    @Slot()
    def stop_and_wait(self) -> None:
        """Stop and join (GUI thread). Also connected to the controller's `destroyed`."""
        self.stop()
        self.wait()
        _LIVE_THREADS.discard(self)

    def run(self) -> None:
        try:
            results = run_sweeps(
                self._sweeps,
                n_jobs=self._n_jobs,
                progress=self._report,
                cancel=self._stop,
                cluster=self._cluster,
            )
        except SweepCancelled:
            self.sweep_cancelled.emit()
        except Exception as error:  # a worker's DataError, a broken pool: show it, do not crash
            self.sweep_failed.emit(f"{type(error).__name__}: {error}")
        else:
            if self._stop.is_set():
                self.sweep_cancelled.emit()
            else:
                self.sweep_finished.emit(results)

    def _report(self, progress: SweepProgress) -> None:
        """Called by run_sweeps, possibly from its helper thread: emit at most PROGRESS_HZ."""
        with self._progress_lock:
            now = time.perf_counter()
            final = progress.trainings_done == progress.trainings_total
            if final or now - self._last_progress >= 1.0 / PROGRESS_HZ:
                self._last_progress = now
                self.progress_changed.emit(progress)


#: Threads still running, kept alive until joined even if their controller is collected first.
_LIVE_THREADS: set[SweepThread] = set()


def release_workers() -> None:
    """End joblib's idle worker processes: loky keeps them for minutes after a sweep, for the
    next one, and they must not outlive the window."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


class ExperimentsController(QObject):
    """Runs one sweep at a time off the GUI thread and reports how it goes.

    Signals: `started()`, `progress_changed(SweepProgress)` (at most PROGRESS_HZ a second, plus
    the last), then exactly one of `finished(list[SweepResult])`, `cancelled()` or
    `failed(str)`, emitted once the thread has been joined. `shutdown()` ends a sweep silently.

    Deleting the controller (with its parent, say) stops and joins a running sweep; call
    `shutdown()` from the window's closeEvent to end the idle worker processes too.
    """

    started = Signal()
    progress_changed = Signal(object)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: SweepThread | None = None
        self._started_workers = False  # a sweep ran here: its idle workers end at shutdown()

    def is_running(self) -> bool:
        return self._thread is not None

    def start(
        self, sweeps: Sequence[Sweep], n_jobs: int | None = None, cluster: str | None = None
    ) -> bool:
        """Start running `sweeps` with `n_jobs` workers, here or on the dask scheduler at
        `cluster`; False (and nothing starts) if a sweep is running already."""
        if self._thread is not None:
            return False
        thread = SweepThread(sweeps, n_jobs=n_jobs, cluster=cluster)
        thread.progress_changed.connect(self._on_thread_progress_changed)
        thread.sweep_finished.connect(self._on_thread_sweep_finished)
        thread.sweep_cancelled.connect(self._on_thread_sweep_cancelled)
        thread.sweep_failed.connect(self._on_thread_sweep_failed)
        self._thread = thread
        # Kept alive until joined, and joined even if the controller is deleted mid-run without
        # shutdown(): Qt must never destroy a running QThread.
        _LIVE_THREADS.add(thread)
        self.destroyed.connect(thread.stop_and_wait)
        thread.start()
        self._started_workers = True
        self.started.emit()
        return True

    def cancel(self) -> bool:
        """Ask a running sweep to stop; `cancelled` follows within about a second. False if no
        sweep is running."""
        if self._thread is None:
            return False
        self._thread.stop()
        return True

    def shutdown(self) -> None:
        """Stop a running sweep and join its thread (no signal follows), then end the worker
        processes of every sweep run here. Safe to call more than once."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop_and_wait()
            self.destroyed.disconnect(thread.stop_and_wait)
        if self._started_workers:
            release_workers()
            self._started_workers = False

    # -- the thread's signals, queued to this (GUI) thread ----------------------------------

    @Slot(object)
    def _on_thread_progress_changed(self, progress: SweepProgress) -> None:
        if self._from_current_thread():
            self.progress_changed.emit(progress)

    @Slot(object)
    def _on_thread_sweep_finished(self, results: list[SweepResult]) -> None:
        if self._from_current_thread():  # not a thread that shutdown() already joined
            self._join_thread()
            self.finished.emit(results)

    @Slot()
    def _on_thread_sweep_cancelled(self) -> None:
        if self._from_current_thread():
            self._join_thread()
            self.cancelled.emit()

    @Slot(str)
    def _on_thread_sweep_failed(self, message: str) -> None:
        if self._from_current_thread():
            self._join_thread()
            self.failed.emit(message)

    def _from_current_thread(self) -> bool:
        """True for a signal of the running sweep's thread, not of one stopped earlier."""
        return self._thread is not None and self.sender() is self._thread

    def _join_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait()  # it has emitted its last signal and is returning
            _LIVE_THREADS.discard(thread)
            self.destroyed.disconnect(thread.stop_and_wait)
