"""Sweeps on a real dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1,
started here and torn down in a `finally`. Rows equal the local run in every metric column, the
data travels with the work (the CSV is gone before any worker runs), a job that keeps failing
ends the sweep with its finished rows kept, cancel stops the remote work, and a worker killed
mid-sweep does not lose the sweep."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from nnviz import Config, Trainer  # noqa: E402
from nnviz.core import save_weights  # noqa: E402
from nnviz.core import sweep as sweep_module  # noqa: E402
from nnviz.core.cluster import TOPIC, Cluster, Inputs  # noqa: E402
from nnviz.core.datasets import make_points  # noqa: E402
from nnviz.core.sweep import (  # noqa: E402
    METRICS,
    Sweep,
    SweepCancelled,
    SweepFailed,
    run_sweep,
    run_sweeps,
)

#: Generous guards against a hang; none of them is a speed claim.
START_SECONDS = 60
HANG_SECONDS = 60


class DaskCluster:
    """`dask scheduler` plus single-threaded `dask worker` processes (no nanny, so a killed
    worker stays dead), each in its own process group; `close()` ends every one of them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.client = None
        self.address = ""

    def start(self, workers: int) -> None:
        scheduler_file = self.folder / "scheduler.json"
        self._start(
            "scheduler",
            "distributed.cli.dask_scheduler",
            ["--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
            ["--scheduler-file", str(scheduler_file)],
        )
        deadline = time.monotonic() + START_SECONDS
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert time.monotonic() < deadline, self.logs()
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]
        assert self.address.startswith("tcp://127.0.0.1:")
        for k in range(workers):
            self.workers.append(
                self._start(
                    f"worker{k}",
                    "distributed.cli.dask_worker",
                    [self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                    ["--name", f"worker{k}"],
                )
            )
        self.client = distributed.Client(self.address, timeout=START_SECONDS)
        self.client.wait_for_workers(workers, timeout=START_SECONDS)

    def _start(self, name: str, module: str, *arguments: list[str]) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module, *[a for part in arguments for a in part]],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.folder.glob("*.log"))

    def close(self) -> None:
        try:
            if self.client is not None:
                self.client.close(timeout=10)
        finally:
            for process in self.processes:  # nothing to save: no graceful shutdown
                self.kill(process)


def start_cluster(folder: Path, workers: int = 2) -> DaskCluster:
    folder.mkdir(parents=True, exist_ok=True)
    cluster = DaskCluster(folder)
    try:
        cluster.start(workers)
    except BaseException:
        cluster.close()
        raise
    return cluster


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    cluster = start_cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield cluster
    finally:
        cluster.close()
    assert all(process.poll() is not None for process in cluster.processes)


@contextlib.contextmanager
def workers_budget(client, text: str):
    """NNVIZ_MEMORY_BUDGET on every worker (the caller keeps its own) for the duration. Lambdas
    travel by value: a bound os.environ method would set a copy of this process's environ."""
    client.run(lambda: os.environ.update(NNVIZ_MEMORY_BUDGET=text))
    try:
        yield
    finally:
        client.run(lambda: os.environ.pop("NNVIZ_MEMORY_BUDGET", None))


def metric_cells(path: Path) -> list[list[str]]:
    """The CSV without its seconds column (wall time on whichever worker ran the job)."""
    rows = list(csv.reader(io.StringIO(path.read_text())))
    keep = [i for i, name in enumerate(rows[0]) if not name.startswith("seconds")]
    return [[row[i] for i in keep] for row in rows]


def assert_same_metrics(got, expected) -> None:
    assert [row.value for row in got.rows] == [row.value for row in expected.rows]
    for a, b in zip(got.rows, expected.rows):
        for metric in METRICS[:-1]:
            assert a.values_of(metric).tobytes() == b.values_of(metric).tobytes(), metric
        assert a.diverged == b.diverged


