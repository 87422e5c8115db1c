"""Speed and memory of `nnviz.Trainer` on the seed setup, against a textbook NumPy loop.

Run from the repository root:

    python benchmarks/bench_trainer.py           # 5 alternating rounds, about 10 s
    python benchmarks/bench_trainer.py --quick   # 2 rounds, a CI smoke run

The textbook loop is the article's algorithm written the way a tutorial writes it (samples x units,
`1/(1+exp(-z))`, new arrays every line), in this file, and timed in the same process as the Trainer,
alternating round by round so that both see the same machine state. Before timing, both are run for
2000 iterations from the same start and their weights must agree to 1e-9, so speed cannot come from
skipping work. Peak memory is measured in a fresh subprocess that only imports nnviz and trains.

Goals (issue 2): Trainer >= 2.5x the textbook loop, peak memory of a 20,000-iteration run < 200 MB.
The exit status is non-zero only when the exactness check fails; missing a goal is reported, not
fatal, because timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

from nnviz import Config, Trainer

SPEED_GOAL = 2.5
MEMORY_GOAL_MB = 200.0
EXACT_ITERATIONS = 2000
EXACT_TOLERANCE = 1e-9
TRAINER_ITERATIONS = 20_000
TEXTBOOK_ITERATIONS = 10_000
WARM_UP = 2000

# The child measures its own peak resident set size after one seed run of 20,000 iterations.
MEMORY_CHILD = """
import resource
from nnviz import Config, Trainer
trainer = Trainer(Config.preset("seed"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
trainer.step(20000)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after)
"""


# -- the textbook loop -----------------------------------------------------------------------


def article_data() -> tuple[np.ndarray, np.ndarray]:
    """The article's training set: 750 moons points and labels of shape (750, 1)."""
    x, y = make_moons(1000, noise=0.2, random_state=4242)
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.25, random_state=42)
    return x_train, y_train.reshape(-1, 1).astype(float)


def article_weights() -> list[np.ndarray]:
    """W1 (2, 5), b1 (1, 5), W2 (5, 1), b2 (1, 1): the article's uniform(-0.1, 0.1) start."""
    rng = np.random.RandomState(4242)
    w1 = rng.uniform(-0.1, 0.1, (2, 5))
    w2 = rng.uniform(-0.1, 0.1, (5, 1))
    return [w1, np.zeros((1, 5)), w2, np.zeros((1, 1))]


def textbook_loop(x: np.ndarray, y: np.ndarray, weights: list[np.ndarray], n: int) -> None:
    """n full-batch gradient-descent steps of the article's network, updating `weights` in place."""
    w1, b1, w2, b2 = weights
    lr = 0.1
    for _ in range(n):
        h = 1 / (1 + np.exp(-(x @ w1 + b1)))
        p = 1 / (1 + np.exp(-(h @ w2 + b2)))
        d2 = (p - y) * p * (1 - p)
        d1 = d2 @ w2.T * h * (1 - h)
        w2 -= lr * h.T @ d2
        b2 -= lr * d2.sum(0)
        w1 -= lr * x.T @ d1
        b1 -= lr * d1.sum(0)


# -- measurements ----------------------------------------------------------------------------


def check_exactness(x: np.ndarray, y: np.ndarray) -> float:
    """Max abs difference between Trainer and the textbook loop after EXACT_ITERATIONS steps."""
    trainer = Trainer(Config.preset("seed"))
    if not (
        np.array_equal(trainer.data.x_train, x) and np.array_equal(trainer.data.y_train, y[:, 0])
    ):
        return float("inf")  # not even the same training set
    start = trainer.weights()
    reference = article_weights()
    for name, array in zip(("W1", "b1", "W2", "b2"), reference):
        if not np.array_equal(start[name], array.reshape(start[name].shape)):
            return float("inf")  # not the same initial weights
    trainer.step(EXACT_ITERATIONS)
    textbook_loop(x, y, reference, EXACT_ITERATIONS)
    got = trainer.weights()
    return max(
        float(np.max(np.abs(got[name] - array.reshape(got[name].shape))))
        for name, array in zip(("W1", "b1", "W2", "b2"), reference)
    )


def time_trainer(trainer: Trainer, n: int) -> float:
    """Iterations per second of one `step(n)` from the seed start (history and snapshot included)."""
    trainer.reset()
    start = time.perf_counter()
    snapshot = trainer.step(n)
    seconds = time.perf_counter() - start
    if snapshot.iteration != n or snapshot.diverged_at is not None:
        raise RuntimeError(f"the seed run stopped at iteration {snapshot.iteration} of {n}")
    return n / seconds


