"""Sweeps: train the same setup again and again, changing one `Config` field at a time.

This is the article's "Experiments" section as a function. A sweep varies one field over a list of
values, keeps every other field, and records for each value the train and test AUC, accuracy and
misclassification rate, the final train loss, the training seconds and whether training diverged.
A regression sweep (`plane`, `gauss-reg`, a CSV target) records the train and test R² in place of
AUC, accuracy and misclassification, which a linear output does not have, and its table and CSV
have only the columns it measures (`SweepResult.metrics()`); final_loss is then the MSE:

    from nnviz.core.sweep import run_sweep, run_sweeps, article_tables

    result = run_sweep("hidden", [1, 2, 5, 10], Config.preset("seed", iterations=2000))
    print(result.text_table())
    tables = run_sweeps(article_tables())  # the article's three tables, in one go
    tables[2].csv_text()                   # param,value,train_auc,...,diverged

Every row equals an independent run of its configuration, `Trainer(config)` trained with
`step(config.iterations)` and then `evaluate()`, bit for bit in every metric column except
`seconds` (the wall time of the training on whichever process or cluster worker ran it), whether
the sweep ran serially, in parallel or on a cluster and in whatever order the runs finished
(`independent_run` is that definition). Speed comes only from doing less work, never from
different arithmetic:

- Runs that differ only in `iterations` (and `threshold`, which training never reads) share one
  trajectory: one `Trainer` advances to each requested iteration count in increasing order and is
  measured there. An iterations sweep is therefore a single run, and a configuration that recurs
  across tables (the article's default 10000 iterations, 5 hidden nodes, lr 0.1 appears in all
  three) is trained once.
- Runs that differ only in fields a `BatchedTrainer` stacks (weight seed, learning rate, momentum,
  L1, L2: repeats, and sweeps of those fields) train together (`batches`, `run_batch`), one set of
  NumPy calls per iteration for all, each network bit for bit its own Trainer, whatever
  iterations each is measured at: a network leaves the stack after its last row, and the last
  one left goes on in its own Trainer. Stacking removes the per-call overhead, not the
  arithmetic: every network keeps its own exp, elementwise passes and BLAS calls, or its bits
  would change. It pays where a network's arrays are small (mini-batches of 32), while the
  article's full batch of 750 points through 5 units is mostly that arithmetic already (about
  15 us a network-iteration in a stack against 21 us in a Trainer); see
  benchmarks/bench_batched.py. Wide networks are not stacked at all.
- The remaining runs go to worker processes through joblib, longest first, on data the caller
  loaded once (`cluster.Inputs`). Under joblib's multiprocessing backend where processes fork
  (`nnviz sweep` on Linux) the sweep forks a pool of its own, which hands back each job's rows as
  it finishes. `n_jobs` defaults to an outer `joblib.parallel_config(n_jobs=...)` if there is
  one, and to 2 otherwise.

`repeats=K` trains each configuration with the weight seeds `weight_seed, weight_seed + 1, ...,
weight_seed + K - 1`; a row then reports the mean of each metric (`row.test_auc`) and its sample
standard deviation, minimum and maximum (`row.std("test_auc")`, `row.min(...)`, `row.max(...)`).
At lr 0.5 and 1.0 the seed setup is chaotic, and a single run can mislead.

Progress and cancellation: `progress` is called with a `SweepProgress` as work completes, at
most about ten times a second (from a helper thread while workers run). `cancel` is a callable
returning True, or a `threading.Event`; it is checked every 20 ms, and once set the workers stop
between chunks of training (about 50 ms each) and `run_sweep` raises `SweepCancelled`, well
within a second. (A worker process that is still starting, the first time loky starts one,
finishes starting first.)

Running on a cluster
--------------------
`run_sweeps(sweeps, cluster="tcp://scheduler:8786")` runs the jobs on a dask cluster, and
`cluster="ray://head:10001"` on a ray cluster (`nnviz.core.cluster`, `pip install "nnviz[dask]"`
or `"nnviz[ray]"`): the caller loads every dataset and initial
weights file once and ships the arrays with the work, rows arrive in `SweepProgress.rows` as their
jobs finish, a failed job is retried (`Cluster(address, retries=2)`), and a sweep that cannot
finish raises `SweepFailed`, which carries every finished row. Rows computed on another machine
are bit-for-bit reproducible there, but a different CPU or BLAS may round differently from this
one.

Without `cluster`, `run_sweep` never names a joblib backend: it asks joblib for processes
(`prefer="processes"`), which is only a hint, so whatever an outer `joblib.parallel_config`
selects wins (the `nnviz sweep` command itself picks forked workers where that is safe, see
`fast_start_backend`, or the one given with `--backend`). joblib's configuration is thread-local
and its workers see progress and cancel only through the caller's temporary folder, which is why
clusters go through `cluster=` instead.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .budget import Budget, check_runs, cpu_count
from .cluster import Cluster, ClusterError, Inputs, cluster_spec, job_name, run_on_cluster
from .config import Config, ConfigError, field_names
from .datasets import load_dataset
from .spread import spread
from .tasks import stackable
from .trainer import Trainer

if TYPE_CHECKING:
    from .batched import Network

#: The metrics of a classification row, in the order of the CSV columns (the article's tables).
METRICS = (
    "train_auc",
    "train_accuracy",
    "train_misclassification",
    "test_auc",
    "test_accuracy",
    "test_misclassification",
    "final_loss",
    "seconds",
)
#: The metrics of a regression row: R² stands for AUC, accuracy and misclassification, which
#: a linear output does not have; final_loss is the MSE.
REGRESSION_METRICS = ("train_r2", "test_r2", "final_loss", "seconds")
#: Every metric a RunResult holds (the other task's are NaN).
ALL_METRICS = (*METRICS[:6], "train_r2", "test_r2", *METRICS[6:])
#: The CSV columns of a classification sweep; with repeats, `<metric>_std/_min/_max` and
#: `repeats` follow. A regression sweep has REGRESSION_METRICS in place of METRICS.
COLUMNS = ("param", "value", *METRICS, "diverged")
#: How the metrics head a printed table.
METRIC_HEADERS = {
    "train_auc": "train AUC",
    "train_accuracy": "train acc",
    "train_misclassification": "train miscl",
    "test_auc": "test AUC",
    "test_accuracy": "test acc",
    "test_misclassification": "test miscl",
    "train_r2": "train R²",
    "test_r2": "test R²",
    "final_loss": "final loss",
    "seconds": "seconds",
}
STATISTICS = ("std", "min", "max")
#: Workers when neither the caller nor an outer joblib.parallel_config says: both cores.
DEFAULT_JOBS = 2
#: The most runs (values x repeats) a sweep, or several run together, may ask for: building
#: 100,000 configurations alone takes 13 s, and 10,000 runs of the seed setup take hours.
MAX_RUNS = 10_000
#: joblib's backends whose workers run on this machine, which has only so many CPUs.
LOCAL_BACKENDS = ("LokyBackend", "MultiprocessingBackend", "ThreadingBackend", "SequentialBackend")
#: How often the caller's `cancel` is looked at, and the training time between stop checks.
CANCEL_POLL_SECONDS = 0.02
CHUNK_SECONDS = 0.05
#: The trainer's history is not needed; recording it less often saves about 3%.
_NO_HISTORY = 1 << 30

#: The article's experiment tables: (file name stem, field, values).
ARTICLE_TABLES = (
    ("table1_iterations", "iterations", (1, 10, 100, 1000, 5000, 10000, 20000)),
    ("table2_hidden", "hidden", (1, 2, 3, 5, 10, 20, 50)),
    ("table3_learning_rate", "learning_rate", (0.001, 0.01, 0.1, 0.5, 1.0)),
)
ARTICLE_ITERATIONS = 10000

#: How fields read in tables and plots.
FIELD_LABELS = {
    "iterations": "gradient-descent iterations",
    "hidden": "hidden nodes",
    "learning_rate": "learning rate",
}


class SweepCancelled(Exception):
    """Raised by `run_sweep`/`run_sweeps` when their `cancel` was set before they finished."""


class SweepFailed(RuntimeError):
    """A sweep on a cluster that could not finish: the message names the job and the worker's
    error; `results` holds, per sweep, every row that did finish (hours of work, kept)."""

    def __init__(self, message: str, results: list[SweepResult]) -> None:
        super().__init__(message)
        self.results = results


# -- what a sweep asks for --------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """One field of `base` set to each of `values`, each trained with `repeats` weight seeds.

    Building a Sweep validates every configuration it will train, so a value the `Config` refuses
    raises `ConfigError` here, before any work starts.
    """

    param: str
    values: tuple[Any, ...]
    base: Config = dataclasses.field(default_factory=Config)
    repeats: int = 1
    name: str = "sweep"

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        if self.param not in field_names():
            raise ConfigError(
                "param", self.param, f"a field of Config ({', '.join(field_names())})"
            )
        if not self.values:
            raise ConfigError("values", self.values, "at least one value to sweep")
        if not isinstance(self.repeats, int) or isinstance(self.repeats, bool) or self.repeats < 1:
            raise ConfigError("repeats", self.repeats, "an integer >= 1")
        runs = len(self.values) * self.repeats
        if runs > MAX_RUNS:
            raise ConfigError(
                "repeats",
                self.repeats,
                f"at most {MAX_RUNS:,} runs in a sweep; {len(self.values):,} values x "
                f"{self.repeats:,} repeats is {runs:,}",
            )
        if self.repeats > 1 and self.param == "weight_seed":
            raise ConfigError(
                "repeats", self.repeats, "1 when sweeping weight_seed (repeats vary the seed)"
            )
        self.configs()  # validates every value now

    def configs(self) -> tuple[tuple[Config, ...], ...]:
        """The configurations to train: one tuple of `repeats` seeds per value."""
        rows = []
        for value in self.values:
            config = self.base.replace(**{self.param: value})
            seed = config.weight_seed
            rows.append(
                tuple(
                    config if k == 0 else config.replace(weight_seed=seed + k)
                    for k in range(self.repeats)
                )
            )
        return tuple(rows)

    @property
    def label(self) -> str:
        return field_label(self.param)


def task_metrics(task: str) -> tuple[str, ...]:
    """The metrics a sweep of this task ("binary", "multiclass", "regression") reports."""
    return REGRESSION_METRICS if task == "regression" else METRICS


def field_label(param: str) -> str:
    """A field as a person reads it: learning_rate -> "learning rate"."""
    return FIELD_LABELS.get(param, param.replace("_", " "))


def article_tables(base: Config | None = None, repeats: int = 1) -> tuple[Sweep, Sweep, Sweep]:
    """The article's three experiment tables on `base` (the seed preset at 10000 iterations).

    Table 1 varies the iterations (1 to 20000), table 2 the hidden nodes (1 to 50) and table 3 the
    learning rate (0.001 to 1.0); everything else is `base`.
    """
    if base is None:
        base = Config.preset("seed", iterations=ARTICLE_ITERATIONS)
    return tuple(
        Sweep(param, values, base, repeats=repeats, name=name)
        for name, param, values in ARTICLE_TABLES
    )  # type: ignore[return-value]


def split_by_task(sweep: Sweep) -> list[Sweep]:
    """One sweep per kind of task among `sweep`'s values, in the order they first appear,
    named `<name>-regression` and `<name>-classification`; `[sweep]` itself when all share one.

    A dataset sweep from a regression setup may name classification datasets too; one table has
    either R² or AUC columns, so the other kind's rows would read n/a (nan in the CSV). A CSV
    dataset counts as classification, its task being unknown until the file is read.
    """
    kinds: dict[str, list[Any]] = {}
    for value, seeds in zip(sweep.values, sweep.configs()):
        task = seeds[0].task
        kind = "regression" if task is not None and task[0] == "regression" else "classification"
        kinds.setdefault(kind, []).append(value)
    if len(kinds) == 1:
        return [sweep]
    return [
        Sweep(sweep.param, values, sweep.base, repeats=sweep.repeats, name=f"{sweep.name}-{kind}")
        for kind, values in kinds.items()
    ]


def parse_values(param: str, text: str) -> tuple[Any, ...]:
    """Values typed as text ("1,2,5" or, for several hidden layers, "8,4; 16,16") for `param`.

    Numbers become int or float after the field's type; the values are not yet validated against
    the Config (`Sweep` does that). Raises ConfigError for an unknown field, an empty list or a
    value of the wrong type.
    """
    param = param.strip().replace("-", "_")
    if param not in field_names():
        raise ConfigError("param", param, f"a field of Config ({', '.join(field_names())})")
    separator = ";" if param == "hidden" and ";" in text else ","
    parts = [part.strip() for part in text.split(separator)]
    if not any(parts):
        raise ConfigError("values", text, "a comma-separated list such as 1,2,5")
    if not all(parts):
        raise ConfigError("values", text, "no empty entries in the comma-separated list")
    kind = type(getattr(Config(), param))
    values = []
    for part in parts:
        if param == "hidden":
            values.append(Config(hidden=part.replace(" ", "")).hidden if "," in part else part)
            if not isinstance(values[-1], tuple):
                values[-1] = _number(param, part, int)
        elif kind is int:
            values.append(_number(param, part, int))
        elif kind is float:
            values.append(_number(param, part, float))
        else:  # strings, and the optional paths that default to None
            values.append(part)
    return tuple(values)


def _number(param: str, text: str, kind: type) -> int | float:
    try:
        return kind(text)
    except ValueError:
        pass
    if kind is int:  # "1e4" or "100.0" are fine when they are whole numbers
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number == int(number):
            return int(number)
    raise ConfigError(param, text, f"{'an integer' if kind is int else 'a number'}")


# -- what a sweep gives ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """One trained configuration, measured: what `Trainer(config)` + `evaluate()` gives."""

    config: Config
    iteration: int
    diverged_at: int | None
    train_auc: float
    train_accuracy: float
    train_misclassification: float
    test_auc: float
    test_accuracy: float
    test_misclassification: float
    final_loss: float
    seconds: float
    # Left out of ==: a classification's NaN unpickled from a worker is a new float, and NaN !=
    # NaN, so equal runs would compare unequal. R² is a function of the trained weights, which
    # the config, iteration and the other metrics already pin down.
    train_r2: float = dataclasses.field(default=math.nan, compare=False)
    test_r2: float = dataclasses.field(default=math.nan, compare=False)
    #: "binary", "multiclass" or "regression": which metrics apply (the others are NaN).
    task: str = "binary"

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None


@dataclass(frozen=True)
class SweepRow:
    """One value of the swept field: its runs (one per weight seed) and their statistics.

    `row.test_auc` and the other metric attributes are means over the runs; with one run they are
    that run's numbers exactly. `std` is the sample standard deviation (0 with one run). Each
    statistic is `core.spread`'s: a run whose value is undefined (NaN) is left out.
    """

    param: str
    value: Any
    runs: tuple[RunResult, ...]

    @property
    def config(self) -> Config:
        """The configuration of the first seed: the one a double-click in the window loads."""
        return self.runs[0].config

    @property
    def diverged(self) -> int:
        """How many of the row's runs diverged (0 or 1 without repeats)."""
        return sum(run.diverged for run in self.runs)

    def values_of(self, metric: str) -> np.ndarray:
        if metric not in ALL_METRICS:
            raise KeyError(f"{metric!r} is not one of {', '.join(ALL_METRICS)}")
        return np.array([getattr(run, metric) for run in self.runs], dtype=float)

    def mean(self, metric: str) -> float:
        return spread(self.values_of(metric)).mean

    def std(self, metric: str) -> float:
        return spread(self.values_of(metric)).sd

    def min(self, metric: str) -> float:
        return spread(self.values_of(metric)).min

    def max(self, metric: str) -> float:
        return spread(self.values_of(metric)).max

    def stat(self, metric: str, statistic: str = "mean") -> float:
        return getattr(self, statistic)(metric)

    # The metric attributes (means), spelled out for readers and type checkers.
    @property
    def train_auc(self) -> float:
        return self.mean("train_auc")

    @property
    def train_accuracy(self) -> float:
        return self.mean("train_accuracy")

    @property
    def train_misclassification(self) -> float:
        return self.mean("train_misclassification")

    @property
    def test_auc(self) -> float:
        return self.mean("test_auc")

    @property
    def test_accuracy(self) -> float:
        return self.mean("test_accuracy")

    @property
    def test_misclassification(self) -> float:
        return self.mean("test_misclassification")

    @property
    def train_r2(self) -> float:
        return self.mean("train_r2")

    @property
    def test_r2(self) -> float:
        return self.mean("test_r2")

    @property
    def final_loss(self) -> float:
        return self.mean("final_loss")

    @property
    def seconds(self) -> float:
        return self.mean("seconds")


