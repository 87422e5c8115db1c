"""The `nnviz` command: `train` runs headless, `gui` (or no subcommand) opens the window."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import __version__
from .core import PRESETS, Config, FileFormatError, Trainer
from .core.budget import (
    ENV_VAR,
    Budget,
    Estimate,
    check_budget,
    cpu_count,
    estimate,
    format_bytes,
    largest_run,
    memory_budget,
)
from .core.cluster import DEFAULT_RETRIES, DEFAULT_TIMEOUT, LOCAL, Cluster
from .core.run_files import write_run
from .flags import (
    USER_ERRORS,
    Parser,
    add_budget_flags,
    add_config_flags,
    add_gui_arguments,
    config_from_args,
    path_text,
    usage_error,
)

EXIT_DIVERGED = 3
REPORT_TITLES = {
    "binary": "classification report (test, threshold {threshold:g})",
    "multiclass": "classification report (test, the most probable class)",
    "regression": "regression metrics (test)",
}
#: `nnviz sweep --cluster` that could not finish: the finished rows are written, one line says why.
EXIT_SWEEP_FAILED = 1


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
    train.add_argument(
        "--out", type=path_text, metavar="DIR", help="folder for config, metrics, weights, history"
    )
    train.add_argument(
        "--no-plots", action="store_true", help="with --out: skip the four pictures (no Qt needed)"
    )
    add_budget_flags(train)
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


def dry_run(estimated: Estimate, budget: Budget, jobs: int = 1) -> None:
    """`--dry-run`: the estimate term by term, the budget, and whether `jobs` such runs fit."""
    print("nnviz: memory estimate (nothing was trained)")
    print(estimated.table())
    if jobs > 1:
        print(f"  x {jobs} runs at once = {format_bytes(estimated.total * jobs)}")
    needed = estimated.total * jobs
    print(f"budget: {budget}")
    print(f"fits: {'yes' if needed <= budget.bytes else 'no'} ({needed / budget.bytes:.0%} of it)")


def check_out(out: str | None) -> None:
    """Refuse an --out that exists but is not a folder now, rather than after the training."""
    if out and os.path.exists(out) and not os.path.isdir(out):
        raise FileFormatError(f"--out {out} is not a folder")


def train_options(args: argparse.Namespace) -> dict[str, bool]:
    """What `nnviz train` allocates besides training, as `estimate`'s options: the pictures
    (Qt and the boundary grid) and the run folder, when --out asks for them."""
    plots = bool(args.out) and not args.no_plots
    return {"views": plots, "replay": False, "run_folder": bool(args.out)}


def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    check_out(args.out)
    budget = args.memory_budget or memory_budget()
    options = train_options(args)
    if args.dry_run:
        dry_run(estimate(config, **options), budget)
    check_budget(config, budget=budget, **options)  # BudgetError: exit status 2
    if args.dry_run:
        return 0
    if config.seeds > 1:
        return run_train_seeds(args, config, options)
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
    for name in ("train", "test"):
        split = metrics.split(name)
        scores = (
            f"R^2 {split.r2:.4f}  MAE {split.mae:.6g}"
            if metrics.task == "regression"
            else f"{'macro ' * (metrics.task == 'multiclass')}AUC {split.auc:.4f}  "
            f"accuracy {split.accuracy:.4f}"
        )
        print(f"{name + ':':<6} loss {split.loss:.6g}  {scores}")
    print(f"\n{REPORT_TITLES[metrics.task].format(threshold=config.threshold)}")
    print(metrics.test.report_text)
    if args.out:
        written = write_run(args.out, trainer, metrics)
        if options["views"]:
            try:
                from .gui.plots import write_plots  # Qt is imported only to draw the pictures
            except ImportError as error:  # a headless install: the run folder is still written
                print(f"nnviz: pictures skipped ({error}); use --no-plots", file=sys.stderr)
            else:
                written += write_plots(args.out, trainer)
        print(f"wrote {len(written)} files to {Path(args.out)}")
    if trainer.diverged_at is not None:
        print(f"nnviz: {trainer.divergence_message()}", file=sys.stderr)
        return EXIT_DIVERGED
    return 0


def run_train_seeds(args: argparse.Namespace, config: Config, options: dict[str, bool]) -> int:
    """`nnviz train --seeds K`: K weight seeds (weight_seed, weight_seed + 1, ...) trained
    together as the window trains them, each one's AUC, then their mean ± sd; --out writes one
    run folder per seed and the summary (service.seeds.write_seeds_run)."""
    from .core import load_dataset
    from .core.spread import spread
    from .service.seeds import SeedGroup, write_seeds_run

    group = SeedGroup.start(config, load_dataset(config))
    started, show = time.perf_counter(), sys.stderr.isatty()
    chunk = max(1, min(2000, config.iterations // 100 or 1))
    while group.iteration < config.iterations and group.diverged_at is None:
        group.advance(min(chunk, config.iterations - group.iteration))
        if show:
            _progress(group.snapshot(), started, sys.stderr)
    if show:
        sys.stderr.write("\n")
    trainers = group.trainers()
    seconds = time.perf_counter() - started
    print(f"nnviz: trained {len(trainers)} seeds {group.iteration} iterations in {seconds:.2f} s")
    print("weight seed  train AUC  test AUC  test accuracy")
    evaluated = [(trainer, trainer.evaluate(full=False)) for trainer in trainers]
    aucs = []
    for trainer, metrics in evaluated:
        aucs.append(metrics.test.auc)
        print(
            f"{trainer.config.weight_seed:>11}  {metrics.train.auc:9.4f}  {metrics.test.auc:8.4f}"
            f"  {metrics.test.accuracy:13.4f}"
        )
    auc, total = spread(aucs), len(aucs)
    counted = f"{auc.count} seeds" if auc.count == total else f"{auc.count} of {total} seeds"
    print(
        f"test AUC over {counted}: {auc.mean:.4f} ± {auc.sd:.4f} "
        f"(min {auc.min:.4f}, max {auc.max:.4f})"
    )
    if args.out:
        written = write_seeds_run(args.out, group, evaluated)
        if options["views"]:
            try:
                from .gui.plots import write_plots  # Qt is imported only to draw the pictures
            except ImportError as error:
                print(f"nnviz: pictures skipped ({error}); use --no-plots", file=sys.stderr)
            else:
                for k, trainer in enumerate(trainers):
                    written += write_plots(Path(args.out) / f"seed{k}", trainer)
        print(f"wrote {len(written)} files to {Path(args.out)}")
    message = group.divergence_message()
    if message:
        print(f"nnviz: {message}", file=sys.stderr)
        return EXIT_DIVERGED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in {"train", "gui", "sweep", "-h", "--help", "--version"}:
        argv = ["gui", *argv]  # `nnviz` and `nnviz my.nnviz` open the window
    args = parser.parse_args(argv)
    try:
        with _budget_for_workers(getattr(args, "memory_budget", None)):
            if args.command == "train":
                return run_train(args)
            if args.command == "sweep":
                return run_sweep(args)
            from .gui.app import run_gui

            return run_gui(args, config_from_args(args))
    except USER_ERRORS as error:
        return usage_error("nnviz", error)
    except MemoryError:  # the estimate fell short of what this machine could give
        return usage_error(
            "nnviz",
            f"out of memory: this run fits the memory budget ({memory_budget()}) but the "
            f"machine could not give it; set a smaller budget with --memory-budget or {ENV_VAR}",
        )


@contextlib.contextmanager
def _budget_for_workers(budget: Budget | None) -> Iterator[None]:
    """Hand `--memory-budget` to every Trainer, also in a sweep's worker processes, through
    NNVIZ_MEMORY_BUDGET; restored afterwards, since `main` may run inside another program."""
    if budget is None:
        yield
        return
    before = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(budget.bytes)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before


# -- nnviz sweep -------------------------------------------------------------------------------

SWEEP_BACKENDS = ("auto", "loky", "multiprocessing", "threading")


def _add_sweep_parser(commands) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="train one setup over a list of values of one field and tabulate the metrics",
        description="Vary one configuration field, keep the rest, and write sweep.csv and a plot "
        "(sweep.png, sweep.svg); values that mix regression and classification datasets give one "
        "table each (sweep-regression.csv, sweep-classification.csv and their plots). "
        "--preset article runs the article's three experiment tables.",
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
    sweep.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="worker processes (default 2; at most the CPUs here; -1: every CPU)",
    )
    sweep.add_argument(
        "--backend",
        choices=SWEEP_BACKENDS,
        default="auto",
        help="joblib backend; auto forks the workers on Linux, else loky (default auto)",
    )
    sweep.add_argument(
        "--out", type=path_text, metavar="DIR", help="folder for the CSV tables and their plots"
    )
    sweep.add_argument(
        "--no-plots", action="store_true", help="with --out: only the CSV tables (no Qt needed)"
    )
    sweep.add_argument(
        "--cluster",
        default=LOCAL,
        metavar="ADDRESS",
        help="where the trainings run: 'local' (default: joblib workers here), a dask "
        "scheduler such as tcp://host:8786 or a ray head such as ray://host:10001 (--jobs and "
        "--backend are then ignored); this process loads the data once and ships it to the "
        "workers",
    )
    sweep.add_argument(
        "--retries",
        type=int,
        default=DEFAULT_RETRIES,
        metavar="N",
        help="with --cluster: run a failed training up to N more times, whether it raised or "
        f"its worker died (default {DEFAULT_RETRIES})",
    )
    sweep.add_argument(
        "--cluster-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="with --cluster: give up when no training finished or reported progress for this "
        f"long (default {DEFAULT_TIMEOUT:g})",
    )
    add_budget_flags(sweep)


def _sweep_progress(progress, stream) -> None:
    stream.write(f"\rsweep: {progress.text()} ")
    stream.flush()


class _RowPrinter:
    """With --cluster, print each row on stdout as its trainings finish (the tables follow at
    the end), and the progress line on a terminal."""

    def __init__(self, plan, show: bool) -> None:
        self.plan, self.show = plan, show
        self.printed = 0

    def __call__(self, progress) -> None:
        from .core.sweep import value_text

        for index, row in progress.rows[self.printed :]:
            if self.show:
                sys.stderr.write("\r\x1b[K")
            sweep = self.plan[index]
            if row.runs[0].task == "regression":
                scores = f"test R² {row.test_r2:.4f}"
            else:
                scores = f"test AUC {row.test_auc:.4f}  test accuracy {row.test_accuracy:.4f}"
            print(
                f"{sweep.name}: {sweep.label} {value_text(row.value)}  {scores}  final loss "
                f"{row.final_loss:.6g}  {row.seconds:.2f} s",
                flush=True,
            )
        self.printed = len(progress.rows)
        if self.show:
            _sweep_progress(progress, sys.stderr)


def run_sweep(args: argparse.Namespace) -> int:
    """`nnviz sweep`: run the sweep(s), print aligned tables, write CSV, PNG and SVG files."""
    import joblib

    from .core import sweep as sweeps

    if args.jobs == 0:
        return usage_error("nnviz", "--jobs must be at least 1 (or -1 for every CPU)")
    if args.seeds is not None and args.seeds > 1:
        return usage_error(
            "nnviz", "a sweep trains several weight seeds with --repeats K, not --seeds"
        )
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
        # values that mix regression and classification: one table (and files) per task
        plan = sweeps.split_by_task(
            sweeps.Sweep(param, values, config_from_args(args), repeats=args.repeats)
        )

    backend = sweeps.fast_start_backend() if args.backend == "auto" else args.backend

    def chosen_backend() -> contextlib.AbstractContextManager:
        """A parallel_config applies only at its first `with`: a new one for each use."""
        return joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext()

    check_out(args.out)
    address = args.cluster.strip()
    cluster = None if address == LOCAL else Cluster(address, args.retries, args.cluster_timeout)
    with chosen_backend():
        workers = sweeps.bounded_jobs(args.jobs)
    if args.jobs is not None and args.jobs > workers:
        print(
            f"nnviz: --jobs {args.jobs} is more than the {cpu_count()} CPUs here; using {workers}",
            file=sys.stderr,
        )
    budget = args.memory_budget or memory_budget()
    if args.dry_run:
        configs = [config for sweep in plan for row in sweep.configs() for config in row]
        trainings = len(sweeps.plan(configs))
        at_once = max(1, min(workers, trainings))
        print(f"nnviz: {len(configs)} runs in {trainings} trainings, {at_once} at once")
        largest = largest_run(configs)
        dry_run(estimate(largest, views=False, replay=False), budget, at_once)
        check_budget(largest, at_once, budget, views=False, replay=False)
        return 0
    # forked now, while this process has one thread and no Qt: it imports Qt while we train
    plotter = _Plotter(Path(args.out)) if args.out and not args.no_plots else None
    try:
        return _sweep_and_write(args, plan, workers, budget, chosen_backend, cluster, plotter)
    finally:
        if plotter is not None:
            plotter.close()


def _sweep_and_write(args, plan, workers, budget, chosen_backend, cluster, plotter) -> int:
    from .core import sweep as sweeps

    show = sys.stderr.isatty()
    shown = (lambda p: _sweep_progress(p, sys.stderr)) if show else None
    if cluster is not None:
        shown = _RowPrinter(plan, show)
    progress = _both(shown, plotter.watch if plotter is not None else None)
    started = time.perf_counter()
    try:
        with chosen_backend():
            results = sweeps.run_sweeps(
                plan, n_jobs=workers, progress=progress, memory_budget=budget, cluster=cluster
            )
    except KeyboardInterrupt:
        if show:
            sys.stderr.write("\n")
        print("nnviz: sweep interrupted", file=sys.stderr)
        return 130
    except sweeps.SweepFailed as error:
        if show:
            sys.stderr.write("\n")
        kept = sum(len(result.rows) for result in error.results)
        written = ""
        if args.out:
            from .core.files import write_text

            for result in error.results:
                write_text(Path(args.out) / f"{result.name}.csv", result.csv_text())
            rows = "1 finished row is" if kept == 1 else f"{kept} finished rows are"
            written = f"; the {rows} in {Path(args.out)}" if kept else "; no row finished"
        print(f"nnviz: sweep failed: {error}{written}", file=sys.stderr)
        return EXIT_SWEEP_FAILED
    if show:
        sys.stderr.write("\n")
    for result in results:
        print(result.text_table())
        print()
    runs = sum(len(row.runs) for result in results for row in result.rows)
    print(f"nnviz: {runs} runs in {time.perf_counter() - started:.2f} s")
    if args.out:
        written = _write_sweep_files(results, Path(args.out), plotter, plots=not args.no_plots)
        print(f"wrote {len(written)} files to {Path(args.out)}")
    return 0


def _write_sweep_files(
    results, out: Path, plotter: _Plotter | None = None, *, plots: bool = True
) -> list[Path]:
    """<name>.csv, and unless `plots` is False .png and .svg, per result; the plots come from
    the window's SweepView, drawn by `plotter` (or here)."""
    from .core.files import write_text

    written = [write_text(out / f"{result.name}.csv", result.csv_text()) for result in results]
    if not plots:
        return written
    drawn, skipped = plotter.draw(results) if plotter is not None else _draw_plots(results, out)
    if skipped:  # a headless install without Qt: the tables are still written
        print(f"nnviz: plots skipped ({skipped}); the CSV tables are written", file=sys.stderr)
    return written + drawn


