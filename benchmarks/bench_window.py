"""Window throughput: training speed while the window redraws live, against the headless Trainer.

Runs `nnviz gui --train N --quit` (the real window, offscreen, through the real worker path) and
`Trainer.step(N)` on the seed setup, alternating, and prints the ratio, the redraw rate and the
longest event-loop stall. Goals (issue 3): ratio >= 0.85 at >= 20 Hz, stall < 50 ms.

    python benchmarks/bench_window.py [--iterations N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

from nnviz import Config, Trainer

LINE = re.compile(
    r"trained (\d+) iterations in ([\d.]+) s \(([\d,]+) it/s\), (\d+) redraws "
    r"\(([\d.]+) Hz\), max event-loop stall (\d+) ms"
)


def headless(iterations: int) -> float:
    trainer = Trainer(Config.preset("seed", iterations=iterations))
    started = time.perf_counter()
    trainer.step(iterations)
    return iterations / (time.perf_counter() - started)


def window(iterations: int) -> tuple[float, float, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    command = [sys.executable, "-m", "nnviz", "gui", "--train", str(iterations), "--quit"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    match = LINE.search(result.stdout)
    if result.returncode or not match:
        sys.exit(f"window run failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return float(match[3].replace(",", "")), float(match[5]), float(match[6])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"seed setup, {args.iterations:,} iterations, {args.rounds} alternating rounds, "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    rates, windows = [], []
    for round_number in range(1, args.rounds + 1):
        rates.append(headless(args.iterations))
        windows.append(window(args.iterations))
        speed, hertz, stall = windows[-1]
        print(
            f"  round {round_number}: headless {rates[-1]:,.0f} it/s, window {speed:,.0f} it/s "
            f"({speed / rates[-1]:.2f}x) at {hertz:.1f} Hz, max stall {stall:.0f} ms"
        )
    base = statistics.median(rates)
    speed = statistics.median(w[0] for w in windows)
    hertz = statistics.median(w[1] for w in windows)
    stall = max(w[2] for w in windows)
    ratio = speed / base
    verdict = "met" if ratio >= 0.85 and hertz >= 20 and stall < 50 else "NOT met"
    print(
        f"window {speed:,.0f} it/s vs headless {base:,.0f} it/s: ratio {ratio:.2f}x at "
        f"{hertz:.1f} Hz redraws, max event-loop stall {stall:.0f} ms "
        f"(goal >= 0.85x at >= 20 Hz, stall < 50 ms: {verdict}; medians)"
    )


if __name__ == "__main__":
    main()
