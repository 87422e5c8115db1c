"""The `nnviz train` command: the run folder, the article's numbers, and exit codes 0, 2 and 3."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import nnviz
from nnviz import Config, Trainer
from nnviz.cli import main
from nnviz.core import load_weights, save_weights
from nnviz.core.files import load_history_csv

RUN_FILES = {
    "config.json",
    "metrics.json",
    "report.txt",
    "history.csv",
    "initial_weights.npz",
    "weights.npz",
    "weights.json",
    "data.csv",
} | {f"{view}.{kind}" for view in ("network", "loss", "boundary", "roc") for kind in ("png", "svg")}
SPLIT_KEYS = {"loss", "auc", "accuracy", "misclassification", "report"}
DIVERGING = ["--hidden", "8,4", "--activation", "linear", "--loss", "bce", "--learning-rate", "50"]


def _environment():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    return env


def strict_json(path):
    """Parse JSON as the standard defines it: NaN and Infinity are not JSON."""

    def refuse(constant):
        raise ValueError(f"{path.name} holds {constant}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`python -m nnviz ...` as a user runs it, each in a fresh interpreter.

    Every command starts at once and the tests read the results: importing scikit-learn costs
    each interpreter about a second, so running them side by side keeps this module fast.
    """
    base = tmp_path_factory.mktemp("cli")
    (base / "folder.npz").mkdir()
    commands = {
        "seed": ["train", "--preset", "seed", "--out", str(base / "seed")],
        "negative-learning-rate": ["train", "--learning-rate", "-1", "--out", str(base / "o1")],
        "unknown-flag": ["train", "--bogus", "--out", str(base / "o2")],
        "unknown-activation": ["train", "--activation", "softmax", "--out", str(base / "o3")],
        "diverging": ["train", *DIVERGING, "--iterations", "200", "--out", str(base / "diverged")],
        "folder-init-weights": ["train", "--init-weights", str(base / "folder.npz")],
        "version": ["--version"],
    }
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", "nnviz", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(),
        )
        for name, args in commands.items()
    }
    results = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=180)
        results[name] = subprocess.CompletedProcess(
            process.args, process.returncode, stdout, stderr
        )
    return base, results


@pytest.fixture(scope="module")
def seed_run(runs):
    base, results = runs
    return results["seed"], base / "seed"


def test_seed_run_succeeds_and_prints_the_report(seed_run):
    result, out = seed_run
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "weighted avg" in result.stdout and "precision" in result.stdout
    assert "trained 20000 iterations" in result.stdout
    assert f"wrote 16 files to {out}" in result.stdout


def test_seed_run_writes_every_file(seed_run):
    _, out = seed_run
    assert {p.name for p in out.iterdir()} == RUN_FILES
    for name in RUN_FILES:
        assert (out / name).stat().st_size > 0, name


def test_seed_run_metrics_json(seed_run):
    _, out = seed_run
    metrics = strict_json(out / "metrics.json")
    assert set(metrics) >= {"iterations", "seconds", "train", "test"}
    assert metrics["iterations"] == 20000
    assert 0 < metrics["seconds"] < 60
    for split in ("train", "test"):
        assert set(metrics[split]) >= SPLIT_KEYS, split
        report = metrics[split]["report"]
        assert set(report) >= {"class 0", "class 1", "accuracy", "macro avg", "weighted avg"}
        assert metrics[split]["misclassification"] == pytest.approx(
            1 - metrics[split]["accuracy"], abs=1e-12
        )
        assert report["accuracy"] == pytest.approx(metrics[split]["accuracy"], abs=1e-12)
    test = metrics["test"]
    assert test["auc"] == pytest.approx(0.9879, abs=5e-4)
    assert test["report"]["weighted avg"]["precision"] == pytest.approx(0.948, abs=5e-3)
    assert test["report"]["weighted avg"]["recall"] == pytest.approx(0.948, abs=5e-3)
    assert test["report"]["class 0"]["support"] == 118
    assert test["report"]["class 1"]["support"] == 132
    assert "diverged_at" not in metrics


