"""Sessions of a drawing that reopen whatever was drawn: rows recorded while the canvas had no
training point, and a many-class CSV run drawn down to fewer classes (a saved file must open)."""

from __future__ import annotations

import numpy as np

from nnviz.core import Config, Dataset, load_dataset
from nnviz.core.session import read_session_file, save_seeds_session
from nnviz.service.data_change import continued_on
from nnviz.service.seeds import SeedGroup


def _points(
    x: list[list[float]], y: list[float], task: str = "binary", classes: int = 2
) -> Dataset:
    empty = np.zeros((0, 2))
    return Dataset(
        np.array(x, dtype=float).reshape(-1, 2),
        np.array(y, dtype=float),
        empty,
        np.zeros(0),
        task,
        classes,
    )


def test_rows_recorded_on_an_empty_canvas_reopen_after_points_are_drawn(tmp_path):
    config = Config(dataset="moons", iterations=100)
    trainer = SeedGroup.start(config, load_dataset(config)).trainers()[0]
    trainer = continued_on(trainer, _points([], []))
    path = tmp_path / "empty.nnviz"
    save_seeds_session(path, [trainer])
    trainer = read_session_file(path).trainers[0]
    trainer.reset()  # a row with no train loss: the canvas has no training point
    assert np.isnan(trainer.history.arrays().train_loss[-1])
    trainer = continued_on(trainer, _points([[0.0, 0.0], [1.0, 1.0]], [0.0, 1.0]))
    trainer.advance(10)
    save_seeds_session(path, [trainer])
    reopened = read_session_file(path).trainers[0]
    assert reopened.iteration == trainer.iteration
    np.testing.assert_array_equal(reopened.weights()["W1"], trainer.weights()["W1"])


def test_a_three_class_csv_run_drawn_down_to_one_class_reopens_with_three_outputs(tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{k}" for k in range(3) for a, b in rng.normal(k, 0.3, (20, 2))]
    csv = tmp_path / "three.csv"
    csv.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    config = Config(dataset="csv", csv_path=str(csv), loss="ce", iterations=50)
    data = load_dataset(config)
    assert data.n_classes == 3
    trainer = SeedGroup.start(config, data).trainers()[0]
    trainer.advance(20)
    drawn = _points([[0.1, 0.2]], [0.0], data.task, 3)
    trainer = continued_on(trainer, drawn)
    path = tmp_path / "drawn.nnviz"
    save_seeds_session(path, [trainer])
    reopened = read_session_file(path).trainers[0]
    assert reopened.data.n_classes == 3
    assert reopened.weights()["W2"].shape == (5, 3)
    np.testing.assert_array_equal(reopened.weights()["W2"], trainer.weights()["W2"])
