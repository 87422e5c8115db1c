"""What one redraw costs in the GUI thread: the frame (fast-mode metrics, ROC, probability grid)
and each view's drawing, against the 25 ms a 40 Hz redraw has.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_frames.py [--frames N]

Frames come from one seed run, each a few iterations apart, so every redraw has new numbers. Each
view draws all of them and repaints; the medians are printed with their share of the budget. The
full-mode metrics (sklearn's classification report) are timed too: the Metrics view computes them
at most REPORT_HZ times a second, not per frame. Goals: the fast mode under half a frame, a whole
redraw (frame plus every view) under one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from nnviz.core import Config, Trainer
from nnviz.core.metrics import evaluate_setup
from nnviz.gui.frame import make_frame
from nnviz.gui.views.boundary_view import BoundaryView
from nnviz.gui.views.loss_view import LossView
from nnviz.gui.views.metrics_view import MetricsView
from nnviz.gui.views.network_view import NetworkView
from nnviz.gui.views.roc_view import RocView

BUDGET_MS = 1000 / 40


def median_ms(action, items) -> float:
    times = []
    for item in items:
        started = time.perf_counter()
        action(item)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    trainer = Trainer(Config.preset("seed"))
    snapshots = [trainer.step(5) for _ in range(args.frames)]
    config, data, weights = trainer.config, trainer.data, trainer.weights()

    rows = {
        "fast metrics (both splits)": median_ms(
            lambda _: evaluate_setup(weights, data, config, full=False), range(args.frames)
        ),
        "full metrics (with sklearn's report)": median_ms(
            lambda _: evaluate_setup(weights, data, config, full=True).report_text(),
            range(args.frames // 4),
        ),
        "make_frame (metrics, ROC, grid)": median_ms(
            lambda s: make_frame(s, config, data), snapshots
        ),
    }
    frames = [make_frame(s, config, data) for s in snapshots]
    for name, view in [
        ("network view", NetworkView()),
        ("boundary view", BoundaryView()),
        ("loss view", LossView()),
        ("ROC view", RocView()),
        ("metrics view", MetricsView()),
    ]:
        view.resize(480, 360)
        view.show()
        app.processEvents()

        def draw(frame, view=view) -> None:
            view.show_frame(frame)
            view.repaint()

        rows[f"{name}: show_frame + repaint"] = median_ms(draw, frames)
        view.close()

    width = max(map(len, rows))
    for name, ms in rows.items():
        print(f"{name:<{width}}  {ms:7.2f} ms  ({ms / BUDGET_MS:5.1%} of a 40 Hz frame)")
    redraw = (
        sum(ms for name, ms in rows.items() if "view" in name)
        + rows["make_frame (metrics, ROC, grid)"]
    )
    fast = rows["fast metrics (both splits)"]
    verdict = "met" if fast < BUDGET_MS / 2 and redraw < BUDGET_MS else "NOT met"
    print(
        f"one redraw: {redraw:.1f} ms of {BUDGET_MS:.0f} ms ({redraw / BUDGET_MS:.2f}x); fast "
        f"metrics {fast:.1f} ms (goals: fast < {BUDGET_MS / 2:.1f} ms, redraw < {BUDGET_MS:.0f} "
        f"ms: {verdict})"
    )


if __name__ == "__main__":
    main()
