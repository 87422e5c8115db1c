"""FileReader reads on a worker thread and answers in the GUI thread; the newest request wins."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread, QTimer

from nnviz.gui.background import FileReader, read_now


def test_a_slow_read_leaves_the_event_loop_running_and_answers_in_the_gui_thread(qtbot):
    reader = FileReader()
    release, answered, ticks = threading.Event(), [], []
    gui = QThread.currentThread()
    timer = QTimer(interval=5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()

    def slow_read() -> str:
        assert QThread.currentThread() is not gui
        release.wait(10)
        return "points"

    reader(slow_read, lambda result: answered.append((result, QThread.currentThread())), print)
    assert reader.busy
    qtbot.waitUntil(lambda: len(ticks) >= 10)  # the window keeps going while the file is read
    assert answered == []
    release.set()
    qtbot.waitUntil(lambda: answered != [])
    assert answered == [("points", gui)] and not reader.busy
    timer.stop()
    reader.shutdown()


def test_a_read_overtaken_by_a_newer_one_is_dropped_and_errors_reach_failed(qtbot):
    reader = FileReader()
    release, done, failed = threading.Event(), [], []
    reader(lambda: release.wait(10) and "old", done.append, failed.append)
    reader(
        lambda: (_ for _ in ()).throw(OSError("cannot read new.csv")), done.append, failed.append
    )
    release.set()
    qtbot.waitUntil(lambda: failed != [])
    qtbot.wait(50)
    assert done == [] and str(failed[0]) == "cannot read new.csv"
    reader.shutdown()


def test_read_now_reads_at_once():
    done, failed = [], []
    read_now(lambda: 3, done.append, failed.append)
    read_now(lambda: 1 / 0, done.append, failed.append)
    assert done == [3] and isinstance(failed[0], ZeroDivisionError)
