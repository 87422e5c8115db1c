"""What the dask and the ray cluster tests share: running the command, comparing rows with the
local run, a CSV and weights file to ship, and ending a process group started for a test."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nnviz import Config, Trainer
from nnviz.core import save_weights
from nnviz.core import sweep as sweep_module
from nnviz.core.cluster import Cluster, Inputs
from nnviz.core.datasets import make_points
from nnviz.core.sweep import METRICS, Sweep, SweepFailed, run_sweeps

#: Generous guards against a hang; none of them is a speed claim.
START_SECONDS = 60
HANG_SECONDS = 60
#: `nnviz sweep --preset article` with fewer iterations: the acceptance run on every engine.
ARTICLE = ("--preset", "article", "--iterations", "2000")
ARTICLE_TABLES = ("table1_iterations", "table2_hidden", "table3_learning_rate")
#: Two quick jobs and a long one (about 2 s here), so a worker can be killed while only the long
#: one trains and the quick ones' rows are already in.
KILL_SWEEP = Sweep("hidden", (1, 2, 64), Config(iterations=12000))


def nnviz_sweep(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "nnviz", "sweep", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


def metric_cells(path: Path) -> list[list[str]]:
    """The CSV without its seconds column (wall time on whichever worker ran the job)."""
    rows = list(csv.reader(io.StringIO(path.read_text())))
    keep = [i for i, name in enumerate(rows[0]) if not name.startswith("seconds")]
    return [[row[i] for i in keep] for row in rows]


def assert_article_tables_equal(remote: Path, local: Path) -> None:
    for stem in ARTICLE_TABLES:
        cells = metric_cells(remote / f"{stem}.csv")
        assert cells == metric_cells(local / f"{stem}.csv"), stem
        assert len(cells) > 5


def assert_same_metrics(got, expected) -> None:
    assert [row.value for row in got.rows] == [row.value for row in expected.rows]
    for a, b in zip(got.rows, expected.rows):
        for metric in METRICS[:-1]:
            assert a.values_of(metric).tobytes() == b.values_of(metric).tobytes(), metric
        assert a.diverged == b.diverged


def assert_kept_rows_equal(kept, expected) -> None:
    """The rows a failed sweep kept equal the same rows of the full local run."""
    values = {row.value for row in kept.rows}
    same = tuple(row for row in expected.rows if row.value in values)
    assert_same_metrics(kept, dataclasses.replace(expected, rows=same))


def points_and_weights(folder: Path) -> tuple[Path, Path, Config]:
    """A CSV of points and an initial-weights file, and a config that trains on both."""
    points = folder / "points.csv"
    x, y = make_points(Config(samples=200, noise=0.3))
    rows = "".join(f"{a!r},{b!r},{label}\n" for (a, b), label in zip(x.tolist(), y.tolist()))
    points.write_text("x1,x2,label\n" + rows)
    weights = folder / "start.npz"
    save_weights(weights, Trainer(Config(hidden=(4,), weight_seed=7)).weights())
    base = Config(dataset="csv", csv_path=str(points), hidden=(4,), init_weights=str(weights))
    return points, weights, base.replace(iterations=400)


def sweep_and_kill(cluster: Cluster, kill: Callable[[], str]) -> dict:
    """Run KILL_SWEEP on the cluster and, once its two quick jobs finished, `kill()` the worker
    training the long one. The outcome: "results" or "failed" (SweepFailed), and "killed" (what
    `kill` returned). Fails if the sweep does not end within HANG_SECONDS of the kill."""
    quick_done = threading.Event()
    outcome: dict = {}

    def progress(p):
        if p.trainings_done >= 2:
            quick_done.set()

    def run():
        try:
            outcome["results"] = run_sweeps([KILL_SWEEP], progress=progress, cluster=cluster)
        except SweepFailed as error:
            outcome["failed"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert quick_done.wait(HANG_SECONDS), "the quick jobs did not finish"
    outcome["killed"] = kill()
    thread.join(HANG_SECONDS)
    assert not thread.is_alive(), "the sweep hung after a worker was killed"
    return outcome


def delete_once_loaded(monkeypatch, *paths: Path) -> list:
    """Make the sweep delete `paths` as soon as the caller has loaded its inputs, before any job
    is sent; returns the list of inputs loaded (one per sweep)."""
    loaded = []

    class LoadThenDelete(Inputs):
        @classmethod
        def load(cls, configs):
            inputs = Inputs.load(configs)
            for path in paths:
                path.unlink()
            loaded.append(inputs)
            return inputs

    monkeypatch.setattr(sweep_module, "Inputs", LoadThenDelete)
    return loaded


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (the kernel's ephemeral range, above ray's worker ports)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def session_processes(session: int) -> list[int]:
    """The live processes of a session (what `start_new_session=True` started, and their
    children, unless they left it), zombies excluded."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, session, ...
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def end_session(leader: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the process group the leader started, SIGKILL what is left after `grace` s, and
    wait until no process of its session is alive."""
    with_signal = [(signal.SIGTERM, grace), (signal.SIGKILL, START_SECONDS)]
    for sig, wait in with_signal:
        for pid in session_processes(leader.pid):
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while session_processes(leader.pid) and time.monotonic() < deadline:
            leader.poll()  # reap the leader itself
            time.sleep(0.1)
        if not session_processes(leader.pid):
            break
    leader.wait(timeout=START_SECONDS)
    assert session_processes(leader.pid) == [], "processes of the cluster stayed behind"
