"""Sweeps on a real dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1,
started here and torn down in a `finally`. Rows equal the local run in every metric column, the
data travels with the work (the CSV is gone before any worker runs), a job that keeps failing
ends the sweep with its finished rows kept, cancel stops the remote work, and a worker killed
mid-sweep counts against --retries like an error: retried within them, past them a clear error
that keeps the finished rows."""

from __future__ import annotations

import contextlib
import functools
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

from cluster_helpers import (  # noqa: E402
    ARTICLE,
    HANG_SECONDS,
    KILL_SWEEP,
    START_SECONDS,
    assert_article_tables_equal,
    assert_kept_rows_equal,
    assert_same_metrics,
    delete_once_loaded,
    metric_cells,
    nnviz_sweep,
    points_and_weights,
    sweep_and_kill,
)

from nnviz import Config  # noqa: E402
from nnviz.core.cluster import Cluster  # noqa: E402
from nnviz.core.cluster_dask import TOPIC  # noqa: E402
from nnviz.core.sweep import (  # noqa: E402
    Sweep,
    SweepCancelled,
    SweepFailed,
    run_sweep,
    run_sweeps,
)


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


# -- the acceptance test -------------------------------------------------------------------------


@pytest.mark.slow
def test_article_preset_on_the_cluster_equals_the_local_run(dask_cluster, local_article, tmp_path):
    remote = nnviz_sweep(*ARTICLE, "--cluster", dask_cluster.address, "--out", str(tmp_path))
    assert remote.returncode == 0, remote.stderr + dask_cluster.logs()
    assert_article_tables_equal(tmp_path, local_article)
    # each of the 19 rows was printed as it finished, before the three tables
    printed = [line for line in remote.stdout.splitlines() if "  test accuracy " in line]
    assert len(printed) == 19
    assert remote.stdout.index(printed[-1]) < remote.stdout.index("gradient-descent iterations (")


def test_data_and_initial_weights_travel_with_the_work(dask_cluster, tmp_path, monkeypatch):
    """The caller reads the CSV and the weights once; both files are gone before a job is sent."""
    points, weights, base = points_and_weights(tmp_path)
    expected = run_sweep("learning_rate", [0.05, 0.2, 0.8], base, n_jobs=1)
    loaded = delete_once_loaded(monkeypatch, points, weights)
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
    assert_kept_rows_equal(kept, expected)
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


def kill_the_busy_worker(cluster: DaskCluster) -> str:
    """SIGKILL the one worker that is training; its address."""
    busy = [address for address, keys in cluster.client.processing().items() if keys]
    assert len(busy) == 1, busy
    name = cluster.client.scheduler_info()["workers"][busy[0]]["name"]  # "worker<k>"
    cluster.kill(cluster.workers[int(name.removeprefix("worker"))])
    return busy[0]


@pytest.mark.slow
def test_retries_govern_a_worker_that_dies(tmp_path):
    """--retries counts a dead worker like a raised error (not dask's allowed-failures, 3):
    with one retry the killed job runs again on another worker and every row equals the local
    run; with none, the sweep ends at the first death naming the job and the dead worker, and
    keeps the rows that finished."""
    cluster = start_cluster(tmp_path / "dask", workers=3)
    try:
        expected = run_sweep("hidden", KILL_SWEEP.values, KILL_SWEEP.base, n_jobs=1)
        kill = functools.partial(kill_the_busy_worker, cluster)
        retried = sweep_and_kill(Cluster(cluster.address, retries=1, timeout=20), kill)
        assert "failed" not in retried, retried.get("failed")
        assert_same_metrics(retried["results"][0], expected)

        ended = sweep_and_kill(Cluster(cluster.address, retries=0, timeout=20), kill)
        message = str(ended["failed"])
        kept = ended["failed"].results[0]
        # Usually the long job (64) is the one killed, but on a loaded machine a quick job's
        # worker may start last: the job named is the one whose row is missing.
        (killed_width,) = set(KILL_SWEEP.values) - {row.value for row in kept.rows}
        assert message.startswith(f"job hidden=({killed_width},), 12000 iterations failed"), message
        assert "after 1 attempt: the worker died" in message
        assert f"on worker {ended['killed']}" in message
        assert len(kept.rows) == 2
        assert_kept_rows_equal(kept, expected)
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
