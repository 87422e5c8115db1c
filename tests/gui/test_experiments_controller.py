"""The Experiments controller alone, with no panel: a real sweep's start, progress, results,
refusal while running, cancel, failure, and the end of its worker processes at shutdown."""

from __future__ import annotations

import pytest
from window_helpers import child_processes

from nnviz import Config
from nnviz.core.sweep import Sweep, SweepProgress
from nnviz.gui.controllers.experiments import _LIVE_THREADS, ExperimentsController

BASE = Config.preset("seed", iterations=200)
#: A sweep long enough that it is surely still running when the test cancels it.
LONG = Config.preset("seed", iterations=2_000_000)
TIMEOUT = 60_000


def loky_workers() -> list[str]:
    """The command lines of this process's live loky worker processes."""
    return [command for command in child_processes() if "loky" in command]


@pytest.fixture
def controller():
    controller = ExperimentsController()
    yield controller
    controller.shutdown()
    assert not controller.is_running()
    assert not _LIVE_THREADS


def _start_training(qtbot, controller, sweeps, n_jobs=2) -> None:
    """Start `sweeps` and return once the workers really train."""
    progress: list[SweepProgress] = []
    controller.progress_changed.connect(progress.append)
    with qtbot.waitSignal(controller.started, timeout=2000):
        assert controller.start(sweeps, n_jobs=n_jobs)
    qtbot.waitUntil(lambda: any(p.iterations_done > 0 for p in progress), timeout=TIMEOUT)


def test_a_small_sweep_finishes_with_results_and_progress(qtbot, controller):
    sweep = Sweep("hidden", [(3,), (4,)], BASE)
    progress: list[SweepProgress] = []
    controller.progress_changed.connect(progress.append)
    with qtbot.waitSignal(controller.finished, timeout=TIMEOUT) as blocker:
        with qtbot.waitSignal(controller.started, timeout=2000):
            assert controller.start([sweep], n_jobs=2)
        assert controller.is_running()
    results = blocker.args[0]
    assert not controller.is_running()
    assert [result.sweep for result in results] == [sweep]
    assert [row.value for row in results[0].rows] == [(3,), (4,)]
    assert all(0.0 <= row.test_auc <= 1.0 for row in results[0].rows)
    assert progress and progress[-1].trainings_done == progress[-1].trainings_total == 2
    assert progress[-1].fraction == 1.0


def test_start_while_running_is_refused(qtbot, controller):
    sweeps = [Sweep("hidden", [(3,), (4,)], LONG)]
    assert controller.start(sweeps, n_jobs=1)
    thread = controller._thread
    started = []
    controller.started.connect(lambda: started.append(True))
    assert not controller.start([Sweep("hidden", [(5,)], BASE)], n_jobs=1)
    assert controller._thread is thread and not started
    with qtbot.waitSignal(controller.cancelled, timeout=3000):
        assert controller.cancel()


def test_cancel_of_a_long_sweep_emits_cancelled_and_leaves_no_thread(qtbot, controller):
    _start_training(qtbot, controller, [Sweep("hidden", [(3,), (4,), (5,), (6,)], LONG)])
    thread = controller._thread
    assert thread is not None and thread.isRunning()
    with (
        qtbot.assertNotEmitted(controller.finished),
        qtbot.assertNotEmitted(controller.failed),
        qtbot.waitSignal(controller.cancelled, timeout=3000),
    ):
        assert controller.cancel()
    assert not controller.is_running()
    assert not thread.isRunning()
    assert not _LIVE_THREADS
    assert not controller.cancel()  # nothing left to cancel


def test_shutdown_after_a_sweep_ends_the_worker_processes(qtbot, controller):
    with qtbot.waitSignal(controller.finished, timeout=TIMEOUT):
        controller.start([Sweep("hidden", [(3,), (4,)], BASE)], n_jobs=2)
    assert loky_workers()  # loky keeps its idle workers for the next sweep...
    controller.shutdown()
    assert not loky_workers()  # ...until the window closes
    controller.shutdown()  # twice is harmless


def test_shutdown_mid_run_joins_the_thread_silently(qtbot, controller):
    _start_training(qtbot, controller, [Sweep("hidden", [(3,), (4,)], LONG)])
    thread = controller._thread
    with qtbot.assertNotEmitted(controller.cancelled), qtbot.assertNotEmitted(controller.failed):
        controller.shutdown()
        qtbot.wait(50)  # the joined thread's queued last signal arrives, and is dropped
    assert not thread.isRunning()
    assert not controller.is_running() and not _LIVE_THREADS
    assert not loky_workers()


def test_a_failing_sweep_emits_failed_with_the_message(qtbot, controller, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("x1,x2,label\n" + "\n".join(f"{i % 9},{i % 7},{i % 2}" for i in range(90)))
    base = BASE.replace(dataset="csv", csv_path=str(points))
    sweep = Sweep("hidden", [(3,), (4,)], base)
    points.unlink()  # gone before the workers read it
    with (
        qtbot.assertNotEmitted(controller.finished),
        qtbot.waitSignal(controller.failed, timeout=TIMEOUT) as blocker,
    ):
        assert controller.start([sweep], n_jobs=2)
    message = blocker.args[0]
    assert message.startswith("DataError") and "points.csv" in message
    assert not controller.is_running() and not _LIVE_THREADS
    # the controller is free for the next sweep
    with qtbot.waitSignal(controller.finished, timeout=TIMEOUT):
        assert controller.start([Sweep("hidden", [(3,)], BASE)], n_jobs=1)
