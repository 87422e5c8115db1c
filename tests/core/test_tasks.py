"""Beyond two moons (issue 14): several classes, more inputs, feature crosses and regression.

Gradients are checked against central finite differences of objectives written here from the
definitions (softmax with cross-entropy, a linear output with mse, the crosses computed by hand),
not from `nnviz.core`. The article's binary setup is checked to be untouched by the new paths.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from nnviz import Config, ConfigError, Trainer
from nnviz.core.batched import BatchedTrainer
from nnviz.core.config import seed_configs
from nnviz.core.datasets import (
    DataError,
    drawn_to_test,
    load_dataset,
    nearest_point,
    with_points,
)
from nnviz.core.explain import Item, explain_step, node_output_grids
from nnviz.core.features import FeatureMap
from nnviz.core.files import data_csv_text, read_data_csv
from nnviz.core.session import load_session_bytes, session_bytes
from nnviz.core.tasks import task_of

CROSSES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
EPS = 1e-6


def crossed(x, features):
    """The crosses written out by hand."""
    x1, x2 = x[:, 0], x[:, 1]
    table = {
        "x1": x1,
        "x2": x2,
        "x1sq": x1**2,
        "x2sq": x2**2,
        "x1x2": x1 * x2,
        "sinx1": np.sin(x1),
        "sinx2": np.sin(x2),
    }
    return np.column_stack([table[name] for name in features])


HIDDEN = {
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
    "linear": lambda a: a,
}


def reference_objective(weights, x, y, activation, task):
    depth = len(weights) // 2
    h = x
    for k in range(1, depth + 1):
        a = h @ weights[f"W{k}"] + weights[f"b{k}"]
        h = HIDDEN[activation](a) if k < depth else a
    if task == "multiclass":
        p = np.exp(h) / np.exp(h).sum(axis=1, keepdims=True)
        return -np.mean(np.log(p[np.arange(len(y)), y.astype(int)]))
    if task == "regression":
        return np.mean((h[:, 0] - y) ** 2)
    p = 1.0 / (1.0 + np.exp(-h[:, 0]))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def finite_differences(weights, objective):
    gradient = {}
    for name, array in weights.items():
        gradient[name] = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            plus = {k: v.copy() for k, v in weights.items()}
            minus = {k: v.copy() for k, v in weights.items()}
            plus[name][index] += EPS
            minus[name][index] -= EPS
            gradient[name][index] = (objective(plus) - objective(minus)) / (2 * EPS)
    return gradient


def relative_error(analytic, numeric):
    a = np.concatenate([analytic[k].ravel() for k in sorted(analytic)])
    n = np.concatenate([numeric[k].ravel() for k in sorted(numeric)])
    assert np.linalg.norm(n) > 1e-3  # not a vacuous comparison of zeros
    return np.linalg.norm(a - n) / max(np.linalg.norm(a), np.linalg.norm(n))


GRADIENT_CASES = [
    ("softmax-ce-iris", {"dataset": "iris", "loss": "ce"}, "multiclass"),
    ("softmax-ce-spiral4", {"dataset": "spiral", "classes": 4, "loss": "ce"}, "multiclass"),
    (
        "softmax-ce-crosses",
        {"dataset": "blobs", "classes": 3, "loss": "ce", "features": CROSSES},
        "multiclass",
    ),
    ("linear-mse-plane", {"dataset": "plane", "loss": "mse"}, "regression"),
    (
        "linear-mse-crosses",
        {"dataset": "gauss-reg", "loss": "mse", "features": ("x1x2", "sinx1", "x2sq")},
        "regression",
    ),
    ("sigmoid-ce-crosses", {"loss": "ce", "features": CROSSES}, "binary"),
]


@pytest.mark.parametrize("hidden", [(3,), (3, 2)], ids=["1-layer", "2-layers"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize(
    ("name", "overrides", "task"), GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES]
)
def test_gradient_matches_finite_differences(name, overrides, task, activation, hidden):
    config = Config(
        samples=40, hidden=hidden, activation=activation, iterations=0, test_size=0.25, **overrides
    )
    trainer = Trainer(config)
    assert trainer.task.kind == task
    x = trainer.data.x_train[:40]
    features = config.features if config.dataset != "iris" else None
    inputs = crossed(x, features) if features and features != ("x1", "x2") else x
    y = trainer.data.y_train[:40]
    rng = np.random.RandomState(1)
    for _ in range(100):  # relu: no pre-activation near its kink, where EPS could cross it
        weights = {k: rng.normal(0.0, 1.0, v.shape) for k, v in trainer.initial_weights().items()}
        pre = inputs @ weights["W1"] + weights["b1"]
        if activation != "relu" or np.abs(pre).min() > 1e-3:
            break
    trainer.set_weights(weights)
    batch = trainer._make_pass(trainer.task.inputs(x), y)
    trainer.grad[:] = 0.0
    batch.gradient()
    analytic = trainer.layout.to_weights(trainer.grad.copy())
    numeric = finite_differences(
        weights, lambda w: reference_objective(w, inputs, y, activation, task)
    )
    assert relative_error(analytic, numeric) < 1e-6
    batch.forward()
    expected = reference_objective(weights, inputs, y, activation, task)
    assert batch.loss_value() == pytest.approx(expected, rel=1e-10)


STEP_CASES = [
    ("iris-adam", {"dataset": "iris", "loss": "ce", "optimizer": "adam", "learning_rate": 0.01}),
    (
        "spiral3-crosses-minibatch",
        {
            "dataset": "spiral",
            "classes": 3,
            "loss": "ce",
            "features": CROSSES,
            "batch_size": 32,
            "optimizer": "momentum",
            "l2": 0.01,
        },
    ),
    ("plane-mse", {"dataset": "plane", "loss": "mse", "hidden": (4, 3), "activation": "tanh"}),
    (
        "gauss-reg-crosses-adam",
        {
            "dataset": "gauss-reg",
            "loss": "mse",
            "features": ("x1", "x2", "x1x2"),
            "optimizer": "adam",
            "batch_size": 50,
            "learning_rate": 0.01,
        },
    ),
    ("binary-ce-crosses", {"loss": "ce", "features": ("x1sq", "x2sq", "x1x2")}),
]


@pytest.mark.parametrize(("name", "overrides"), STEP_CASES, ids=[c[0] for c in STEP_CASES])
def test_the_step_through_equals_the_trainers_next_step(name, overrides):
    trainer = Trainer(Config(samples=200, **overrides))
    trainer.step(7)
    step = explain_step(trainer)
    trainer.step(1)
    last = trainer.last_step()
    np.testing.assert_array_equal(step.x, last.x)
    np.testing.assert_array_equal(step.y, last.y)
    assert step.loss_value == last.loss
    for mine, theirs in zip(step.layers, last.layers, strict=True):
        for field in ("a", "h", "delta", "grad_w", "grad_b", "update_w", "update_b"):
            np.testing.assert_array_equal(getattr(mine, field), getattr(theirs, field), field)
    for key, value in trainer.weights().items():
        np.testing.assert_array_equal(step.weights_after[key], value)
    assert step.input_names == trainer.task.input_names
    assert step.output == trainer.task.output
    # a sample's terms add up to the batch's loss, and its error terms to dE/db
    values = [step.values(int(i)) for i in step.indices]
    assert sum(v.loss for v in values) == pytest.approx(step.loss_value, rel=1e-9)
    np.testing.assert_allclose(
        sum(v.delta[-1] for v in values), step.layers[-1].grad_b, rtol=1e-9, atol=1e-15
    )


def test_a_sample_outside_the_mini_batch_gets_its_softmax_error_term():
    trainer = Trainer(Config(dataset="iris", loss="ce", batch_size=16, iterations=0))
    step = explain_step(trainer)
    outside = next(i for i in range(len(trainer.data.x_train)) if step.position(i) is None)
    values = step.values(outside)
    p = values.h[-1]
    expected = (p - np.eye(3)[int(trainer.data.y_train[outside])]) / step.batch_size
    np.testing.assert_allclose(values.delta[-1], expected, rtol=1e-12)


# -- the article's binary setup is untouched ------------------------------------------------------


def test_ce_with_two_classes_is_bce_bit_for_bit():
    bce = Trainer(Config.preset("spiral", iterations=300))
    ce = Trainer(Config.preset("spiral", iterations=300, loss="ce"))
    bce.step(300)
    ce.step(300)
    np.testing.assert_array_equal(bce.params, ce.params)
    np.testing.assert_array_equal(bce.history.arrays().train_loss, ce.history.arrays().train_loss)
    assert ce.task.output == "sigmoid" and ce.layout.sizes == (2, 16, 16, 1)


def test_raw_features_pass_the_points_unchanged():
    trainer = Trainer(Config(iterations=0))
    assert trainer._x_train is trainer.data.x_train
    assert trainer.layout.sizes == (2, 5, 1)
    reordered = Trainer(Config(features=("x2", "x1"), iterations=0))
    np.testing.assert_array_equal(reordered._x_train, trainer.data.x_train[:, ::-1])


# -- tasks, layouts and the loss rule ----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "sizes", "task", "output"),
    [
        ({"dataset": "iris", "loss": "ce"}, (4, 5, 3), "multiclass", "softmax"),
        ({"dataset": "wine", "loss": "ce"}, (13, 5, 3), "multiclass", "softmax"),
        ({"dataset": "blobs", "classes": 5, "loss": "ce"}, (2, 5, 5), "multiclass", "softmax"),
        ({"dataset": "blobs", "classes": 2}, (2, 5, 1), "binary", "sigmoid"),
        ({"dataset": "plane", "loss": "mse"}, (2, 5, 1), "regression", "linear"),
        ({"features": CROSSES}, (7, 5, 1), "binary", "sigmoid"),
    ],
)
def test_the_task_decides_inputs_and_outputs(overrides, sizes, task, output):
    trainer = Trainer(Config(iterations=0, **overrides))
    assert trainer.layout.sizes == sizes
    assert (trainer.task.kind, trainer.task.output) == (task, output)
    assert trainer.data.task == task


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dataset": "iris"}, "loss = 'sse' is not allowed: ce .* for iris"),
        ({"dataset": "spiral", "classes": 3, "loss": "bce"}, "loss = 'bce' is not allowed: ce"),
        ({"dataset": "plane", "loss": "bce"}, "loss = 'bce' is not allowed: mse for regression"),
        ({"dataset": "gauss-reg", "loss": "ce"}, "mse for regression"),
        ({"dataset": "wine", "loss": "ce", "features": ("x1", "x1sq")}, "x1,x2 only: wine"),
        ({"classes": 9}, "classes = 9 is not allowed: an integer from 2 to 8"),
        ({"features": "x1,x1"}, "features = .* one or more distinct of x1, x2, x1sq"),
        ({"features": ""}, "features = .* one or more distinct"),
        ({"dataset": "iris", "loss": "ce", "seeds": 4}, "seeds = 4 is not allowed: 1 for this"),
        ({"features": ("x1", "x2", "x1x2"), "seeds": 2}, "seeds = 2 .* raw inputs x1, x2"),
        ({"loss": "ce", "seeds": 2}, "seeds = 2 .* loss sse, mse or bce"),
    ],
)
def test_bad_combinations_are_config_errors_naming_the_rule(overrides, message):
    with pytest.raises(ConfigError, match=message):
        Config(**overrides)


def test_crosses_of_a_wide_csv_file_are_refused_when_it_is_read(tmp_path):
    path = tmp_path / "wide.csv"
    rows = [f"{i},{i % 3},{i % 5},{i % 2}" for i in range(20)]
    path.write_text("x1,x2,x3,label\n" + "\n".join(rows) + "\n")
    config = Config(dataset="csv", csv_path=str(path), features=("x1", "x1sq"), iterations=0)
    with pytest.raises(ConfigError, match="need data with 2 inputs; this data has 3"):
        Trainer(config)
    assert Trainer(config.replace(features=("x1", "x2"))).layout.sizes == (3, 5, 1)


def test_several_seeds_of_a_csv_file_with_three_classes_are_refused_when_it_is_read(tmp_path):
    path = tmp_path / "three.csv"
    rows = [f"{i % 7},{i % 5},{i % 3}" for i in range(30)]
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    config = Config(dataset="csv", csv_path=str(path), loss="ce", seeds=3, iterations=0)
    with pytest.raises(ConfigError, match="seeds = 3 is not allowed: 1 for this setup"):
        BatchedTrainer(seed_configs(config))


def test_outputs_in_raw_coordinates_go_through_the_crosses():
    config = Config.preset("spiral3", iterations=50)
    trainer = Trainer(config)
    trainer.step(50)
    task = task_of(config, trainer.data)
    grid = np.random.RandomState(0).uniform(-1, 1, (30, 2))
    probabilities = task.outputs(trainer.weights(), config.activation, grid)
    assert probabilities.shape == (30, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    by_hand = FeatureMap.of(CROSSES, ("x1", "x2")).apply(grid)
    np.testing.assert_array_equal(by_hand, crossed(grid, CROSSES))
    assert task.input_names == ("x1", "x2", "x1²", "x2²", "x1·x2", "sin x1", "sin x2")
    assert task.output_names == ("p1", "p2", "p3")


# -- the runs issue 14 asks for -------------------------------------------------------------------


def test_iris_reaches_the_accuracy_the_issue_asks_for():
    trainer = Trainer(Config.preset("iris"))
    trainer.step(trainer.config.iterations)
    metrics = trainer.evaluate()
    assert metrics.test.accuracy >= 0.93
    assert metrics.test.confusion.shape == (3, 3)
    assert trainer.snapshot().test_accuracy == metrics.test.accuracy


def test_spiral3_with_crosses_learns_the_spiral():
    trainer = Trainer(Config.preset("spiral3"))
    trainer.step(trainer.config.iterations)
    assert trainer.evaluate(full=False).test.accuracy >= 0.9


def test_regression_preset_fits_the_bumps():
    trainer = Trainer(Config.preset("regression"))
    trainer.step(trainer.config.iterations)
    metrics = trainer.evaluate()
    assert metrics.test.r2 >= 0.95
    assert np.isnan(trainer.snapshot().test_accuracy)


def test_divergence_is_recovered_for_softmax_and_regression():
    for overrides in ({"dataset": "iris", "loss": "ce"}, {"dataset": "plane", "loss": "mse"}):
        trainer = Trainer(
            Config(activation="relu", learning_rate=1e6, iterations=200, init="he", **overrides)
        )
        trainer.step(200)
        assert trainer.diverged_at is not None
        assert np.all(np.isfinite(trainer.params))


# -- datasets ---------------------------------------------------------------------------------


def test_iris_and_wine_are_standardised_with_the_training_split():
    for name, inputs in (("iris", 4), ("wine", 13)):
        data = load_dataset(Config(dataset=name, loss="ce"))
        assert data.x_train.shape[1] == inputs and data.n_classes == 3
        np.testing.assert_allclose(data.x_train.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(data.x_train.std(axis=0), 1.0)
        assert len(data.feature_names) == inputs
    assert load_dataset(Config(dataset="iris", loss="ce")).feature_names[0] == "sepal length"


@pytest.mark.parametrize("classes", [2, 3, 5, 8])
@pytest.mark.parametrize("dataset", ["spiral", "blobs"])
def test_classed_datasets_draw_every_class_evenly(dataset, classes):
    loss = "ce" if classes > 2 else "bce"
    data = load_dataset(Config(dataset=dataset, classes=classes, samples=400, loss=loss))
    labels = np.concatenate([data.y_train, data.y_test])
    assert np.bincount(labels.astype(int)).tolist() == [
        400 // classes + (c < 400 % classes) for c in range(classes)
    ]
    assert data.n_classes == classes


def test_regression_targets_follow_playground():
    plane = load_dataset(Config(dataset="plane", loss="mse", noise=0.0))
    np.testing.assert_allclose(plane.y_train, 0.6 * plane.x_train.sum(axis=1))
    bumps = load_dataset(Config(dataset="gauss-reg", loss="mse", noise=0.0))
    assert bumps.task == "regression" and bumps.n_classes == 0
    assert -1.0 <= bumps.y_train.min() < -0.5 and 0.5 < bumps.y_train.max() <= 1.0


# -- explain: softmax, cross-entropy and a linear output, with live numbers ---------------------


def test_explain_writes_softmax_and_cross_entropy_with_the_numbers():
    trainer = Trainer(Config.preset("iris", iterations=0, hidden=(4,)))
    trainer.step(5)
    step = explain_step(trainer)
    sample = int(step.indices[0])
    v = step.values(sample)
    y = int(v.y)
    index = {(p.kind, p.layer): p.index for p in step.phases}
    forward = step.formula(index[("forward", 2)], Item("node", 2, y), sample)
    assert forward.title == f"output p{y + 1} · forward"
    a = v.a[2]
    expected = (
        f"p_k = exp(a_k) / sum_c exp(a_c) = exp({a[y]:.4g}) / "
        f"(exp({a[0]:.4g}) + exp({a[1]:.4g}) + exp({a[2]:.4g})) = {v.h[2][y]:.4g}"
    )
    assert forward.lines[-1] == expected
    loss = step.formula(index[("loss", 2)], Item("node", 2, 0), sample)
    assert loss.lines[0] == f"E_n = -log(p_y) / n = -log({v.h[2][y]:.4g}) / 112 = {v.loss:.4g}"
    assert loss.lines[1].startswith("E = -1/n * sum_n log p_y = -1/112 * (log(")
    backward = step.formula(index[("backward", 2)], Item("node", 2, y), sample)
    assert backward.lines[0] == (
        f"delta_k = (p_k - y_k) / n = ({v.h[2][y]:.4g} - 1) / 112 = {v.delta[2][y]:.4g}"
    )
    assert "softmax and cross-entropy cancel" in backward.text
    other = (y + 1) % 3
    assert (
        "- 0) / 112"
        in step.formula(index[("backward", 2)], Item("node", 2, other), sample).lines[0]
    )
    view = step.phase_view(index[("loss", 2)], sample)
    assert view.node_labels[(2, y)][-1] == f"E_n={v.loss:.3g}"
    assert "-1/n Σ log p_y" in view.caption
    assert step.unit_name(0, 3) == "input petal width"


def test_explain_writes_the_linear_output_and_mse_of_a_regression():
    trainer = Trainer(Config.preset("regression", iterations=0, hidden=(3,)))
    trainer.step(5)
    step = explain_step(trainer)
    sample = int(step.indices[0])
    v = step.values(sample)
    index = {(p.kind, p.layer): p.index for p in step.phases}
    forward = step.formula(index[("forward", 2)], Item("node", 2, 0), sample)
    assert forward.lines[-1] == f"p = a_k = {v.h[2][0]:.4g}"
    assert "predicted target" in forward.text
    backward = step.formula(index[("backward", 2)], Item("node", 2, 0), sample)
    n = step.batch_size
    target = f"{v.y:.4g}" if v.y >= 0 else f"({v.y:.4g})"
    assert backward.lines[0] == (
        f"delta_k = 2/n * (p - y) = 2/{n} * ({v.h[2][0]:.4g} - {target}) = {v.delta[2][0]:.4g}"
    )
    assert step.unit_name(2, 0) == "output p"  # the prediction, as in the formulas; y is the target
    # Negative targets and predictions are written in parentheses after a minus sign.
    loss = step.formula(index[("loss", 2)], Item("node", 2, 0), sample)
    assert (step.y < 0).any() and "(-" in loss.lines[-1]
    assert not any("- -" in line for line in (*loss.lines, *backward.lines))


def test_explain_names_crossed_inputs():
    trainer = Trainer(Config.preset("spiral3", iterations=0))
    step = explain_step(trainer)
    assert [step.unit_name(0, u) for u in (2, 4, 5)] == ["input x1²", "input x1·x2", "input sin x1"]
    note = step.formula(0, Item("node", 0, 4), int(step.indices[0])).notes[0]
    assert note.startswith("Input 5, x1·x2, of sample")
    grids = node_output_grids(trainer.weights(), "tanh", (-1, 1, -1, 1), size=5, task=trainer.task)
    gx, gy = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
    np.testing.assert_allclose(grids[0][4], (gx * gy).astype(np.float32))
    np.testing.assert_allclose(grids[-1].sum(axis=0), 1.0, rtol=1e-6)  # softmax maps


# -- metrics against scikit-learn -------------------------------------------------------------


def test_multiclass_metrics_are_sklearns():
    from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score, roc_curve

    trainer = Trainer(Config.preset("spiral3", iterations=200))
    trainer.step(200)
    fast, full = trainer.evaluate(full=False), trainer.evaluate()
    for split, x, y in (
        (full.test, trainer.data.x_test, trainer.data.y_test),
        (full.train, trainer.data.x_train, trainer.data.y_train),
    ):
        p = trainer.task.outputs(trainer.weights(), "tanh", x)
        np.testing.assert_array_equal(split.probabilities, p)
        assert split.confusion.tolist() == confusion_matrix(y, p.argmax(axis=1)).tolist()
        assert split.auc == pytest.approx(
            roc_auc_score(y, p, multi_class="ovr", average="macro"), rel=1e-12
        )
        fpr, tpr, _ = roc_curve(y == 1, p[:, 1])
        np.testing.assert_array_equal(split.curves[1][0], fpr)
        np.testing.assert_array_equal(split.curves[1][1], tpr)
        report = classification_report(y, p.argmax(axis=1), output_dict=True, zero_division=0)
        np.testing.assert_allclose(
            split.precision, [report[f"{c}.0"]["precision"] for c in range(3)]
        )
        np.testing.assert_allclose(split.recall, [report[f"{c}.0"]["recall"] for c in range(3)])
        assert split.fpr[0] == 0 and split.tpr[-1] == 1 and np.all(np.diff(split.fpr) > 0)
    assert not fast.test.is_full and fast.test.full().to_dict() == full.test.to_dict()
    assert fast.test.auc == full.test.auc and "report" not in fast.test.to_dict()


def test_regression_metrics_are_sklearns():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    trainer = Trainer(Config.preset("regression", iterations=300))
    trainer.step(300)
    metrics = trainer.evaluate()
    prediction = trainer.task.outputs(trainer.weights(), "tanh", trainer.data.x_test)
    test = metrics.test
    np.testing.assert_array_equal(test.predictions, prediction)
    np.testing.assert_array_equal(test.targets, trainer.data.y_test)
    assert test.r2 == pytest.approx(r2_score(trainer.data.y_test, prediction), rel=1e-12)
    assert test.mse == pytest.approx(mean_squared_error(trainer.data.y_test, prediction), rel=1e-12)
    assert test.mae == pytest.approx(
        mean_absolute_error(trainer.data.y_test, prediction), rel=1e-12
    )
    assert test.loss == trainer.snapshot().test_loss
    assert np.isnan(test.auc) and np.isnan(test.accuracy)
    assert metrics.to_dict()["task"] == "regression" and "R^2" in metrics.report_text()


# -- files, sessions and drawn points ----------------------------------------------------------


@pytest.mark.parametrize("preset", ["iris", "spiral3", "regression"])
def test_sessions_and_data_csv_keep_every_task_and_train_on_bit_for_bit(preset):
    trainer = Trainer(Config.preset(preset, iterations=400, batch_size=24))
    trainer.step(150)
    data = read_data_csv(io.BytesIO(data_csv_text(trainer.data).encode()))
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(data, name), getattr(trainer.data, name))
    assert (data.task, data.n_classes) == (trainer.data.task, trainer.data.n_classes)
    loaded = load_session_bytes(session_bytes(trainer))
    loaded.step(100)
    trainer.step(100)
    np.testing.assert_array_equal(loaded.params, trainer.params)
    for column in ("train_loss", "test_accuracy"):
        np.testing.assert_array_equal(
            getattr(loaded.history.arrays(), column), getattr(trainer.history.arrays(), column)
        )


def test_a_wide_multiclass_csv_file_trains(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.normal(size=(60, 4))
    y = np.argmax(x[:, :3], axis=1)
    lines = ["x1,x2,x3,x4,label"] + [
        ",".join([*(repr(float(v)) for v in row), str(label)]) for row, label in zip(x, y)
    ]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    trainer = Trainer(Config(dataset="csv", csv_path=str(path), loss="ce", iterations=0))
    assert trainer.layout.sizes == (4, 5, 3) and trainer.data.task == "multiclass"
    with pytest.raises(ConfigError, match=r"ce .* for csv"):
        Trainer(Config(dataset="csv", csv_path=str(path), iterations=0))
    path.write_text("x1,x2,target\n" + "\n".join(f"{i},{i % 4},{i / 7}" for i in range(12)))
    regression = Trainer(Config(dataset="csv", csv_path=str(path), loss="mse", iterations=5))
    assert regression.task.output == "linear"
    regression.step(5)


def test_drawn_points_join_the_training_split_and_training_goes_on():
    config = Config.preset("spiral3", iterations=100)
    data = load_dataset(config)
    drawn = with_points(data, add=[[0.5, 0.5], [-0.2, 0.1]], labels=[2, 0], remove=[0, 3])
    assert len(drawn.x_train) == len(data.x_train) and drawn.task == "multiclass"
    np.testing.assert_array_equal(drawn.x_train[-2:], [[0.5, 0.5], [-0.2, 0.1]])
    np.testing.assert_array_equal(drawn.x_train[:-2], np.delete(data.x_train, [0, 3], axis=0))
    np.testing.assert_array_equal(drawn.x_test, data.x_test)
    assert len(data.x_train) == len(drawn.x_train)  # the original is unchanged: undo keeps it
    trainer = Trainer(config, drawn)
    trainer.step(50)
    loaded = load_session_bytes(session_bytes(trainer))  # data.csv keeps the drawn points
    np.testing.assert_array_equal(loaded.data.x_train, drawn.x_train)
    loaded.step(50)
    trainer.step(50)
    np.testing.assert_array_equal(loaded.params, trainer.params)
    assert nearest_point(drawn, (0.51, 0.49), 0.05) == ("train", len(drawn.x_train) - 2)
    assert nearest_point(drawn, (5.0, 5.0), 0.05) is None
    assert nearest_point(drawn, tuple(drawn.x_test[5] + 0.001), 0.05) == ("test", 5)


def test_drawn_test_points_follow_the_every_fourth_rule_and_both_splits_can_empty():
    data = load_dataset(Config(dataset="blobs", classes=3, loss="ce", samples=40))
    empty = with_points(data, remove=range(len(data.x_train)), min_train=0)
    empty = with_points(empty, remove_test=range(len(data.x_test)), min_train=0)
    assert len(empty.x_train) == len(empty.x_test) == 0
    drawn = empty
    for i in range(8):
        label = i % 2
        drawn = with_points(
            drawn, [[i, 0.0]], [label], test=[drawn_to_test(drawn, label)], min_train=0
        )
    np.testing.assert_array_equal(drawn.x_test, [[6.0, 0.0], [7.0, 0.0]])  # 4th of each class
    np.testing.assert_array_equal(drawn.y_train, [0, 1, 0, 1, 0, 1])
    fewer = with_points(drawn, remove_test=[0])
    assert list(fewer.y_test) == [1] and drawn_to_test(fewer, 0) and not drawn_to_test(fewer, 1)
    with pytest.raises(DataError, match="at least 2 training points"):
        with_points(drawn, remove=range(5))
    with pytest.raises(DataError, match="test indices"):
        with_points(drawn, remove_test=[2])
    assert empty.bounds == pytest.approx((-1.2, 1.2, -1.2, 1.2))
    untested = with_points(drawn, remove_test=[0, 1])  # trains, with no test figures
    trainer = Trainer(Config(dataset="blobs", classes=3, loss="ce", iterations=20), untested)
    trainer.step(20)
    snapshot = trainer.snapshot()
    assert np.isnan(snapshot.test_loss) and np.isnan(snapshot.test_accuracy)
    assert np.isfinite(snapshot.train_loss)
    loaded = load_session_bytes(session_bytes(trainer))  # a session of it reopens
    assert len(loaded.data.x_test) == 0 and loaded.iteration == 20
    np.testing.assert_array_equal(loaded.params, trainer.params)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"add": [[0.1, 0.2]], "labels": [3]}, "classes 0 to 2"),
        ({"add": [[0.1, 0.2]], "labels": [0.5]}, "classes 0 to 2"),
        ({"add": [[0.1, 0.2, 0.3]], "labels": [1]}, r"must be \(m, 2\)"),
        ({"add": [[np.nan, 0.2]], "labels": [1]}, "finite"),
        ({"remove": [10_000]}, "training indices"),
    ],
)
def test_drawn_points_that_do_not_fit_are_data_errors(kwargs, message):
    data = load_dataset(Config(dataset="blobs", classes=3, loss="ce", samples=40))
    with pytest.raises(DataError, match=message):
        with_points(data, **kwargs)
