"""Sweeps on a dask cluster: the caller loads the data once, ships it, and streams results back.

`run_sweeps(sweeps, cluster="tcp://scheduler:8786")` ends up here. joblib's dask backend could
not serve the window or the CLI: its configuration is thread-local, its progress and cancel go
through files on the caller's disk that remote workers never see, every job re-read its CSV on
the worker, and a job whose worker kept dying hung the sweep. So this module talks to
`dask.distributed` itself, with the address passed explicitly (any thread can use it):

- `Inputs.load` reads every dataset and initial-weights file the jobs need, once, in the caller;
  `client.scatter(inputs, broadcast=True)` sends them to every worker once, and each job names
  that scattered copy. Workers never open a user's path.
- Jobs are submitted with `retries`; `as_completed` hands each one back as it finishes. Workers
  send progress and failures as dask events, which also feed the watchdog: when no job finished
  or reported for `timeout` seconds, or the scheduler is gone, the sweep ends with ClusterError
  instead of waiting forever.
- Cancel sets a dask Event that running jobs check between chunks of training, and cancels the
  futures; the caller returns at once. (It is looked at once the jobs are submitted: connecting
  to the scheduler and shipping the data wait at most `timeout` seconds.)

dask is imported only inside these functions: `nnviz.core` imports without it
(`pip install "nnviz[dask]"` adds it). Workers need nnviz installed, the same version.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import DATA_FIELDS, Config, ConfigError
from .datasets import Dataset, load_dataset
from .files import load_weights

#: `--cluster local`: the sweep's own joblib workers on this machine.
LOCAL = "local"
#: The schemes of dask scheduler addresses.
SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 60.0
#: The dask event topic of every sweep's progress and failures (each message names its sweep).
TOPIC = "nnviz-sweep"
#: How often a remote job reports its progress and looks at the stop flag.
HEARTBEAT_SECONDS = 0.25
#: How often the caller looks at finished jobs, its cancel and the watchdog.
POLL_SECONDS = 0.02
#: How long a failing sweep waits for results that finished but are still on their way.
KEEP_SECONDS = 5.0

_DATA_FIELDS = tuple(sorted(DATA_FIELDS))


class ClusterError(RuntimeError):
    """The cluster could not run the sweep: unreachable, a job failed past its retries, or it
    stopped answering. The message says which job, on which worker, and the error."""


@dataclass(frozen=True)
class Cluster:
    """Where a sweep runs: a dask scheduler's address, how often a failed job is retried, and
    how long the caller waits for any sign of life before giving up (seconds)."""

    address: str
    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        scheme, found, rest = self.address.partition("://")
        host, _, port = (rest if found else self.address).rpartition(":")
        if (found and scheme not in SCHEMES) or not host or not port.isdigit():
            raise ConfigError(
                "cluster",
                self.address,
                f"'{LOCAL}' or a dask scheduler address such as tcp://host:8786",
            )
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise ConfigError("retries", self.retries, "an integer >= 0")
        if not (isinstance(self.timeout, (int, float)) and 0 < self.timeout < float("inf")):
            raise ConfigError("cluster timeout", self.timeout, "a number of seconds > 0")


def cluster_spec(cluster: str | Cluster | None) -> Cluster | None:
    """`cluster` as a Cluster, or None for this machine (None or "local")."""
    if cluster is None or isinstance(cluster, Cluster):
        return cluster
    if not isinstance(cluster, str):
        raise ConfigError("cluster", cluster, f"'{LOCAL}' or a dask scheduler address")
    return None if cluster.strip() == LOCAL else Cluster(cluster.strip())


@dataclass(frozen=True)
class Inputs:
    """What a sweep's jobs train on, loaded once by the caller: the datasets (by the values of
    the data fields) and the initial weights (by path). Shipped to the workers as arrays."""

    datasets: Mapping[tuple, Dataset]
    weights: Mapping[str, Mapping[str, np.ndarray]]

    @classmethod
    def load(cls, configs: Iterable[Config]) -> Inputs:
        """Read each distinct dataset and weights file once; DataError/FileFormatError here."""
        datasets: dict[tuple, Dataset] = {}
        weights: dict[str, Mapping[str, np.ndarray]] = {}
        for config in configs:
            key = _data_key(config)
            if key not in datasets:
                datasets[key] = load_dataset(config)
            if config.init_weights and config.init_weights not in weights:
                weights[config.init_weights] = load_weights(config.init_weights)
        return cls(datasets, weights)

    def dataset(self, config: Config) -> Dataset:
        data = self.datasets[_data_key(config)]
        return Dataset(data.x_train, data.y_train, data.x_test, data.y_test)  # read-only again

    def initial_weights(self, config: Config) -> Mapping[str, np.ndarray] | None:
        return self.weights[config.init_weights] if config.init_weights else None


def _data_key(config: Config) -> tuple:
    return tuple(getattr(config, name) for name in _DATA_FIELDS)


def job_name(config: Config, base: Config) -> str:
    """A job as a person finds it in the sweep: the fields where it differs from `base`."""
    changed = [
        f"{name}={getattr(config, name)!r}"
        for name in config.to_dict()
        if name != "iterations" and getattr(config, name) != getattr(base, name)
    ]
    return ", ".join([*changed, f"{config.iterations} iterations"])


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


def _run_remote(task: Callable[..., Any], inputs: Inputs, index: int, job: Any, sweep_id: str):
    """What a worker runs: `task(job, stop=, on_chunk=, inputs=)`, reporting a failure before
    dask retries it, so the caller can name the worker."""
    link = _Link(sweep_id, index)
    link.send("progress", 0)
    try:
        return task(job, stop=link.stop, on_chunk=link.on_chunk, inputs=inputs)
    except Exception as error:
        link.send("failed", (link.worker.address, _one_line(error)))
        raise


def _stop_name(sweep_id: str) -> str:
    return f"nnviz-sweep-stop-{sweep_id}"


def _one_line(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())


# -- in the caller -----------------------------------------------------------------------------


def run_on_cluster(
    cluster: Cluster,
    task: Callable[..., Any],
    jobs: Sequence[Any],
    inputs: Inputs,
    *,
    names: Sequence[str],
    on_done: Callable[[int, Any], None],
    on_progress: Callable[[int, int], None],
    cancelled: Callable[[], bool] | None = None,
) -> bool:
    """Run `task(job, stop=, on_chunk=, inputs=)` for every job on the cluster's workers.

    `on_done(index, result)` is called in this thread as each job finishes, `on_progress(index,
    iterations)` from dask's thread as jobs train. Returns True when every job finished, False
    when `cancelled()` became true (checked every POLL_SECONDS). Raises ClusterError when the
    cluster cannot be reached, a job fails `cluster.retries` more times, or nothing is heard
    for `cluster.timeout` seconds; the jobs already finished were reported through `on_done`.
    """
    try:
        from distributed import Client, Event, as_completed
    except ImportError:
        raise ClusterError(
            'running on a cluster needs dask.distributed: pip install "nnviz[dask]"'
        ) from None
    sweep_id = uuid.uuid4().hex
    watch = _Watch(cluster, jobs, names, on_progress, sweep_id)
    try:
        client = Client(cluster.address, timeout=cluster.timeout, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ClusterError(
            f"cannot reach the dask scheduler at {cluster.address}: {_one_line(error)}"
        ) from None
    futures: dict[Any, int] = {}
    completed = False
    try:
        client.subscribe_topic(TOPIC, watch.on_event)
        stop = Event(_stop_name(sweep_id), client=client)
        shared = _scatter(client, inputs, cluster)
        for index, job in enumerate(jobs):
            future = client.submit(
                _run_remote, task, shared, index, job, sweep_id, retries=cluster.retries, pure=False
            )
            futures[future] = index
        finished = as_completed(futures, loop=client.loop, with_results=True, raise_errors=False)
        completed = _stream(client, finished, futures, watch, on_done, cancelled)
        return completed
    finally:
        if not completed and futures and client.status == "running":
            with contextlib.suppress(Exception):  # stop the jobs still training, then forget them
                stop.set()
                client.cancel(list(futures))
        _close(client)


def _scatter(client: Any, inputs: Inputs, cluster: Cluster) -> Any:
    """Send the inputs to every worker once; the future that jobs name."""
    try:
        return client.scatter(inputs, broadcast=True, timeout=cluster.timeout)
    except TimeoutError as error:
        raise ClusterError(
            f"the dask cluster at {cluster.address} has no worker to take the sweep's data "
            f"within {cluster.timeout:g} s ({_one_line(error)})"
        ) from None


def _stream(
    client: Any,
    finished: Any,
    futures: dict[Any, int],
    watch: _Watch,
    on_done: Callable[[int, Any], None],
    cancelled: Callable[[], bool] | None,
) -> bool:
    """Hand each finished job to `on_done` as it comes; False once `cancelled()` is true."""
    watch.start()
    while not finished.is_empty():
        if cancelled is not None and cancelled():
            return False
        batch = finished.next_batch(block=False)
        try:
            for future, result in batch:
                index = futures[future]
                if future.status != "finished":
                    raise ClusterError(watch.failure(index, result, client.status))
                watch.finish(index)
                on_done(index, result)
            if not batch:
                watch.check(client.status)
                time.sleep(POLL_SECONDS)
        except ClusterError:
            if client.status == "running":
                _keep_finished(futures, watch, on_done)
            raise
    return True


def _keep_finished(
    futures: dict[Any, int], watch: _Watch, on_done: Callable[[int, Any], None]
) -> None:
    """Hand over the jobs that finished but whose results were still on their way, waiting at
    most KEEP_SECONDS in all: a sweep that ends keeps every row it can."""
    deadline = time.monotonic() + min(KEEP_SECONDS, watch.cluster.timeout)
    for future, index in futures.items():
        left = deadline - time.monotonic()
        if left > 0 and index in watch.unfinished and future.status == "finished":
            with contextlib.suppress(Exception):  # the worker holding it is frozen or gone
                result = future.result(timeout=left)
                watch.finish(index)
                on_done(index, result)


class _Watch:
    """Hears the workers' events and notices a cluster that stops answering."""

    def __init__(
        self,
        cluster: Cluster,
        jobs: Sequence[Any],
        names: Sequence[str],
        on_progress: Callable[[int, int], None],
        sweep_id: str,
    ) -> None:
        self.cluster, self.names = cluster, names
        self.on_progress, self.sweep_id = on_progress, sweep_id
        self.lock = threading.Lock()
        self.heard = time.monotonic()
        self.unfinished = set(range(len(jobs)))
        self.workers: dict[int, str] = {}  # job index -> the worker of its latest failure
        self.errors: dict[int, str] = {}

    def start(self) -> None:
        with self.lock:
            self.heard = time.monotonic()

    def on_event(self, event: tuple[float, Any]) -> None:
        """A worker's message, in dask's thread: (sweep id, job index, kind, payload)."""
        sweep_id, index, kind, payload = event[1]
        if sweep_id != self.sweep_id:
            return
        with self.lock:
            self.heard = time.monotonic()
            if kind == "failed":
                self.workers[index], self.errors[index] = payload
        if kind == "progress":
            self.on_progress(index, payload)

    def finish(self, index: int) -> None:
        with self.lock:
            self.heard = time.monotonic()
            self.unfinished.discard(index)

    def failure(self, index: int, result: Any, status: str) -> str:
        """The message for a job that ended in error (or was cancelled by the cluster)."""
        if isinstance(result, tuple) and len(result) == 3:  # dask's (type, error, traceback)
            error = _one_line(result[1])
        else:
            error = self.errors.get(index) or _one_line(result)
        where = f" on worker {self.workers[index]}" if index in self.workers else ""
        attempts = self.cluster.retries + 1
        return (
            f"job {self.names[index]} failed{where} after {attempts} "
            f"attempt{'s' if attempts > 1 else ''}: {error}"
            + ("" if status == "running" else f" (client {status})")
        )

    def check(self, status: str) -> None:
        """Raise ClusterError when the scheduler is gone or nothing was heard for too long."""
        with self.lock:
            quiet = time.monotonic() - self.heard
            waiting = sorted(self.unfinished)
        if status in ("closing", "closed", "failed"):
            raise ClusterError(
                f"lost the dask scheduler at {self.cluster.address} ({len(waiting)} jobs "
                f"unfinished)"
            )
        if quiet > self.cluster.timeout:
            shown = "; ".join(self.names[i] for i in waiting[:3])
            more = f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
            why = (
                "the scheduler is connected, so its workers are frozen, gone or busy elsewhere"
                if status == "running"
                else f"the connection to the scheduler is {status}"
            )
            raise ClusterError(
                f"the dask cluster at {self.cluster.address} stopped answering: no job finished "
                f"or reported progress for {self.cluster.timeout:g} s ({why}); unfinished: "
                f"{shown}{more}"
            )


def _close(client: Any) -> None:
    """Close the client without waiting on a scheduler that may be gone; closing releases
    every future the sweep still holds."""
    with contextlib.suppress(Exception):  # already gone: nothing left to release
        client.close(timeout=2)
