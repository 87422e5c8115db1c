"""Shared fixtures: offscreen Qt, and a guard that fails any test leaving a QThread running."""

from __future__ import annotations

import os
import weakref

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.pop("DISPLAY", None)
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pytest

_started_threads: weakref.WeakSet = weakref.WeakSet()


def pytest_configure(config) -> None:
    """Record every QThread that starts, so the guard below need not scan the whole heap."""
    from PySide6.QtCore import QThread

    original_start = QThread.start

    def recording_start(self, *args, **kwargs):
        _started_threads.add(self)
        return original_start(self, *args, **kwargs)

    QThread.start = recording_start


def _running_qthreads() -> list:
    running = []
    for thread in list(_started_threads):
        try:
            if thread.isRunning():
                running.append(thread)
        except RuntimeError:  # the C++ object is already deleted
            continue
    return running


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


@pytest.fixture
def window(qtbot, tmp_path):
    """The real window at 1280x800 with its own settings file, once its training process runs."""
    from PySide6.QtCore import QSettings
    from window_helpers import TIMEOUT

    from nnviz import Config
    from nnviz.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "nnviz.ini"), QSettings.Format.IniFormat)
    win = MainWindow(Config.preset("seed"), settings)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.process_ready, timeout=TIMEOUT)
    yield win
    win.close()
