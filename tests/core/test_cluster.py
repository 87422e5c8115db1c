"""The parts of cluster sweeps that need no cluster (and no dask): addresses, the inputs the caller
loads once, jobs trained on them, and finished rows carried by the progress. The real cluster is
in tests/cluster."""

from __future__ import annotations

import itertools
import sys

import pytest

from nnviz import Config, ConfigError, Trainer
from nnviz.core import save_weights
from nnviz.core.cluster import Cluster, Inputs, cluster_spec, job_name
from nnviz.core.datasets import make_points
from nnviz.core.sweep import METRICS, Sweep, SweepFailed, plan, run_job, run_sweep, run_sweeps


@pytest.mark.parametrize(
    ("address", "engine"),
    [
        ("tcp://10.0.0.5:8786", "dask"),
        ("tls://sched.example:8786", "dask"),
        ("h:1", "dask"),
        ("ray://head:10001", "ray"),
    ],
)
def test_scheduler_and_ray_head_addresses_are_accepted(address, engine):
    assert cluster_spec(address) == Cluster(address)
    assert Cluster(address).engine == engine


@pytest.mark.parametrize("local", [None, "local", " local "])
def test_local_means_this_machine(local):
    assert cluster_spec(local) is None


@pytest.mark.parametrize(
    "address", ["", "tcp://", "tcp://host", "http://host:8786", "ray://head", "host:port"]
)
def test_other_addresses_are_refused(address):
    with pytest.raises(ConfigError, match=r"a dask scheduler such as .* or a ray head such as"):
        cluster_spec(address)


@pytest.mark.parametrize(("retries", "timeout"), [(-1, 60), (1.5, 60), (True, 60), (2, 0)])
def test_retries_and_timeout_are_checked(retries, timeout):
    with pytest.raises(ConfigError):
        Cluster("tcp://h:1", retries=retries, timeout=timeout)


def test_a_bad_address_is_refused_before_any_training():
    with pytest.raises(ConfigError, match="cluster"):
        run_sweep("hidden", [1], Config(iterations=10), cluster="http://head:10001")


def test_without_dask_a_cluster_sweep_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(SweepFailed, match=r'pip install "nnviz\[dask\]"') as failed:
        run_sweep("hidden", [1, 2], Config(iterations=10), cluster="tcp://127.0.0.1:1")
    assert failed.value.results[0].rows == ()


def test_without_ray_a_ray_sweep_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SweepFailed, match=r'pip install "nnviz\[ray\]"') as failed:
        run_sweep("hidden", [1, 2], Config(iterations=10), cluster="ray://127.0.0.1:1")
    assert failed.value.results[0].rows == ()


def test_jobs_trained_on_loaded_inputs_equal_jobs_that_read_the_files(tmp_path):
    """Loaded once, the CSV and the weights give every job the numbers it gets from the files,
    and the files are not read again (they are gone)."""
    points = tmp_path / "points.csv"
    x, y = make_points(Config(samples=120, noise=0.3))
    rows = "".join(f"{a!r},{b!r},{label}\n" for (a, b), label in zip(x.tolist(), y.tolist()))
    points.write_text("x1,x2,label\n" + rows)
    weights = tmp_path / "start.npz"
    save_weights(weights, Trainer(Config(hidden=(3,), weight_seed=3)).weights())
    base = Config(dataset="csv", csv_path=str(points), hidden=(3,), init_weights=str(weights))
    configs = [base.replace(iterations=200, learning_rate=lr) for lr in (0.1, 40.0)]
    jobs = plan(configs)
    from_files = [run_job(job) for job in jobs]
    inputs = Inputs.load(job.config for job in jobs)
    assert len(inputs.datasets) == 1 and list(inputs.weights) == [str(weights)]
    points.unlink()
    weights.unlink()
    for job, expected in zip(jobs, from_files):
        got = run_job(job, inputs=inputs)
        assert got.keys() == expected.keys()
        for config in got:
            for metric in [*METRICS[:-1], "iteration", "diverged_at"]:
                a, b = getattr(got[config], metric), getattr(expected[config], metric)
                assert a == b or (a != a and b != b), metric  # NaN equals NaN


def test_inputs_hold_one_dataset_per_distinct_data():
    configs = [Config(noise=n, hidden=(h,)) for n in (0.1, 0.2) for h in (1, 2)]
    inputs = Inputs.load(configs)
    assert len(inputs.datasets) == 2 and not inputs.weights
    data = inputs.dataset(configs[3])
    assert not data.x_train.flags.writeable
    assert inputs.initial_weights(configs[0]) is None


def test_job_names_say_what_differs_from_the_base():
    base = Config.preset("experiment")
    config = base.replace(hidden=(50,), learning_rate=0.5)
    assert job_name(config, base) == "hidden=(50,), learning_rate=0.5, 10000 iterations"
    assert job_name(base, base) == "10000 iterations"


def test_progress_carries_each_row_once_it_has_finished():
    """Rows appear in SweepProgress.rows as soon as all their runs are measured, and the last
    progress holds every row of the result."""
    sweeps = [
        Sweep("hidden", (1, 3), Config(iterations=60), repeats=2),
        Sweep("learning_rate", (0.1, 0.5), Config(iterations=60), name="lr"),
    ]
    seen = []
    results = run_sweeps(sweeps, n_jobs=1, progress=seen.append)
    assert seen[0].rows == ()
    final = seen[-1].rows
    assert sorted((s, row.value) for s, row in final) == [(0, 1), (0, 3), (1, 0.1), (1, 0.5)]
    for s, row in final:
        assert row in results[s].rows
    for earlier, later in itertools.pairwise(seen):  # rows only ever join, in order
        assert later.rows[: len(earlier.rows)] == earlier.rows


@pytest.mark.parametrize(
    "flags",
    [
        ["--cluster", "ray://head"],
        ["--cluster", "tcp://host"],
        ["--cluster", "tcp://h:1", "--retries", "-1"],
        ["--cluster", "tcp://h:1", "--cluster-timeout", "0"],
    ],
)
def test_the_command_refuses_a_bad_cluster_with_one_line(flags, capsys):
    from nnviz.cli import main

    assert main(["sweep", "--param", "hidden", "--values", "1", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnviz: error:") and "\n" not in err


def test_a_failed_batch_is_named_by_its_first_network():
    from nnviz.core.sweep import BatchJob, _job_title, batches

    base = Config(iterations=100)
    work = batches(plan([base.replace(learning_rate=lr) for lr in (0.2, 0.3, 0.4, 0.5)]))
    (batch,) = work
    assert isinstance(batch, BatchJob)
    title = _job_title(batch, base)
    assert title.startswith("learning_rate=") and title.endswith(
        "(with 3 more networks stacked with it)"
    )
