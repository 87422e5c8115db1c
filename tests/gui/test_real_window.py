"""`nnviz` on a real X server (Xvfb, openbox, the xcb platform), driven by real key presses.

Offscreen tests cannot see what a first-time user hits: keys that do nothing until a click, a
window wider than the screen, a dialog that does not take typing. This test starts the installed
command with a fresh config folder on a 1366x768 screen and checks the effect of each key.
It needs `xvfb xdotool openbox` (and Qt's xcb libraries; README lists them); `.ci/run`
installs them and sets NNVIZ_REQUIRE_X11=1, so there a missing tool fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from nnviz.core.session import load_session

TOOLS = ("Xvfb", "xdotool", "openbox")
SCREEN = (1366, 768)
TITLE = "Watch a neural network learn"

pytestmark = pytest.mark.slow


@pytest.fixture
def display(tmp_path):
    """A fresh X server with a window manager; yields the environment to run X clients in."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("NNVIZ_REQUIRE_X11"):
            pytest.fail(f"the real-window test needs {', '.join(missing)}")
        pytest.skip(f"needs {', '.join(missing)}")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    env = {**os.environ, "DISPLAY": f":{number}", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("QT_QPA_PLATFORM", None)  # the real xcb platform, not offscreen
    manager = subprocess.Popen(["openbox"], env=env, stderr=subprocess.DEVNULL)
    try:
        yield env
    finally:
        for process in (manager, server):
            process.terminate()
            process.wait(10)


def xdotool(env, *args: str, timeout: float = 30) -> str:
    result = subprocess.run(
        ["xdotool", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    return result.stdout.strip()


def processes_started_with(variable: bytes) -> list[int]:
    """Live processes whose environment holds `variable` (the app's, and any it left behind:
    an orphaned training process or sweep worker is no longer this test's child)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if variable in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_keys_work_from_launch_and_the_window_fits_the_screen(qapp, display, tmp_path):
    env = display
    marker = f"NNVIZ_REAL_WINDOW_TEST={tmp_path}"  # marks the app and whatever it starts
    app = subprocess.Popen(
        [sys.executable, "-m", "nnviz"],
        env={**env, "NNVIZ_REAL_WINDOW_TEST": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = xdotool(env, "search", "--sync", "--name", TITLE, timeout=60).splitlines()[0]
        time.sleep(2)  # the training process answers

        xdotool(env, "key", "space")  # no click first: the keys work at launch
        time.sleep(2)
        xdotool(env, "key", "space")
        for key in ("e", "m", "x"):
            xdotool(env, "key", key)
            time.sleep(0.5)
        geometry = xdotool(env, "getwindowgeometry", "--shell", window)
        size = dict(line.split("=") for line in geometry.splitlines())
        assert int(size["WIDTH"]) <= SCREEN[0] and int(size["HEIGHT"]) <= SCREEN[1], geometry
        assert int(size["X"]) + int(size["WIDTH"]) <= SCREEN[0] + 8, geometry  # close button

        session = tmp_path / "typed.nnviz"
        xdotool(env, "key", "ctrl+s")  # the save dialog opens with its name field focused
        time.sleep(1.5)
        xdotool(env, "type", "--delay", "20", str(session))
        xdotool(env, "key", "Return")
        wait_for(session.exists, 20, "the session saved through the dialog")
        trained = load_session(session)
        assert trained.iteration > 0  # Space trained

        xdotool(env, "key", "ctrl+q")
        assert app.wait(20) == 0, app.stderr.read()
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    left = lambda: processes_started_with(marker.encode())  # noqa: E731
    wait_for(lambda: not left(), 10, "no process left after closing")

    # The docks E, M and X opened, as the window saved them for the next launch (restored here
    # offscreen from the settings file the real window wrote).
    from nnviz.gui.main_window import MainWindow

    stored = Path(env["XDG_CONFIG_HOME"]) / "nnviz" / "nnviz.conf"
    restored = MainWindow(settings=QSettings(str(stored), QSettings.Format.IniFormat))
    try:
        for dock in (restored.explain_dock, restored.metrics_dock, restored.experiments_dock):
            assert not dock.isHidden(), dock.objectName()
    finally:
        restored.close()
