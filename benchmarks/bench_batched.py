"""Speed of batched sweeps: `nnviz sweep` of 100 configurations against the same 100 trained one after
another with `Trainer`, and what bounds the gain.

Run from the repository root:

    python benchmarks/bench_batched.py           # the issue's sweep: 5 learning rates x 20 seeds
    python benchmarks/bench_batched.py --quick   # 1000 iterations instead of 5000 (CI smoke)

Measured in one run, one after another on this machine:

1. `nnviz sweep --param learning-rate --values 0.001,0.01,0.1,0.5,1 --repeats 20 --iterations N
   --jobs 1`, as a command (interpreter start and imports included), and its `run_sweeps` call in
   this process.
2. The same 100 configurations trained one after another in this process, `Trainer(config)`,
   `step(N)` and the sweep's metrics (`sweep.measure`), as a script would.
3. The same sweep with `--batch-size 32`: mini-batches, where a single network's arrays are small.

Every one of the 100 runs of (1) must equal its Trainer run of (2) bit for bit in every metric
(`seconds` aside, it is wall time); the benchmark checks all of them and exits non-zero if any
differs. It then prints what one iteration costs a network alone and in a stack, and how much of it is
the gradient kernel's NumPy work (no Python loop around it) and the sigmoids' `exp`.
Stacking removes the per-call overhead only; the arithmetic stays, element for element, because
every network must get its own Trainer's bits. The article's full batch (750 points x 5 sigmoid
units) is mostly that arithmetic already, so it gains little; mini-batches gain a lot.
Goal (issue 13): >= 3x.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import subprocess
import sys
import time

import numpy as np

from nnviz import Config, Trainer
from nnviz.core.batched import BatchedTrainer
from nnviz.core.sweep import batch_limit, measure, run_sweep

SPEED_GOAL = 3.0
VALUES = "0.001,0.01,0.1,0.5,1"
REPEATS = 20


def configs(base: Config) -> list[Config]:
    """The sweep's 100 configurations: each learning rate with seeds weight_seed, +1, ... +19."""
    return [
        base.replace(learning_rate=float(rate), weight_seed=base.weight_seed + k)
        for rate in VALUES.split(",")
        for k in range(REPEATS)
    ]


def time_command(iterations: int, extra: list[str]) -> float:
    command = [sys.executable, "-m", "nnviz", "sweep", "--param", "learning-rate"]
    command += ["--values", VALUES, "--repeats", str(REPEATS), "--iterations", str(iterations)]
    command += ["--jobs", "1", *extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started


def time_sweep(base: Config):
    started = time.perf_counter()
    result = run_sweep(
        "learning_rate", [float(v) for v in VALUES.split(",")], base, repeats=REPEATS, n_jobs=1
    )
    return time.perf_counter() - started, result


def time_trainers(base: Config):
    started = time.perf_counter()
    runs = []
    for config in configs(base):
        trainer = Trainer(config)
        trainer.step(config.iterations)
        runs.append(measure(trainer))
    return time.perf_counter() - started, runs


def identical(result, runs) -> tuple[int, int]:
    """(rows equal bit for bit, rows) comparing every run but its seconds."""
    swept = [run for row in result.rows for run in row.runs]
    same = sum(
        dataclasses.replace(a, seconds=0.0) == dataclasses.replace(b, seconds=0.0)
        or _nan_equal(a, b)
        for a, b in zip(swept, runs)
    )
    return same, len(runs)


def _nan_equal(a, b) -> bool:
    fields = [f.name for f in dataclasses.fields(a) if f.name != "seconds"]
    return all(
        getattr(a, f) == getattr(b, f)
        or (
            isinstance(getattr(a, f), float) and np.isnan(getattr(a, f)) and np.isnan(getattr(b, f))
        )
        for f in fields
    )


def per_iteration(base: Config, networks: int, n: int = 500) -> dict[str, float]:
    """Microseconds per iteration of one network: a Trainer's step and its gradient kernel alone
    (the NumPy work without the loop around it), and the same in a stack of `networks`, with the
    part of the stacked kernel that is the sigmoids' exp."""
    timings = {}
    trainer = Trainer(base, record_every=1 << 30)
    trainer.step(100)
    timings["alone"] = _timed(lambda: trainer.advance(n)) / n
    single = trainer._full_pass() if trainer.sampler is None else trainer._next_batch()
    timings["alone kernel"] = _timed(lambda: [single.gradient() for _ in range(n)]) / n
    stack = BatchedTrainer(
        [base.replace(weight_seed=k) for k in range(networks)], record_every=1 << 30
    )
    stack.step(100)
    timings["stacked"] = _timed(lambda: stack.advance(n)) / n / networks
    kernel = stack._stack.batch(True)
    timings["stacked kernel"] = _timed(lambda: [kernel.gradient() for _ in range(n)]) / n / networks
    inputs = [-pre for pre in kernel.pre]  # what the sigmoid's exp sees, kept apart
    outputs = [np.empty_like(x) for x in inputs]
    work = list(zip(inputs, outputs))
    timings["exp"] = (
        _timed(lambda: [np.exp(x, y) for _ in range(n) for x, y in work]) / n / networks
    )
    return timings


def _timed(work) -> float:
    started = time.perf_counter()
    with np.errstate(all="ignore"):
        work()
    return (time.perf_counter() - started) * 1e6


def load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    except (AttributeError, OSError):
        return f"{os.cpu_count()} CPUs"


def scenario(name: str, base: Config, extra: list[str]) -> tuple[float, bool]:
    print(
        f"\n{name}: 5 learning rates x {REPEATS} seeds, {base.iterations} iterations, "
        f"{batch_limit(base)} networks a batch"
    )
    command = time_command(base.iterations, extra)
    in_process, result = time_sweep(base)
    trainers, runs = time_trainers(base)
    same, total = identical(result, runs)
    print(f"  nnviz sweep --jobs 1 (command)  {command:7.2f} s")
    print(f"  run_sweeps in this process      {in_process:7.2f} s")
    print(f"  100 Trainer runs one by one     {trainers:7.2f} s")
    print(
        f"  ratio {trainers / command:.2f}x (command), {trainers / in_process:.2f}x (in process);"
        f" {same}/{total} runs equal their Trainer run bit for bit"
    )
    t = per_iteration(base, batch_limit(base))
    print(
        f"  one iteration of one network: {t['alone']:.1f} us alone (its NumPy kernel "
        f"{t['alone kernel']:.1f} us), {t['stacked']:.1f} us in a stack of {batch_limit(base)} "
        f"(kernel {t['stacked kernel']:.1f} us, of which the sigmoids' exp {t['exp']:.1f} us)"
    )
    return trainers / command, same == total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1000 iterations instead of 5000")
    args = parser.parse_args(argv)
    iterations = 1000 if args.quick else 5000
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}; {load()}"
    )
    base = Config.preset("seed", iterations=iterations)
    ratio, exact = scenario("full batch (the article's setup)", base, [])
    mini_ratio, mini_exact = scenario(
        "mini-batches of 32", base.replace(batch_size=32), ["--batch-size", "32"]
    )
    print(f"\nafter: {load()}")
    print(
        f"full batch {ratio:.2f}x, mini-batches {mini_ratio:.2f}x (goal >= {SPEED_GOAL:g}x: "
        f"{'met' if ratio >= SPEED_GOAL else 'NOT met'} for the article's full batch, "
        f"{'met' if mini_ratio >= SPEED_GOAL else 'NOT met'} for mini-batches)"
    )
    return 0 if exact and mini_exact else 1


if __name__ == "__main__":
    sys.exit(main())
