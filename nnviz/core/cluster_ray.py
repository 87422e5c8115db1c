"""Sweeps on a ray cluster, through the ray client (`ray://head:10001`).

The same contract as the dask backend (see `nnviz.core.cluster`), with ray's own means:

- `ray.put(inputs)` ships the caller's loaded data to the cluster's object store once; every
  job names that object, and workers never open a user's path.
- Each job is a ray task with `max_retries=retries` and `retry_exceptions=True`: ray tries it
  again when it raises and when its worker process dies (WorkerCrashedError), one budget for
  both. Past it, the sweep ends naming the job, its worker and the error.
- `ray.wait` hands jobs back as they finish. Running jobs report their progress to a small
  actor (no CPU of its own) about four times a second; the caller reads it as often, and that
  feeds the progress and the watchdog.
- Cancel is `ray.cancel` on every unfinished job (a KeyboardInterrupt in its worker, which
  stops training at once), and disconnecting ends whatever the sweep left on the cluster.

The ray client blocks when the head stops answering (a call waited about two minutes here), so
one thread, `_Driver`, owns the connection (ray's client context is thread-local anyway) and
makes every ray call, while the caller only reads what it reports from a queue, looks at its
cancel and runs the watchdog: neither a frozen head nor a dead worker can hang the caller.

ray is imported only inside these functions (`pip install "nnviz[ray]"`). The head and every
worker need nnviz installed, the same version, and the same Python and ray as the caller.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .cluster_base import HEARTBEAT_SECONDS, POLL_SECONDS, Cluster, ClusterError, Watch, one_line

#: The longest the driver thread waits in `ray.wait`: how soon it sees the caller's cancel.
WAIT_SECONDS = 0.1
#: The least time a ray client connection (and then shipping the data and the jobs) is given:
#: the head starts a server process for each client (3-4 s here), and says it could not about
#: 40 s later, so a short --cluster-timeout applies once the jobs are submitted. A head nobody
#: listens for is found at once by a plain TCP connection first.
CONNECT_SECONDS = 60.0
#: Connections tried when the head fails to start its server process for this client (it does,
#: now and then, for the first client of a fresh ray 2.60 head: "Starting Ray client server
#: failed", reported about 40 s later); a second connection has always worked here.
CONNECT_TRIES = 2
#: How long a cancelled or failed sweep waits for the driver to cancel the remote jobs (it goes
#: on in the background), and how long a finished one waits for it to disconnect.
HALT_SECONDS = 0.5
CLOSE_SECONDS = 5.0


class _JobError(Exception):
    """A job's exception as it leaves its worker: (where it ran, the error on one line)."""


# -- on a worker ---------------------------------------------------------------------------------


class _Board:
    """An actor that collects the running jobs' progress until the caller takes it."""

    def __init__(self) -> None:
        self.news: dict[int, tuple[int, str]] = {}

    def report(self, index: int, trained: int, worker: str) -> None:
        self.news[index] = (trained, worker)

    def take(self) -> dict[int, tuple[int, str]]:
        news, self.news = self.news, {}
        return news


class _Reporter:
    """A job's `on_chunk`: tells the board how far it trained, every HEARTBEAT_SECONDS."""

    def __init__(self, board: Any, index: int) -> None:
        import ray

        self.board, self.index = board, index
        self.worker = f"{ray.util.get_node_ip_address()} pid {os.getpid()}"
        self.trained = 0
        self.last = time.perf_counter()
        self.send()

    def send(self) -> None:
        with contextlib.suppress(Exception):  # the board restarting: the next report counts
            self.board.report.remote(self.index, self.trained, self.worker)

    def on_chunk(self, n: int) -> None:
        self.trained += n
        now = time.perf_counter()
        if now - self.last >= HEARTBEAT_SECONDS:
            self.last = now
            self.send()


def _run_ray_job(task: Callable[..., Any], inputs: Any, index: int, job: Any, board: Any):
    """What a ray worker runs: `task(job, on_chunk=, inputs=)`; an error leaves naming the
    worker. (ray.cancel raises KeyboardInterrupt here, which is no Exception: it stops.)"""
    reporter = _Reporter(board, index)
    try:
        return task(job, stop=None, on_chunk=reporter.on_chunk, inputs=inputs)
    except Exception as error:
        raise _JobError(reporter.worker, one_line(error)) from None


# -- in the caller -----------------------------------------------------------------------------


