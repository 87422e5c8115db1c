"""What the dask and ray backends of a cluster sweep share: the address, the error, the watchdog.

`nnviz.core.cluster` is the entry point (it picks the backend by the address's scheme); the
backends (`cluster_dask`, `cluster_ray`) import this module and never each other, so neither
engine is imported unless its address is used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .config import ConfigError

#: `--cluster local`: the sweep's own joblib workers on this machine.
LOCAL = "local"
#: The schemes of dask scheduler addresses; `ray://` is a ray head's client server.
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
RAY_SCHEME = "ray"
DEFAULT_RETRIES = 2
DEFAULT_TIMEOUT = 60.0
#: How often a remote job reports its progress (and looks at the stop flag on dask).
HEARTBEAT_SECONDS = 0.25
#: How often the caller looks at finished jobs, its cancel and the watchdog.
POLL_SECONDS = 0.02
#: How long a failing sweep waits for results that finished but are still on their way.
KEEP_SECONDS = 5.0
#: What `--cluster` accepts, for messages.
ADDRESSES = (
    f"'{LOCAL}', a dask scheduler such as tcp://host:8786 or a ray head such as ray://host:10001"
)


class ClusterError(RuntimeError):
    """The cluster could not run the sweep: unreachable, a job failed past its retries, or it
    stopped answering. The message says which job, on which worker, and the error."""


@dataclass(frozen=True)
class Cluster:
    """Where a sweep runs: a dask scheduler's or a ray head's address, how often a failed job
    is tried again (whether it raised or its worker died), and how long the caller waits for
    any sign of life before giving up (seconds)."""

    address: str
    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        scheme, found, rest = self.address.partition("://")
        host, _, port = (rest if found else self.address).rpartition(":")
        known = scheme in DASK_SCHEMES or scheme == RAY_SCHEME
        if (found and not known) or not host or not port.isdigit():
            raise ConfigError("cluster", self.address, ADDRESSES)
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise ConfigError("retries", self.retries, "an integer >= 0")
        if not (isinstance(self.timeout, (int, float)) and 0 < self.timeout < float("inf")):
            raise ConfigError("cluster timeout", self.timeout, "a number of seconds > 0")

    @property
    def engine(self) -> str:
        """ "ray" for a ray:// address, else "dask"."""
        return RAY_SCHEME if self.address.startswith(f"{RAY_SCHEME}://") else "dask"

    @property
    def head(self) -> str:
        """What the caller connects to, for messages: "the dask scheduler at tcp://..."."""
        kind = "ray head" if self.engine == RAY_SCHEME else "dask scheduler"
        return f"the {kind} at {self.address}"


def one_line(error: BaseException) -> str:
    """`Type: message` on one line (a worker's traceback stays in its log)."""
    return " ".join(f"{type(error).__name__}: {error}".split())


class Watch:
    """What the caller knows of a sweep's jobs: which are unfinished, where each last ran or
    failed, and when the cluster was last heard from, so that a cluster that stops answering
    ends the sweep instead of hanging it. Thread-safe: backends report from their own threads."""

    def __init__(self, cluster: Cluster, names: Sequence[str]) -> None:
        self.cluster, self.names = cluster, names
        self.lock = threading.Lock()
        self.heard = time.monotonic()
        self.unfinished = set(range(len(names)))
        self.workers: dict[int, str] = {}  # job index -> the worker it last ran or failed on
        self.errors: dict[int, str] = {}  # job index -> its latest error, on one line

    def hear(self) -> None:
        """Any sign of life from the cluster (also: the jobs were just submitted)."""
        with self.lock:
            self.heard = time.monotonic()

    def ran_on(self, index: int, worker: str) -> None:
        with self.lock:
            self.heard = time.monotonic()
            self.workers[index] = worker

    def failed_on(self, index: int, worker: str, error: str) -> None:
        with self.lock:
            self.heard = time.monotonic()
            self.workers[index], self.errors[index] = worker, error

    def finish(self, index: int) -> None:
        with self.lock:
            self.heard = time.monotonic()
            self.unfinished.discard(index)

    def failure(self, index: int, error: str, attempts: int, note: str = "") -> str:
        """The message of a job that failed for the last time."""
        with self.lock:
            worker = self.workers.get(index)
        where = f" on worker {worker}" if worker else ""
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        return f"job {self.names[index]} failed{where} after {tries}: {error}{note}"

    def lost(self, why: str = "") -> ClusterError:
        with self.lock:
            waiting = len(self.unfinished)
        because = f": {why}" if why else ""
        return ClusterError(f"lost {self.cluster.head} ({waiting} jobs unfinished){because}")

    def check(self, why_quiet: str) -> None:
        """Raise ClusterError when nothing was heard for the cluster's timeout; `why_quiet`
        says what the backend knows of the connection."""
        with self.lock:
            quiet = time.monotonic() - self.heard
            waiting = sorted(self.unfinished)
        if quiet <= self.cluster.timeout:
            return
        shown = "; ".join(self.names[i] for i in waiting[:3])
        more = f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
        raise ClusterError(
            f"the {self.cluster.engine} cluster at {self.cluster.address} stopped answering: no "
            f"job finished or reported progress for {self.cluster.timeout:g} s ({why_quiet}); "
            f"unfinished: {shown}{more}"
        )
