"""Sweeps on a dask cluster (`tcp://scheduler:8786`), through `dask.distributed` itself.

joblib's dask backend could not serve the window or the CLI: its configuration is thread-local,
its progress and cancel go through files on the caller's disk that remote workers never see,
every job re-read its CSV on the worker, and a job whose worker kept dying hung the sweep. Here:

- `client.scatter(inputs, broadcast=True)` sends the caller's loaded data to every worker once,
  and each job names that scattered copy.
- `as_completed` hands each job back as it finishes. Workers send progress and failures as dask
  events, which also feed the watchdog (`cluster_base.Watch`).
- Every job is tried at most `retries + 1` times, whether it raised or its worker died. dask
  itself retries neither the same way: `submit(retries=)` covers exceptions only, and a task
  whose workers keep dying is retried up to the scheduler's `allowed-failures` (a setting of
  the whole cluster). So jobs are submitted without retries and the caller counts. An error
  comes back as a failed future. A death shows as the scheduler's "remove-worker" event on that
  worker's topic (subscribed to once a job starts there; the scheduler's topic "all" cannot be
  used: dask fails to serialize some of its events and drops the client), as the same task
  starting again elsewhere, or as KilledWorker once dask gave up on the task. A job with tries
  left is submitted again (or left to dask, which already moved it); past them the sweep ends.
- Cancel sets a dask Event that running jobs check between chunks of training, and cancels the
  futures; the caller returns at once. (It is looked at once the jobs are submitted: connecting
  to the scheduler and shipping the data wait at most `timeout` seconds.)

dask is imported only inside these functions (`pip install "nnviz[dask]"`). Workers need nnviz
installed, the same version.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from .cluster_base import (
    HEARTBEAT_SECONDS,
    KEEP_SECONDS,
    POLL_SECONDS,
    Cluster,
    ClusterError,
    Watch,
    one_line,
)

#: The dask event topic of every sweep's progress and failures (each message names its sweep).
TOPIC = "nnviz-sweep"


# -- on a worker ---------------------------------------------------------------------------------


class _Link:
    """A remote job's line to the caller: progress events out, the sweep's stop Event in."""

    def __init__(self, sweep_id: str, index: int) -> None:
        from distributed import Event, get_worker

        self.worker = get_worker()
        self.sweep_id, self.index = sweep_id, index
        self.event = Event(_stop_name(sweep_id))
        self.trained = 0
        self.last = time.perf_counter()
        self.stopped = False

    def send(self, kind: str, payload: Any) -> None:
        self.worker.log_event(TOPIC, (self.sweep_id, self.index, kind, payload))

    def on_chunk(self, n: int) -> None:
        self.trained += n
        now = time.perf_counter()
        if now - self.last >= HEARTBEAT_SECONDS:
            self.last = now
            self.send("progress", self.trained)
            # the scheduler busy or gone: keep training; the caller's watchdog sees to it
            with contextlib.suppress(Exception):
                self.stopped = self.event.is_set()

    def stop(self) -> bool:
        return self.stopped


def _run_remote(task: Callable[..., Any], inputs: Any, index: int, job: Any, sweep_id: str):
    """What a worker runs: `task(job, stop=, on_chunk=, inputs=)`, saying where it started and
    reporting a failure before it returns, so the caller can name the worker."""
    link = _Link(sweep_id, index)
    link.send("started", (link.worker.address, link.worker.get_current_task()))
    try:
        return task(job, stop=link.stop, on_chunk=link.on_chunk, inputs=inputs)
    except Exception as error:
        link.send("failed", (link.worker.address, one_line(error)))
        raise


def _stop_name(sweep_id: str) -> str:
    return f"nnviz-sweep-stop-{sweep_id}"


# -- in the caller -----------------------------------------------------------------------------


def run_on_dask(
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
    """`nnviz.core.cluster.run_on_cluster` on a dask scheduler; `on_progress` is called from
    dask's thread."""
    try:
        from distributed import Client, Event, as_completed
    except ImportError:
        raise ClusterError(
            'running on a dask cluster needs dask.distributed: pip install "nnviz[dask]"'
        ) from None
    watch = Watch(cluster, names)
    try:
        client = Client(cluster.address, timeout=cluster.timeout, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"cannot reach {cluster.head}: {one_line(error)}") from None
    sweep = _Sweep(client, cluster, task, jobs, watch, on_progress)
    completed = False
    try:
        client.subscribe_topic(TOPIC, sweep.on_event)
        stop = Event(_stop_name(sweep.sweep_id), client=client)
        sweep.shared = _scatter(client, inputs, cluster)
        sweep.finished = as_completed([], loop=client.loop, with_results=True, raise_errors=False)
        for index in range(len(jobs)):
            sweep.submit(index)
        completed = sweep.stream(on_done, cancelled)
        return completed
    finally:
        if not completed and sweep.futures and client.status == "running":
            with contextlib.suppress(Exception):  # stop the jobs still training, then forget them
                stop.set()
                client.cancel(list(sweep.futures))
        _close(client)


