"""The `nnviz` command: `train` runs headless, `gui` (or no subcommand) opens the window."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .core import PRESETS, Config, Trainer
from .core.run_files import write_run
from .flags import (
    USER_ERRORS,
    Parser,
    add_config_flags,
    add_gui_arguments,
    config_from_args,
    usage_error,
)

EXIT_DIVERGED = 3


def build_parser() -> Parser:
    parser = Parser(
        prog="nnviz",
        description="Watch a from-scratch NumPy neural network learn. "
        "With no subcommand, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"nnviz {__version__}")
    commands = parser.add_subparsers(
        dest="command", parser_class=Parser, title="commands", metavar="COMMAND"
    )
    train = commands.add_parser(
        "train",
        help="train headless and write the results to a folder",
        description="Train one configuration without a window, print its metrics and "
        "classification report, and with --out write the run to a folder.",
    )
    train.add_argument("--out", metavar="DIR", help="folder for config, metrics, weights, history")
    train.add_argument(
        "--no-plots", action="store_true", help="with --out: skip the four pictures (no Qt needed)"
    )
    add_config_flags(train)
    gui = commands.add_parser(
        "gui", help="open the window (the default)", description="Open the nnviz window."
    )
    add_gui_arguments(gui)
    add_config_flags(gui)
    _add_sweep_parser(commands)
    return parser


def _progress(snapshot, started: float, stream) -> None:
    rate = snapshot.iteration / max(time.perf_counter() - started, 1e-9)
    stream.write(
        f"\riteration {snapshot.iteration}/{snapshot.target}  train loss {snapshot.train_loss:.5g}"
        f"  test loss {snapshot.test_loss:.5g}  {rate:,.0f} it/s "
    )
    stream.flush()


def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    trainer = Trainer(config)
    started = time.perf_counter()
    show = sys.stderr.isatty()
    for snapshot in trainer.run(chunk=max(1, min(2000, config.iterations // 100 or 1))):
        if show:
            _progress(snapshot, started, sys.stderr)
    if show:
        sys.stderr.write("\n")
    metrics = trainer.evaluate()
    print(f"nnviz: trained {trainer.iteration} iterations in {trainer.seconds:.2f} s")
    print(
        f"train: loss {metrics.train.loss:.6g}  AUC {metrics.train.auc:.4f}  "
        f"accuracy {metrics.train.accuracy:.4f}"
    )
    print(
        f"test:  loss {metrics.test.loss:.6g}  AUC {metrics.test.auc:.4f}  "
        f"accuracy {metrics.test.accuracy:.4f}"
    )
    print(f"\nclassification report (test, threshold {config.threshold:g})")
    print(metrics.test.report_text)
    if args.out:
        written = write_run(args.out, trainer, metrics)
        if not args.no_plots:
            from .gui.plots import write_plots  # Qt is imported only to draw the pictures

            written += write_plots(args.out, trainer)
        print(f"wrote {len(written)} files to {Path(args.out)}")
    if trainer.diverged_at is not None:
        print(f"nnviz: {trainer.divergence_message()}", file=sys.stderr)
        return EXIT_DIVERGED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in {"train", "gui", "sweep", "-h", "--help", "--version"}:
        argv = ["gui", *argv]  # `nnviz` and `nnviz my.nnviz` open the window
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return run_train(args)
        if args.command == "sweep":
            return run_sweep(args)
        from .gui.app import run_gui

        return run_gui(args, config_from_args(args))
    except USER_ERRORS as error:
        return usage_error("nnviz", error)


# -- nnviz sweep -------------------------------------------------------------------------------

SWEEP_BACKENDS = ("auto", "loky", "multiprocessing", "threading")


def _add_sweep_parser(commands) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="train one setup over a list of values of one field and tabulate the metrics",
        description="Vary one configuration field, keep the rest, and write sweep.csv and a plot "
        "(sweep.png, sweep.svg). --preset article runs the article's three experiment tables.",
    )
    add_config_flags(
        sweep,
        presets=[*PRESETS, "article"],
        preset_help="starting setup (default: seed); 'article' runs the article's three tables "
        "(iterations, hidden nodes, learning rate) on the seed setup at 10000 iterations",
    )
    sweep.add_argument(
        "--param", metavar="FIELD", help="the field to vary, e.g. hidden, learning-rate"
    )
    sweep.add_argument(
        "--values",
        metavar="V1,V2,...",
        help="the values, comma-separated; several hidden layers per value with ';': 8,4;16,16",
    )
    sweep.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="K",
        help="train each value with K weight seeds (weight-seed, +1, ...) and report mean, std, "
        "min and max (CSV columns <metric>_std/_min/_max)",
    )
    sweep.add_argument("--jobs", type=int, metavar="N", help="worker processes (default 2)")
    sweep.add_argument(
        "--backend",
        choices=SWEEP_BACKENDS,
        default="auto",
        help="joblib backend; auto forks the workers on Linux, else loky (default auto)",
    )
    sweep.add_argument("--out", metavar="DIR", help="folder for the CSV tables and their plots")


def _sweep_progress(progress, stream) -> None:
    stream.write(f"\rsweep: {progress.text()} ")
    stream.flush()


def run_sweep(args: argparse.Namespace) -> int:
    """`nnviz sweep`: run the sweep(s), print aligned tables, write CSV, PNG and SVG files."""
    import contextlib

    import joblib

    from .core import sweep as sweeps

    if args.jobs == 0:
        return usage_error("nnviz", "--jobs must be at least 1 (or -1 for every CPU)")
    if args.preset == "article":
        if args.param or args.values is not None:
            return usage_error(
                "nnviz", "--preset article runs its own three tables: drop --param/--values"
            )
        # the seed setup at 10000 iterations ("experiment"), with any flags the user gave
        base = config_from_args(args, Config.preset("experiment"))
        plan = sweeps.article_tables(base, repeats=args.repeats)
    else:
        if not args.param or args.values is None:
            return usage_error(
                "nnviz", "sweep needs --param FIELD and --values V1,V2,... (or --preset article)"
            )
        param = args.param.strip().replace("-", "_")
        values = sweeps.parse_values(param, args.values)
        plan = [sweeps.Sweep(param, values, config_from_args(args), repeats=args.repeats)]

    backend = sweeps.fast_start_backend() if args.backend == "auto" else args.backend
    context = joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext()
    show = sys.stderr.isatty()
    progress = (lambda p: _sweep_progress(p, sys.stderr)) if show else None
    started = time.perf_counter()
    try:
        with context:
            results = sweeps.run_sweeps(plan, n_jobs=args.jobs, progress=progress)
    except KeyboardInterrupt:
        if show:
            sys.stderr.write("\n")
        print("nnviz: sweep interrupted", file=sys.stderr)
        return 130
    if show:
        sys.stderr.write("\n")
    for result in results:
        print(result.text_table())
        print()
    runs = sum(len(row.runs) for result in results for row in result.rows)
    print(f"nnviz: {runs} runs in {time.perf_counter() - started:.2f} s")
    if args.out:
        written = _write_sweep_files(results, Path(args.out))
        print(f"wrote {len(written)} files to {Path(args.out)}")
    return 0


def _write_sweep_files(results, out: Path) -> list[Path]:
    """<name>.csv, .png and .svg per result; the plots come from the window's SweepView."""
    from .core.files import write_text

    written = [write_text(out / f"{result.name}.csv", result.csv_text()) for result in results]
    try:
        from .gui.plots import ensure_application, quiet_offscreen
        from .gui.views.sweep_view import save_sweep_plot
    except ImportError as error:  # a headless install without Qt: the tables are still written
        print(f"nnviz: plots skipped ({error}); the CSV tables are written", file=sys.stderr)
        return written

    app = ensure_application()  # offscreen when there is no display
    with quiet_offscreen():
        for result in results:
            written += save_sweep_plot(
                result, out / f"{result.name}.png", out / f"{result.name}.svg"
            )
        app.processEvents()  # let the views' deferred deletes run
    return written
