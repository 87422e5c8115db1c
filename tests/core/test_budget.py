"""nnviz.core.budget: the memory estimate agrees with what nnviz allocates, the budget refuses what
does not fit with a message that says what to do, and sweeps are bounded in jobs, runs and
memory."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pytest

import nnviz.core.budget as budget
from nnviz.core import (
    BudgetError,
    Config,
    ConfigError,
    Dataset,
    Trainer,
    check_budget,
    estimate,
    replay,
    sweep,
    trainer,
)
from nnviz.core.budget import (
    Budget,
    GiB,
    MiB,
    format_bytes,
    largest_run,
    memory_budget,
    parse_size,
)
from nnviz.core.network import Layout, Pass
from nnviz.core.sweep import MAX_RUNS, Sweep, bounded_jobs, run_sweeps

SMALL = Config(iterations=5, samples=100)
#: What the trainer allocates for; wide enough that parameter vectors stand out from the rest.
WIDE = Config(hidden=(300, 200), samples=100, iterations=3)


@pytest.fixture(autouse=True)
def default_budget(monkeypatch):
    """Every test starts from the default budget, whatever the environment says."""
    monkeypatch.delenv(budget.ENV_VAR, raising=False)


# -- the estimate follows the code --------------------------------------------------------------


def test_mirrored_constants_agree_with_their_modules():
    assert budget.HISTORY_ROWS == trainer.MAX_HISTORY + 1
    assert budget.REPLAY_POINTS == replay.LOG_POINTS + replay.RECENT_POINTS
    assert budget.REPLAY_BYTES == replay.BUDGET_BYTES
    frame = Path(trainer.__file__).parents[1] / "gui" / "frame.py"  # read, not imported: no Qt
    grid = next(
        node.value.value
        for node in ast.parse(frame.read_text()).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "GRID_SIZE"
    )
    assert grid == budget.GRID_SIZE


def _owned_vectors(owners: list[object], size: int) -> float:
    """How many parameter vectors' worth of arrays the owners' attributes hold (each array once,
    views excluded)."""
    arrays = {
        id(value): value
        for owner in owners
        for value in vars(owner).values()
        if isinstance(value, np.ndarray) and value.base is None
    }
    return sum(a.size for a in arrays.values() if a.size % size == 0 and a.size >= size) / size


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_parameter_vectors_are_the_ones_the_trainer_holds(optimizer):
    trained = Trainer(WIDE.replace(optimizer=optimizer))
    trained.step(2)
    size = trained.layout.size
    held = _owned_vectors([trained, trained.optimizer], size)
    checkpoint = sum(a.size for a in trained._checkpoint[1].values() if a.size == size) / size
    own = budget.TRAINER_VECTORS + budget.OPTIMIZER_VECTORS[optimizer]
    assert held + checkpoint == own
    guess = estimate(trained.config, views=False, replay=False)
    assert guess.parameters == size
    assert guess.terms["weights and gradients"] + guess.terms["optimizer state"] == own * size * 8


@pytest.mark.parametrize("hidden", [(5,), (300, 200), (3, 4, 5)])
def test_pass_bytes_are_what_a_pass_allocates(hidden):
    layout = Layout(hidden, 2)
    params, grad = np.zeros(layout.size), np.zeros(layout.size)
    batch = Pass(layout, params, grad, 37, "tanh", "sse")
    arrays = [*batch.inputs, *batch.pre, batch.out[-1], *batch.delta, *batch.tmp, batch.y]
    arrays += [batch._diff, batch._labels, batch._hits]
    assert budget._pass_bytes(layout.sizes, 37) == sum(array.nbytes for array in arrays)


def test_the_split_follows_the_config_or_the_data():
    guess = estimate(Config(samples=1000, test_size=0.25))
    assert guess.samples == 1000
    assert "750 training and 250 test" in guess.details["evaluation passes"]
    points = np.zeros((13, 2))
    data = Dataset(points[:10], np.zeros(10), points[10:], np.zeros(3))
    exact = estimate(SMALL, data=data)
    assert exact.samples == 13 and "10 training and 3 test" in exact.details["evaluation passes"]


def test_a_csv_dataset_is_estimated_from_its_lines(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("x1,x2,label\n" + "0.5,0.5,1\n0.1,0.2,0\n" * 500)
    assert estimate(Config(dataset="csv", csv_path=str(path))).samples == 1002
    os.mkfifo(tmp_path / "fifo")  # never opened: reading it would block
    for odd in ("fifo", "missing.csv", "."):
        assert estimate(Config(dataset="csv", csv_path=str(tmp_path / odd))).samples == 8


def test_terms_add_up_and_options_add_their_terms():
    plain = estimate(WIDE, views=False, replay=False)
    assert plain.total == sum(plain.terms.values())
    assert plain.terms[plain.largest] == max(plain.terms.values())
    assert not {"Qt", "boundary grid", "replay", "run folder"} & set(plain.terms)
    window = estimate(WIDE)
    assert {"Qt", "boundary grid", "replay"} <= set(window.terms) and window.total > plain.total
    assert "run folder" in estimate(WIDE, run_folder=True).terms
    batch = estimate(Config(samples=100_000, batch_size=10), views=False, replay=False)
    full = estimate(Config(samples=100_000), views=False, replay=False)
    assert batch.terms["training batch"] < full.terms["training batch"] / 100


def test_history_and_replay_are_bounded():
    short, long = estimate(Config(iterations=10)), estimate(Config(iterations=100_000_000))
    assert short.terms["history"] < long.terms["history"] < MiB
    wide = estimate(Config(hidden=(4096,) * 8))
    assert wide.terms["replay"] == 4 * (wide.parameters * 8 + budget.REPLAY_POINT_OVERHEAD)
    assert estimate(Config()).terms["replay"] < MiB


def test_the_named_configurations_do_not_fit_a_24_gib_machine():
    """Half of 24 GiB is the default budget there; each of these needs more than that."""
    for overrides in (
        {"hidden": (4096,) * 8},
        {"samples": 1_000_000, "hidden": (4096,), "iterations": 1},
        {"samples": 1_000_000, "hidden": (512,)},
    ):
        guess = estimate(Config(**overrides), views=False, replay=False)
        assert guess.total > 12 * GiB, overrides
    # the last one needs more than the whole machine: two training-set passes of 750,000 x 513
    assert estimate(Config(samples=1_000_000, hidden=(512,)), views=False).total > 24 * GiB


# -- the budget ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("2G", 2 * GiB),
        ("500M", 500 * MiB),
        ("1.5GiB", 3 * GiB // 2),
        ("750000000", 750_000_000),
        (" 3 k ", 3072),
        ("2gb", 2 * GiB),
        ("1T", 2**40),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["", "abc", "-1", "0", "0.0001", "1e9", "nan", "inf", "9" * 30, "2X", "G"]
)
def test_parse_size_refuses(text):
    with pytest.raises(BudgetError, match="size"):
        parse_size(text)


def test_the_budget_comes_from_the_argument_the_environment_or_the_machine(monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 8 * GiB)
    assert memory_budget() == Budget(4 * GiB, "half the available 8.0 GiB")
    monkeypatch.setenv(budget.ENV_VAR, "300M")
    assert memory_budget().bytes == 300 * MiB and "NNVIZ_MEMORY_BUDGET=300M" in str(memory_budget())
    assert memory_budget("1G").bytes == GiB and memory_budget(5000).bytes == 5000
    monkeypatch.setenv(budget.ENV_VAR, "lots")
    with pytest.raises(BudgetError, match="NNVIZ_MEMORY_BUDGET"):
        memory_budget()
    for bad in (0, -5, True, 1.5):
        with pytest.raises(BudgetError):
            memory_budget(bad)


def test_available_memory_falls_back_when_proc_is_missing(monkeypatch):
    assert budget.available_memory() > 0

    def missing(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(budget, "open", missing, raising=False)
    pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert abs(budget.available_memory() - pages) < GiB  # free pages move while we look
    monkeypatch.setattr(budget.os, "sysconf", missing)
    assert budget.available_memory() == budget.FALLBACK_AVAILABLE


def test_check_budget_refuses_with_a_message_that_says_what_to_do():
    config = Config(hidden=(4096,) * 8)
    with pytest.raises(BudgetError) as refused:
        check_budget(config, budget="1G", views=False, replay=False)
    message = str(refused.value)
    assert "\n" not in message and isinstance(refused.value, ValueError)
    assert "12.7 GiB" in message and "1.0 GiB (given)" in message
    assert "weights and gradients" in message and "117,485,569 parameters" in message
    assert "narrower hidden layers" in message
    assert "--memory-budget" in message and "NNVIZ_MEMORY_BUDGET" in message
    small = check_budget(SMALL, budget="1G")
    assert small.total < GiB


def test_jobs_multiply_the_need():
    one = estimate(WIDE, views=False, replay=False).total
    check_budget(WIDE, 1, one, views=False, replay=False)
    with pytest.raises(BudgetError, match=f"3 jobs x {format_bytes(one)}"):
        check_budget(WIDE, 3, 2 * one, views=False, replay=False)


def test_a_budget_below_nnviz_itself_says_so():
    with pytest.raises(BudgetError, match="smaller than what nnviz itself needs"):
        check_budget(SMALL, budget="10M")


def test_the_trainer_checks_before_it_allocates(monkeypatch):
    monkeypatch.setenv(budget.ENV_VAR, "200M")
    with pytest.raises(BudgetError, match="200M"):
        Trainer(Config(hidden=(2048, 2048), samples=100))
    assert Trainer(SMALL).step(1).iteration == 1  # a small one still fits


# -- sweeps are bounded -------------------------------------------------------------------------


def test_repeats_past_the_run_limit_are_refused_at_once():
    with pytest.raises(ConfigError, match="1,000,000,000 repeats"):
        Sweep("hidden", (1,), SMALL, repeats=10**9)
    with pytest.raises(ConfigError, match=f"at most {MAX_RUNS:,} runs"):
        Sweep("hidden", tuple(range(1, 101)), SMALL, repeats=MAX_RUNS // 100 + 1)
    tables = sweep.article_tables(SMALL, repeats=MAX_RUNS // 7)  # each table fits alone
    with pytest.raises(ConfigError, match="runs"):
        run_sweeps(tables, n_jobs=1)


def test_jobs_are_checked_and_bounded_by_the_cpus():
    cap = max(budget.cpu_count(), sweep.DEFAULT_JOBS)
    assert bounded_jobs(100_000) == cap
    assert bounded_jobs(1) == 1 and bounded_jobs(None) == min(sweep.DEFAULT_JOBS, cap)
    assert bounded_jobs(-1) == budget.cpu_count()
    assert bounded_jobs(-100_000) == 1
    for bad in (0, True, "2", 2.0):
        with pytest.raises(ConfigError, match="n_jobs"):
            bounded_jobs(bad)


def test_a_sweep_over_budget_is_refused_before_anything_trains(monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("a Trainer was built")

    monkeypatch.setattr(sweep, "Trainer", no_training)
    wide = Sweep("hidden", ((5,), (2048, 2048)), SMALL)
    with pytest.raises(BudgetError, match="hidden layers"):
        run_sweeps([wide], n_jobs=1, memory_budget="200M")


def test_a_sweep_checks_the_largest_run_times_the_runs_at_once():
    values = ((300, 200), (200, 300))
    runs = Sweep("hidden", values, SMALL).configs()
    assert largest_run([c for row in runs for c in row]).hidden == (300, 200)  # more parameters
    one = estimate(SMALL.replace(hidden=(300, 200)), views=False, replay=False).total
    with pytest.raises(BudgetError, match="2 jobs"):
        run_sweeps([Sweep("hidden", values, SMALL)], n_jobs=2, memory_budget=int(1.5 * one))
    result = run_sweeps([Sweep("hidden", values, SMALL)], n_jobs=1, memory_budget=int(1.5 * one))
    assert len(result[0].rows) == 2
