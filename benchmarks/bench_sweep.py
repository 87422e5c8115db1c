"""Speed of `nnviz sweep --preset article` against a textbook loop that trains the 19 rows one by one.

Run from the repository root:

    python benchmarks/bench_sweep.py            # 2 alternating rounds, about a minute
    python benchmarks/bench_sweep.py --quick    # 1 round (CI smoke)
    python benchmarks/bench_sweep.py --backend loky   # time joblib's default backend instead

Each round also runs the command itself, `nnviz sweep --preset article --out DIR`, timed from
outside (interpreter start, imports and the plots included). In this process nnviz runs the same
calls as that command (`nnviz.cli.run_sweep`), without writing files: the three article tables
through `run_sweeps`, with the CLI's joblib backend (forked workers on Linux, see
`nnviz.core.sweep.fast_start_backend`) and its default of 2 jobs, worker start included. The textbook loop is the article's code as a tutorial writes it, in this file: for each of
the 19 rows, make the moons, split them, seed NumPy, draw the weights, run full-batch gradient
descent with (samples, units) arrays, and score train and test with scikit-learn, one row after
another. The two alternate round by round in this process, so they see the same machine.

The textbook's numbers are not nnviz's bit for bit (its arithmetic is ordered differently, and the
article's setup amplifies the last bit at lr 0.5 and beyond a few thousand iterations); the
benchmark prints how many rows agree to 1e-3 in test AUC. Goal (issue 5): nnviz >= 5x faster.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import joblib
import numpy as np
from sklearn.datasets import make_moons
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from nnviz.core.sweep import article_tables, fast_start_backend, plan, run_job, run_sweeps

SPEED_GOAL = 5.0
AGREEMENT = 1e-3


# -- the textbook loop -----------------------------------------------------------------------


def textbook_row(iterations: int, hidden: int, learning_rate: float) -> dict[str, float]:
    """One row of the article's tables, trained from scratch the way the article's code does."""
    X, y = make_moons(n_samples=1000, noise=0.2, random_state=4242)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=42)
    y_column = y_train.reshape(-1, 1)
    np.random.seed(4242)
    W1 = np.random.uniform(-0.1, 0.1, (2, hidden))
    W2 = np.random.uniform(-0.1, 0.1, (hidden, 1))
    b1, b2 = np.zeros((1, hidden)), np.zeros((1, 1))
    for _ in range(iterations):
        h = 1 / (1 + np.exp(-(X_train @ W1 + b1)))
        p = 1 / (1 + np.exp(-(h @ W2 + b2)))
        d2 = (p - y_column) * p * (1 - p)
        d1 = d2 @ W2.T * h * (1 - h)
        W2 -= learning_rate * h.T @ d2
        b2 -= learning_rate * d2.sum(axis=0)
        W1 -= learning_rate * X_train.T @ d1
        b1 -= learning_rate * d1.sum(axis=0)
    row = {}
    for split, X_split, y_split in (("train", X_train, y_train), ("test", X_test, y_test)):
        h = 1 / (1 + np.exp(-(X_split @ W1 + b1)))
        p = (1 / (1 + np.exp(-(h @ W2 + b2))))[:, 0]
        accuracy = float(np.mean((p >= 0.5) == y_split))
        row[f"{split}_auc"] = float(roc_auc_score(y_split, p))
        row[f"{split}_accuracy"] = accuracy
        row[f"{split}_misclassification"] = 1.0 - accuracy
        if split == "train":
            row["final_loss"] = float(0.5 * np.sum((p - y_split) ** 2))
    return row


def textbook_rows() -> list[tuple[int, int, float]]:
    """(iterations, hidden, learning rate) of the 19 rows, as the article's tables list them."""
    rows = []
    for table in article_tables():
        for configs in table.configs():
            config = configs[0]
            rows.append((config.iterations, config.hidden[0], config.learning_rate))
    return rows


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (forked workers are reaped at the
    end of each sweep; loky's long-lived workers are not counted)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def time_textbook() -> tuple[float, float, list[dict[str, float]]]:
    started, cpu = time.perf_counter(), cpu_seconds()
    rows = [textbook_row(*row) for row in textbook_rows()]
    return time.perf_counter() - started, cpu_seconds() - cpu, rows


# -- nnviz -----------------------------------------------------------------------------------


def time_nnviz(backend: str | None):
    """The CLI's calls for `nnviz sweep --preset article`: run_sweeps under its joblib backend."""
    context = joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext()
    started, cpu = time.perf_counter(), cpu_seconds()
    with context:
        results = run_sweeps(article_tables())
    return time.perf_counter() - started, cpu_seconds() - cpu, results


def time_command() -> float:
    """`nnviz sweep --preset article --out DIR` from the shell: interpreter start, imports, worker
    start, training, tables and the PNG/SVG plots, as a user waits for them."""
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as out:
        command = [sys.executable, "-m", "nnviz", "sweep", "--preset", "article", "--out", out]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=600)
        return time.perf_counter() - started


