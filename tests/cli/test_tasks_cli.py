"""`nnviz train` beyond two moons (issue 14): iris, a 3-class spiral with crosses, regression."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, r2_score, roc_auc_score

from nnviz import Config, Trainer
from nnviz.core.files import load_weights, read_data_csv

IRIS = "train --dataset iris --hidden 8 --activation tanh --loss ce --optimizer adam "
IRIS += "--learning-rate 0.01 --iterations 3000"
SPIRAL3 = "train --dataset spiral --classes 3 --features x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2 "
SPIRAL3 += "--noise 0.1 --hidden 16,16 --activation tanh --loss ce --init xavier --optimizer adam "
SPIRAL3 += "--learning-rate 0.01 --iterations 2000"


def nnviz(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "nnviz", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("tasks")
    commands = {
        "iris": [*IRIS.split(), "--out", str(base / "iris")],
        "spiral3": [*SPIRAL3.split(), "--out", str(base / "spiral3")],
        "regression": ["train", "--preset", "regression", "--out", str(base / "reg"), "--no-plots"],
        "bad-loss": ["train", "--dataset", "iris", "--out", str(base / "bad")],
        "bad-features": ["train", "--dataset", "wine", "--loss", "ce", "--features", "x1,x1sq"],
    }
    return base, {name: nnviz(args) for name, args in commands.items()}


def test_iris_acceptance_run(runs):
    base, done = runs
    run = done["iris"]
    assert run.returncode == 0, run.stderr
    assert "macro AUC" in run.stdout and "class 2" in run.stdout
    metrics = json.loads((base / "iris" / "metrics.json").read_text())
    assert metrics["task"] == "multiclass"
    test = metrics["test"]
    assert test["accuracy"] >= 0.93
    assert np.array(test["confusion"]).shape == (3, 3)
    assert 0.9 < test["auc"] == pytest.approx(np.mean(test["class_auc"]))
    assert set(test["report"]) >= {"class 0", "class 1", "class 2", "macro avg"}
    # the numbers are sklearn's, from the weights and data the run folder holds
    with open(base / "iris" / "data.csv", "rb") as handle:
        data = read_data_csv(handle)
    assert data.task == "multiclass" and data.x_train.shape[1] == 4
    trainer = Trainer(Config.preset("iris", iterations=0), data)
    weights = load_weights(base / "iris" / "weights.npz")
    p = trainer.task.outputs(weights, "tanh", data.x_test)
    assert roc_auc_score(data.y_test, p, multi_class="ovr", average="macro") == pytest.approx(
        test["auc"], rel=1e-12
    )
    assert confusion_matrix(data.y_test, p.argmax(axis=1)).tolist() == test["confusion"]


def test_spiral3_with_crosses_run(runs):
    base, done = runs
    run = done["spiral3"]
    assert run.returncode == 0, run.stderr
    metrics = json.loads((base / "spiral3" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9
    config = json.loads((base / "spiral3" / "config.json").read_text())
    assert config["features"] == ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]
    assert config == Config.preset("spiral3").to_dict()


def test_regression_run_reports_r2(runs):
    base, done = runs
    run = done["regression"]
    assert run.returncode == 0, run.stderr
    assert "R^2" in run.stdout and "regression metrics (test)" in run.stdout
    metrics = json.loads((base / "reg" / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["test"]["r2"] >= 0.95
    with open(base / "reg" / "data.csv", "rb") as handle:
        data = read_data_csv(handle)
    trainer = Trainer(Config.preset("regression", iterations=0), data)
    prediction = trainer.task.outputs(
        load_weights(base / "reg" / "weights.npz"), "tanh", data.x_test
    )
    assert r2_score(data.y_test, prediction) == pytest.approx(metrics["test"]["r2"], rel=1e-9)


def test_a_loss_that_does_not_fit_is_one_line_and_exit_2(runs):
    _, done = runs
    for name, expected in (
        ("bad-loss", "loss = 'sse' is not allowed: ce (softmax and cross-entropy) for iris"),
        ("bad-features", "x1,x2 only: wine has more than 2 inputs"),
    ):
        run = done[name]
        assert run.returncode == 2
        assert expected in run.stderr and "Traceback" not in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
