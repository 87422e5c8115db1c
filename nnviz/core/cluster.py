"""Sweeps on a cluster: the caller loads the data once, ships it, and streams results back.

`run_sweeps(sweeps, cluster=ADDRESS)` ends up in `run_on_cluster`, which picks the engine by the
address: a dask scheduler (`tcp://host:8786`, `nnviz.core.cluster_dask`) or a ray head's client
server (`ray://host:10001`, `nnviz.core.cluster_ray`). Both keep one contract, with the address
passed explicitly (any thread can use it, unlike a thread-local joblib backend):

- `Inputs.load` reads every dataset and initial-weights file the jobs need, once, in the caller,
  and the backend ships them to the workers once (dask `scatter(broadcast=True)`, `ray.put`);
  each job names that copy. Workers never open a user's path.
- Jobs are handed back as they finish (`as_completed`, `ray.wait`), each to `on_done`; running
  jobs report their progress about four times a second, which also feeds the watchdog: when no
  job finished or reported for `timeout` seconds, or the connection is gone, the sweep ends with
  ClusterError instead of waiting forever.
- A job is tried at most `retries + 1` times, whether it raised or its worker died; past that
  ClusterError names the job, the worker and its error, and the jobs already finished were
  reported through `on_done`.
- Cancel returns at once and stops the remote jobs.

Neither engine is imported until its address is used: `nnviz.core` imports without them
(`pip install "nnviz[dask]"` or `"nnviz[ray]"` adds one). Workers need nnviz installed, the same
version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cluster_base import (
    ADDRESSES,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    LOCAL,
    RAY_SCHEME,
    Cluster,
    ClusterError,
)
from .config import DATA_FIELDS, Config, ConfigError
from .datasets import Dataset, load_dataset
from .files import load_weights

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "LOCAL",
    "Cluster",
    "ClusterError",
    "Inputs",
    "cluster_spec",
    "job_name",
    "run_on_cluster",
]

_DATA_FIELDS = tuple(sorted(DATA_FIELDS))


def cluster_spec(cluster: str | Cluster | None) -> Cluster | None:
    """`cluster` as a Cluster, or None for this machine (None or "local")."""
    if cluster is None or isinstance(cluster, Cluster):
        return cluster
    if not isinstance(cluster, str):
        raise ConfigError("cluster", cluster, ADDRESSES)
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
        return dataclasses.replace(data)  # read-only again

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
    iterations)` as jobs train (from the engine's thread on dask). Returns True when every job
    finished, False when `cancelled()` became true (checked at least every 0.1 s). Raises
    ClusterError when the cluster cannot be reached, a job fails `cluster.retries` more times,
    or nothing is heard for `cluster.timeout` seconds; the jobs already finished were reported
    through `on_done`.
    """
    if cluster.engine == RAY_SCHEME:
        from .cluster_ray import run_on_ray as run
    else:
        from .cluster_dask import run_on_dask as run
    return run(
        cluster,
        task,
        jobs,
        inputs,
        names=names,
        on_done=on_done,
        on_progress=on_progress,
        cancelled=cancelled,
    )
