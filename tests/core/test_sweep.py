"""Sweeps: rows equal independent Trainer runs bit for bit, serial or parallel; the article preset;
repeats; cancellation; and the `nnviz sweep` command."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import threading
import time

import joblib
import numpy as np
import pytest

from nnviz import Config, ConfigError, Trainer
from nnviz.core import sweep as sweep_module
from nnviz.core.sweep import (
    COLUMNS,
    MAX_BATCH,
    METRICS,
    Job,
    Sweep,
    SweepCancelled,
    SweepProgress,
    article_tables,
    batch_limit,
    batches,
    effective_jobs,
    measure,
    parse_values,
    plan,
    run_sweep,
    run_sweeps,
    split_by_task,
)

BASE = Config.preset("seed", iterations=300)
#: Overflows within a few iterations (the trainer's own divergence tests use it).
DIVERGING = {"hidden": (8, 4), "activation": "linear", "loss": "bce"}
#: Long enough to be running for sure when a test cancels it (about a minute of training).
LONG = Config.preset("seed", iterations=2_000_000)


def independent(config: Config) -> dict:
    """What a row must equal: a fresh Trainer trained for config.iterations, then evaluate()."""
    trainer = Trainer(config)
    trainer.step(config.iterations)
    metrics = trainer.evaluate()
    return {
        "train_auc": metrics.train.auc,
        "train_accuracy": metrics.train.accuracy,
        "train_misclassification": metrics.train.misclassification,
        "test_auc": metrics.test.auc,
        "test_accuracy": metrics.test.accuracy,
        "test_misclassification": metrics.test.misclassification,
        "final_loss": metrics.train.loss,
        "iteration": trainer.iteration,
        "diverged_at": trainer.diverged_at,
    }


def as_measured(run) -> dict:
    fields = [m for m in METRICS if m != "seconds"] + ["iteration", "diverged_at"]
    return {name: getattr(run, name) for name in fields}


def assert_identical(got: dict, expected: dict) -> None:
    """Equal bit for bit; NaN (an undefined AUC) equals NaN."""
    assert got.keys() == expected.keys()
    for name in got:
        a, b = got[name], expected[name]
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            continue
        assert a == b and type(a) is type(b), (name, a, b)


def without_seconds(results):
    return [
        [(row.value, [dataclasses.replace(r, seconds=0.0) for r in row.runs]) for row in res.rows]
        for res in results
    ]


# -- rows are independent runs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "values", "base"),
    [
        ("hidden", [1, 3, (4, 2)], BASE),
        ("learning_rate", [0.01, 0.5, 1.0], BASE),
        ("activation", ["tanh", "relu"], BASE.replace(loss="bce", init="xavier")),
        ("batch_size", [0, 32, 100], BASE.replace(iterations=120)),
        ("optimizer", ["momentum", "adam"], BASE.replace(learning_rate=0.01)),
        ("threshold", [0.2, 0.5, 0.8], BASE),
        ("learning_rate", [5.0, 10.0, 50.0], Config(iterations=40, **DIVERGING)),
    ],
)
def test_rows_equal_independent_trainer_runs(param, values, base):
    result = run_sweep(param, values, base, n_jobs=1)
    assert [row.value for row in result.rows] == values
    for row, value in zip(result.rows, values):
        config = base.replace(**{param: value})
        assert row.config == config
        assert_identical(as_measured(row.runs[0]), independent(config))
        assert row.runs[0].seconds > 0 or config.iterations == 0


def test_diverging_rows_are_reported():
    result = run_sweep("learning_rate", [0.1, 50.0], Config(iterations=200, **DIVERGING), n_jobs=1)
    calm, wild = result.rows
    assert calm.diverged == 0 and not calm.runs[0].diverged
    assert wild.diverged == 1 and wild.runs[0].diverged_at is not None
    assert wild.runs[0].iteration == wild.runs[0].diverged_at - 1
    assert result.table()[1][-1] == "1"


def test_measure_equals_evaluate_on_varied_setups():
    """The sweep's light metrics are evaluate()'s numbers, without its reports."""
    configs = [
        BASE,
        BASE.replace(loss="mse", threshold=0.3),
        BASE.replace(loss="bce", activation="relu", hidden=(6, 3), init="he"),
        Config(iterations=200, learning_rate=50.0, **DIVERGING),
        Config(dataset="circles", iterations=50, hidden=(3,)),
    ]
    for config in configs:
        trainer = Trainer(config)
        trainer.step(config.iterations)
        assert_identical(as_measured(measure(trainer)), independent(config))


def test_iterations_sweep_is_one_run_equal_to_separate_runs(monkeypatch):
    built = []
    original = sweep_module.Trainer

    class Counting(original):
        def __init__(self, config, *args, **kwargs):
            built.append(config)
            super().__init__(config, *args, **kwargs)

    monkeypatch.setattr(sweep_module, "Trainer", Counting)
    values = [0, 1, 10, 55, 300, 1000]
    result = run_sweep("iterations", values, BASE, n_jobs=1)
    assert len(built) == 1 and built[0].iterations == 1000  # one trajectory
    monkeypatch.setattr(sweep_module, "Trainer", original)
    for row, value in zip(result.rows, values):
        assert row.runs[0].iteration == value
        assert_identical(as_measured(row.runs[0]), independent(BASE.replace(iterations=value)))


@pytest.mark.parametrize("learning_rate", [5.0, 10.0, 20.0])
def test_iterations_sweep_through_divergence_equals_separate_runs(learning_rate):
    """A chunk boundary can end an overflowing run early; those rows are rerun exactly."""
    base = Config(learning_rate=learning_rate, **DIVERGING)
    values = [1, 2, 3, 5, 8, 9, 10, 12, 13, 14, 15, 20, 200]
    result = run_sweep("iterations", values, base, n_jobs=1)
    assert any(row.diverged for row in result.rows)
    for row, value in zip(result.rows, values):
        assert_identical(as_measured(row.runs[0]), independent(base.replace(iterations=value)))


def test_serial_equals_parallel_in_any_order():
    values = [1, 2, 3, 5, 8]
    base = BASE.replace(iterations=400)
    serial = run_sweep("hidden", values, base, n_jobs=1)
    parallel = run_sweep("hidden", values, base, n_jobs=2)
    shuffled = run_sweep("hidden", values[::-1], base, n_jobs=2)
    assert without_seconds([serial]) == without_seconds([parallel])
    by_value = {row.value: row for row in shuffled.rows}
    assert without_seconds([serial])[0] == [
        (v, [dataclasses.replace(r, seconds=0.0) for r in by_value[v].runs]) for v in values
    ]


def test_recurring_configurations_are_trained_once(monkeypatch):
    trained = []
    original = sweep_module.Trainer

    class Counting(original):
        def advance(self, n=1):
            trained.append((self.config.hidden, self.config.learning_rate, n))
            return super().advance(n)

    monkeypatch.setattr(sweep_module, "Trainer", Counting)
    base = BASE.replace(iterations=300)
    tables = [
        Sweep("iterations", (1, 10, 100, 300, 600), base, name="t1"),
        Sweep("hidden", (1, 2, 5), base, name="t2"),
        Sweep("learning_rate", (0.01, 0.1), base, name="t3"),
    ]
    results = run_sweeps(tables, n_jobs=1)
    # the default (hidden 5, lr 0.1, 300 iterations) is a checkpoint of table 1's trajectory
    runs = {(h, lr) for h, lr, _ in trained}
    assert runs == {((5,), 0.1), ((1,), 0.1), ((2,), 0.1), ((5,), 0.01)}
    assert sum(n for *_, n in trained) == 600 + 3 * 300
    default = [results[0].rows[3], results[1].rows[2], results[2].rows[1]]
    assert len({id(row.runs[0]) for row in default}) == 1  # one measured run, shared


def test_article_plan_trains_eleven_runs():
    tables = article_tables()
    assert [t.name for t in tables] == [
        "table1_iterations",
        "table2_hidden",
        "table3_learning_rate",
    ]
    assert tables[0].values == (1, 10, 100, 1000, 5000, 10000, 20000)
    assert tables[1].values == (1, 2, 3, 5, 10, 20, 50)
    assert tables[2].values == (0.001, 0.01, 0.1, 0.5, 1.0)
    assert all(t.base == Config.preset("seed", iterations=10000) for t in tables)
    jobs = plan([c for t in tables for row in t.configs() for c in row])
    assert len(jobs) == 11  # 19 rows
    assert sum(job.iterations for job in jobs) == 20000 + 6 * 10000 + 4 * 10000
    assert jobs[0].config.hidden == (50,)  # the longest job is handed out first


# -- repeats ---------------------------------------------------------------------------------


def test_repeats_use_consecutive_seeds_and_report_statistics():
    base = BASE.replace(weight_seed=7, iterations=200)
    result = run_sweep("learning_rate", [0.1, 1.0], base, repeats=3, n_jobs=2)
    for row in result.rows:
        assert [run.config.weight_seed for run in row.runs] == [7, 8, 9]
        for run in row.runs:
            assert_identical(as_measured(run), independent(run.config))
        for metric in METRICS:
            values = np.array([getattr(run, metric) for run in row.runs])
            assert row.mean(metric) == pytest.approx(values.mean(), rel=1e-15)
            assert row.std(metric) == pytest.approx(values.std(ddof=1), rel=1e-12, abs=1e-300)
            assert row.min(metric) == values.min() and row.max(metric) == values.max()
        assert row.test_auc == row.mean("test_auc")
    header = result.columns()
    assert header[: len(COLUMNS)] == COLUMNS
    assert header[-1] == "repeats" and "test_auc_std" in header and "final_loss_max" in header
    first = dict(zip(header, result.table()[0]))
    assert float(first["test_auc_min"]) == result.rows[0].min("test_auc")
    assert first["repeats"] == "3"


def test_one_repeat_reports_the_run_itself():
    result = run_sweep("hidden", [2], BASE, n_jobs=1)
    row = result.rows[0]
    assert row.test_auc == row.runs[0].test_auc and row.std("test_auc") == 0.0
    assert result.columns() == COLUMNS


# -- batches: runs that differ only in stackable fields train together --------------------------


class _CountingBatches:
    """Records the number of networks of every BatchedTrainer the sweep builds."""

    def __init__(self, monkeypatch):
        from nnviz.core import batched

        self.sizes: list[int] = []
        original = batched.BatchedTrainer
        sizes = self.sizes

        class Counting(original):
            def __init__(self, configs, *args, **kwargs):
                sizes.append(len(configs))
                super().__init__(configs, *args, **kwargs)

        monkeypatch.setattr(batched, "BatchedTrainer", Counting)


def test_repeats_train_together_and_equal_independent_runs(monkeypatch):
    built = _CountingBatches(monkeypatch)
    result = run_sweep("learning_rate", [0.01, 0.5, 1.0], BASE, repeats=4, n_jobs=1)
    assert built.sizes == [12]  # one stack for all: they differ only in seed and learning rate
    for row in result.rows:
        for run in row.runs:
            assert_identical(as_measured(run), independent(run.config))


@pytest.mark.parametrize(
    ("param", "values", "base"),
    [
        ("l2", [0.0, 0.01], BASE.replace(batch_size=32, optimizer="momentum", learning_rate=0.05)),
        ("momentum", [0.5, 0.9], BASE.replace(optimizer="momentum", loss="bce", iterations=150)),
        ("learning_rate", [0.01, 5.0, 50.0], Config(iterations=200, **DIVERGING)),
        ("iterations", [10, 100, 250], BASE.replace(optimizer="adam", learning_rate=0.01)),
    ],
)
def test_batched_rows_equal_independent_runs(monkeypatch, param, values, base):
    """Mini-batches with momentum and L2, live checkpoints of one trajectory, and networks that
    diverge inside a batch (their rows come from independent runs, as in run_job)."""
    built = _CountingBatches(monkeypatch)
    result = run_sweep(param, values, base, repeats=4, n_jobs=1)
    assert built.sizes and sum(built.sizes) == len(values) * 4 // (
        3 if param == "iterations" else 1
    )
    for row in result.rows:
        for run in row.runs:
            assert_identical(as_measured(run), independent(run.config))


def test_networks_measured_at_different_iterations_train_together(monkeypatch):
    """The article's tables share a stack: an iterations sweep's trajectory and a learning-rate
    sweep's runs, each measured at its own iterations and leaving the stack after its last."""
    built = _CountingBatches(monkeypatch)
    base = BASE.replace(iterations=150)
    sweeps = [
        Sweep("iterations", (10, 100, 250), base),
        Sweep("learning_rate", (0.05, 0.2, 0.4), base),
        Sweep("weight_seed", (3, 4), base.replace(iterations=40)),
    ]
    results = run_sweeps(sweeps, n_jobs=1)
    assert built.sizes == [6]
    for result in results:
        for row in result.rows:
            assert_identical(as_measured(row.runs[0]), independent(row.runs[0].config))