def time_textbook(x: np.ndarray, y: np.ndarray, n: int) -> float:
    weights = article_weights()
    start = time.perf_counter()
    textbook_loop(x, y, weights, n)
    return n / (time.perf_counter() - start)


def peak_memory_mb() -> tuple[float, float] | None:
    """(after building the Trainer, after 20,000 iterations) peak RSS in MB of a fresh process."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    except (subprocess.SubprocessError, OSError) as error:
        print(f"memory: child process failed: {error}")
        return None
    before, after = (int(v) for v in result.stdout.split())
    unit = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else kB
    return before / unit, after / unit


def blas_description() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed; see numpy.show_runtime())"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return "none found by threadpoolctl"
    return "; ".join(
        f"{_owner(p.get('filepath', ''))}: {p.get('internal_api')} {p.get('version')} "
        f"({p.get('architecture')}, {p.get('num_threads')} threads)"
        for p in sorted(pools, key=lambda p: _owner(p.get("filepath", "")) != "numpy")
    )


def _owner(path: str) -> str:
    """The wheel a shared library came with: site-packages/numpy.libs/... -> numpy."""
    for part in reversed(path.replace("\\", "/").split("/")):
        if part.endswith(".libs"):
            return part[: -len(".libs")]
    return "?"


def load_description() -> str:
    """The 1-minute load average: other busy processes make every timing here noisy."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # os.getloadavg does not exist on Windows
        return "load average unknown"
    return f"load average {load:.2f} on {os.cpu_count()} CPUs"


# -- report ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 5 (CI smoke)")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 5

    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"numpy {np.__version__}, {platform.machine()}"
    )
    print(f"BLAS: {blas_description()}")
    print(f"before: {load_description()}")

    x, y = article_data()
    difference = check_exactness(x, y)
    exact = difference < EXACT_TOLERANCE
    print(
        f"exactness: max |Trainer - textbook| after {EXACT_ITERATIONS} iterations = "
        f"{difference:.3g} ({'ok' if exact else 'FAILED'}, must be < {EXACT_TOLERANCE:g})"
    )

    trainer = Trainer(Config.preset("seed"))
    trainer.step(WARM_UP)
    time_textbook(x, y, WARM_UP)
    trainer_speeds, textbook_speeds = [], []
    print(
        f"{rounds} rounds: Trainer.step({TRAINER_ITERATIONS}) from reset, "
        f"textbook loop {TEXTBOOK_ITERATIONS} iterations"
    )
    for index in range(1, rounds + 1):
        trainer_speeds.append(time_trainer(trainer, TRAINER_ITERATIONS))
        textbook_speeds.append(time_textbook(x, y, TEXTBOOK_ITERATIONS))
        print(
            f"  round {index}: trainer {trainer_speeds[-1]:>9,.0f} it/s, "
            f"textbook {textbook_speeds[-1]:>9,.0f} it/s, "
            f"ratio {trainer_speeds[-1] / textbook_speeds[-1]:.2f}x"
        )
    trainer_best, textbook_best = max(trainer_speeds), max(textbook_speeds)
    trainer_median = statistics.median(trainer_speeds)
    textbook_median = statistics.median(textbook_speeds)
    print(
        f"best:   trainer {trainer_best:>9,.0f} it/s, textbook {textbook_best:>9,.0f} it/s, "
        f"ratio {trainer_best / textbook_best:.2f}x"
    )
    print(
        f"median: trainer {trainer_median:>9,.0f} it/s, textbook {textbook_median:>9,.0f} it/s, "
        f"ratio {trainer_median / textbook_median:.2f}x"
    )

    print(f"after:  {load_description()} (this benchmark adds about 1; more means contention)")

    memory = peak_memory_mb()
    if memory is not None:
        before, after = memory
        verdict = "ok" if after < MEMORY_GOAL_MB else "OVER GOAL"
        print(
            f"memory: peak RSS {after:.1f} MB after a {TRAINER_ITERATIONS:,}-iteration seed run "
            f"in a fresh process ({before:.1f} MB before training; goal < {MEMORY_GOAL_MB:.0f} MB, "
            f"{verdict})"
        )

    ratio = trainer_median / textbook_median
    print(
        f"trainer {trainer_median:,.0f} it/s, textbook {textbook_median:,.0f} it/s, "
        f"ratio {ratio:.2f}x (goal >= {SPEED_GOAL}x, {'met' if ratio >= SPEED_GOAL else 'NOT met'}; "
        f"medians of {rounds} rounds)"
    )
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
