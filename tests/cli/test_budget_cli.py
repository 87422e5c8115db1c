"""The CLI's bounds: --memory-budget, --dry-run, empty paths, too many --jobs and --repeats."""

from __future__ import annotations

import json
import os
import sys

import pytest

from nnviz.cli import main
from nnviz.core.budget import ENV_VAR

WIDE = ["--hidden", "2048,2048"]  # about 0.4 GiB for the trainer alone
SWEEP = ["sweep", "--param", "hidden", "--values", "1,2", "--iterations", "3", "--samples", "100"]


@pytest.fixture(autouse=True)
def fixed_budget(monkeypatch):
    """Half of a 24 GiB machine, wherever the tests run."""
    monkeypatch.setenv(ENV_VAR, "12G")


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "argv",
    [
        ["--hidden", "4096,4096,4096,4096,4096,4096,4096,4096"],
        ["--samples", "1000000", "--hidden", "4096", "--iterations", "1"],
        ["--samples", "1000000", "--hidden", "512"],
    ],
)
def test_the_named_runs_are_refused_in_one_line(argv, capsys):
    assert main(["train", *argv]) == 2
    err = error_line(capsys)
    assert err.startswith("nnviz: error: this run needs about") and "GiB" in err
    assert "12.0 GiB (NNVIZ_MEMORY_BUDGET=12G)" in err and "--memory-budget" in err


def test_dry_run_prints_every_term_and_trains_nothing(tmp_path, capsys):
    assert main(["train", "--dry-run", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    for term in ("data", "weights and gradients", "training batch", "history", "boundary grid"):
        assert term in out
    assert "total" in out and "budget: 12.0 GiB" in out and "fits: yes" in out
    assert "nothing was trained" in out and "nnviz: trained" not in out
    assert not (tmp_path / "run").exists()


def test_dry_run_over_budget_exits_2(capsys):
    assert main(["train", "--dry-run", "--memory-budget", "200M", *WIDE]) == 2
    captured = capsys.readouterr()
    assert "fits: no" in captured.out and "budget: 200.0 MiB (--memory-budget 200M)" in captured.out
    assert captured.err.count("\n") == 1 and "200.0 MiB (--memory-budget 200M)" in captured.err


def test_memory_budget_flag_applies_to_the_trainer_and_is_restored(capsys, monkeypatch):
    monkeypatch.delenv(ENV_VAR)
    assert main(["train", "--memory-budget", "200M", *WIDE]) == 2
    assert "200.0 MiB" in error_line(capsys)
    assert ENV_VAR not in os.environ  # main may run inside another program
    assert (
        main(["train", "--memory-budget", "1G", "--iterations", "2", "--samples", "50", *WIDE]) == 0
    )


@pytest.mark.parametrize("text", ["abc", "0", "-1", "", "9" * 40])
def test_a_malformed_memory_budget_is_a_usage_error(text, capsys):
    with pytest.raises(SystemExit) as done:
        main(["train", "--memory-budget", text])
    assert done.value.code == 2 and "--memory-budget" in error_line(capsys)


def test_a_malformed_environment_budget_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, "lots")
    assert main(["train", "--iterations", "2"]) == 2
    assert "NNVIZ_MEMORY_BUDGET" in error_line(capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--out", ""],
        ["train", "--init-weights", ""],
        ["train", "--dataset", "csv", "--csv-path", ""],
        [*SWEEP, "--out", ""],
        ["gui", "--screenshot", ""],
    ],
)
def test_an_empty_path_is_refused(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2 and "empty path" in error_line(capsys)


def test_an_out_that_is_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["train", "--out", str(tmp_path / "file")]) == 2
    assert "is not a folder" in error_line(capsys) and capsys.readouterr().out == ""


def test_negative_zero_noise_with_a_short_last_batch(tmp_path, capsys):
    argv = ["--noise", "-0", "--hidden", "16,16", "--batch-size", "7", "--iterations", "20"]
    assert main(["train", *argv, "--out", str(tmp_path), "--no-plots"]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["noise"] == 0.0 and str(config["noise"]) == "0.0"


def test_pictures_without_qt_leave_a_note_and_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "nnviz.gui.plots", None)  # as if Qt were not installed
    assert main(["train", "--iterations", "2", "--out", str(tmp_path)]) == 0
    assert "pictures skipped" in capsys.readouterr().err
    assert (tmp_path / "weights.npz").exists()


def test_running_out_of_memory_is_one_line(monkeypatch, capsys):
    def exhausted(config):
        raise MemoryError

    monkeypatch.setattr("nnviz.cli.Trainer", exhausted)
    assert main(["train", "--iterations", "2"]) == 2
    assert "out of memory" in error_line(capsys)


def test_too_many_jobs_are_capped_with_a_note(capsys):
    assert main([*SWEEP, "--jobs", "100000", "--backend", "threading"]) == 0
    err = capsys.readouterr().err
    assert "--jobs 100000 is more than the" in err and "CPUs here; using" in err


def test_a_billion_repeats_are_refused_at_once(capsys):
    assert main([*SWEEP, "--repeats", "1000000000"]) == 2
    err = error_line(capsys)
    assert "at most 10,000 runs" in err and "2,000,000,000" in err


def test_sweep_dry_run_counts_runs_and_jobs(capsys):
    assert main([*SWEEP, "--repeats", "3", "--jobs", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "6 runs in 6 trainings, 2 at once" in out and "x 2 runs at once" in out
    assert "fits: yes" in out


def test_sweep_over_budget_is_refused(capsys):
    argv = [*SWEEP[:4], "2048,2048;1", *SWEEP[5:], "--memory-budget", "300M"]
    assert main(argv) == 2
    assert "300.0 MiB (--memory-budget 300M)" in error_line(capsys)


def test_the_chosen_backend_applies_to_the_run(monkeypatch):
    """--backend is configured once for bounding the jobs and again for the run itself."""
    from joblib.parallel import get_active_backend

    from nnviz.core import sweep

    seen, real = [], sweep.run_sweeps

    def recording(*args, **kwargs):
        seen.append(type(get_active_backend()[0]).__name__)
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "run_sweeps", recording)
    assert main([*SWEEP, "--backend", "threading", "--jobs", "2"]) == 0
    assert seen == ["ThreadingBackend"]