def test_seed_run_files_describe_the_run(seed_run):
    _, out = seed_run
    config = Config.from_dict(json.loads((out / "config.json").read_text()))
    assert config == Config.preset("seed")
    fresh = Trainer(config)
    initial = load_weights(out / "initial_weights.npz")
    for name, array in fresh.initial_weights().items():
        assert np.array_equal(initial[name], array)
    final, final_json = load_weights(out / "weights.npz"), load_weights(out / "weights.json")
    for name in final:
        assert final[name].tobytes() == final_json[name].tobytes()
    history = load_history_csv((out / "history.csv").read_text())
    assert history[0, 0] == 0 and history[-1, 0] == 20000
    assert np.all(np.diff(history[:, 0]) > 0) and np.all(np.isfinite(history))
    assert "class 0" in (out / "report.txt").read_text()


def test_hidden_and_iterations_flags(tmp_path, capsys):
    out = tmp_path / "deep"
    assert main(["train", "--hidden", "8,4", "--iterations", "50", "--out", str(out)]) == 0
    weights = load_weights(out / "weights.npz")
    assert weights["W1"].shape == (2, 8)
    assert weights["W2"].shape == (8, 4)
    assert weights["W3"].shape == (4, 1) and weights["b3"].shape == (1,)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 50
    assert json.loads((out / "config.json").read_text())["hidden"] == [8, 4]
    assert "trained 50 iterations" in capsys.readouterr().out


def test_flags_after_the_preset_override_it(tmp_path):
    out = tmp_path / "xor"
    assert (
        main(["train", "--preset", "xor", "--iterations", "20", "--hidden", "3", "--out", str(out)])
        == 0
    )
    config = Config.from_dict(json.loads((out / "config.json").read_text()))
    assert config == Config.preset("xor", iterations=20, hidden=(3,))


@pytest.mark.parametrize(
    ("run", "names"),
    [
        ("negative-learning-rate", "learning_rate = -1.0"),
        ("unknown-flag", "--bogus"),
        ("unknown-activation", "'softmax'"),
    ],
)
def test_bad_flag_exits_2_with_one_line(runs, run, names):
    base, results = runs
    result = results[run]
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert names in lines[0] and "error" in lines[0]
    assert result.stdout == ""
    assert not any((base / name).exists() for name in ("o1", "o2", "o3"))


@pytest.mark.parametrize(
    "flags",
    [
        ["--hidden", "0"],
        ["--hidden", "8,x"],
        ["--learning-rate", "abc"],
        ["--test-size", "1"],
        ["--batch-size", "-3"],
        ["--samples", "2.5"],
        ["--dataset", "csv"],
        ["--momentum", "nan"],
        ["--preset", "nope"],
        ["--learning-rate", "1e400"],
        ["--samples", "1" + "0" * 400],
        ["--weight-seed", "4294967296"],
        ["--hidden", "1,1,1,1,1,1,1,1,1"],
        ["--batch-size", "1000001"],
    ],
)
def test_more_bad_flags_exit_2_in_process(tmp_path, capsys, flags):
    try:
        code = main(["train", *flags, "--iterations", "5", "--out", str(tmp_path / "o")])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "error" in err
    assert not (tmp_path / "o").exists()


