"""Shared fixtures: offscreen Qt, and a guard that fails any test leaving a QThread running."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.pop("DISPLAY", None)
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pytest  # noqa: E402


def _running_qthreads() -> list:
    """QThreads still running, found through the garbage collector's view of live objects."""
    import gc
    import sys

    if "PySide6.QtCore" not in sys.modules:
        return []
    from PySide6.QtCore import QThread

    main = QThread.currentThread()
    found = []
    for obj in gc.get_objects():
        try:
            if isinstance(obj, QThread) and obj is not main and obj.isRunning():
                found.append(obj)
        except RuntimeError:  # the C++ object is already deleted
            continue
    return found


@pytest.fixture(autouse=True)
def no_running_qthreads():
    """Fail a test that leaves a QThread running (napari's rule)."""
    yield
    running = _running_qthreads()
    for thread in running:
        thread.requestInterruption()
        thread.quit()
        thread.wait(2000)
    assert not running, f"test left {len(running)} QThread(s) running"