@dataclass(frozen=True)
class SweepResult:
    """The rows of one sweep, in the order of its values."""

    sweep: Sweep
    rows: tuple[SweepRow, ...]

    @property
    def param(self) -> str:
        return self.sweep.param

    @property
    def repeats(self) -> int:
        return self.sweep.repeats

    @property
    def name(self) -> str:
        return self.sweep.name

    @property
    def task(self) -> str:
        """The task its runs measured; before any row, the one its dataset implies (a CSV file
        counts as binary until read)."""
        for row in self.rows:
            return row.runs[0].task
        return (self.sweep.base.task or ("binary", 2))[0]

    def metrics(self) -> tuple[str, ...]:
        """The metric columns, in order: METRICS, or REGRESSION_METRICS for a regression."""
        return task_metrics(self.task)

    def columns(self) -> tuple[str, ...]:
        """The CSV header: param, value, `metrics()`, diverged, then with repeats
        `<metric>_std/_min/_max` and `repeats`."""
        metrics = self.metrics()
        columns = ("param", "value", *metrics, "diverged")
        if self.repeats == 1:
            return columns
        extra = tuple(f"{m}_{s}" for m in metrics for s in STATISTICS)
        return (*columns, *extra, "repeats")

    def table(self, rows: Sequence[SweepRow] | None = None) -> list[list[str]]:
        """The CSV cells of `rows` (default all), as text: floats in shortest round-trip form."""
        table = []
        metrics = self.metrics()
        for row in self.rows if rows is None else rows:
            cells = [row.param, value_text(row.value)]
            cells += [_float_text(row.mean(m)) for m in metrics]
            cells.append(str(row.diverged))
            if self.repeats > 1:
                cells += [_float_text(row.stat(m, s)) for m in metrics for s in STATISTICS]
                cells.append(str(len(row.runs)))
            table.append(cells)
        return table

    def csv_text(self, rows: Sequence[SweepRow] | None = None) -> str:
        """The sweep as CSV (header first), as written to sweep.csv."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns())
        writer.writerows(self.table(rows))
        return buffer.getvalue()

    def text_table(self, title: str | None = None) -> str:
        """An aligned plain-text table, as `nnviz sweep` prints it."""
        metrics = self.metrics()
        headers = [self.sweep.label, *(METRIC_HEADERS[m] for m in metrics), "diverged"]
        body = []
        for row in self.rows:
            cells = [value_text(row.value)]
            for metric in metrics:
                digits = 2 if metric == "seconds" else (6 if metric == "final_loss" else 4)
                text = _fixed(row.mean(metric), digits, metric == "final_loss")
                if self.repeats > 1 and metric != "seconds":
                    text += " ± " + _fixed(row.std(metric), digits, metric == "final_loss")
                cells.append(text)
            cells.append(
                str(row.diverged) if self.repeats > 1 else ("yes" if row.diverged else "no")
            )
            body.append(cells)
        widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]
        if title is None:
            title = self.title()
            if self.repeats > 1:
                title += f"; cells are mean ± standard deviation over {self.repeats} seeds"
        lines = [title]
        lines.append("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in body]
        return "\n".join(lines)

    def title(self) -> str:
        base = self.sweep.base
        fixed = {
            "iterations": f"{base.iterations} iterations",
            "hidden": f"hidden {value_text(base.hidden)}",
            "learning_rate": f"lr {base.learning_rate:g}",
        }
        context = ", ".join(text for name, text in fixed.items() if name != self.param)
        seeds = f", {self.repeats} weight seeds" if self.repeats > 1 else ""
        return f"{self.name}: {self.sweep.label} ({context}{seeds})"


def value_text(value: Any) -> str:
    """A swept value as it appears in tables: 0.001, 5, 8,4 (two hidden layers)."""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _float_text(value: float) -> str:
    return repr(float(value))


def _fixed(value: float, digits: int, general: bool = False) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.{digits}g}" if general else f"{value:.{digits}f}"


@dataclass(frozen=True)
class SweepProgress:
    """How far a sweep is: trainings and training iterations done out of the total."""

    trainings_done: int
    trainings_total: int
    iterations_done: int
    iterations_total: int
    seconds: float
    #: Every row finished so far, as (index of its sweep, row), in the order they finished.
    rows: tuple[tuple[int, SweepRow], ...] = ()
    #: Every sweep whose rows have all finished, with its rows in the order of its values.
    tables: tuple[SweepResult, ...] = ()

    @property
    def fraction(self) -> float:
        if self.iterations_total == 0:
            return self.trainings_done / max(self.trainings_total, 1)
        return self.iterations_done / self.iterations_total

    def text(self) -> str:
        return (
            f"{self.trainings_done}/{self.trainings_total} trainings, "
            f"{self.iterations_done:,}/{self.iterations_total:,} iterations "
            f"({100 * self.fraction:.0f}%), {self.seconds:.1f} s"
        )


# -- the plan: one training job per trajectory -------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One `Trainer` run: `config` trained to each checkpoint in turn and measured there.

    `evaluations` holds, per checkpoint in increasing order, the requested configurations that
    end there (they differ from `config` only in iterations and threshold).
    """

    config: Config
    evaluations: tuple[tuple[int, tuple[Config, ...]], ...]

    @property
    def iterations(self) -> int:
        return self.evaluations[-1][0]

    @property
    def cost(self) -> float:
        """Rough seconds of work, for handing out the longest jobs first."""
        size = sum((a + 1) * b for a, b in zip((2, *self.config.hidden), (*self.config.hidden, 1)))
        train = round(self.config.samples * (1 - self.config.test_size))
        batch = self.config.batch_size or train
        return self.iterations * (1.0 + batch * size / 400.0)