def _both(*callbacks):
    """One progress callback calling each of `callbacks` that is not None (None if none is)."""
    chosen = [callback for callback in callbacks if callback is not None]
    if not chosen:
        return None
    return lambda progress: [callback(progress) for callback in chosen]


def _draw_plots(results, out: Path) -> tuple[list[Path], str]:
    """Each result's PNG and SVG plot, and why there are none ("" when drawn)."""
    try:
        from .gui.plots import ensure_application, quiet_offscreen
        from .gui.views.sweep_view import save_sweep_plot
    except ImportError as error:
        return [], str(error)

    app = ensure_application()  # offscreen when there is no display
    written: list[Path] = []
    with quiet_offscreen():
        for result in results:
            written += save_sweep_plot(
                result, out / f"{result.name}.png", out / f"{result.name}.svg"
            )
        app.processEvents()  # let the views' deferred deletes run
    return written, ""


class _Plotter:
    """Draws a sweep's plots into `out` in a process forked at the start, which imports Qt and
    pyqtgraph (about 0.6 s) while this process loads the data, and draws each table as soon as
    its rows have all finished (`watch`, from the sweep's progress), while the rest train.

    Only where forking is safe here (`fast_start_backend`: Linux, one thread, no Qt); otherwise
    `draw` draws everything in this process at the end, as before. The child ignores Ctrl-C
    (this process ends it)."""

    def __init__(self, out: Path) -> None:
        import multiprocessing

        from .core.sweep import fast_start_backend

        self.out = out
        self._connection = None
        self._sent: list[str] = []
        if fast_start_backend() != "multiprocessing":
            return
        context = multiprocessing.get_context("fork")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=_serve_plots, args=(child,), name="nnviz-plots", daemon=True
        )
        self._process.start()
        child.close()

    def watch(self, progress) -> None:
        """A sweep progress callback: hand every table that has finished to the child."""
        if self._connection is not None:
            for result in progress.tables:
                if result.name not in self._sent:
                    self._sent.append(result.name)
                    self._connection.send((result, self.out))

    def draw(self, results) -> tuple[list[Path], str]:
        """The plots of `results` (those not sent yet are sent now), and why there are none."""
        if self._connection is None:
            return _draw_plots(results, self.out)
        try:
            for result in results:
                if result.name not in self._sent:
                    self._sent.append(result.name)
                    self._connection.send((result, self.out))
            written: list[Path] = []
            skipped = ""
            for _ in self._sent:
                paths, why = self._connection.recv()
                written += paths
                skipped = skipped or why
            return written, skipped
        except (EOFError, OSError):  # the child died (killed, out of memory): draw here
            self._connection = None
            return _draw_plots(results, self.out)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.send(None)
            self._process.join(timeout=5)
            self._connection = None


def _serve_plots(connection) -> None:
    """The plotting child: import the plot code at once, then draw each table it is sent, in
    order, until None. A reader thread takes the requests, so the sweep never waits on a send
    while a plot is drawn."""
    import importlib
    import queue
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        with contextlib.suppress(EOFError, OSError):  # the sweep's process is gone: stop
            while (request := connection.recv()) is not None:
                requests.put(request)
        requests.put(None)

    threading.Thread(target=read, daemon=True).start()
    with contextlib.suppress(ImportError):  # reported when asked to draw
        for module in ("plots", "views.sweep_view"):
            importlib.import_module(f"{__package__}.gui.{module}")
    while (request := requests.get()) is not None:
        result, out = request
        connection.send(_draw_plots([result], out))