def run_on_ray(
    cluster: Cluster,
    task: Callable[..., Any],
    jobs: Sequence[Any],
    inputs: Any,
    *,
    names: Sequence[str],
    on_done: Callable[[int, Any], None],
    on_progress: Callable[[int, int], None],
    cancelled: Callable[[], bool] | None = None,
) -> bool:
    """`nnviz.core.cluster.run_on_cluster` on a ray head; every callback runs in this thread."""
    try:
        import ray
    except ImportError:
        raise ClusterError(
            f'running on a ray cluster needs ray: pip install "nnviz[ray]" (for {cluster.address})'
        ) from None
    # our message says it (once, on one line) when the head cannot be reached
    warnings.filterwarnings("ignore", "Ray Client connection timed out", UserWarning)
    watch = Watch(cluster, names)
    driver = _Driver(ray, cluster, task, jobs, inputs)
    driver.start()
    completed = False
    try:
        completed = _follow(driver, watch, on_done, on_progress, cancelled)
        return completed
    finally:
        driver.halt.set()  # cancels the unfinished jobs and disconnects
        driver.join(CLOSE_SECONDS if completed else HALT_SECONDS)
        if driver.is_alive():  # still cancelling, or stuck in a call to a frozen head
            threading.Thread(
                target=driver.close_if_stuck, name="nnviz-ray-close", daemon=True
            ).start()


def _follow(
    driver: _Driver,
    watch: Watch,
    on_done: Callable[[int, Any], None],
    on_progress: Callable[[int, int], None],
    cancelled: Callable[[], bool] | None,
) -> bool:
    """Act on what the driver reports until every job finished (True) or `cancelled()` (False)."""
    cluster = watch.cluster
    stage = "connecting"  # then "shipping" (the data and the jobs), then "running"
    while True:
        if cancelled is not None and cancelled():
            return False
        try:
            kind, *news = driver.news.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if stage == "running":
                watch.check("no answer from the head, or its workers are frozen, gone or busy")
                continue
            allowed = max(cluster.timeout, CONNECT_SECONDS)
            if time.monotonic() - watch.heard > allowed:
                raise ClusterError(
                    f"cannot reach {cluster.head} within {allowed:g} s"
                    if stage == "connecting"
                    else f"{cluster.head} did not take the sweep's data and jobs within {allowed:g} s"
                ) from None
            continue
        if kind == "retrying":
            watch.hear()  # a new connection, with a new allowance
        elif kind == "connected":
            stage = "shipping"
            watch.hear()
        elif kind == "submitted":
            stage = "running"
            watch.hear()
        elif kind == "progress":
            index, trained, worker = news
            watch.ran_on(index, worker)
            on_progress(index, trained)
        elif kind == "done":
            index, result = news
            watch.finish(index)
            on_done(index, result)
        elif kind == "failed":
            index, worker, error = news
            if worker:
                watch.failed_on(index, worker, error)
            raise ClusterError(watch.failure(index, error, cluster.retries + 1))
        elif kind == "unreachable":
            raise ClusterError(f"cannot reach {cluster.head}: {news[0]}")
        elif kind == "lost":
            raise watch.lost(news[0])
        else:  # "finished"
            return True


#: Where ray logs what a sweep says better itself: in this process, and relayed from the head.
_RAY_LOGGERS = ("ray._private.worker", "ray.util.client.logsclient", "ray.util.client.dataclient")


class _RayNoise(logging.Filter):
    """Drops ray's warning that only a main thread can catch SIGTERM (the driver is no main
    thread, on purpose), and its error when close_if_stuck closes a frozen head's connection
    (the sweep has said why on one line already)."""

    NOISE = ("not the main thread", "Unrecoverable error in data channel")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.NOISE)


_QUIET = _RayNoise()


