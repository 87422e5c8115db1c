"""The `nnviz` command: `train` runs headless, `gui` (or no subcommand) opens the window."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .core import PRESETS, Config, ConfigError, DataError, FileFormatError, Trainer
from .core.config import ACTIVATIONS, DATASETS, INITS, LOSSES, OPTIMIZERS, field_names
from .core.run_files import write_run

EXIT_USAGE = 2
EXIT_DIVERGED = 3


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag prints one line and exits 2 instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Config field (snake_case field = --kebab-case flag); unset flags keep the preset."""
    group = parser.add_argument_group("configuration (flags override --preset)")
    group.add_argument("--preset", choices=list(PRESETS), help="starting setup (default: seed)")
    add = group.add_argument
    add("--dataset", choices=DATASETS, help="moons (the article), circles, xor, gauss, spiral, csv")
    add("--csv-path", metavar="FILE", help="CSV with header x1,x2,label (labels 0/1)")
    add("--samples", type=int, help="number of points")
    add("--noise", type=float, help="noise of the generated points")
    add("--data-seed", type=int, help="seed of the generated points")
    add("--test-size", type=float, help="share of points held out for testing, in (0, 1)")
    add("--split-seed", type=int, help="seed of train_test_split")
    add("--hidden", help="hidden layer widths, e.g. 5 or 8,4")
    add("--activation", choices=ACTIVATIONS, help="hidden-layer activation")
    add("--loss", choices=LOSSES, help="sse (1/2 sum of squares), mse or bce")
    add("--init", choices=INITS, help="weight initialisation scheme")
    add("--init-range", type=float, help="r of the uniform init in [-r, r]")
    add("--weight-seed", type=int, help="seed of the initial weights and of batch shuffling")
    add("--optimizer", choices=OPTIMIZERS, help="gd, momentum or adam")
    add("--learning-rate", type=float, help="step size eta")
    add("--batch-size", type=int, help="0 = full batch (the article's); otherwise mini-batches")
    add("--momentum", type=float, help="momentum coefficient, in [0, 1)")
    add("--l1", type=float, help="L1 penalty on weights")
    add("--l2", type=float, help="L2 penalty on weights")
    add("--iterations", type=int, help="gradient-descent iterations to run")
    add("--threshold", type=float, help="decision threshold on p for the class-1 prediction")
    add("--init-weights", metavar="FILE", help="start from weights saved as .npz or .json")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 1280x800") from None
    if not (320 <= width <= 8000 and 240 <= height <= 8000):
        raise argparse.ArgumentTypeError(f"{text!r} is outside 320x240 to 8000x8000")
    return width, height


def config_from_args(args: argparse.Namespace) -> Config:
    """The preset with every flag the user gave applied on top."""
    overrides = {
        name: getattr(args, name) for name in field_names() if getattr(args, name, None) is not None
    }
    return Config.preset(args.preset or "seed", **overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nnviz",
        description="Watch a from-scratch NumPy neural network learn. "
        "With no subcommand, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"nnviz {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    train = commands.add_parser("train", help="train headless and write the results to a folder")
    _add_config_flags(train)
    train.add_argument("--out", metavar="DIR", help="folder for config, metrics, weights, history")
    train.add_argument(
        "--no-plots", action="store_true", help="with --out: skip the four pictures (no Qt needed)"
    )
    gui = commands.add_parser("gui", help="open the window (the default)")
    _add_config_flags(gui)
    gui.add_argument("session", nargs="?", help="a session file to open")
    gui.add_argument("--train", type=int, metavar="N", help="train N iterations after opening")
    gui.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window after --train")
    gui.add_argument("--quit", action="store_true", help="exit after --train and --screenshot")
    gui.add_argument("--window-size", type=_size, metavar="WxH", help="window size, e.g. 1280x800")
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
    except (ConfigError, DataError, FileFormatError) as error:
        print(f"nnviz: error: {error}", file=sys.stderr)
        return EXIT_USAGE


# -- nnviz sweep -------------------------------------------------------------------------------

SWEEP_BACKENDS = ("auto", "loky", "multiprocessing", "threading")


def _add_sweep_parser(commands) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="train one setup over a list of values of one field and tabulate the metrics",
        description="Vary one configuration field, keep the rest, and write sweep.csv and a plot "
        "(sweep.png, sweep.svg). --preset article runs the article's three experiment tables.",
        conflict_handler="resolve",  # --preset below also accepts "article"
    )
    _add_config_flags(sweep)
    sweep.add_argument(
        "--preset",
        choices=[*PRESETS, "article"],
        help="starting setup (default: seed); 'article' runs the article's three tables "
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


def _usage_error(message: str) -> int:
    print(f"nnviz: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _sweep_progress(progress, stream) -> None:
    stream.write(f"\rsweep: {progress.text()} ")
    stream.flush()


def run_sweep(args: argparse.Namespace) -> int:
    """`nnviz sweep`: run the sweep(s), print aligned tables, write CSV, PNG and SVG files."""
    import contextlib

    import joblib

    from .core import sweep as sweeps

    if args.jobs == 0:
        return _usage_error("--jobs must be at least 1 (or -1 for every CPU)")
    if args.preset == "article":
        if args.param or args.values is not None:
            return _usage_error("--preset article runs its own three tables: drop --param/--values")
        # the seed setup at 10000 iterations ("experiment"), with any flags the user gave
        base = config_from_args(argparse.Namespace(**{**vars(args), "preset": "experiment"}))
        plan = sweeps.article_tables(base, repeats=args.repeats)
    else:
        if not args.param or args.values is None:
            return _usage_error(
                "sweep needs --param FIELD and --values V1,V2,... (or --preset article)"
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