def _trajectory_key(config: Config) -> Config:
    """The config less the fields training never reads: equal keys share one trajectory."""
    return dataclasses.replace(config, iterations=0, threshold=0.5)


def plan(configs: Sequence[Config]) -> list[Job]:
    """The jobs that train every distinct configuration in `configs`, longest first.

    Configurations equal up to iterations and threshold share one job; duplicates are trained once.
    """
    groups: dict[Config, dict[int, dict[Config, None]]] = {}
    for config in configs:
        checkpoints = groups.setdefault(_trajectory_key(config), {})
        checkpoints.setdefault(config.iterations, {})[config] = None
    jobs = []
    for checkpoints in groups.values():
        evaluations = tuple((it, tuple(checkpoints[it])) for it in sorted(checkpoints))
        jobs.append(Job(evaluations[-1][1][0], evaluations))
    jobs.sort(key=lambda job: job.cost, reverse=True)
    return jobs


#: Networks stacked in one batch at most, and at least (fewer do not pay for the stacking), and
#: the elements one stacked array may hold (networks x samples per batch x hidden units): past
#: about half a megabyte the arrays leave the core's cache and a stack trains no faster than one
#: Trainer after another (benchmarks/bench_batched.py).
MAX_BATCH = 64
MIN_BATCH = 4
STACK_ELEMENTS = 1 << 16


