"""Goal A of issue 13: `nnviz sweep --param learning-rate --values 0.001,0.01,0.1,0.5,1 --repeats 20
--iterations 5000 --jobs 1`, timed from the shell, against the same 100 configurations trained one
after another with `Trainer` in one process; and what bounds the gain.

Run from the repository root:

    python benchmarks/bench_batched.py            # 2 rounds, about 2 minutes
    python benchmarks/bench_batched.py --quick    # 1000 iterations, 1 round (CI smoke)
    python benchmarks/bench_batched.py --mini     # also the same sweep with --batch-size 32

Each round runs, one after the other on this machine:

1. the command from the shell through subprocess (interpreter start, imports and scikit-learn's
   import for the data, training, measuring the 100 runs, printing the table);
2. the 100 configurations trained one after another in this process as a script would:
   `Trainer(config)`, `step(iterations)`, and the sweep's metrics (`sweep.measure`).

The figure is the best round of each and their ratio. Every run of the sweep (in this process,
`run_sweep(..., n_jobs=1)`, the command's code) must equal its Trainer run bit for bit in every
metric but `seconds` (wall time); the benchmark checks all 100 and exits non-zero if any differs.

Then it takes one iteration apart, per network: a Trainer's, a network's in the stacks the sweep
builds, the stacked kernel alone, and within it the sigmoids' exp and the BLAS calls, which no
stacking can shrink: each network must get its own Trainer's bits, so every network keeps its own
exp over 5 x 750 + 750 values, its own elementwise passes and its own four BLAS calls (one
stacked gemm over all networks rounds differently). Stacking removes NumPy's per-call overhead and
the Python loop around it, nothing else. Goal: >= 3x.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import subprocess
import sys
import time

import numpy as np

from nnviz import Config, Trainer
from nnviz.core.batched import BatchedTrainer
from nnviz.core.sweep import batches, measure, plan, run_sweep

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


def command(iterations: int, extra: list[str]) -> list[str]:
    return [
        *(sys.executable, "-m", "nnviz", "sweep", "--param", "learning-rate"),
        *("--values", VALUES, "--repeats", str(REPEATS), "--iterations", str(iterations)),
        *("--jobs", "1", *extra),
    ]


def time_command(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started


def time_trainers(base: Config):
    started = time.perf_counter()
    runs = []
    for config in configs(base):
        trainer = Trainer(config)
        trainer.step(config.iterations)
        runs.append(measure(trainer))
    return time.perf_counter() - started, runs


def identical(swept, runs) -> tuple[int, int]:
    """(runs equal bit for bit, runs), comparing every field but seconds (NaN equals NaN)."""

    def fields(run):
        return [getattr(run, f.name) for f in dataclasses.fields(run) if f.name not in ("seconds",)]

    def same(a, b) -> bool:
        return all(
            x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
            for x, y in zip(fields(a), fields(b))
        )

    return sum(same(a, b) for a, b in zip(swept, runs)), len(runs)


# -- one iteration taken apart ----------------------------------------------------------------


def _best(work, repeat: int = 5) -> float:
    """Best seconds of `work()` over `repeat` tries (the machine is shared)."""
    best = math.inf
    with np.errstate(all="ignore"):
        for _ in range(repeat):
            started = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - started)
    return best


def per_iteration(base: Config, networks: int, n: int = 400) -> dict[str, float]:
    """Microseconds per iteration of one network: alone in a Trainer, and in a stack of
    `networks` (the whole step, the kernel, its exp calls and its BLAS calls)."""
    trainer = Trainer(base, record_every=1 << 30)
    trainer.step(100)
    t = {"trainer": _best(lambda: trainer.advance(n)) / n * 1e6}
    stack = BatchedTrainer(
        [base.replace(weight_seed=k, learning_rate=0.05 + 0.01 * k) for k in range(networks)],
        record_every=1 << 30,
    )
    stack.step(100)
    per_network = 1e6 / n / networks
    t["stacked"] = _best(lambda: stack.advance(n)) * per_network
    kernel = stack._stack.batch(True)
    t["kernel"] = _best(lambda: [kernel.gradient() for _ in range(n)]) * per_network
    for name, kind in (("exp", np.exp), ("blas", np.matmul)):
        calls = [(f, args) for f, args in kernel._gradient if f is kind]
        t[name] = _best(lambda calls=calls: [f(*a) for _ in range(n) for f, a in calls])
        t[name] *= per_network
    return t


# -- report ------------------------------------------------------------------------------------


def load() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    except (AttributeError, OSError):
        return f"{os.cpu_count()} CPUs"


def fixed_seconds() -> float:
    """The command's start before any training: interpreter, nnviz and scikit-learn's import
    (the data needs it), best of 3."""
    code = "import nnviz.cli, nnviz.core.sweep, sklearn.datasets, sklearn.model_selection"
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
        times.append(time.perf_counter() - started)
    return min(times)


def scenario(name: str, base: Config, extra: list[str], rounds: int) -> tuple[float, bool]:
    work = batches(plan(configs(base)), workers=1)
    sizes = sorted({len(getattr(job, "jobs", [job])) for job in work})
    print(
        f"\n{name}: 5 learning rates x {REPEATS} seeds, {base.iterations} iterations; the sweep "
        f"trains {len(work)} stacks of {'/'.join(map(str, sizes))} networks"
    )
    argv = command(base.iterations, extra)
    commands, trainers = [], []
    for index in range(1, rounds + 1):
        commands.append(time_command(argv))
        seconds, runs = time_trainers(base)
        trainers.append(seconds)
        print(
            f"  round {index}: command {commands[-1]:6.2f} s, 100 Trainer runs {trainers[-1]:6.2f}"
            f" s, ratio {trainers[-1] / commands[-1]:.2f}x  ({load()})"
        )
    result = run_sweep(
        "learning_rate", [float(v) for v in VALUES.split(",")], base, repeats=REPEATS, n_jobs=1
    )
    swept = [run for row in result.rows for run in row.runs]
    same, total = identical(swept, runs)
    ratio = min(trainers) / min(commands)
    print(
        f"  best: command {min(commands):.2f} s, Trainers {min(trainers):.2f} s: ratio "
        f"{ratio:.2f}x; {same}/{total} runs equal their Trainer run bit for bit"
    )
    t = per_iteration(base, max(sizes))
    rest = t["kernel"] - t["exp"] - t["blas"]
    print(
        f"  one iteration of one network: {t['trainer']:.1f} us in a Trainer, {t['stacked']:.1f}"
        f" us in a stack of {max(sizes)} (its kernel {t['kernel']:.1f} us: exp {t['exp']:.1f},"
        f" BLAS {t['blas']:.1f}, the other elementwise passes {rest:.1f})"
    )
    fixed = fixed_seconds()
    networks = len(configs(base))
    training = networks * base.iterations * t["stacked"] / 1e6
    print(
        f"  the command: start and scikit-learn's import {fixed:.2f} s, {networks} x "
        f"{base.iterations} network-iterations at {t['stacked']:.1f} us = {training:.2f} s, the "
        f"rest (measuring, printing) {min(commands) - fixed - training:.2f} s"
    )
    kernel_only = min(trainers) / (networks * base.iterations * t["kernel"] / 1e6)
    print(
        f"  bound: every network's exp, BLAS calls and elementwise passes, as the stacked kernel "
        f"runs them, with no loop, no measuring and no start: {kernel_only:.2f}x; with the start: "
        f"{min(trainers) / (fixed + networks * base.iterations * t['kernel'] / 1e6):.2f}x"
    )
    # Trainer sharing a cheaper kernel keeps the bits by construction, but makes both sides
    # cheaper: each iteration still pays the Trainer's loop (its time beyond the kernel), and
    # each network at least its own exp calls; the start and the measuring stay.
    loop, work = t["trainer"] - t["kernel"], networks * base.iterations / 1e6
    measuring = max(min(commands) - fixed - training, 0.0)
    any_kernel = (work * (loop + t["exp"]) + measuring) / (fixed + work * t["exp"] + measuring)
    print(
        f"  bound for any kernel the Trainer shared, were its arithmetic only each network's exp"
        f" ({t['exp']:.1f} us) and its loop {loop:.1f} us: {any_kernel:.2f}x (start and measuring"
        f" kept)"
    )
    return ratio, same == total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1000 iterations, 1 round")
    parser.add_argument("--mini", action="store_true", help="also the --batch-size 32 sweep")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (default 2)")
    args = parser.parse_args(argv)
    iterations, rounds = (1000, 1) if args.quick else (5000, args.rounds)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}; {load()}"
    )
    base = Config.preset("seed", iterations=iterations)
    ratio, exact = scenario("full batch (the article's setup)", base, [], rounds)
    if args.mini:
        mini, mini_exact = scenario(
            "mini-batches of 32", base.replace(batch_size=32), ["--batch-size", "32"], rounds
        )
        exact = exact and mini_exact
        print(f"\nmini-batches of 32: {mini:.2f}x")
    print(
        f"\nnnviz sweep --param learning-rate --values {VALUES} --repeats {REPEATS} --iterations "
        f"{iterations} --jobs 1 against 100 Trainer runs: {ratio:.2f}x (goal >= {SPEED_GOAL:g}x:"
        f" {'met' if ratio >= SPEED_GOAL else 'NOT met'}); every run bit for bit: {exact}"
    )
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
