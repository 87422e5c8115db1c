"""Sweeps: rows equal independent Trainer runs bit for bit, serial or parallel; the article preset;
repeats; cancellation; and the `nnviz sweep` command."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from nnviz import Config
from nnviz.cli import main
from nnviz.core.sweep import (
    COLUMNS,
    METRICS,
    run_sweep,
)

BASE = Config.preset("seed", iterations=300)
#: Overflows within a few iterations (the trainer's own divergence tests use it).
DIVERGING = {"hidden": (8, 4), "activation": "linear", "loss": "bce"}
#: Long enough to be running for sure when a test cancels it (about a minute of training).
LONG = Config.preset("seed", iterations=2_000_000)


# -- the command line --------------------------------------------------------------------------


def _csv(path):
    return list(csv.reader(io.StringIO(path.read_text())))


def _check_plot_files(png, svg):
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert not image.isNull() and image.width() >= 1000
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(gray.constBits(), np.uint8)
    assert pixels.min() < 80 and (pixels < 250).mean() > 0.01  # lines and text, not blank
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    drawn = [e for e in root.iter() if e.tag.endswith(("path", "polyline"))]
    assert len(drawn) > 10


def test_cli_writes_csv_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "sweep",
            "--param",
            "hidden",
            "--values",
            "1,2,5",
            "--iterations",
            "200",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    rows = _csv(out / "sweep.csv")
    assert tuple(rows[0]) == COLUMNS
    expected = run_sweep("hidden", [1, 2, 5], BASE.replace(iterations=200), n_jobs=1)
    for r, row in zip(rows[1:], expected.rows):
        assert r[:2] == ["hidden", str(row.value)]
        for metric in METRICS[:-1]:
            assert float(r[COLUMNS.index(metric)]) == row.mean(metric)
    _check_plot_files(out / "sweep.png", out / "sweep.svg")
    printed = capsys.readouterr().out
    assert "hidden nodes" in printed and "wrote 3 files" in printed


def test_cli_repeats_add_statistics_columns(tmp_path):
    out = tmp_path / "rep"
    assert main(
        ["sweep", "--param", "learning-rate", "--values", "0.1,1", "--iterations", "100",
         "--repeats", "2", "--jobs", "1", "--out", str(out)]
    ) == 0  # fmt: skip
    header = _csv(out / "sweep.csv")[0]
    assert tuple(header[: len(COLUMNS)]) == COLUMNS
    assert "test_auc_std" in header and header[-1] == "repeats"


@pytest.mark.parametrize(
    "argv",
    [
        ["--param", "bogus", "--values", "1,2"],
        ["--param", "hidden", "--values", "0,1"],
        ["--param", "hidden", "--values", ""],
        ["--param", "learning-rate", "--values", "fast"],
        ["--param", "hidden"],
        ["--values", "1,2"],
        ["--preset", "article", "--param", "hidden", "--values", "1"],
        ["--param", "hidden", "--values", "1", "--repeats", "0"],
        ["--param", "hidden", "--values", "1", "--jobs", "0"],
        ["--param", "hidden", "--values", "1", "--noise", "-1"],
        ["--param", "hidden", "--values", "1", "--seeds", "4"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, capsys):
    assert main(["sweep", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnviz") and "\n" not in err


@pytest.mark.slow
def test_cli_article_preset_in_a_fresh_process(tmp_path):
    """The real command, with forked workers (no Qt in that process): three tables, same rows."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-m", "nnviz", "sweep", "--preset", "article", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress off a terminal, no Qt noise
    stems = ["table1_iterations", "table2_hidden", "table3_learning_rate"]
    for stem in stems:
        assert tuple(_csv(tmp_path / f"{stem}.csv")[0]) == COLUMNS
        _check_plot_files(tmp_path / f"{stem}.png", tmp_path / f"{stem}.svg")
    lines = done.stdout.splitlines()
    assert sum(line.startswith(stems[0]) for line in lines) == 1
    # forked workers give the rows of an in-process run, bit for bit
    table3 = _csv(tmp_path / "table3_learning_rate.csv")[1:]
    lr = run_sweep("learning_rate", [0.001, 1.0], Config.preset("seed", iterations=10000), n_jobs=1)
    for r, row in zip([table3[0], table3[-1]], lr.rows):
        assert float(r[COLUMNS.index("test_auc")]) == row.test_auc
        assert float(r[COLUMNS.index("final_loss")]) == row.final_loss