def _scatter(client: Any, inputs: Any, cluster: Cluster) -> Any:
    """Send the inputs to every worker once; the future that jobs name."""
    try:
        return client.scatter(inputs, broadcast=True, timeout=cluster.timeout)
    except TimeoutError as error:
        raise ClusterError(
            f"the dask cluster at {cluster.address} has no worker to take the sweep's data "
            f"within {cluster.timeout:g} s ({one_line(error)})"
        ) from None


class _Sweep:
    """The sweep's futures, and the failed tries of each job counted against its retries."""

    def __init__(
        self,
        client: Any,
        cluster: Cluster,
        task: Callable[..., Any],
        jobs: Sequence[Any],
        watch: Watch,
        on_progress: Callable[[int, int], None],
    ) -> None:
        self.client, self.cluster, self.task, self.jobs = client, cluster, task, jobs
        self.watch, self.on_progress = watch, on_progress
        self.sweep_id = uuid.uuid4().hex
        self.shared: Any = None
        self.finished: Any = None
        self.futures: dict[Any, int] = {}  # every future submitted -> its job's index
        self.failed: dict[int, int] = {}  # job index -> tries that failed so far
        self.running: dict[int, tuple[str, str]] = {}  # job index -> (task key, worker)
        self.dead: set[tuple[str, str]] = set()  # (task key, worker): deaths counted
        self.ended: set[str] = set()  # keys whose future came back (its "started" may be late)
        self.watched: set[str] = set()  # workers whose topic we hear
        self.lock = threading.Lock()
        self.facts: list[tuple] = []  # heard in dask's thread, counted in the caller's

    def submit(self, index: int) -> None:
        future = self.client.submit(
            _run_remote,
            self.task,
            self.shared,
            index,
            self.jobs[index],
            self.sweep_id,
            retries=0,  # the caller counts the tries (see the module)
            pure=False,
        )
        self.futures[future] = index
        self.finished.add(future)

    def on_event(self, event: tuple[float, Any]) -> None:
        """A worker's message, in dask's thread: (sweep id, job index, kind, payload)."""
        sweep_id, index, kind, payload = event[1]
        if sweep_id != self.sweep_id:
            return
        if kind == "started":
            worker, key = payload
            self.watch.ran_on(index, worker)
            with self.lock:
                self.facts.append(("started", index, key, worker))
            self.on_progress(index, 0)
        elif kind == "failed":
            self.watch.failed_on(index, *payload)
        elif kind == "progress":
            self.watch.hear()
            self.on_progress(index, payload)

    def on_worker_event(self, worker: str, event: tuple[float, Any]) -> None:
        """The scheduler's message about one worker, in dask's thread."""
        message = event[1]
        removed = isinstance(message, dict) and message.get("action") == "remove-worker"
        if removed and not message.get("expected"):  # retired on purpose: dask moves its tasks
            with self.lock:
                self.facts.append(("removed", worker))

    def stream(
        self, on_done: Callable[[int, Any], None], cancelled: Callable[[], bool] | None
    ) -> bool:
        """Hand each finished job to `on_done` as it comes; False once `cancelled()` is true."""
        self.watch.hear()
        while not self.finished.is_empty():
            if cancelled is not None and cancelled():
                return False
            try:
                self._count_deaths()
                batch = self.finished.next_batch(block=False)
                for future, result in batch:
                    index = self.futures[future]
                    self.running.pop(index, None)
                    self.ended.add(future.key)
                    if future.status == "finished":
                        self.watch.finish(index)
                        on_done(index, result)
                    else:
                        self._failed(future, index, result)
                if not batch:
                    self._check()
                    time.sleep(POLL_SECONDS)
            except ClusterError:
                if self.client.status == "running":
                    self._keep_finished(on_done)
                raise
        return True

    def _count_deaths(self) -> None:
        """Count the deaths heard since the last look, each (task, worker) once."""
        with self.lock:
            facts, self.facts = self.facts, []
        for fact in facts:
            if fact[0] == "started":
                _, index, key, worker = fact
                if key in self.ended:  # its event came after its result: it ran nowhere now
                    continue
                before = self.running.get(index)
                if before is not None and before[0] == key:  # dask moved it: its worker died
                    self._died(index, *before, "the task started again elsewhere")
                self.running[index] = (key, worker)
                if worker not in self.watched:
                    self.watched.add(worker)
                    self.client.subscribe_topic(worker, partial(self.on_worker_event, worker))
            else:
                worker = fact[1]
                for index, (key, where) in list(self.running.items()):
                    if where == worker:
                        del self.running[index]
                        self._died(index, key, worker, "its process ended")

    def _died(self, index: int, key: str, worker: str, how: str) -> None:
        if (key, worker) in self.dead:
            return
        self.dead.add((key, worker))
        self.watch.failed_on(index, worker, f"the worker died ({how})")
        self._count_failure(index)

    def _failed(self, future: Any, index: int, result: Any) -> None:
        """A future that came back in error: try its job again, or end the sweep."""
        from distributed import KilledWorker

        error = result[1] if isinstance(result, tuple) and len(result) == 3 else result
        if isinstance(error, KilledWorker):  # dask gave up after its own allowed-failures
            last = getattr(getattr(error, "last_worker", None), "address", "?")
            self._died(index, future.key, last, "KilledWorker")
        else:
            text = one_line(error) if isinstance(error, BaseException) else str(error)
            self.watch.failed_on(index, self.watch.workers.get(index, ""), text)
            self._count_failure(index)
        self.submit(index)

    def _count_failure(self, index: int) -> None:
        """One more failed try of job `index`: ClusterError once past the retries."""
        self.failed[index] = self.failed.get(index, 0) + 1
        if self.failed[index] > self.cluster.retries:
            error = self.watch.errors.get(index, "failed")
            status = self.client.status
            note = "" if status == "running" else f" (client {status})"
            raise ClusterError(self.watch.failure(index, error, self.failed[index], note))

    def _check(self) -> None:
        status = self.client.status
        if status in ("closing", "closed", "failed"):
            raise self.watch.lost()
        self.watch.check(
            "the scheduler is connected, so its workers are frozen, gone or busy elsewhere"
            if status == "running"
            else f"the connection to the scheduler is {status}"
        )

    def _keep_finished(self, on_done: Callable[[int, Any], None]) -> None:
        """Hand over the jobs that finished but whose results were still on their way, waiting
        at most KEEP_SECONDS in all: a sweep that ends keeps every row it can."""
        deadline = time.monotonic() + min(KEEP_SECONDS, self.cluster.timeout)
        for future, index in list(self.futures.items()):
            left = deadline - time.monotonic()
            if left > 0 and index in self.watch.unfinished and future.status == "finished":
                with contextlib.suppress(Exception):  # the worker holding it is frozen or gone
                    result = future.result(timeout=left)
                    self.watch.finish(index)
                    on_done(index, result)


def _close(client: Any) -> None:
    """Close the client without waiting on a scheduler that may be gone; closing releases
    every future the sweep still holds."""
    with contextlib.suppress(Exception):  # already gone: nothing left to release
        client.close(timeout=2)