class _Driver(threading.Thread):
    """Owns the ray client connection and makes every ray call of the sweep, reporting to the
    caller through `news`: ("retrying",), ("connected",), ("submitted",),
    ("progress", index, trained, worker),
    ("done", index, result), ("failed", index, worker, error), ("unreachable", error),
    ("lost", error), ("finished",). Once `halt` is set it cancels the unfinished jobs."""

    def __init__(
        self,
        ray: Any,
        cluster: Cluster,
        task: Callable[..., Any],
        jobs: Sequence[Any],
        inputs: Any,
    ) -> None:
        super().__init__(name="nnviz-ray-driver", daemon=True)
        self.ray, self.cluster, self.task, self.jobs, self.inputs = ray, cluster, task, jobs, inputs
        self.news: queue.Queue = queue.Queue()
        self.halt = threading.Event()
        self.pending: dict[Any, int] = {}  # unfinished job -> its index
        self.client: Any = None  # ray's connection object of this driver's context

    def run(self) -> None:
        for name in _RAY_LOGGERS:  # the same filter, once per logger
            logging.getLogger(name).addFilter(_QUIET)
        self._connect_and_drive()

    def _connect_and_drive(self) -> None:
        host, _, port = self.cluster.address.removeprefix("ray://").rpartition(":")
        try:  # refused or unroutable: say so now, not after the ray client's 30 s of retries
            socket.create_connection((host, int(port)), min(self.cluster.timeout, 5.0)).close()
        except OSError as error:
            self.news.put(("unreachable", one_line(error)))
            return
        for attempt in range(1, CONNECT_TRIES + 1):
            try:
                context = self.ray.init(
                    self.cluster.address,
                    allow_multiple=True,  # a context of this thread's own
                    log_to_driver=False,  # the workers' output stays in the cluster's logs
                    logging_level=logging.WARNING,
                )
                break
            except ConnectionAbortedError as error:  # the head could not start our server
                if attempt == CONNECT_TRIES or self.halt.is_set():
                    self.news.put(("unreachable", one_line(error)))
                    return
                self.news.put(("retrying",))
            except Exception as error:
                self.news.put(("unreachable", one_line(error)))
                return
        # with allow_multiple, ray keeps the new connection in the context until `with` swaps
        # it into this thread (ray 2.x; close_if_stuck needs it, and does without it)
        self.client = getattr(context, "_context_to_restore", None)
        self.news.put(("connected",))
        try:
            with context:
                self._drive()
        except Exception as error:  # the connection broke
            self.news.put(("lost", one_line(error)))
        finally:
            with contextlib.suppress(Exception):  # gone already: the head ends the job itself
                context.disconnect()

    def close_if_stuck(self) -> None:
        """Close the connection if this driver has not ended within CLOSE_SECONDS: a call to a
        head that stopped answering blocks (about two minutes here), and so would ray's own
        disconnect when the process exits. Closing the gRPC channel ends every call on it."""
        self.join(CLOSE_SECONDS)
        if self.is_alive():
            with contextlib.suppress(Exception):  # a ray without these internals: nothing to do
                self.client.client_worker.channel.close()

    def _drive(self) -> None:
        ray = self.ray
        if self.halt.is_set():  # cancelled while connecting
            return
        board = ray.remote(num_cpus=0, max_restarts=-1)(_Board).remote()
        shared = ray.put(self.inputs)
        remote = ray.remote(_run_ray_job).options(
            num_cpus=1, max_retries=self.cluster.retries, retry_exceptions=True
        )
        taking, next_look = None, 0.0
        try:
            for index, job in enumerate(self.jobs):
                if self.halt.is_set():
                    return
                self.pending[remote.remote(self.task, shared, index, job, board)] = index
            self.news.put(("submitted",))
            while self.pending and not self.halt.is_set():
                ready, _ = ray.wait(
                    list(self.pending), num_returns=len(self.pending), timeout=WAIT_SECONDS
                )
                if not self._collect(ready):
                    return
                if taking is None and time.monotonic() >= next_look:
                    taking, next_look = board.take.remote(), time.monotonic() + HEARTBEAT_SECONDS
                if taking is not None and ray.wait([taking], timeout=0)[0]:
                    self._report(taking)
                    taking = None
            if not self.halt.is_set():
                self.news.put(("finished",))
        finally:
            # halted, failed or lost: stop what still trains, if still connected. (Disconnected,
            # any ray call would start a ray of its own on this machine: ray's auto-init.)
            for ref in self.pending if ray.is_initialized() else ():
                with contextlib.suppress(Exception):
                    ray.cancel(ref)

    def _collect(self, ready: Sequence[Any]) -> bool:
        """Report the finished jobs, then the first that failed (False: the sweep ends), after
        any other job that finished meanwhile, so every finished row is kept."""
        failures = []
        for ref in ready:
            index = self.pending.pop(ref)
            try:
                result = self.ray.get(ref)
            except Exception as error:
                failures.append((index, error))
                continue
            self.news.put(("done", index, result))
        if not failures:
            return True
        late, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=0)
        for ref in late:
            with contextlib.suppress(Exception):
                result = self.ray.get(ref)
                self.news.put(("done", self.pending.pop(ref), result))
        index, error = failures[0]
        cause = getattr(error, "cause", None)
        if isinstance(cause, _JobError):
            worker, text = cause.args
        else:  # the worker died (WorkerCrashedError), or ray could not run the task
            worker, text = "", one_line(error)
        self.news.put(("failed", index, worker, text))
        return False

    def _report(self, taking: Any) -> None:
        try:
            news = self.ray.get(taking)
        except Exception:  # the board died; ray restarts it and the next reports go there
            return
        for index, (trained, worker) in news.items():
            self.news.put(("progress", index, trained, worker))