def test_batched_serial_equals_parallel():
    base = BASE.replace(batch_size=50, iterations=200)
    jobs = batches(plan([base.replace(weight_seed=s) for s in range(8)]), workers=2)
    assert [len(job.jobs) for job in jobs] == [4, 4]  # one stack for each worker
    serial = run_sweep("learning_rate", [0.1, 0.3], base, repeats=4, n_jobs=1)
    parallel = run_sweep("learning_rate", [0.1, 0.3], base, repeats=4, n_jobs=2)
    assert without_seconds([serial]) == without_seconds([parallel])


def test_batches_group_only_what_can_train_together():
    seeds = [BASE.replace(weight_seed=s) for s in range(40)]
    work = batches(plan(seeds))
    assert sorted(len(job.jobs) for job in work) == [13, 13, 14]  # at most batch_limit(BASE)
    assert batch_limit(BASE) == 17
    assert sum(job.iterations for job in work) == 40 * BASE.iterations
    mixed = [BASE, BASE.replace(hidden=(3,)), BASE.replace(weight_seed=2)]
    assert all(isinstance(job, Job) for job in batches(plan(mixed)))  # too few to stack
    checkpoints = [BASE.replace(weight_seed=s, iterations=100 + s) for s in range(8)]
    assert [len(job.jobs) for job in batches(plan(checkpoints))] == [8]  # each leaves at its end
    assert len(batches(plan(seeds[:6]), workers=2)) == 6  # 3 a worker is too few to stack
    wide = [BASE.replace(hidden=(50,), weight_seed=s) for s in range(8)]
    assert batch_limit(wide[0]) == 1 and len(batches(plan(wide))) == 8
    assert batch_limit(BASE.replace(batch_size=32)) == MAX_BATCH


