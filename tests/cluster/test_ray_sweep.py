"""Sweeps on a real ray cluster: a head started here with `ray start --head --block` (two CPUs, so
two workers train at once) on 127.0.0.1, reached through the ray client (`ray://`), and ended
with every process of its session at teardown. The same contract as on dask: rows equal the
local run in every metric column, the data travels with the work (the CSV is gone before any
job is sent), a job that keeps failing or whose worker is killed counts against --retries and
then ends the sweep with its finished rows kept, cancel stops the remote work, and frozen
workers trip the watchdog."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason='ray is not installed (pip install "nnviz[ray]")')

from cluster_helpers import (
    ARTICLE,
    HANG_SECONDS,
    KILL_SWEEP,
    START_SECONDS,
    assert_article_tables_equal,
    assert_kept_rows_equal,
    assert_same_metrics,
    delete_once_loaded,
    end_session,
    free_ports,
    nnviz_sweep,
    points_and_weights,
    session_processes,
    sweep_and_kill,
)

from nnviz import Config
from nnviz.core.cluster import Cluster
from nnviz.core.sweep import Sweep, SweepCancelled, SweepFailed, run_sweep, run_sweeps

pytestmark = pytest.mark.slow

#: The title ray gives a worker process while it runs one of the sweep's jobs.
JOB_TITLE = "ray::_run_ray_job"
#: How long a first client may take to connect before another one is tried (3-4 s here).
WARM_UP_SECONDS = 15
#: The workers' memory budget (the caller keeps its own): it refuses a 512x512 network only.
WORKER_BUDGET = "150M"


class RayHead:
    """`ray start --head --block` in a session of its own, in a short temporary folder (ray's
    socket paths must stay under 108 characters) and a working directory of its own."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="nnviz-ray-"))
        self.process: subprocess.Popen | None = None
        self.address = ""

    def start(self) -> None:
        gcs, client, dashboard, agent = free_ports(4)
        self.address = f"ray://127.0.0.1:{client}"
        (self.folder / "head").mkdir()
        env = {
            **os.environ,
            # ray resolves 127.0.0.1 to the machine's address unless clusters are "disabled";
            # this keeps every ray process on the loopback interface
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "NNVIZ_MEMORY_BUDGET": WORKER_BUDGET,
        }
        with open(self.folder / "head.log", "wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block"),
                    *(f"--port={gcs}", f"--ray-client-server-port={client}", "--num-cpus=2"),
                    *("--include-dashboard=false", f"--dashboard-port={dashboard}"),
                    *(f"--dashboard-agent-listen-port={agent}", "--disable-usage-stats"),
                    *("--object-store-memory=100000000", f"--temp-dir={self.folder / 'ray'}"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder / "head",
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while not self._listening(client):
            assert self.process.poll() is None, self.logs()
            assert time.monotonic() < deadline, self.logs()
            time.sleep(0.2)
        self._warm_up()

    def _warm_up(self) -> None:
        """Connect a first client. A fresh head fails to start the server process of its first
        client now and then (2 of 10 here) and says so only after about 40 s; nnviz then
        connects again (CONNECT_TRIES), but a test need not wait: a client that is not through
        within WARM_UP_SECONDS is ended and another one tried."""
        connect = (
            f"import logging, ray; ray.init({self.address!r}, allow_multiple=True, "
            "log_to_driver=False, logging_level=logging.ERROR).disconnect()"
        )
        for _ in range(3):
            try:
                done = subprocess.run(
                    [sys.executable, "-c", connect],
                    capture_output=True,
                    timeout=WARM_UP_SECONDS,
                    cwd=self.folder,
                )
            except subprocess.TimeoutExpired:  # run() has killed it
                continue
            if done.returncode == 0:
                return
        raise AssertionError(f"no ray client could connect to {self.address}\n{self.logs()}")

    @staticmethod
    def _listening(port: int) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    def job_workers(self) -> list[int]:
        """The processes of this head that are running one of a sweep's jobs now."""
        found = []
        for pid in session_processes(self.process.pid):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:  # ended meanwhile
                continue
            if title.decode(errors="replace").startswith(JOB_TITLE):
                found.append(pid)
        return found

    def logs(self) -> str:
        return (self.folder / "head.log").read_text(errors="replace")[-3000:]

    def close(self) -> None:
        """End every process of the head's session (`ray stop` would end every ray process on
        the machine, a developer's own cluster too), then remove its folder."""
        try:
            if self.process is not None:
                end_session(self.process, grace=1.0)  # nothing to save
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_head():
    head = RayHead()
    try:
        head.start()
        yield head
    finally:
        head.close()
    leftovers = [
        pid
        for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
        if str(head.folder).encode() in _cmdline(pid)
    ]
    assert leftovers == [], "ray processes stayed behind"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# -- the acceptance test -------------------------------------------------------------------------


def test_article_preset_on_ray_equals_the_local_run(ray_head, local_article, tmp_path):
    remote = nnviz_sweep(*ARTICLE, "--cluster", ray_head.address, "--out", str(tmp_path))
    assert remote.returncode == 0, remote.stderr + ray_head.logs()
    assert_article_tables_equal(tmp_path, local_article)
    printed = [line for line in remote.stdout.splitlines() if "  test accuracy " in line]
    assert len(printed) == 19  # each row as it finished, before the tables
    assert remote.stdout.index(printed[-1]) < remote.stdout.index("gradient-descent iterations (")
    assert remote.stderr == "", remote.stderr  # nothing of ray's on the terminal


def test_the_data_travels_with_the_work_and_a_failing_job_keeps_the_finished_rows(
    ray_head, tmp_path, monkeypatch
):
    """The caller reads the CSV and the weights once; both are gone before a job is sent (and
    the head runs in a folder of its own anyway). The workers' budget refuses the 512x512
    network, planned last: ray tries it once more (retry_exceptions), then the sweep ends naming
    the job, its worker and the error, and keeps the CSV rows that finished, equal to the local
    run. (One sweep for both: every ray client connection costs about 4 s.)"""
    points, weights, base = points_and_weights(tmp_path)
    expected = run_sweep("learning_rate", [0.05, 0.2, 0.8], base, n_jobs=1)
    loaded = delete_once_loaded(monkeypatch, points, weights)
    data = Sweep("learning_rate", (0.05, 0.2, 0.8), base)
    big = Sweep("hidden", ((512, 512),), Config(iterations=1, samples=40), name="big")
    with pytest.raises(SweepFailed) as failed:
        run_sweeps([data, big], cluster=Cluster(ray_head.address, retries=1))
    assert len(loaded) == 1 and not points.exists() and not weights.exists()
    message = str(failed.value)
    assert message.startswith("job dataset='moons', csv_path=None, samples=40, hidden=(512, 512)")
    assert "1 iterations failed on worker 127.0.0.1 pid " in message, message
    assert "after 2 attempts: BudgetError" in message and "\n" not in message
    kept, nothing = failed.value.results
    assert nothing.rows == () and len(kept.rows) >= 1
    assert_kept_rows_equal(kept, expected)


def test_retries_govern_a_worker_that_dies(ray_head):
    """A killed worker (WorkerCrashedError) counts against --retries: with one retry ray runs
    the long job again on a new worker; killed there too, the sweep ends naming the job and the
    error after 2 attempts, within the guard, keeping the finished rows (one sweep for both: every
    ray client connection costs about 4 s)."""
    expected = run_sweep("hidden", KILL_SWEEP.values, KILL_SWEEP.base, n_jobs=1)

    def kill_twice() -> str:
        (first,) = ray_head.job_workers()
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + HANG_SECONDS
        while not (again := [pid for pid in ray_head.job_workers() if pid != first]):
            assert time.monotonic() < deadline, "ray did not run the killed job again"
            time.sleep(0.05)
        os.kill(again[0], signal.SIGKILL)
        return f"{first} {again[0]}"

    ended = sweep_and_kill(Cluster(ray_head.address, retries=1, timeout=20), kill_twice)
    message = str(ended["failed"])
    assert message.startswith("job hidden=(64,), 12000 iterations failed on worker "), message
    assert "after 2 attempts: WorkerCrashedError" in message
    # the worker it last heard from: the retry may die before it reports
    assert any(f"pid {pid} after" in message for pid in ended["killed"].split()), message
    kept = ended["failed"].results[0]
    assert [row.value for row in kept.rows] == [1, 2]
    assert_kept_rows_equal(kept, expected)


def test_cancel_returns_at_once_and_stops_the_remote_jobs(ray_head):
    long = Config.preset("seed", iterations=20_000_000)  # about ten minutes per job
    cancel = threading.Event()
    asked = []

    def progress(p):
        if p.iterations_done > 0 and not cancel.is_set():  # the remote jobs report as they train
            asked.append(time.monotonic())
            cancel.set()

    with pytest.raises(SweepCancelled):
        run_sweeps(
            [Sweep("hidden", (1, 2, 3), long)],
            progress=progress,
            cancel=cancel,
            cluster=ray_head.address,
        )
    assert time.monotonic() - asked[0] < 1.0
    deadline = time.monotonic() + HANG_SECONDS  # ray.cancel interrupts the training itself
    while ray_head.job_workers():
        assert time.monotonic() < deadline, "the remote jobs kept training after cancel"
        time.sleep(0.2)


def test_frozen_workers_trip_the_watchdog(ray_head):
    """Both job workers stopped (SIGSTOP): nothing finishes or reports, and the sweep ends after
    its timeout naming the unfinished jobs; the frozen workers are thawed and go away."""
    frozen: list[int] = []

    def progress(p):
        workers = ray_head.job_workers()  # under load the second job may start later
        if p.iterations_done > 0 and not frozen and len(workers) == 2:
            for pid in workers:
                os.kill(pid, signal.SIGSTOP)
                frozen.append(pid)

    sweep = Sweep("hidden", (1, 2), Config.preset("seed", iterations=2_000_000))
    try:
        with pytest.raises(SweepFailed, match="stopped answering") as failed:
            run_sweeps([sweep], progress=progress, cluster=Cluster(ray_head.address, timeout=3))
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert len(frozen) == 2
    message = str(failed.value)
    assert "the ray cluster at ray://127.0.0.1:" in message and "for 3 s" in message, message
    assert "hidden=(1,), 2000000 iterations" in message
    assert failed.value.results[0].rows == ()


def test_an_unreachable_head_is_a_clear_error():
    """Refused at once (a plain TCP connection first), not after the ray client's 30 s."""
    (port,) = free_ports(1)  # nobody listens there
    started = time.monotonic()
    with pytest.raises(SweepFailed, match=r"cannot reach the ray head at .* Connection refused"):
        run_sweep("hidden", [1], Config(iterations=10), cluster=f"ray://127.0.0.1:{port}")
    assert time.monotonic() - started < 10


def test_a_client_the_head_could_not_start_is_connected_again(ray_head, monkeypatch):
    """A fresh head now and then fails to start the server process of its first client
    (ConnectionAbortedError, "Starting Ray client server failed"): the sweep connects again."""
    import ray

    real_init, calls = ray.init, []

    def init_failing_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionAbortedError("Starting Ray client server failed")
        return real_init(*args, **kwargs)

    monkeypatch.setattr(ray, "init", init_failing_once)
    got = run_sweep("hidden", [1, 2], Config(iterations=200), cluster=ray_head.address)
    assert len(calls) == 2
    assert_same_metrics(got, run_sweep("hidden", [1, 2], Config(iterations=200), n_jobs=1))