def longest_job() -> float:
    """Seconds the longest of the article's trainings (50 hidden units) takes on one core: no
    number of workers finishes the sweep sooner."""
    jobs = plan([config for table in article_tables() for row in table.configs() for config in row])
    started = time.perf_counter()
    run_job(jobs[0])
    return time.perf_counter() - started


# -- report ----------------------------------------------------------------------------------


def load_description() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    except (AttributeError, OSError):
        return f"{os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round instead of 2")
    parser.add_argument(
        "--backend",
        default="auto",
        help="joblib backend for nnviz: auto (as the CLI), loky, multiprocessing, threading",
    )
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 2
    backend = fast_start_backend() if args.backend == "auto" else args.backend

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, joblib {joblib.__version__}, "
        f"{platform.machine()}; {load_description()}"
    )
    print(f"nnviz: run_sweeps(article_tables()) with joblib backend {backend or 'loky (default)'}")
    print("textbook: 19 rows trained from scratch one after another, (samples, units) arrays")

    nnviz_times, textbook_times, ratios, command_times = [], [], [], []
    results = textbook = None
    for index in range(1, rounds + 1):
        seconds, nnviz_cpu, results = time_nnviz(backend)
        nnviz_times.append(seconds)
        seconds, textbook_cpu, textbook = time_textbook()
        textbook_times.append(seconds)
        ratios.append(textbook_times[-1] / nnviz_times[-1])
        command_times.append(time_command())
        cpu = (
            f"CPU {nnviz_cpu:.2f} s vs {textbook_cpu:.2f} s" if backend == "multiprocessing" else ""
        )
        print(
            f"  round {index}: nnviz {nnviz_times[-1]:6.2f} s, textbook {textbook_times[-1]:6.2f} s,"
            f" ratio {ratios[-1]:.2f}x; the command with --out {command_times[-1]:6.2f} s  {cpu}"
        )
    assert results is not None and textbook is not None

    print()
    for result in results:
        print(result.text_table())
        print()

    rows = [row for result in results for row in result.rows]
    agree = sum(abs(row.test_auc - t["test_auc"]) <= AGREEMENT for row, t in zip(rows, textbook))
    worst = max(abs(row.test_auc - t["test_auc"]) for row, t in zip(rows, textbook))
    print(
        f"textbook vs nnviz: {agree}/{len(rows)} rows agree to {AGREEMENT:g} in test AUC "
        f"(largest difference {worst:.4f}: the seed setup is sensitive to the last bit)"
    )
    print(
        f"after: {load_description()} (the benchmark itself adds about 2; other busy processes "
        "take cores from nnviz's two workers and lower the ratio)"
    )
    longest = longest_job()
    print(
        f"bound: the longest training (50 hidden units, 10000 iterations) takes {longest:.2f} s "
        f"on one core, and the whole sweep {nnviz_cpu:.2f} s of CPU over its workers"
    )
    command, textbook_median = statistics.median(command_times), statistics.median(textbook_times)
    print(
        f"nnviz sweep --preset article --out DIR from the shell {command:.2f} s (start, imports "
        f"and plots included): ratio {textbook_median / command:.2f}x to the textbook loop"
    )
    median = statistics.median(ratios)
    print(
        f"nnviz sweep --preset article {statistics.median(nnviz_times):.2f} s, textbook loop "
        f"{statistics.median(textbook_times):.2f} s: ratio {median:.2f}x (goal >= {SPEED_GOAL:g}x, "
        f"{'met' if median >= SPEED_GOAL else 'NOT met'}; median of {rounds} round(s), "
        f"best {max(ratios):.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
