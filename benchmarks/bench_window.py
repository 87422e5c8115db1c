"""Window throughput: training speed while the window redraws live, against the headless Trainer,
and with several seeds against one.

Runs `nnviz gui --train N --quit` (the real window, offscreen, through the real worker path) and
`Trainer.step(N)` on the seed setup, alternating, and prints the ratio, the redraw rate and the
longest event-loop stall. Goals (issue 3): ratio >= 0.85 at >= 20 Hz, stall < 50 ms.

`--seeds K` (default 16) then alternates the window with one seed and with K seeds (Config.seeds,
one BatchedTrainer) on the seed setup (full batch) and with mini-batches of 32, and prints the
network-iterations per second of each (iterations x seeds), their ratio, the redraw rate and the
longest stall. Goals (issue 13): K = 16 seeds at least 3x the network-iterations of one seed,
redraws >= 20 Hz, stalls < 50 ms. `--memory` runs 64 seeds and prints the peak resident memory of
the window's process and of its training process, against core.budget's estimate.

    python benchmarks/bench_window.py [--iterations N] [--rounds R] [--seeds K] [--memory]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nnviz import Config, Trainer
from nnviz.core.batched import BatchedTrainer
from nnviz.core.budget import estimate, format_bytes

LINE = re.compile(
    r"trained (\d+) iterations in ([\d.]+) s \(([\d,]+) it/s(?:, (\d+) seeds: ([\d,]+) "
    r"network-it/s)?\), (\d+) redraws \(([\d.]+) Hz\), max event-loop stall (\d+) ms"
)
#: Iterations a window run of one seed and of several trains, per batch size (a few seconds each).
SEED_RUNS = {0: (200_000, 20_000), 32: (200_000, 20_000)}


def headless(iterations: int) -> float:
    trainer = Trainer(Config.preset("seed", iterations=iterations))
    started = time.perf_counter()
    trainer.step(iterations)
    return iterations / (time.perf_counter() - started)


def headless_stack(seeds: int, batch: int, iterations: int = 2000) -> tuple[float, float]:
    """Network-iterations per second with no window: one Trainer, and a BatchedTrainer of
    `seeds` (what the window's training process runs), best of 3 each."""
    config = Config.preset("seed", batch_size=batch)
    one = Trainer(config, record_every=1 << 30)
    many = BatchedTrainer(
        [config.replace(weight_seed=config.weight_seed + k) for k in range(seeds)],
        record_every=1 << 30,
    )
    rates = []
    for trainer, networks in ((one, 1), (many, seeds)):
        trainer.advance(100)
        best = min(_seconds(trainer.advance, iterations) for _ in range(3))
        rates.append(iterations * networks / best)
    return rates[0], rates[1]


def _seconds(work, *args) -> float:
    started = time.perf_counter()
    work(*args)
    return time.perf_counter() - started


def _rss(pid: int) -> int:
    """Resident bytes of a process (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def window(iterations: int, *flags: str) -> dict[str, float]:
    """One scripted window run: it/s, network-it/s, Hz, stall (ms) and the peak resident bytes
    of the window's process and of its training process (the largest child)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    command = [sys.executable, "-m", "nnviz", "gui", *flags, "--train", str(iterations), "--quit"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peak_window = peak_training = 0
    started = time.monotonic()
    while process.poll() is None and time.monotonic() - started < 900:
        peak_window = max(peak_window, _rss(process.pid))
        peak_training = max([peak_training, *(_rss(c) for c in _children(process.pid))])
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=60)
    match = LINE.search(stdout)
    if process.returncode or not match:
        sys.exit(f"window run failed ({process.returncode}):\n{stdout}\n{stderr}")
    rate = float(match[3].replace(",", ""))
    seeds = int(match[4] or 1)
    return {
        "it/s": rate,
        "network-it/s": rate * seeds,
        "Hz": float(match[7]),
        "stall": float(match[8]),
        "window bytes": peak_window,
        "training bytes": peak_training,
    }


