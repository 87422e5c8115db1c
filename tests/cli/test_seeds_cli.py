"""`nnviz train --seeds K`: every seed trained as its own Trainer, the AUC's mean ± sd, and a run
folder of every seed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnviz import Config, Trainer
from nnviz.cli import main
from nnviz.core.config import seed_configs
from nnviz.core.files import load_weights, split_seed_weights

FLAGS = ["--samples", "200", "--hidden", "4", "--iterations", "300", "--learning-rate", "0.5"]


def test_train_with_seeds_reports_each_seed_and_their_auc_spread(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", *FLAGS, "--seeds", "3", "--out", str(out), "--no-plots"]) == 0
    printed = capsys.readouterr().out
    config = Config(samples=200, hidden=(4,), iterations=300, learning_rate=0.5, seeds=3)
    trainers = [Trainer(c) for c in seed_configs(config)]
    aucs = []
    for trainer in trainers:
        trainer.advance(300)
        aucs.append(trainer.evaluate(full=False).test.auc)
        assert f"{trainer.config.weight_seed:>11}  " in printed
    mean, sd = np.mean(aucs), np.std(aucs, ddof=1)
    assert f"test AUC over 3 seeds: {mean:.4f} ± {sd:.4f}" in printed
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["test_auc"]["mean"] == pytest.approx(mean, abs=1e-15)
    weights = split_seed_weights(load_weights(out / "weights.npz"))
    for k, trainer in enumerate(trainers):
        np.testing.assert_array_equal(weights[k]["W1"], trainer.weights()["W1"])
        assert (out / f"seed{k}" / "history.csv").is_file()


def test_train_with_seeds_evaluates_each_seed_once(capsys, tmp_path, monkeypatch):
    """The printed table and the run folder share one evaluation per seed."""
    calls = []
    evaluate = Trainer.evaluate

    def counted(trainer, **options):
        calls.append(trainer.config.weight_seed)
        return evaluate(trainer, **options)

    monkeypatch.setattr(Trainer, "evaluate", counted)
    out = tmp_path / "run"
    assert main(["train", *FLAGS, "--seeds", "3", "--out", str(out), "--no-plots"]) == 0
    assert sorted(calls) == [Config().weight_seed + k for k in range(3)]
    assert (out / "seed2" / "report.txt").read_text().strip()


def test_too_many_seeds_for_the_weight_seed_exit_2(capsys):
    assert main(["train", *FLAGS, "--weight-seed", str(2**32 - 2), "--seeds", "3"]) == 2
    assert "seeds = 3 is not allowed: at most 2" in capsys.readouterr().err