# -- progress, cancellation, joblib ------------------------------------------------------------


def test_progress_reaches_the_total():
    seen: list[SweepProgress] = []
    run_sweep("hidden", [1, 2], BASE, n_jobs=2, progress=seen.append)
    assert seen[0].iterations_done == 0 and seen[0].trainings_total == 2
    assert seen[-1].trainings_done == 2 and seen[-1].fraction == 1.0
    assert [p.iterations_done for p in seen] == sorted(p.iterations_done for p in seen)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cancel_stops_within_a_second(n_jobs):
    cancel = threading.Event()
    progress: list[SweepProgress] = []

    def cancel_once_training(p: SweepProgress) -> None:
        progress.append(p)
        if p.iterations_done > 0 and not cancel.is_set():
            set_at.append(time.perf_counter())
            cancel.set()

    set_at: list[float] = []
    with pytest.raises(SweepCancelled):
        run_sweep(
            "hidden", [3, 4, 5], LONG, n_jobs=n_jobs, progress=cancel_once_training, cancel=cancel
        )
    assert set_at, "the sweep never reported training progress"
    assert time.perf_counter() - set_at[0] < 1.0
    assert progress[-1].iterations_done < 3 * LONG.iterations // 10


def test_cancel_accepts_a_callable_and_a_set_cancel_runs_nothing(monkeypatch):
    with pytest.raises(SweepCancelled):
        run_sweep("hidden", [1, 2], BASE, cancel=lambda: True)