@dataclass(frozen=True)
class BatchJob:
    """Jobs trained together by one `BatchedTrainer` (`run_batch`). It reads like a Job where a
    sweep counts and hands out work: its `iterations` and `cost` are its jobs' together."""

    jobs: tuple[Job, ...]

    @property
    def config(self) -> Config:
        return self.jobs[0].config

    @property
    def iterations(self) -> int:
        return sum(job.iterations for job in self.jobs)

    @property
    def cost(self) -> float:
        return sum(job.cost for job in self.jobs)


def batch_limit(config: Config) -> int:
    """How many networks of `config`'s architecture and batch size to stack (1: none)."""
    train = round(config.samples * (1 - config.test_size))
    samples = config.batch_size if 0 < config.batch_size < train else train
    limit = min(MAX_BATCH, STACK_ELEMENTS // max(1, samples * sum(config.hidden)))
    return limit if limit >= MIN_BATCH else 1


def batches(jobs: Sequence[Job], workers: int = 1) -> list[Job | BatchJob]:
    """`jobs`, with those that can train together grouped into BatchJobs; the most work first.

    Jobs batch when their configs differ only in fields a BatchedTrainer stacks
    (`batched.batch_key`), whatever iterations they are measured at: a network leaves the stack
    after its last row. A group is split into batches of at most `batch_limit` networks, and a
    group holding more than one worker's share of all the work into at least `workers` batches,
    so that no worker waits (or not at all, if that leaves fewer than MIN_BATCH networks in a
    batch).
    """
    from .batched import batch_key

    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        if not stackable(job.config):  # several classes, a target or crosses: one by one
            groups[(job,)] = [job]
            continue
        groups.setdefault((batch_key(job.config),), []).append(job)
    share = sum(job.cost for job in jobs) / max(1, workers)
    work: list[Job | BatchJob] = []
    for group in groups.values():
        count = math.ceil(len(group) / batch_limit(group[0].config))
        if sum(job.cost for job in group) > share:
            count = max(count, workers)
        if len(group) / count < MIN_BATCH:
            work += group
            continue
        group.sort(key=lambda job: job.iterations)  # networks that leave early, together
        ends = [round(i * len(group) / count) for i in range(count + 1)]
        work += [BatchJob(tuple(group[a:b])) for a, b in pairwise(ends)]
    work.sort(key=lambda job: job.cost, reverse=True)
    return work


# -- running one job (in a worker process, or in this one) -------------------------------------


def run_job(
    job: Job | BatchJob,
    stop: Callable[[], bool] | None = None,
    on_chunk: Callable[[int], None] | None = None,
    inputs: Inputs | None = None,
) -> dict[Config, RunResult] | None:
    """Train `job`, measuring each requested configuration at its checkpoint (a BatchJob:
    `run_batch`).

    Training advances in chunks of about CHUNK_SECONDS; `stop()` is checked between chunks and
    makes this return None. `on_chunk(n)` reports n more iterations trained. `inputs` holds the
    data and initial weights the caller loaded (on a cluster); without it they are read here.

    Chunks give the same weights as one long `advance`, with one exception: `Trainer.advance`
    ends a run whose loss is NaN/inf at the end of a call even when the weights are finite, so a
    chunk boundary can stop an overflowing run earlier than one `step(n)` would. A job whose
    trainer diverged therefore measures its remaining rows on independent runs
    (`independent_run`), which is exact and costs little: such runs stop early or are rare.
    """
    if isinstance(job, BatchJob):
        return run_batch(job.jobs, stop, on_chunk, inputs)
    trainer = _trainer(job.config, inputs, record_every=_NO_HISTORY)
    return _train_through(trainer, job.evaluations, stop, on_chunk, inputs)


def _train_through(
    trainer: Trainer,
    evaluations: Sequence[tuple[int, tuple[Config, ...]]],
    stop: Callable[[], bool] | None,
    on_chunk: Callable[[int], None] | None,
    inputs: Inputs | None,
) -> dict[Config, RunResult] | None:
    """`run_job`'s loop: train `trainer` to each checkpoint in turn and measure it there."""
    results: dict[Config, RunResult] = {}
    chunk = 16
    for checkpoint, configs in evaluations:
        while trainer.iteration < checkpoint and trainer.diverged_at is None:
            if stop is not None and stop():
                return None
            before = trainer.iteration
            started = time.perf_counter()
            trainer.advance(min(chunk, checkpoint - before))
            elapsed = time.perf_counter() - started
            # aim for CHUNK_SECONDS per chunk, growing at most 4x at a time
            chunk = max(16, min(4 * chunk, int(chunk * CHUNK_SECONDS / max(elapsed, 1e-6))))
            if on_chunk is not None:
                on_chunk(trainer.iteration - before)
        for config in configs:
            if trainer.diverged_at is not None:
                if stop is not None and stop():
                    return None
                results[config] = independent_run(config, inputs)
            else:
                trainer.update_config(config)
                results[config] = measure(trainer)
    return results


def run_batch(
    batch: Sequence[Job],
    stop: Callable[[], bool] | None = None,
    on_chunk: Callable[[int], None] | None = None,
    inputs: Inputs | None = None,
) -> dict[Config, RunResult] | None:
    """`run_job` for jobs trained together by a `BatchedTrainer`.

    The batch stops at every iteration any job is measured at; each network is measured at its
    own checkpoints as its own Trainer would be, bit for bit, and leaves the stack after its
    last one (`BatchedTrainer.retire`); the last network left goes on in its own Trainer
    (`Network.trainer()`, bit for bit). One that diverged is measured on independent runs, as in
    `run_job`. Training advances in chunks of about CHUNK_SECONDS for the whole batch;
    `on_chunk(n)` reports n more iterations of all its networks together.
    """
    from .batched import BatchedTrainer

    config = batch[0].config
    dataset = inputs.dataset(config) if inputs is not None else load_dataset(config)
    if not stackable(config, dataset):  # a CSV file of several classes or of a target
        merged: dict[Config, RunResult] = {}
        for job in batch:
            done = run_job(job, stop, on_chunk, inputs)
            if done is None:
                return None
            merged.update(done)
        return merged
    weights = inputs.initial_weights(config) if inputs is not None else None
    trainer = BatchedTrainer(
        [job.config for job in batch],
        dataset,
        record_every=_NO_HISTORY,
        initial_weights=None if weights is None else [weights] * len(batch),
    )
    wanted = [dict(job.evaluations) for job in batch]
    results: dict[Config, RunResult] = {}
    chunk = 16
    for checkpoint in sorted({iteration for job in batch for iteration, _ in job.evaluations}):
        while trainer.iteration < checkpoint and trainer.training:
            if stop is not None and stop():
                return None
            before, networks = trainer.iteration, len(trainer.training)
            started = time.perf_counter()
            trainer.advance(min(chunk, checkpoint - before))
            elapsed = time.perf_counter() - started
            chunk = max(16, min(4 * chunk, int(chunk * CHUNK_SECONDS / max(elapsed, 1e-6))))
            if on_chunk is not None:
                on_chunk((trainer.iteration - before) * networks)
        for k in range(len(batch)):
            for config in wanted[k].get(checkpoint, ()):
                if trainer[k].diverged_at is not None:
                    if stop is not None and stop():
                        return None
                    results[config] = independent_run(config, inputs)
                else:
                    trainer.update_config(k, config)
                    results[config] = measure(trainer[k])
        trainer.retire([k for k, job in enumerate(batch) if job.iterations <= checkpoint])
        if len(trainer.training) == 1:  # one network left: its own Trainer is quicker than a
            k = trainer.training[0]  # stack of one (NumPy's per-call cost is the stack's)
            later = [
                evaluation for evaluation in batch[k].evaluations if evaluation[0] > checkpoint
            ]
            done = _train_through(trainer[k].trainer(), later, stop, on_chunk, inputs)
            if done is None:
                return None
            results.update(done)
            trainer.retire([k])
            wanted[k] = {}
    return results


def independent_run(config: Config, inputs: Inputs | None = None) -> RunResult:
    """The definition of a row: `Trainer(config).step(config.iterations)`, then measured."""
    trainer = _trainer(config, inputs)
    trainer.step(config.iterations)
    return measure(trainer)


def _trainer(config: Config, inputs: Inputs | None, **options: Any) -> Trainer:
    """`Trainer(config)`, on the caller's loaded data and initial weights when it shipped them."""
    if inputs is None:
        return Trainer(config, **options)
    data, weights = inputs.dataset(config), inputs.initial_weights(config)
    return Trainer(config, data, initial_weights=weights, **options)


def measure(trainer: Trainer | Network) -> RunResult:
    """The sweep's numbers of a trainer's (or a batched network's) current weights: `trainer.evaluate()`'s fast mode
    (no classification reports), so they equal the full evaluation's bit for bit."""
    metrics = trainer.evaluate(full=False)
    train, test = metrics.train, metrics.test
    return RunResult(
        config=trainer.config,
        iteration=trainer.iteration,
        diverged_at=trainer.diverged_at,
        train_auc=train.auc,
        train_accuracy=train.accuracy,
        train_misclassification=train.misclassification,
        test_auc=test.auc,
        test_accuracy=test.accuracy,
        test_misclassification=test.misclassification,
        final_loss=train.loss,
        seconds=trainer.seconds,
        train_r2=getattr(train, "r2", math.nan),
        test_r2=getattr(test, "r2", math.nan),
        task=metrics.task,
    )


# -- running a sweep -------------------------------------------------------------------------

#: Files in a parallel sweep's temporary folder: the stop flag, and each job's iterations so far.
STOP_FILE = "stop"
PROGRESS_SECONDS = 0.1


class _Folder:
    """The temporary folder a parallel sweep shares with its workers on this machine.

    The caller creates `stop` to cancel; a worker writes `<job index>.progress` (its iterations so
    far) about every PROGRESS_SECONDS. Files work with every local joblib backend, need no
    server process, and cost microseconds per chunk of training.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def stop_requested(self) -> bool:
        return os.path.exists(os.path.join(self.path, STOP_FILE))

    def request_stop(self) -> None:
        Path(self.path, STOP_FILE).touch()

    def write_progress(self, index: int, iterations: int | None) -> None:
        """Record a job's iterations so far, or None when it has finished."""
        target = os.path.join(self.path, f"{index}.progress")
        temporary = f"{target}.{os.getpid()}.part"
        try:
            with open(temporary, "w") as handle:
                handle.write("done" if iterations is None else str(iterations))
            os.replace(temporary, target)
        except OSError:  # the folder is gone (the sweep has ended), or is on another machine
            pass

    def read_progress(self) -> dict[int, int | None]:
        """Each job's iterations so far (None: finished), as far as the workers wrote them."""
        found: dict[int, int | None] = {}
        try:
            names = os.listdir(self.path)
        except OSError:
            return found
        for name in names:
            if name.endswith(".progress"):
                try:
                    text = Path(self.path, name).read_text()
                    found[int(name.split(".")[0])] = None if text == "done" else int(text)
                except (OSError, ValueError):
                    continue
        return found


class _WorkerProgress:
    """`on_chunk` for a job in a worker process: writes its iterations to the shared folder."""

    def __init__(self, folder: _Folder, index: int) -> None:
        self.folder, self.index = folder, index
        self.trained = 0
        self.last = time.perf_counter()

    def __call__(self, n: int) -> None:
        self.trained += n
        now = time.perf_counter()
        if now - self.last >= PROGRESS_SECONDS:
            self.folder.write_progress(self.index, self.trained)
            self.last = now


def _run_indexed(
    index: int, job: Job, folder: str, inputs: Inputs
) -> tuple[int, dict[Config, RunResult] | None]:
    """The task a worker runs: the job's results (None if stopped), tagged with its index."""
    shared = _Folder(folder)
    results = run_job(job, shared.stop_requested, _WorkerProgress(shared, index), inputs)
    if results is not None:  # tell the caller now: some backends return results only at the end
        shared.write_progress(index, None)
    return index, results


def _as_callable(cancel: Any) -> Callable[[], bool] | None:
    if cancel is None:
        return None
    if hasattr(cancel, "is_set"):
        return cancel.is_set
    if callable(cancel):
        return cancel
    raise TypeError("cancel must be a callable returning bool or a threading.Event")


def effective_jobs(n_jobs: int | None = None) -> int:
    """`n_jobs`, else the n_jobs of an outer joblib.parallel_config, else DEFAULT_JOBS."""
    if n_jobs is not None:
        return n_jobs
    from joblib.parallel import get_active_backend

    configured = get_active_backend()[1]
    return DEFAULT_JOBS if configured is None else configured


def bounded_jobs(n_jobs: int | None = None) -> int:
    """`effective_jobs(n_jobs)`, checked, and at most this machine's CPUs (or DEFAULT_JOBS, if
    that is more) when the workers run here: joblib starts all of them at once, so --jobs 100000
    would fork 100,000 processes. Negative counts are joblib's (-1: every CPU). A cluster backend
    (dask, ray) gets the count unchanged."""
    if n_jobs is not None and (
        not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0
    ):
        raise ConfigError("n_jobs", n_jobs, "an integer other than 0 (-1: every CPU)")
    jobs = effective_jobs(n_jobs)
    from joblib.parallel import get_active_backend

    if type(get_active_backend(prefer="processes")[0]).__name__ not in LOCAL_BACKENDS:
        return jobs
    cpus = cpu_count()
    if jobs < 0:
        jobs = max(1, cpus + 1 + jobs)
    return min(jobs, max(cpus, DEFAULT_JOBS))


def fast_start_backend() -> str | None:
    """ "multiprocessing" where forked workers are safe here, else None (joblib's default, loky).

    loky starts each worker as a fresh interpreter that spends about a second importing
    scikit-learn before it trains; a forked worker starts at once with everything imported. Fork
    is safe only in a process with one thread and no Qt, on a platform that forks by default
    (Linux): the `nnviz sweep` command and plain scripts, never the window. The CLI and the
    benchmark use it as `joblib.parallel_config(backend=fast_start_backend())`.
    """
    import multiprocessing
    import sys

    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    if any(
        name.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6"} for name in sys.modules
    ):
        return None
    if multiprocessing.get_context().get_start_method() != "fork":
        return None
    return "multiprocessing"


def run_sweep(
    param: str,
    values: Sequence[Any],
    base: Config | None = None,
    *,
    repeats: int = 1,
    n_jobs: int | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    cancel: Callable[[], bool] | threading.Event | None = None,
    cluster: str | Cluster | None = None,
) -> SweepResult:
    """Train `base` with `param` set to each of `values` and measure every run (see the module)."""
    sweep = Sweep(param, tuple(values), base if base is not None else Config(), repeats)
    return run_sweeps([sweep], n_jobs=n_jobs, progress=progress, cancel=cancel, cluster=cluster)[0]


def run_sweeps(
    sweeps: Sequence[Sweep],
    *,
    n_jobs: int | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    cancel: Callable[[], bool] | threading.Event | None = None,
    memory_budget: Budget | int | str | None = None,
    cluster: str | Cluster | None = None,
) -> list[SweepResult]:
    """Run several sweeps together, training each distinct configuration once.

    `progress(SweepProgress)` is called as work completes, at most about ten times a second plus
    once at the start and the end; in a parallel run it may be called from a helper thread.
    `cancel` (a callable or a threading.Event) makes this raise SweepCancelled within a second.
    Before anything starts, `n_jobs` is bounded (`bounded_jobs`), the runs are at most MAX_RUNS,
    and the largest run times the workers running at once must fit `memory_budget` (see
    `nnviz.core.budget`), or ConfigError / BudgetError is raised.

    `cluster` ("local" or None: this machine; a dask scheduler or ray head address, or a
    `Cluster`: there) runs the jobs on that cluster, where a sweep that cannot finish raises SweepFailed.
    """
    cancelled = _as_callable(cancel)
    remote = cluster_spec(cluster)
    workers = bounded_jobs(n_jobs)
    runs = sum(len(sweep.values) * sweep.repeats for sweep in sweeps)
    if runs > MAX_RUNS:
        raise ConfigError("runs", runs, f"at most {MAX_RUNS:,} runs in the sweeps together")
    rows = _Rows(sweeps)
    requested = [config for table in rows.configs for row in table for config in row]
    jobs = batches(plan(requested), 1 if remote is None and workers == 1 else workers)
    check_runs(requested, max(1, min(workers, len(jobs))), memory_budget)
    tracker = _Tracker(jobs, progress, rows)
    if cancelled is not None and cancelled():
        raise SweepCancelled("the sweep was cancelled before it started")
    if remote is not None:
        _run_remote(remote, jobs, tracker, cancelled, sweeps[0].base if sweeps else Config())
    elif workers == 1:  # in this process and thread, with progress chunk by chunk
        rows.add(_run_here(jobs, tracker, cancelled))
    else:  # even a single job goes to a worker: a window's process keeps its GIL to itself
        # the data is loaded here once, before the workers start: forked ones inherit it and
        # scikit-learn (about a second to import), and no worker reads a file
        inputs = Inputs.load(job.config for job in jobs)
        rows.add(_run_parallel(jobs, workers, tracker, cancelled, inputs))
    return rows.results()


def _run_remote(
    remote: Cluster,
    jobs: Sequence[Job],
    tracker: _Tracker,
    cancelled: Callable[[], bool] | None,
    base: Config,
) -> None:
    """Run the jobs on a dask or ray cluster, on data loaded here once (see `nnviz.core.cluster`)."""
    inputs = Inputs.load(job.config for job in jobs)
    try:
        completed = run_on_cluster(
            remote,
            run_job,
            jobs,
            inputs,
            names=[_job_title(job, base) for job in jobs],
            on_done=tracker.finish,
            on_progress=tracker.update,
            cancelled=cancelled,
        )
    except ClusterError as error:
        raise SweepFailed(str(error), tracker.rows.results()) from None
    if not completed:
        raise SweepCancelled("the sweep was cancelled")


def _job_title(job: Job | BatchJob, base: Config) -> str:
    """How a failure message names a job: a stacked batch by its first network."""
    title = job_name(job.config, base)
    if isinstance(job, BatchJob) and len(job.jobs) > 1:
        title += f" (with {len(job.jobs) - 1} more networks stacked with it)"
    return title


class _Rows:
    """The sweeps' rows, assembled as their runs are measured, so a finished row shows at once."""

    def __init__(self, sweeps: Sequence[Sweep]) -> None:
        self.sweeps = sweeps
        self.configs = [sweep.configs() for sweep in sweeps]
        self.measured: dict[Config, RunResult] = {}
        self.missing: dict[tuple[int, int], int] = {}  # (sweep, row) -> runs still to measure
        self.needed_by: dict[Config, list[tuple[int, int]]] = {}
        for s, table in enumerate(self.configs):
            for r, configs in enumerate(table):
                self.missing[s, r] = len(set(configs))
                for config in set(configs):
                    self.needed_by.setdefault(config, []).append((s, r))
        self.finished: list[tuple[int, SweepRow]] = []

    def add(self, results: dict[Config, RunResult]) -> None:
        for config, run in results.items():
            if config in self.measured:
                continue
            self.measured[config] = run
            for s, r in self.needed_by.get(config, ()):
                self.missing[s, r] -= 1
                if self.missing[s, r] == 0:
                    self.finished.append((s, self._row(s, r)))

    def _row(self, s: int, r: int) -> SweepRow:
        sweep = self.sweeps[s]
        runs = tuple(self.measured[config] for config in self.configs[s][r])
        return SweepRow(sweep.param, sweep.values[r], runs)

    def complete(self) -> tuple[SweepResult, ...]:
        """The SweepResults of the sweeps whose rows have all finished."""
        return tuple(
            result
            for s, result in enumerate(self.results())
            if not any(self.missing[s, r] for r in range(len(result.sweep.values)))
        )

    def results(self) -> list[SweepResult]:
        """One SweepResult per sweep, with the rows finished so far, in the order of the values."""
        return [
            SweepResult(
                sweep,
                tuple(self._row(s, r) for r in range(len(sweep.values)) if not self.missing[s, r]),
            )
            for s, sweep in enumerate(self.sweeps)
        ]


class _Tracker:
    """Counts finished and running work and reports changes to the progress callback."""

    def __init__(
        self,
        jobs: Sequence[Job],
        progress: Callable[[SweepProgress], None] | None,
        rows: _Rows | None = None,
    ) -> None:
        self.jobs = jobs
        self.progress = progress
        self.rows = rows
        self.started = time.perf_counter()
        self.lock = threading.Lock()
        self.finished: set[int] = set()
        self.running: dict[int, int] = {}  # job index -> iterations trained so far
        self.last: tuple[int, int, int] | None = None
        self.tables: tuple[SweepResult, ...] = ()
        self.report()

    def update(self, index: int, iterations: int) -> None:
        with self.lock:
            self.running[index] = iterations
        self.report()

    def finish(self, index: int, results: dict[Config, RunResult] | None = None) -> None:
        with self.lock:
            self.finished.add(index)
            if results is not None and self.rows is not None:
                self.rows.add(results)
        self.report()

    def report(self) -> None:
        if self.progress is None:
            return
        with self.lock:  # callbacks come in order, never two at once
            done = sum(self.jobs[i].iterations for i in self.finished)
            done += sum(n for i, n in self.running.items() if i not in self.finished)
            rows = tuple(self.rows.finished) if self.rows is not None else ()
            now = (len(self.finished), done, len(rows))
            if now == self.last:
                return
            if self.last is None or len(rows) != self.last[2]:
                self.tables = self.rows.complete() if self.rows is not None else ()
            self.last = now
            self.progress(
                SweepProgress(
                    len(self.finished),
                    len(self.jobs),
                    done,
                    sum(job.iterations for job in self.jobs),
                    time.perf_counter() - self.started,
                    rows,
                    self.tables,
                )
            )


class _ChunkCounter:
    """`on_chunk` for a job run in this process: reports to the tracker every PROGRESS_SECONDS."""

    def __init__(self, tracker: _Tracker, index: int) -> None:
        self.tracker, self.index = tracker, index
        self.trained = 0
        self.last = time.perf_counter()

    def __call__(self, n: int) -> None:
        self.trained += n
        now = time.perf_counter()
        if now - self.last >= PROGRESS_SECONDS:
            self.tracker.update(self.index, self.trained)
            self.last = now


def _run_here(
    jobs: Sequence[Job], tracker: _Tracker, cancelled: Callable[[], bool] | None
) -> dict[Config, RunResult]:
    """Run the jobs one after another in this process, reporting progress as they train."""
    measured: dict[Config, RunResult] = {}
    for index, job in enumerate(jobs):
        results = run_job(job, cancelled, _ChunkCounter(tracker, index))
        if results is None:
            raise SweepCancelled("the sweep was cancelled")
        measured.update(results)
        tracker.finish(index, results)
    return measured


class _Watcher(threading.Thread):
    """Polls the caller's cancel (raising the workers' stop flag) and the workers' progress."""

    def __init__(
        self, folder: _Folder, cancelled: Callable[[], bool] | None, tracker: _Tracker
    ) -> None:
        super().__init__(name="nnviz-sweep-watcher", daemon=True)
        self.folder, self.cancelled, self.tracker = folder, cancelled, tracker
        self.stopping = threading.Event()  # cancel was seen: hand out no more jobs
        self.done = threading.Event()  # the sweep has ended: stop watching

    def run(self) -> None:
        last_progress = 0.0
        while not self.done.wait(CANCEL_POLL_SECONDS):
            if self.cancelled is not None and not self.stopping.is_set() and self.cancelled():
                self.folder.request_stop()
                self.stopping.set()
            now = time.perf_counter()
            if now - last_progress >= PROGRESS_SECONDS:
                last_progress = now
                for index, iterations in self.folder.read_progress().items():
                    if iterations is None:
                        self.tracker.finish(index)
                    else:
                        self.tracker.update(index, iterations)


class _Tasks:
    """The joblib tasks, handed out lazily so that nothing new starts once cancel is set.

    The watcher thread starts when joblib asks for the first task, which is after a
    multiprocessing backend has forked its workers: fork copies only the calling thread, and a
    process should fork while it has just one.
    """

    def __init__(self, jobs: Sequence[Job], watcher: _Watcher, inputs: Inputs) -> None:
        self.jobs, self.watcher, self.inputs = jobs, watcher, inputs

    def __iter__(self) -> Iterator[Any]:
        from joblib import delayed

        self.watcher.start()
        for index, job in enumerate(self.jobs):
            if self.watcher.stopping.is_set():
                return
            yield delayed(_run_indexed)(index, job, self.watcher.folder.path, self.inputs)


def _run_parallel(
    jobs: Sequence[Job],
    n_jobs: int,
    tracker: _Tracker,
    cancelled: Callable[[], bool] | None,
    inputs: Inputs,
) -> dict[Config, RunResult]:
    """Run the jobs through joblib: processes unless an outer parallel_config says otherwise."""
    import multiprocessing

    from joblib import Parallel
    from joblib.parallel import get_active_backend

    backend = get_active_backend(prefer="processes")[0]
    forks = multiprocessing.get_start_method() == "fork"
    if type(backend).__name__ == "MultiprocessingBackend" and forks:
        return _run_forked(jobs, n_jobs, tracker, cancelled, inputs)
    # Backends that cannot stream results (multiprocessing elsewhere, ray) deliver them all at
    # the end; progress still comes from the workers' files.
    streaming = getattr(backend, "supports_return_generator", False)
    measured: dict[Config, RunResult] = {}
    completed: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="nnviz-sweep-") as path:
        watcher = _Watcher(_Folder(path), cancelled, tracker)
        try:
            parallel = Parallel(
                n_jobs=n_jobs,
                prefer="processes",
                batch_size=1,
                return_as="generator_unordered" if streaming else "list",
            )
            for index, results in parallel(iter(_Tasks(jobs, watcher, inputs))):
                if results is not None:
                    measured.update(results)
                    completed.add(index)
                    tracker.finish(index, results)
        finally:
            watcher.done.set()
            if watcher.is_alive():
                watcher.join()
    if len(completed) < len(jobs):  # workers stopped, or jobs never handed out
        raise SweepCancelled("the sweep was cancelled")
    return measured