def compare_headless(iterations: int, rounds: int) -> None:
    print(
        f"seed setup, {iterations:,} iterations, {rounds} alternating rounds, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    rates, windows = [], []
    for round_number in range(1, rounds + 1):
        rates.append(headless(iterations))
        windows.append(window(iterations))
        run = windows[-1]
        print(
            f"  round {round_number}: headless {rates[-1]:,.0f} it/s, window {run['it/s']:,.0f} "
            f"it/s ({run['it/s'] / rates[-1]:.2f}x) at {run['Hz']:.1f} Hz, "
            f"max stall {run['stall']:.0f} ms"
        )
    base = statistics.median(rates)
    speed = statistics.median(w["it/s"] for w in windows)
    hertz = statistics.median(w["Hz"] for w in windows)
    stall = max(w["stall"] for w in windows)
    ratio = speed / base
    verdict = "met" if ratio >= 0.85 and hertz >= 20 and stall < 50 else "NOT met"
    print(
        f"window {speed:,.0f} it/s vs headless {base:,.0f} it/s: ratio {ratio:.2f}x at "
        f"{hertz:.1f} Hz redraws, max event-loop stall {stall:.0f} ms "
        f"(goal >= 0.85x at >= 20 Hz, stall < 50 ms: {verdict}; medians)"
    )


def compare_seeds(seeds: int, batch: int, rounds: int) -> None:
    one_iterations, many_iterations = SEED_RUNS[batch]
    setup = "full batch (the seed setup)" if batch == 0 else f"mini-batches of {batch}"
    flags = ["--preset", "seed", "--batch-size", str(batch)]
    print(
        f"\n{seeds} seeds against one in the window, {setup}, {rounds} alternating rounds, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    ones, manys = [], []
    for round_number in range(1, rounds + 1):
        ones.append(window(one_iterations, *flags))
        manys.append(window(many_iterations, *flags, "--seeds", str(seeds)))
        one, many = ones[-1], manys[-1]
        print(
            f"  round {round_number}: one seed {one['network-it/s']:,.0f} network-it/s at "
            f"{one['Hz']:.1f} Hz (stall {one['stall']:.0f} ms); {seeds} seeds "
            f"{many['network-it/s']:,.0f} network-it/s ({many['it/s']:,.0f} it/s) at "
            f"{many['Hz']:.1f} Hz (stall {many['stall']:.0f} ms): "
            f"{many['network-it/s'] / one['network-it/s']:.2f}x"
        )
    one = statistics.median(r["network-it/s"] for r in ones)
    many = statistics.median(r["network-it/s"] for r in manys)
    hertz = statistics.median(r["Hz"] for r in manys)
    stall = max(r["stall"] for r in manys)
    ratio = many / one
    verdict = "met" if ratio >= 3 and hertz >= 20 and stall < 50 else "NOT met"
    print(
        f"{seeds} seeds {many:,.0f} vs one seed {one:,.0f} network-it/s: {ratio:.2f}x at "
        f"{hertz:.1f} Hz redraws, max stall {stall:.0f} ms (goal >= 3x at >= 20 Hz, "
        f"stall < 50 ms: {verdict}; medians)"
    )
    alone, stacked = headless_stack(seeds, batch)
    print(
        f"  with no window: one Trainer {alone:,.0f}, a stack of {seeds} {stacked:,.0f} "
        f"network-it/s ({stacked / alone:.2f}x): the ceiling stacking sets here, as each network "
        f"keeps its own Trainer's arithmetic"
    )


def memory(seeds: int) -> None:
    config = Config.preset("seed", seeds=seeds)
    run = window(20_000, "--preset", "seed", "--seeds", str(seeds))
    estimated = estimate(config)
    measured = run["window bytes"] + run["training bytes"]
    print(
        f"\n{seeds} seeds, 20,000 iterations: peak resident memory {format_bytes(measured)} "
        f"(window {format_bytes(run['window bytes'])}, training process "
        f"{format_bytes(run['training bytes'])}); core.budget estimates "
        f"{format_bytes(estimated.total)} ({measured / estimated.total:.2f} of it); "
        f"{run['network-it/s']:,.0f} network-it/s at {run['Hz']:.1f} Hz, "
        f"max stall {run['stall']:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=16, help="0 skips the seeds comparison")
    parser.add_argument("--memory", action="store_true", help="also measure 64 seeds' memory")
    parser.add_argument("--skip-headless", action="store_true")
    args = parser.parse_args()
    if not args.skip_headless:
        compare_headless(args.iterations, args.rounds)
    if args.seeds:
        for batch in SEED_RUNS:
            compare_seeds(args.seeds, batch, args.rounds)
    if args.memory:
        memory(64)


if __name__ == "__main__":
    main()