def test_bad_csv_exits_2(tmp_path, capsys):
    path = tmp_path / "points.csv"
    path.write_text("x1,x2,label\n1,2,-1\n")
    assert main(["train", "--dataset", "csv", "--csv-path", str(path), "--iterations", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "line 2: label '-1' must be a whole number from 0 to 15" in err


def test_divergence_exits_3_and_keeps_finite_weights(runs):
    base, results = runs
    result, out = results["diverging"], base / "diverged"
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "diverged at iteration" in result.stderr
    assert {p.name for p in out.iterdir()} == RUN_FILES
    metrics = json.loads((out / "metrics.json").read_text())
    assert 1 <= metrics["diverged_at"] < 200
    assert metrics["iterations"] == metrics["diverged_at"] - 1
    for name, array in load_weights(out / "weights.npz").items():
        assert np.all(np.isfinite(array)), name


def test_divergence_metrics_json_is_valid_json(tmp_path, capsys):
    out = tmp_path / "diverged"
    assert main(["train", *DIVERGING, "--iterations", "200", "--out", str(out)]) == 3
    metrics = strict_json(out / "metrics.json")
    assert math.isfinite(metrics["test"]["loss"])


def test_init_weights_starts_from_the_saved_weights(tmp_path):
    source = Trainer(Config())
    source.step(100)
    saved = save_weights(tmp_path / "start.npz", source.weights())
    source.step(10)

    out = tmp_path / "resumed"
    assert (
        main(["train", "--init-weights", str(saved), "--iterations", "10", "--out", str(out)]) == 0
    )
    initial = load_weights(out / "initial_weights.npz")
    final = load_weights(out / "weights.npz")
    for name, array in load_weights(saved).items():
        assert initial[name].tobytes() == array.tobytes()
    for name, array in source.weights().items():  # 100 + 10 iterations, to the bit
        assert final[name].tobytes() == array.tobytes()


def test_init_weights_json_of_the_wrong_network_exits_2(tmp_path, capsys):
    saved = save_weights(tmp_path / "five.json", Trainer(Config()).weights())
    assert main(["train", "--init-weights", str(saved), "--hidden", "8", "--iterations", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert (
        "init_weights" in err and "W1 has shape (2, 5), but the network 2-8-1 needs (2, 8)" in err
    )


def test_missing_init_weights_exits_2(tmp_path, capsys):
    assert main(["train", "--init-weights", str(tmp_path / "w.npz"), "--iterations", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot read" in err


def test_a_folder_as_init_weights_exits_2(runs):
    result = runs[1]["folder-init-weights"]
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "--iterations", "1", "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot write" in err


def test_version(runs, capsys):
    result = runs[1]["version"]
    assert result.returncode == 0
    assert result.stdout.strip() == f"nnviz {nnviz.__version__}"
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"nnviz {nnviz.__version__}"


def test_train_help_lists_every_config_flag(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    for name in Config().to_dict():
        assert f"--{name.replace('_', '-')}" in text, name


def test_every_seed_config_takes_is_a_flag(tmp_path):
    out = tmp_path / "seeds"
    flags = ["--weight-seed", "4000000000", "--data-seed", "4294967295", "--noise", "-0.0"]
    assert main(["train", *flags, "--iterations", "5", "--out", str(out), "--no-plots"]) == 0
    config = Config.from_dict(json.loads((out / "config.json").read_text()))
    assert (config.weight_seed, config.data_seed, config.noise) == (4_000_000_000, 2**32 - 1, 0.0)


def test_help_groups_the_flags_and_gives_their_ranges(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for group in ("configuration:", "data:", "network:", "training:"):
        assert group in text
    assert "--weight-seed N Seed of the initial weights" in text
    assert "An integer from 0 to 4294967295" in text
    assert "Used only with --optimizer momentum" in text


def test_nnviz_gui_parses_without_the_cli(capsys):
    """`nnviz-gui --help` lists the flags of `nnviz gui`, and never imports nnviz.cli."""
    code = (
        "import sys, contextlib, io\n"
        "from nnviz.gui.app import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit as exit_:\n"
        "        assert exit_.code == 0\n"
        "assert 'nnviz.cli' not in sys.modules, 'nnviz.cli was imported'\n"
        "print(out.getvalue())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_environment()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: nnviz-gui")
    with pytest.raises(SystemExit):
        main(["gui", "--help"])
    flags = set(re.findall(r"--[a-z0-9-]+", result.stdout))
    assert flags == set(re.findall(r"--[a-z0-9-]+", capsys.readouterr().out)) | {"--version"}
    for name in [*Config().to_dict(), "window_size", "screenshot", "train", "quit"]:
        assert f"--{name.replace('_', '-')}" in flags, name


def test_nnviz_gui_reports_a_bad_value_in_one_line():
    code = "import sys\nfrom nnviz.gui.app import main\nsys.exit(main(['--momentum', '1']))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_environment()
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "nnviz-gui: error: momentum = 1.0 is not allowed: a finite number in [0, 1)"
    ]
