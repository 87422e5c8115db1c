"""Runs per second of a sweep on a 2-worker dask LocalCluster against the same sweep on local joblib.

Run from the repository root (needs `pip install "nnviz[dask]"`):

    python benchmarks/bench_cluster.py                 # 20 learning rates x --repeats 10, 2 rounds
    python benchmarks/bench_cluster.py --iterations 500 --rounds 1   # a quick look

The sweep is 20 learning rates from 0.01 to 1.0, each with 10 weight seeds (200 runs) on the seed
setup. "local" is what `nnviz sweep` does: `run_sweeps(..., n_jobs=2)` on joblib's forked
workers. "cluster" is `run_sweeps(..., cluster=address)` on a LocalCluster of two single-threaded
worker processes, started once before the rounds (its start is printed, not counted): each round
connects, ships the data, submits the jobs and streams the results back. The two alternate round
by round in this process, so they see the same machine, and their metric columns are checked to
be equal. The ratio is cluster / local runs per second, measured in this run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import time

import joblib
import numpy as np

from nnviz import Config
from nnviz.core.sweep import METRICS, Sweep, fast_start_backend, run_sweeps

LEARNING_RATES = tuple(float(x) for x in np.round(np.linspace(0.01, 1.0, 20), 4))


def timed(sweep: Sweep, cluster: str | None) -> tuple[float, list]:
    backend = None if cluster else fast_start_backend()
    chosen = joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext()
    started = time.perf_counter()
    with chosen:
        results = run_sweeps([sweep], n_jobs=2, cluster=cluster)
    return time.perf_counter() - started, results


def metrics(results) -> list:
    return [
        [row.values_of(m).tobytes() for m in METRICS if m != "seconds"] for row in results[0].rows
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="per run (default 2000)")
    parser.add_argument("--repeats", type=int, default=10, help="weight seeds per rate (10)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    args = parser.parse_args(argv)

    from distributed import LocalCluster

    sweep = Sweep(
        "learning_rate",
        LEARNING_RATES,
        Config.preset("seed", iterations=args.iterations),
        repeats=args.repeats,
    )
    runs = len(LEARNING_RATES) * args.repeats
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(
        f"sweep: {len(LEARNING_RATES)} learning rates x {args.repeats} seeds = {runs} runs of "
        f"{args.iterations} iterations (seed setup)"
    )
    started = time.perf_counter()
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        print(f"LocalCluster of 2 workers started in {time.perf_counter() - started:.2f} s")
        seconds: dict[str, list[float]] = {"local": [], "cluster": []}
        for round_number in range(1, args.rounds + 1):
            local_time, local = timed(sweep, None)
            cluster_time, remote = timed(sweep, cluster.scheduler_address)
            if metrics(local) != metrics(remote):
                print("MISMATCH: the cluster's metric columns differ from the local run")
                return 1
            seconds["local"].append(local_time)
            seconds["cluster"].append(cluster_time)
            print(
                f"round {round_number}: local {local_time:.2f} s ({runs / local_time:.1f} runs/s),"
                f" cluster {cluster_time:.2f} s ({runs / cluster_time:.1f} runs/s)"
            )
    local_rate = runs / statistics.median(seconds["local"])
    cluster_rate = runs / statistics.median(seconds["cluster"])
    print(f"local joblib:        {local_rate:.1f} runs/s (median of {args.rounds})")
    print(f"dask LocalCluster:   {cluster_rate:.1f} runs/s (median of {args.rounds})")
    print(f"cluster / local:     {cluster_rate / local_rate:.2f}")
    print("metric columns equal in every round: yes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