def test_an_outer_parallel_config_is_honoured(monkeypatch):
    built = []
    original = sweep_module.Trainer

    class Counting(original):
        def __init__(self, config, *args, **kwargs):
            built.append(threading.current_thread().name)
            super().__init__(config, *args, **kwargs)

    monkeypatch.setattr(sweep_module, "Trainer", Counting)
    with joblib.parallel_config(backend="threading", n_jobs=3):
        assert effective_jobs() == 3
        threaded = run_sweep("hidden", [1, 2, 3], BASE)
    # the threading backend ran the jobs in this process, on joblib's threads
    assert len(built) == 3 and threading.main_thread().name not in built
    assert without_seconds([threaded]) == without_seconds(
        [run_sweep("hidden", [1, 2, 3], BASE, n_jobs=1)]
    )
    assert effective_jobs() == 2 and effective_jobs(5) == 5


def test_forked_workers_hand_back_each_table_as_it_finishes():
    """Under joblib's multiprocessing backend (what `nnviz sweep` picks on Linux) the sweep forks
    its own pool, which streams rows: a short table is complete, and reported with its rows in
    value order, while a long one still trains; every row equals a serial run's. In a fresh
    process: fork wants one thread."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import joblib
        from nnviz import Config
        from nnviz.core.sweep import Sweep, run_sweeps

        base = Config.preset("seed", iterations=300)
        sweeps = [Sweep("hidden", (2, 1), base, name="short"),
                  Sweep("hidden", (5,), base.replace(iterations=20000), name="long")]
        seen = []
        with joblib.parallel_config(backend="multiprocessing"):
            forked = run_sweeps(sweeps, n_jobs=2, progress=seen.append)
        early = next(p for p in seen if p.tables)
        assert [t.name for t in early.tables] == ["short"], early
        assert early.trainings_done < early.trainings_total
        assert [row.value for row in early.tables[0].rows] == [2, 1]
        assert [t.name for t in seen[-1].tables] == ["short", "long"]
        serial = run_sweeps(sweeps, n_jobs=1)
        for a, b in zip(forked, serial):
            for x, y in zip(a.rows, b.rows):
                assert [r.test_auc for r in x.runs] == [r.test_auc for r in y.runs]
                assert [r.final_loss for r in x.runs] == [r.final_loss for r in y.runs]
        print("streamed")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "streamed" in done.stdout


# -- inputs ------------------------------------------------------------------------------------


def test_parse_values():
    assert parse_values("hidden", "1, 2,5") == (1, 2, 5)
    assert parse_values("hidden", "8,4; 16,16") == ((8, 4), (16, 16))
    assert parse_values("learning-rate", "0.001,1") == (0.001, 1.0)
    assert parse_values("iterations", "1e3,100") == (1000, 100)
    assert parse_values("activation", "tanh,relu") == ("tanh", "relu")
    for param, text in [("bogus", "1"), ("hidden", ""), ("hidden", "1,,2"), ("noise", "x")]:
        with pytest.raises(ConfigError):
            parse_values(param, text)


def test_sweep_validates_every_value_up_front():
    with pytest.raises(ConfigError, match="learning_rate"):
        Sweep("learning_rate", (0.1, -1.0), BASE)
    with pytest.raises(ConfigError, match="values"):
        Sweep("hidden", (), BASE)
    with pytest.raises(ConfigError, match="repeats"):
        Sweep("weight_seed", (1, 2), BASE, repeats=2)


def test_csv_and_text_table():
    result = run_sweep("learning_rate", [0.001, 0.5], BASE, n_jobs=1)
    rows = list(csv.reader(io.StringIO(result.csv_text())))
    assert tuple(rows[0]) == COLUMNS
    assert [r[:2] for r in rows[1:]] == [["learning_rate", "0.001"], ["learning_rate", "0.5"]]
    for r, row in zip(rows[1:], result.rows):
        assert float(r[COLUMNS.index("test_auc")]) == row.test_auc  # exact round trip
        assert r[-1] == "0"
    lines = result.text_table().splitlines()
    assert "learning rate" in lines[0] and "300 iterations" in lines[0]
    assert len({len(line) for line in lines[1:]}) == 1  # aligned columns


# -- regression sweeps report R² -------------------------------------------------------------

REGRESSION = Config(
    dataset="gauss-reg", loss="mse", hidden=8, activation="tanh", init="xavier", iterations=300
)
CLASSIFICATION_HEADER = (
    "param,value,train_auc,train_accuracy,train_misclassification,test_auc,test_accuracy,"
    "test_misclassification,final_loss,seconds,diverged"
)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_regression_rows_report_r2_of_independent_runs(n_jobs):
    result = run_sweep("learning_rate", [0.01, 0.1], REGRESSION, n_jobs=n_jobs)
    assert result.task == "regression"
    for row in result.rows:
        trainer = Trainer(row.config)
        trainer.step(row.config.iterations)
        metrics = trainer.evaluate()
        run = row.runs[0]
        assert run.task == "regression"
        assert run.test_r2 == metrics.test.r2 and row.test_r2 == metrics.test.r2
        assert run.train_r2 == metrics.train.r2
        assert run.final_loss == metrics.train.loss == metrics.train.mse
        assert math.isfinite(run.test_r2) and math.isnan(run.test_auc)
    # lr 0.1 fits the bumps better than lr 0.01 in 300 iterations
    assert result.rows[1].train_r2 > result.rows[0].train_r2


def test_regression_table_has_only_its_own_columns():
    result = run_sweep("learning_rate", [0.05], REGRESSION, n_jobs=1)
    rows = list(csv.reader(io.StringIO(result.csv_text())))
    assert rows[0] == ["param", "value", "train_r2", "test_r2", "final_loss", "seconds", "diverged"]
    assert float(rows[1][3]) == result.rows[0].test_r2  # exact round trip
    header = result.text_table().splitlines()[1]
    assert "train R²" in header and "test R²" in header and "AUC" not in header
    assert "n/a" not in result.text_table()
    repeated = run_sweep(
        "learning_rate", [0.05], REGRESSION.replace(iterations=50), repeats=2, n_jobs=1
    )
    metrics = ("train_r2", "test_r2", "final_loss", "seconds")
    statistics = tuple(f"{m}_{s}" for m in metrics for s in ("std", "min", "max"))
    header, cells = list(csv.reader(io.StringIO(repeated.csv_text())))
    assert tuple(header) == ("param", "value", *metrics, "diverged", *statistics, "repeats")
    row = repeated.rows[0]
    r2s = [run.test_r2 for run in row.runs]
    assert r2s[0] != r2s[1]  # two weight seeds
    assert float(cells[header.index("test_r2_max")]) == max(r2s) == row.max("test_r2")


def test_classification_header_is_unchanged():
    result = run_sweep("learning_rate", [0.5], BASE.replace(iterations=20), n_jobs=1)
    assert result.task == "binary"
    assert result.csv_text().splitlines()[0] == CLASSIFICATION_HEADER
    assert math.isnan(result.rows[0].runs[0].test_r2)
    header = result.text_table().splitlines()[1].split()
    assert header == [
        "learning", "rate", "train", "AUC", "train", "acc", "train", "miscl", "test", "AUC",
        "test", "acc", "test", "miscl", "final", "loss", "seconds", "diverged",
    ]  # fmt: skip
    # an empty table of the seed setup heads its columns as a classification
    assert sweep_module.SweepResult(result.sweep, ()).columns() == COLUMNS


def test_split_by_task_gives_one_sweep_per_task_in_order_of_appearance():
    mixed = Sweep("dataset", ("moons", "gauss-reg", "circles", "plane"), REGRESSION, 2, "mix")
    parts = split_by_task(mixed)
    assert [(s.name, s.values) for s in parts] == [
        ("mix-classification", ("moons", "circles")),
        ("mix-regression", ("gauss-reg", "plane")),
    ]
    assert all(s.param == "dataset" and s.base == REGRESSION and s.repeats == 2 for s in parts)
    # one task (binary and several classes count as one): the sweep itself, name kept
    for one in (
        Sweep("dataset", ("gauss-reg", "plane"), REGRESSION),
        Sweep("dataset", ("moons", "iris"), Config(loss="ce")),
        Sweep("hidden", (1, 2), BASE),
    ):
        assert split_by_task(one) == [one] and split_by_task(one)[0] is one