def nnviz_sweep(*arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "nnviz", "sweep", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


# -- the acceptance test -------------------------------------------------------------------------


@pytest.mark.slow
def test_article_preset_on_the_cluster_equals_the_local_run(dask_cluster, tmp_path):
    article = ["--preset", "article", "--iterations", "2000"]
    local = nnviz_sweep(*article, "--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    remote = nnviz_sweep(*article, "--cluster", dask_cluster.address, "--out", str(tmp_path / "c"))
    assert remote.returncode == 0, remote.stderr + dask_cluster.logs()
    for stem in ("table1_iterations", "table2_hidden", "table3_learning_rate"):
        cells = metric_cells(tmp_path / "c" / f"{stem}.csv")
        assert cells == metric_cells(tmp_path / "local" / f"{stem}.csv")
        assert len(cells) > 5
    # each of the 19 rows was printed as it finished, before the three tables
    printed = [line for line in remote.stdout.splitlines() if "  test accuracy " in line]
    assert len(printed) == 19
    assert remote.stdout.index(printed[-1]) < remote.stdout.index("gradient-descent iterations (")


def test_data_and_initial_weights_travel_with_the_work(dask_cluster, tmp_path, monkeypatch):
    """The caller reads the CSV and the weights once; both files are gone before a job is sent."""
    points = tmp_path / "points.csv"
    x, y = make_points(Config(samples=200, noise=0.3))
    rows = "".join(f"{a!r},{b!r},{label}\n" for (a, b), label in zip(x.tolist(), y.tolist()))
    points.write_text("x1,x2,label\n" + rows)
    weights = tmp_path / "start.npz"
    save_weights(weights, Trainer(Config(hidden=(4,), weight_seed=7)).weights())
    base = Config(dataset="csv", csv_path=str(points), hidden=(4,), init_weights=str(weights))
    base = base.replace(iterations=400)
    expected = run_sweep("learning_rate", [0.05, 0.2, 0.8], base, n_jobs=1)

    loaded = []

    class LoadThenDelete(Inputs):
        @classmethod
        def load(cls, configs):
            inputs = Inputs.load(configs)
            points.unlink()
            weights.unlink()
            loaded.append(inputs)
            return inputs

    monkeypatch.setattr(sweep_module, "Inputs", LoadThenDelete)
    got = run_sweep("learning_rate", [0.05, 0.2, 0.8], base, cluster=dask_cluster.address)
    assert len(loaded) == 1 and not points.exists() and not weights.exists()
    assert_same_metrics(got, expected)


def test_a_job_that_keeps_failing_ends_the_sweep_with_the_finished_rows(dask_cluster):
    """The workers' memory budget refuses the 512x512 network only. It is planned last (the
    least work), so it starts once a worker is free: a finished row exists when it fails, on
    every attempt, and the sweep ends naming the job and the worker's error."""
    client = dask_cluster.client
    small = Sweep("hidden", (1, 5), Config(iterations=2000))
    big = Sweep("hidden", ((512, 512),), Config(iterations=1, samples=40), name="big")
    with workers_budget(client, "150M"), pytest.raises(SweepFailed) as failed:
        run_sweeps([small, big], cluster=Cluster(dask_cluster.address, retries=1))
    message = str(failed.value)
    assert "job samples=40, hidden=(512, 512), 1 iterations failed" in message, message
    assert "BudgetError" in message and "after 2 attempts" in message
    assert "on worker tcp://127.0.0.1:" in message and "\n" not in message
    kept, nothing = failed.value.results
    assert nothing.rows == () and 1 <= len(kept.rows) <= 2
    expected = run_sweep("hidden", [1, 5], Config(iterations=2000), n_jobs=1)
    same_values = tuple(row for row in expected.rows if row.value in {r.value for r in kept.rows})
    assert_same_metrics(kept, dataclasses.replace(expected, rows=same_values))
    attempts = [
        msg
        for _, msg in client.get_events(TOPIC)
        if msg[2] == "failed" and msg[3][1].startswith("BudgetError")
    ]
    assert len(attempts) == 2  # the first try and one retry


def test_the_command_writes_the_finished_rows_and_exits_1_with_one_line(dask_cluster, tmp_path):
    """50,000 points exceed the workers' budget; the two smaller samples train first."""
    sweep = ["--param", "samples", "--values", "200,1000,50000", "--batch-size", "8"]
    sweep += ["--iterations", "300", "--cluster", dask_cluster.address, "--retries", "0"]
    with workers_budget(dask_cluster.client, "145M"):
        done = nnviz_sweep(*sweep, "--out", str(tmp_path))
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("nnviz: sweep failed: job samples=50000, 300 iterations failed")
    assert done.stderr.count("\n") == 1 and "BudgetError" in done.stderr
    cells = metric_cells(tmp_path / "sweep.csv")
    assert 2 <= len(cells) <= 3
    assert done.stderr.rstrip().endswith(
        f"finished row{'s are' if len(cells) == 3 else ' is'} in {tmp_path}"
    )
    expected = run_sweep("samples", [200, 1000], Config(iterations=300, batch_size=8), n_jobs=1)
    values = [int(row[1]) for row in cells[1:]]
    assert values in ([200], [1000], [200, 1000])  # whichever finished, in the values' order
    for row in cells[1:]:
        local = next(r for r in expected.rows if r.value == int(row[1]))
        assert row[0] == "samples" and float(row[cells[0].index("test_auc")]) == local.test_auc


def test_cancel_returns_at_once_and_stops_the_remote_jobs(dask_cluster):
    long = Config.preset("seed", iterations=20_000_000)  # about ten minutes per job
    cancel = threading.Event()
    trained = []

    def progress(p):
        trained.append(p.iterations_done)
        if p.iterations_done > 0:  # the remote jobs report while they train
            cancel.set()

    sweep = Sweep("hidden", (1, 2, 3), long)
    started = time.monotonic()
    with pytest.raises(SweepCancelled):
        run_sweeps([sweep], progress=progress, cancel=cancel, cluster=dask_cluster.address)
    assert cancel.is_set() and max(trained) > 0
    assert time.monotonic() - started < HANG_SECONDS

    def cpu_seconds():
        import psutil  # a dependency of distributed

        times = psutil.Process().cpu_times()
        return times.user + times.system

    # dask forgets a cancelled task at once but cannot stop its thread: the job itself stops,
    # and the workers go idle (an unstopped job would burn a whole CPU for minutes)
    deadline = time.monotonic() + HANG_SECONDS
    while True:
        before = dask_cluster.client.run(cpu_seconds)
        time.sleep(1.0)
        after = dask_cluster.client.run(cpu_seconds)
        if all(after[w] - before[w] < 0.5 for w in before):
            break
        assert time.monotonic() < deadline, "the remote jobs kept training after cancel"


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(SweepFailed, match="cannot reach the dask scheduler") as failed:
        run_sweep("hidden", [1], Config(iterations=10), cluster=Cluster(address, timeout=2))
    assert failed.value.results[0].rows == ()


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_loses_nothing(tmp_path):
    """Either the other worker takes the killed worker's job (dask reschedules it) and every row
    equals the local run, or the sweep ends with a clear error and keeps its finished rows."""
    cluster = start_cluster(tmp_path / "dask")
    try:
        victim = cluster.workers[0]
        values = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0)
        sweep = Sweep("learning_rate", values, Config(iterations=10000))
        outcome: dict = {}

        def progress(p):
            if p.trainings_done >= 1 and "killed" not in outcome:
                outcome["killed"] = time.monotonic()
                cluster.kill(victim)

        def run():
            try:
                outcome["results"] = run_sweeps(
                    [sweep], progress=progress, cluster=Cluster(cluster.address, timeout=20)
                )
            except SweepFailed as error:
                outcome["failed"] = error

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(HANG_SECONDS + 60)
        assert not thread.is_alive(), "the sweep hung after a worker was killed"
        assert "killed" in outcome and victim.poll() is not None
        expected = run_sweep("learning_rate", values, Config(iterations=10000), n_jobs=2)
        if "results" in outcome:
            assert_same_metrics(outcome["results"][0], expected)
        else:
            error = outcome["failed"]
            assert "job learning_rate=" in str(error)
            kept = error.results[0]
            assert len(kept.rows) >= 1
            values = {row.value for row in kept.rows}
            same = tuple(row for row in expected.rows if row.value in values)
            assert_same_metrics(kept, dataclasses.replace(expected, rows=same))
    finally:
        cluster.close()
    assert all(process.poll() is not None for process in cluster.processes)


def test_a_cluster_that_stops_answering_ends_the_sweep(tmp_path):
    """Both workers frozen mid-training (SIGSTOP): nothing finishes or reports, and the watchdog
    ends the sweep after its timeout, naming the unfinished jobs."""
    cluster = start_cluster(tmp_path / "dask")
    try:
        frozen = []

        def progress(p):
            if p.iterations_done > 0 and not frozen:
                for worker in cluster.workers:
                    os.kill(worker.pid, signal.SIGSTOP)
                    frozen.append(worker)

        sweep = Sweep("hidden", (1, 2), Config.preset("seed", iterations=2_000_000))
        remote = Cluster(cluster.address, timeout=3)
        with pytest.raises(SweepFailed, match="stopped answering") as failed:
            run_sweeps([sweep], progress=progress, cluster=remote)
        assert len(frozen) == 2
        message = str(failed.value)
        assert "for 3 s" in message and "hidden=(1,), 2000000 iterations" in message, message
        assert failed.value.results[0].rows == ()
    finally:
        for worker in cluster.workers:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGCONT)
        cluster.close()
    assert all(process.poll() is not None for process in cluster.processes)