def _run_forked(
    jobs: Sequence[Job],
    n_jobs: int,
    tracker: _Tracker,
    cancelled: Callable[[], bool] | None,
    inputs: Inputs,
) -> dict[Config, RunResult]:
    """`_run_parallel` under joblib's multiprocessing backend where processes fork: the same
    forked processes from a multiprocessing Pool of our own, which hands each job's rows back as
    it finishes (joblib's hands them all back at the end) and starts no resource-tracker
    process beside the workers (joblib's memory-mapping pool does)."""
    import multiprocessing

    measured: dict[Config, RunResult] = {}
    completed: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="nnviz-sweep-") as path:
        watcher = _Watcher(_Folder(path), cancelled, tracker)
        tasks = [(index, job, path, inputs) for index, job in enumerate(jobs)]
        with multiprocessing.get_context("fork").Pool(min(n_jobs, len(jobs))) as pool:
            watcher.start()  # after the fork: fork copies only the calling thread
            try:  # a job asked to stop returns None at once, so cancel drains the queue fast
                for index, results in pool.imap_unordered(_run_task, tasks):
                    if results is not None:
                        measured.update(results)
                        completed.add(index)
                        tracker.finish(index, results)
            finally:
                watcher.done.set()
                watcher.join()
    if len(completed) < len(jobs):
        raise SweepCancelled("the sweep was cancelled")
    return measured


def _run_task(task: tuple[int, Job, str, Inputs]) -> tuple[int, dict[Config, RunResult] | None]:
    return _run_indexed(*task)
