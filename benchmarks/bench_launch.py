"""Launch time: from starting `python -m nnviz` to its window mapped on a real X server, and
what the imports before it cost.

    python benchmarks/bench_launch.py [--rounds N]

Starts its own Xvfb (needs `xvfb xdotool`), a fresh config folder each round, and times until
`xdotool search --sync` sees the window. Then `python -X importtime -c "import nnviz.gui.app"`
names the slowest imports, and a run in one process times the first frame: the window shows
itself before it imports scikit-learn and loads the data. Goal (issue 10): a window under 2 s on
an idle machine (it was 3.0 s when the data loaded first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

TITLE = "Watch a neural network learn"


def start_display() -> tuple[subprocess.Popen, str]:
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1440x900x24"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        return server, f":{pipe.readline().strip()}"


def launch_seconds(display: str) -> float:
    with tempfile.TemporaryDirectory() as config:
        env = {**os.environ, "DISPLAY": display, "XDG_CONFIG_HOME": config}
        env.pop("QT_QPA_PLATFORM", None)
        started = time.perf_counter()
        app = subprocess.Popen([sys.executable, "-m", "nnviz"], env=env, stderr=subprocess.DEVNULL)
        try:
            subprocess.run(
                ["xdotool", "search", "--sync", "--onlyvisible", "--name", TITLE],
                env=env,
                capture_output=True,
                timeout=60,
                check=True,
            )
            return time.perf_counter() - started
        finally:
            app.terminate()
            app.wait(20)


FIRST_FRAME = """
import time
started = time.perf_counter()
from nnviz.gui.app import application
from nnviz.gui.main_window import MainWindow
app = application()
window = MainWindow(load_after_show=True)
marks = {}
window.frame_drawn.connect(lambda _: marks.setdefault("frame", time.perf_counter()) and app.quit())
window.show()
marks["shown"] = time.perf_counter()
app.exec()
print(marks["shown"] - started, marks["frame"] - started)
window.close()
"""


def first_frame_seconds(display: str) -> tuple[float, float]:
    """(window shown, first frame drawn) in seconds from the first import, in one process."""
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME], env=env, capture_output=True, text=True, timeout=60
    )
    shown, frame = result.stdout.split()[-2:]
    return float(shown), float(frame)


def slowest_imports(count: int = 8) -> list[tuple[float, str]]:
    """(cumulative seconds, module) of the slowest imports of the window's entry module."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import nnviz.gui.app"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2  # importtime indents nested imports
        if depth <= 1:  # the entry module and what it imports directly
            rows.append((int(cumulative) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    server, display = start_display()
    try:
        times = [launch_seconds(display) for _ in range(args.rounds)]
        frames = [first_frame_seconds(display) for _ in range(args.rounds)]
    finally:
        server.terminate()
        server.wait(10)
    for number, seconds in enumerate(times, start=1):
        print(f"  round {number}: window shown {seconds:.2f} s after start")
    median = statistics.median(times)
    print(
        f"launch to shown window: median {median:.2f} s (goal < 2 s: "
        f"{'met' if median < 2 else 'NOT met'})"
    )
    shown = statistics.median(f[0] for f in frames)
    drawn = statistics.median(f[1] for f in frames)
    print(
        f"in one process from the first import: window shown {shown:.2f} s, "
        f"first frame drawn {drawn:.2f} s (scikit-learn and the data load in between)"
    )
    print("slowest top-level imports of nnviz.gui.app (cumulative):")
    for seconds, name in slowest_imports():
        print(f"  {seconds:6.3f} s  {name}")


if __name__ == "__main__":
    main()