@pytest.mark.slow
def test_cli_learning_rate_repeats_equal_trainer_runs(tmp_path):
    """Issue 13's sweep, as typed: 100 networks in stacks, in a fresh process. The rows of the
    chaotic learning rates (0.5 and 1, where the last bit shows within a few thousand
    iterations) are each the mean, std, min and max of their 20 Trainer runs, bit for bit."""
    from nnviz import Trainer
    from nnviz.core.sweep import measure

    argv = ["--param", "learning-rate", "--values", "0.001,0.01,0.1,0.5,1", "--repeats", "20"]
    argv += ["--iterations", "5000", "--jobs", "1", "--no-plots", "--out", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "nnviz", "sweep", *argv], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    table = _csv(tmp_path / "sweep.csv")
    header, rows = table[0], {row[1]: row for row in table[1:]}
    base = Config.preset("seed", iterations=5000)
    for rate in ("0.5", "1.0"):
        runs = []
        for k in range(20):
            trainer = Trainer(base.replace(learning_rate=float(rate), weight_seed=4242 + k))
            trainer.step(5000)
            runs.append(measure(trainer))
        for metric in METRICS[:-1]:  # seconds is wall time
            values = np.array([getattr(run, metric) for run in runs])
            expected = {
                metric: values.mean(),
                f"{metric}_std": values.std(ddof=1),
                f"{metric}_min": values.min(),
                f"{metric}_max": values.max(),
            }
            for column, value in expected.items():
                assert float(rows[rate][header.index(column)]) == value, (rate, column)


def test_sweeps_and_the_command_work_without_qt(tmp_path):
    """nnviz.core.sweep is core: no Qt. Without Qt the command still writes its CSV tables."""
    import textwrap

    from qt_blocker import BLOCKER, run_python

    code = BLOCKER + textwrap.dedent(
        f"""
        from nnviz import Config
        from nnviz.core.sweep import run_sweep
        from nnviz.cli import main

        result = run_sweep("hidden", [1, 2], Config(iterations=20), n_jobs=2)
        assert [row.value for row in result.rows] == [1, 2]
        code = main(["sweep", "--param", "hidden", "--values", "1,2", "--iterations", "20",
                     "--out", {str(tmp_path)!r}])
        assert code == 0, code
        assert not leaked(), leaked()
        print("swept without Qt")
        """
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert "swept without Qt" in done.stdout
    assert "plots skipped" in done.stderr
    assert (tmp_path / "sweep.csv").is_file() and not (tmp_path / "sweep.png").exists()


REGRESSION_ARGS = [
    "sweep",
    "--dataset",
    "gauss-reg",
    "--loss",
    "mse",
    "--hidden",
    "8",
    "--activation",
    "tanh",
    "--param",
    "learning-rate",
    "--values",
    "0.01,0.03",
    "--iterations",
    "300",
    "--no-plots",
]


def test_cli_regression_sweep_prints_and_writes_r2(tmp_path, capsys):
    assert main(REGRESSION_ARGS) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "test R²" in line).split()
    assert header[:6] == ["learning", "rate", "train", "R²", "test", "R²"]
    assert not any("AUC" in line for line in lines)
    rows = [line.split() for line in lines if line.lstrip().startswith(("0.01 ", "0.03 "))]
    assert [row[0] for row in rows] == ["0.01", "0.03"]
    for row in rows:
        assert all(np.isfinite(float(cell)) for cell in row[1:4])  # train R², test R², MSE

    out = tmp_path / "reg"
    assert main([*REGRESSION_ARGS, "--out", str(out)]) == 0
    table = _csv(out / "sweep.csv")
    assert table[0] == [
        "param", "value", "train_r2", "test_r2", "final_loss", "seconds", "diverged",
    ]  # fmt: skip
    expected = run_sweep(
        "learning_rate",
        [0.01, 0.03],
        Config(dataset="gauss-reg", loss="mse", hidden=8, activation="tanh", iterations=300),
        n_jobs=1,
    )
    for cells, row in zip(table[1:], expected.rows, strict=True):
        assert float(cells[3]) == row.test_r2 and np.isfinite(row.test_r2)
        assert float(cells[4]) == row.final_loss


def test_cli_sweep_mixing_tasks_writes_one_table_per_task(tmp_path, capsys):
    """Values that mix regression and classification give two tables, CSV files and plots, each
    with its own task's columns and no n/a or nan cell (one table had R² columns reading n/a on
    the moons row), each row equal to that task's sweep run on its own."""
    out = tmp_path / "mixed"
    args = ["sweep", "--dataset", "gauss-reg", "--loss", "mse", "--param", "dataset"]
    args += ["--values", "gauss-reg,moons", "--iterations", "50", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "n/a" not in printed and "nan" not in printed
    headings = [line for line in printed.splitlines() if line.startswith("sweep")]
    assert [line.split(":")[0] for line in headings] == ["sweep-regression", "sweep-classification"]
    assert "wrote 6 files" in printed
    base = BASE.replace(dataset="gauss-reg", loss="mse", iterations=50)
    for task, value, columns in (
        ("regression", "gauss-reg", ["train_r2", "test_r2"]),
        ("classification", "moons", list(METRICS[:6])),  # AUC, accuracy, misclassification
    ):
        header, cells = _csv(out / f"sweep-{task}.csv")
        assert header == ["param", "value", *columns, "final_loss", "seconds", "diverged"]
        assert cells[:2] == ["dataset", value]
        assert all(np.isfinite(float(cell)) for cell in cells[2:])
        expected = run_sweep("dataset", [value], base, n_jobs=1).rows[0]
        for column in columns:
            assert float(cells[header.index(column)]) == expected.mean(column), column
        _check_plot_files(out / f"sweep-{task}.png", out / f"sweep-{task}.svg")
    assert not (out / "sweep.csv").exists()
