"""Runs per second of a sweep on 2-worker dask and ray clusters against the same sweep on local joblib.

Run from the repository root (needs `pip install "nnviz[dask]"`, and "nnviz[ray]" for ray):

    python benchmarks/bench_cluster.py                 # 20 learning rates x --repeats 10, 2 rounds
    python benchmarks/bench_cluster.py --iterations 500 --rounds 1   # a quick look
    python benchmarks/bench_cluster.py --engines dask  # without ray

The sweep is 20 learning rates from 0.01 to 1.0, each with 10 weight seeds (200 runs) on the seed
setup. "local" is what `nnviz sweep` does: `run_sweeps(..., n_jobs=2)` on joblib's forked
workers. "cluster" is `run_sweeps(..., cluster=address)` on a LocalCluster of two single-threaded
worker processes, started once before the rounds (its start is printed, not counted): each round
connects, ships the data, submits the jobs and streams the results back. "ray" is the same through
`cluster="ray://..."` on a ray head with 2 CPUs started here (`ray start --head --block` on
127.0.0.1 in a session of its own, ended after the rounds); each round includes the ray client's
connection, about 3-4 s, as a user's sweep does. They alternate round by round in this process,
so they see the same machine, and their metric columns are checked to be equal. The ratios are
cluster / local runs per second, measured in this run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

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


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def ray_head(cpus: int = 2) -> Iterator[str]:
    """A ray head on 127.0.0.1 with `cpus` CPUs; its ray:// address. Every process of its
    session is ended afterwards (`ray stop` would end every ray process on the machine)."""
    sockets = [socket.socket() for _ in range(4)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    gcs, client, dashboard, agent = (probe.getsockname()[1] for probe in sockets)
    for probe in sockets:
        probe.close()
    folder = tempfile.mkdtemp(prefix="nnviz-ray-")  # ray's socket paths must stay short
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # stay on 127.0.0.1
    head = subprocess.Popen(
        [
            *(sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block"),
            *(f"--port={gcs}", f"--ray-client-server-port={client}", f"--num-cpus={cpus}"),
            *("--include-dashboard=false", f"--dashboard-port={dashboard}"),
            *(f"--dashboard-agent-listen-port={agent}", "--disable-usage-stats"),
            f"--temp-dir={folder}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=folder,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(client):
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the ray head did not start")
            time.sleep(0.2)
        yield f"ray://127.0.0.1:{client}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(head.pid, sig)
            time.sleep(1.0)
        head.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000, help="per run (default 2000)")
    parser.add_argument("--repeats", type=int, default=10, help="weight seeds per rate (10)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument(
        "--engines", default="dask,ray", help="comma-separated: dask, ray (default both)"
    )
    args = parser.parse_args(argv)
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]

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
    with contextlib.ExitStack() as stack:
        addresses: dict[str, str | None] = {"local": None}
        if "dask" in engines:
            started = time.perf_counter()
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                )
            )
            print(
                f"dask LocalCluster of 2 workers started in {time.perf_counter() - started:.2f} s"
            )
            addresses["dask"] = cluster.scheduler_address
        if "ray" in engines:
            started = time.perf_counter()
            addresses["ray"] = stack.enter_context(ray_head())
            print(f"ray head with 2 CPUs started in {time.perf_counter() - started:.2f} s")
            started = time.perf_counter()  # a fresh head's first client is slow, or fails once
            run_sweeps([Sweep("hidden", (1,), Config(iterations=10))], cluster=addresses["ray"])
            print(f"ray: first client through in {time.perf_counter() - started:.2f} s")
        seconds: dict[str, list[float]] = {name: [] for name in addresses}
        for round_number in range(1, args.rounds + 1):
            reference = None
            shown = []
            for name, address in addresses.items():
                elapsed, results = timed(sweep, address)
                if reference is None:
                    reference = metrics(results)
                elif metrics(results) != reference:
                    print(f"MISMATCH: {name}'s metric columns differ from the local run")
                    return 1
                seconds[name].append(elapsed)
                shown.append(f"{name} {elapsed:.2f} s ({runs / elapsed:.1f} runs/s)")
            print(f"round {round_number}: " + ", ".join(shown))
    local_rate = runs / statistics.median(seconds["local"])
    labels = {"local": "local joblib", "dask": "dask LocalCluster", "ray": "ray head (client)"}
    for name, times in seconds.items():
        rate = runs / statistics.median(times)
        ratio = "" if name == "local" else f"  ({rate / local_rate:.2f} of local)"
        print(f"{labels[name] + ':':20} {rate:.1f} runs/s (median of {args.rounds}){ratio}")
    print("metric columns equal in every round: yes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
