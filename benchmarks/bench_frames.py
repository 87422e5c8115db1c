"""What one redraw costs in the GUI thread: the frame (fast-mode metrics, ROC, probability grid)
and each view's drawing, against the 25 ms a 40 Hz redraw has.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_frames.py [--frames N]

Frames come from one seed run, each a few iterations apart, so every redraw has new numbers. Each
view draws all of them and repaints; the medians are printed with their share of the budget. The
full-mode metrics (sklearn's classification report) are timed too: the Metrics view computes them
at most REPORT_HZ times a second, not per frame. Goals: the fast mode under half a frame, a whole
redraw (frame plus every view) under one.

Then the same redraw for runs of K = 1, 16 and 64 seeds (`Config.seeds`), split into its parts:
the seeds' states (`SeedGroup.states`, built in the training process once a reply, not in the
GUI thread), the seed evaluation (`SeedEvaluator.view`: every seed's AUCs, boundaries and ROC
curves, and the loss band, as `AppState` does it each redraw), the frame (`make_frame`) and the
painting (every view's show_frame + repaint, the five side by side in one window as the main
window holds them: a child view repaints slower than the top-level views above). Each part's
median is printed with its ratio to one seed's, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from nnviz.core import Config, Snapshot, Trainer, load_dataset
from nnviz.core.metrics import evaluate_setup
from nnviz.gui.frame import GRID_SIZE, Frame, make_frame
from nnviz.gui.plane import Plane
from nnviz.gui.seeds import SeedEvaluator
from nnviz.gui.views.boundary_view import BoundaryView
from nnviz.gui.views.loss_view import LossView
from nnviz.gui.views.metrics_view import MetricsView
from nnviz.gui.views.network_view import NetworkView
from nnviz.gui.views.roc_view import RocView
from nnviz.service.seeds import SeedGroup

BUDGET_MS = 1000 / 40
SEED_COUNTS = (1, 16, 64)
PARTS = ("states (training process)", "seed evaluation", "frame", "painting")


def median_ms(action, items) -> float:
    times = []
    for item in items:
        started = time.perf_counter()
        action(item)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


class SeedRun:
    """A run of `count` seeds and the five views, redrawn as the window redraws it."""

    def __init__(self, count: int) -> None:
        self.config = Config.preset("seed").replace(seeds=count)
        self.data = load_dataset(self.config)
        self.group = SeedGroup.start(self.config, self.data)
        self.plane = Plane.of(self.data)
        self.grid = self.plane.grid(GRID_SIZE)
        self.evaluator = None
        if count > 1:
            layout, config = self.group.layout, self.config
            self.evaluator = SeedEvaluator(count, layout, self.data, config.activation, config.loss)
        # side by side in one top-level widget, as the main window holds its views
        self.window = QWidget()
        self.views = [NetworkView(), BoundaryView(), LossView(), RocView(), MetricsView()]
        row = QHBoxLayout(self.window)
        for view in self.views:
            view.setFixedSize(480, 360)
            row.addWidget(view)
        self.window.show()
        self.times: dict[str, list[float]] = {part: [] for part in (*PARTS, "redraw")}

    def redraw(self) -> None:
        """Train 5 iterations, then time one redraw's parts."""
        self.group.advance(5)
        started = time.perf_counter()
        snapshot, states = self.group.snapshot(), self.group.states()
        built = time.perf_counter()
        seeds = None
        if states is not None:  # as AppState._draw: every seed, then the selected one's snapshot
            k = states.selected
            band = states.band.cut(snapshot.iteration)
            seeds = self.evaluator.view(states, k, self.config.threshold, band)
            snapshot = Snapshot(
                iteration=snapshot.iteration,
                target=snapshot.target,
                train_loss=float(states.scores[k, 0]),
                test_loss=float(states.scores[k, 1]),
                train_accuracy=float(states.scores[k, 2]),
                test_accuracy=float(states.scores[k, 3]),
                weights=states.weights(self.evaluator.layout, k),
                history=snapshot.history,
                seconds=snapshot.seconds,
                diverged_at=states.diverged_at[k],
            )
        evaluated = time.perf_counter()
        frame = make_frame(snapshot, self.config, self.data, self.grid, seeds, plane=self.plane)
        framed = time.perf_counter()
        self.frame = frame
        for view in self.views:
            view.show_frame(frame)
            view.repaint()
        painted = time.perf_counter()
        stamps = (started, built, evaluated, framed, painted)
        for part, begin, end in zip(PARTS, stamps, stamps[1:]):
            self.times[part].append(end - begin)
        self.times["redraw"].append(painted - built)  # the GUI thread's share: all but the states

    def close(self, single: Frame) -> None:
        """Close the views after showing one network's `single` frame: a loss view whose legend
        still names the seeds prints pyqtgraph's "Internal C++ object (ViewBox) already
        deleted" when it is collected."""
        for view in self.views:
            view.show_frame(single)
        self.window.close()

    def medians(self) -> dict[str, float]:
        """Each part's median in ms, leaving out the first redraw (the views' first layout)."""
        return {part: 1000 * statistics.median(values[1:]) for part, values in self.times.items()}


def seed_table(app: QApplication, frames: int) -> None:
    """Each part of a redraw for SEED_COUNTS seeds, the runs taking turns frame by frame (so a
    busy moment of the machine falls on all of them), with its ratio to one seed's."""
    runs = {count: SeedRun(count) for count in SEED_COUNTS}
    app.processEvents()
    for _ in range(frames + 1):
        for run in runs.values():
            run.redraw()
    measured = {count: run.medians() for count, run in runs.items()}
    for run in runs.values():
        run.close(runs[1].frame)
    print(f"\nruns of several seeds, median of {frames} redraws (ratio to one seed's)")
    columns = (*PARTS, "redraw")
    labels = {"redraw": "GUI thread's redraw"}
    width = max(len(labels.get(c, c)) for c in columns)
    print(f"{'':<{width}}" + "".join(f"  {f'{k} seeds':>18}" for k in SEED_COUNTS))
    for column in columns:
        one = measured[1][column]
        cells = []
        for count in SEED_COUNTS:
            ms = measured[count][column]
            ratio = f"({ms / one:5.1f}x)" if one > 0.005 else " " * 8  # 1 seed: no evaluation
            cells.append(f"  {ms:7.2f} ms {ratio}")
        print(f"{labels.get(column, column):<{width}}" + "".join(cells))
    for count in SEED_COUNTS:
        redraw = measured[count]["redraw"]
        print(
            f"{count} seeds: one redraw {redraw:.1f} ms of {BUDGET_MS:.0f} ms "
            f"({redraw / BUDGET_MS:.2f}x of a 40 Hz frame)"
        )


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

    seed_table(app, args.frames)


if __name__ == "__main__":
    main()
