"""The step-through: the trainer's own numbers, an untouched trainer, and formulas that add up.

The reference backprop below is written from the article's formulas, not from `nnviz.core`.
"""

from __future__ import annotations

import math
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from nnviz import Config, Trainer
from nnviz.core.diagram import layout_diagram
from nnviz.core.explain import (
    BACKWARD,
    FORWARD,
    LOSS,
    UPDATE,
    Item,
    StepThrough,
    build_step,
    explain_step,
    node_levels,
    node_output_grid,
    node_output_grids,
)
from nnviz.core.network import forward_layers

# (name, config overrides, iterations before the explained one)
CONFIGS = [
    ("seed", {}, 40),
    ("tanh-bce-4-3", {"hidden": (4, 3), "activation": "tanh", "loss": "bce"}, 25),
    ("relu-mse", {"activation": "relu", "loss": "mse", "init": "he"}, 25),
    ("linear-sse", {"activation": "linear", "hidden": (3,), "learning_rate": 0.01}, 5),
    ("momentum", {"optimizer": "momentum", "learning_rate": 0.05}, 30),
    ("adam-minibatch", {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32}, 30),
    ("gd-minibatch-l1-l2", {"batch_size": 50, "l1": 1e-3, "l2": 1e-2, "hidden": (4, 2)}, 20),
    ("short-last-minibatch", {"batch_size": 40, "loss": "mse"}, 3),  # 150 = 3 * 40 + 30
    # issue 14: a softmax output, crosses and a mini-batch, a linear output
    ("iris-softmax", {"dataset": "iris", "loss": "ce", "hidden": (4,), "activation": "tanh"}, 10),
    (
        "spiral3-crosses",
        {
            "dataset": "spiral",
            "classes": 3,
            "loss": "ce",
            "features": ("x1", "x2", "x1x2", "sinx1"),
            "batch_size": 32,
            "optimizer": "adam",
            "learning_rate": 0.01,
        },
        10,
    ),
    ("plane-regression", {"dataset": "plane", "loss": "mse", "hidden": (3,)}, 10),
]
IDS = [name for name, *_ in CONFIGS]


def make_trainer(overrides: dict, iterations: int) -> Trainer:
    trainer = Trainer(Config.preset("seed", samples=200, **overrides))
    trainer.step(iterations)
    return trainer


@pytest.fixture(params=CONFIGS, ids=IDS)
def case(request):
    _, overrides, iterations = request.param
    trainer = make_trainer(overrides, iterations)
    step = explain_step(trainer)
    return trainer, step


# -- the core's own numbers ------------------------------------------------------------------


def test_the_step_through_equals_the_trainers_next_step_exactly(case):
    trainer, step = case
    before = trainer.weights()
    trainer.step(1)
    last = trainer.last_step()
    assert step.iteration == last.iteration
    np.testing.assert_array_equal(step.x, last.x)
    np.testing.assert_array_equal(step.y, last.y)
    assert step.loss_value == last.loss
    assert len(step.layers) == len(last.layers)
    for mine, theirs in zip(step.layers, last.layers):
        for name in ("a", "h", "delta", "grad_w", "grad_b", "update_w", "update_b"):
            np.testing.assert_array_equal(getattr(mine, name), getattr(theirs, name), err_msg=name)
    after = trainer.weights()
    for name in before:
        np.testing.assert_array_equal(step.weights_before[name], before[name])
        np.testing.assert_array_equal(step.weights_after[name], after[name])
    # applying the shown changes to the shown weights gives the trainer's weights, bit for bit
    for k, layer in enumerate(step.layers, start=1):
        np.testing.assert_array_equal(layer.w + layer.update_w, after[f"W{k}"])
        np.testing.assert_array_equal(layer.b + layer.update_b, after[f"b{k}"])
        np.testing.assert_array_equal(layer.w_after, after[f"W{k}"])
        if step.optimizer == "gd":  # the article's rule, written out
            rate = -step.learning_rate
            np.testing.assert_array_equal(layer.w + layer.grad_w * rate, after[f"W{k}"])
            np.testing.assert_array_equal(layer.b + layer.grad_b * rate, after[f"b{k}"])


@pytest.mark.parametrize(("overrides", "iterations"), [(o, i) for _, o, i in CONFIGS], ids=IDS)
def test_building_the_step_through_leaves_the_trainer_alone(overrides, iterations):
    trainer, twin = make_trainer(overrides, iterations), make_trainer(overrides, iterations)
    for _ in range(3):
        explain_step(trainer)
    trainer.step(5)
    twin.step(5)
    for name, value in twin.weights().items():
        np.testing.assert_array_equal(trainer.weights()[name], value)
    np.testing.assert_array_equal(
        trainer.history.arrays().train_loss, twin.history.arrays().train_loss
    )


def test_a_momentum_or_adam_step_reports_the_optimizers_update():
    for overrides in ({"optimizer": "momentum"}, {"optimizer": "adam", "learning_rate": 0.01}):
        trainer = make_trainer(overrides, 10)
        step = explain_step(trainer)
        layer = step.layers[-1]
        assert not np.allclose(layer.update_w, -step.learning_rate * layer.grad_w)
        assert step.optimizer_before != {} and step.optimizer_after != {}


def reference_backprop(weights, x, y, activation, loss, output="sigmoid"):
    """The article's backprop in (samples, units) form, written independently of the core;
    a softmax output with cross-entropy or a linear one with mse for issue 14's tasks."""
    functions = {
        "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), lambda a, h: h * (1 - h)),
        "tanh": (np.tanh, lambda a, h: 1 - h**2),
        "relu": (lambda a: np.maximum(a, 0), lambda a, h: (a > 0) * 1.0),
        "linear": (lambda a: a, lambda a, h: np.ones_like(a)),
    }
    depth = len(weights) // 2
    inputs, pre, out = [], [], []
    h = x
    for k in range(1, depth + 1):
        inputs.append(h)
        a = h @ weights[f"W{k}"] + weights[f"b{k}"]
        if k < depth or output != "softmax":
            h = functions[activation if k < depth else output][0](a)
        else:
            h = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
        pre.append(a)
        out.append(h)
    n = len(y)
    if output == "softmax":
        deltas = [(out[-1] - np.eye(out[-1].shape[1])[y.astype(int)]) / n]
    elif output == "linear":
        deltas = [(out[-1] - y[:, None]) * (2 / n)]
    else:
        p = out[-1][:, 0]
        scale = 1 / n if loss == "bce" else p * (1 - p) * (2 / n if loss == "mse" else 1)
        deltas = [((p - y) * scale)[:, None]]
    for k in range(depth - 1, 0, -1):
        back = deltas[0] @ weights[f"W{k + 1}"].T
        deltas.insert(0, back * functions[activation][1](pre[k - 1], out[k - 1]))
    grads = {}
    for k in range(1, depth + 1):
        grads[f"W{k}"] = inputs[k - 1].T @ deltas[k - 1]
        grads[f"b{k}"] = deltas[k - 1].sum(axis=0)
    return pre, out, deltas, grads


def test_the_step_through_agrees_with_an_independent_backprop(case):
    _, step = case
    pre, out, deltas, grads = reference_backprop(
        step.weights_before, step.x, step.y, step.activation, step.loss, step.output
    )
    for k, layer in enumerate(step.layers, start=1):
        np.testing.assert_allclose(layer.a, pre[k - 1], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(layer.h, out[k - 1], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(layer.delta, deltas[k - 1], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer.data_grad_w, grads[f"W{k}"], rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(layer.grad_b, grads[f"b{k}"], rtol=1e-11, atol=1e-14)
        regular = step.l2 * layer.w + step.l1 * np.sign(layer.w)
        np.testing.assert_allclose(layer.grad_w, grads[f"W{k}"] + regular, rtol=1e-11, atol=1e-14)


# -- values for one sample or the batch --------------------------------------------------------


def test_sample_values_are_rows_of_the_batch_and_batch_values_aggregate(case):
    _, step = case
    sample = int(step.indices[3])
    v = step.values(sample)
    assert v.position == 3 and v.in_batch
    np.testing.assert_array_equal(v.x, step.x_train[sample])
    for c in range(1, step.depth + 1):
        layer = step.layers[c - 1]
        np.testing.assert_array_equal(v.a[c], layer.a[3])
        np.testing.assert_array_equal(v.h[c], layer.h[3])
        np.testing.assert_array_equal(v.delta[c], layer.delta[3])
    batch = step.values(None)
    assert batch.loss == step.loss_value
    for c in range(1, step.depth + 1):
        layer = step.layers[c - 1]
        np.testing.assert_array_equal(batch.delta[c], layer.grad_b)  # sum of delta = dE/db
        np.testing.assert_allclose(batch.delta[c], layer.delta.sum(axis=0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(batch.h[c], layer.h.mean(axis=0))
    # the sample's share of the loss: the shares add up to the batch loss
    shares = sum(step.values(int(i)).loss for i in step.indices)
    assert math.isclose(shares, step.loss_value, rel_tol=1e-9)


def test_a_sample_outside_the_mini_batch_gets_the_error_term_it_would_have_in_it():
    trainer = make_trainer({"batch_size": 16, "hidden": (4, 3), "activation": "tanh"}, 7)
    step = explain_step(trainer)
    outside = next(i for i in range(len(step.x_train)) if i not in set(step.indices))
    v = step.values(outside)
    assert v.position is None and not v.in_batch
    # the same batch with its first sample swapped for `outside`, computed by the core
    swapped = step.indices.copy()
    swapped[0] = outside
    other = build_step(
        trainer.config,
        trainer.data,
        trainer.weights(),
        optimizer_state=trainer.optimizer.state(),
        batch_indices=swapped,
    )
    for c in range(1, step.depth + 1):
        np.testing.assert_allclose(v.a[c], other.layers[c - 1].a[0], rtol=1e-12)
        np.testing.assert_allclose(v.delta[c], other.layers[c - 1].delta[0], rtol=1e-10)
    text = step.formula(step.phases.index(_phase(step, BACKWARD, 1)), Item("node", 1, 0), outside)
    assert "not in this iteration's mini-batch" in text.text


def test_the_short_last_mini_batch_is_explained():
    step = explain_step(make_trainer({"batch_size": 40}, 3))
    assert step.batch_size == 30


def test_sample_indices_are_checked():
    step = explain_step(make_trainer({}, 0))
    with pytest.raises(ValueError, match="training set"):
        step.values(len(step.x_train))


# -- phases and what the diagram shows -----------------------------------------------------------


def _phase(step: StepThrough, kind: str, layer: int | None):
    return next(p for p in step.phases if p.kind == kind and p.layer == layer)


def test_phases_walk_forward_loss_backward_update():
    step = explain_step(make_trainer({}, 0))
    assert [p.title for p in step.phases] == [
        "1 forward: hidden 1",
        "1 forward: output",
        "2 loss",
        "3 backward: output",
        "3 backward: hidden 1",
        "4 update",
    ]
    deep = explain_step(make_trainer({"hidden": (4, 3)}, 0))
    assert [(p.kind, p.layer) for p in deep.phases] == [
        (FORWARD, 1),
        (FORWARD, 2),
        (FORWARD, 3),
        (LOSS, 3),
        (BACKWARD, 3),
        (BACKWARD, 2),
        (BACKWARD, 1),
        (UPDATE, None),
    ]
    assert [p.index for p in deep.phases] == list(range(8))


def test_phase_views_label_the_active_layer_with_the_phase_values(case):
    _, step = case
    sample = int(step.indices[0])
    v = step.values(sample)
    depth = step.depth
    for phase in step.phases:
        view = step.phase_view(phase.index, sample)
        assert view.phase == phase and view.in_batch
        if phase.kind == FORWARD:
            c = phase.layer
            assert view.columns == (c,) and view.weight_layers == (c,)
            for u in range(step.sizes[c]):
                a, h = view.node_labels[(c, u)]
                assert a == f"a={v.a[c][u] + 0.0:.3g}" and h.endswith(f"={v.h[c][u] + 0.0:.3g}")
            terms = step.layers[c - 1].w * v.h[c - 1][:, None]
            assert len(view.edge_values) == terms.size
            for (k, i, j), value in view.edge_values.items():
                assert k == c and value == terms[i, j]
        elif phase.kind == LOSS:
            assert view.columns == (depth,) and not view.edge_values
            unit = int(v.y) if step.output == "softmax" else 0
            assert view.node_labels[(depth, unit)][-1] == f"E_n={v.loss:.3g}"
        elif phase.kind == BACKWARD:
            c = phase.layer
            for u in range(step.sizes[c]):
                assert view.node_labels[(c, u)] == (f"δ={v.delta[c][u] + 0.0:.3g}",)
            for (k, i, j), value in view.edge_values.items():
                assert k == c and value == step.layers[c - 1].grad_w[i, j]
        else:
            assert view.weight_layers == tuple(range(1, depth + 1))
            count = sum(layer.update_w.size for layer in step.layers)
            assert len(view.edge_values) == len(view.edge_labels) == count
            for (k, i, j), value in view.edge_values.items():
                assert value == step.layers[k - 1].update_w[i, j]
    batch = step.phase_view(_phase(step, BACKWARD, depth).index, None)
    assert batch.node_labels[(depth, 0)] == (f"Σδ={step.layers[-1].grad_b[0]:.3g}",)
    assert "batch" in batch.caption


# -- formulas ------------------------------------------------------------------------------------

NAMES = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "max": max, "sqrt": math.sqrt}


def check_line(line: str) -> float | None:
    """Evaluate the substituted part of `lhs = symbols = numbers = result`; return the result."""
    parts = line.split(" = ")
    try:
        result = float(parts[-1])
    except ValueError:
        return None
    if len(parts) >= 3 and "..." not in parts[-2] and not re.search(r"[a-wyz]_", parts[-2]):
        expression = parts[-2].replace("^", "**")
        value = eval(expression, {"__builtins__": {}}, NAMES)
        assert math.isclose(value, result, rel_tol=1e-8, abs_tol=1e-12), (line, value)
    return result


def all_items(step: StepThrough) -> list[Item]:
    items = [Item("node", c, u) for c, n in enumerate(step.sizes) for u in range(n)]
    items += [Item("bias", c, u) for c, n in enumerate(step.sizes) if c for u in range(n)]
    items += [
        Item("edge", k, j, i)
        for k in range(1, step.depth + 1)
        for i in range(step.sizes[k - 1])
        for j in range(step.sizes[k])
    ]
    return items


def test_every_formula_line_adds_up_for_every_item_and_phase(case):
    _, step = case
    samples = [None, int(step.indices[1])]
    checked = 0
    for phase in step.phases:
        for item in all_items(step):
            for sample in samples:
                formula = step.formula(phase.index, item, sample, digits=15)
                assert formula.title and formula.lines
                for line in formula.lines:
                    if check_line(line) is not None:
                        checked += 1
    assert checked > 100


def results(formula) -> list[float]:
    return [float(line.split(" = ")[-1]) for line in formula.lines]


def test_formula_results_are_the_step_through_values(case):
    _, step = case
    sample = int(step.indices[2])
    v = step.values(sample)
    depth, index = step.depth, {(p.kind, p.layer): p.index for p in step.phases}
    for c in range(1, depth + 1):
        layer = step.layers[c - 1]
        for u in range(step.sizes[c]):
            node = Item("node", c, u)
            a, h = results(step.formula(index[(FORWARD, c)], node, sample, digits=17))
            assert (a, h) == (v.a[c][u], v.h[c][u])
            delta, grad_b = results(step.formula(index[(BACKWARD, c)], node, sample, digits=17))
            assert (delta, grad_b) == (v.delta[c][u], layer.grad_b[u])
            update = results(step.formula(index[(UPDATE, None)], node, sample, digits=17))
            assert layer.b_after[u] in update and layer.update_b[u] in update
            for i in range(step.sizes[c - 1]):
                edge = Item("edge", c, u, i)
                grad = results(step.formula(index[(BACKWARD, c)], edge, sample, digits=17))
                assert grad[0] == v.delta[c][u] * v.h[c - 1][i]
                assert grad[1] == layer.data_grad_w[i, u]
                assert grad[-1] == layer.grad_w[i, u]
                update = results(step.formula(index[(UPDATE, None)], edge, None, digits=17))
                assert layer.w_after[i, u] in update
                assert layer.update_w[i, u] in update
    loss = results(step.formula(index[(LOSS, depth)], Item("node", depth, 0), sample, digits=17))
    assert loss == [v.loss, step.loss_value]


def test_the_article_formulas_read_as_the_article_writes_them():
    trainer = make_trainer({}, 40)
    step = explain_step(trainer)
    index = {(p.kind, p.layer): p.index for p in step.phases}
    sample = 7
    v = step.values(sample)
    p, y = v.h[2][0], v.y
    text = step.formula(index[(BACKWARD, 2)], Item("node", 2, 0), sample).lines[0]
    assert text == (
        f"delta_k = (p - y) * p * (1 - p) = ({p:.4g} - {y:.4g}) * {p:.4g} * {1 - p:.4g} = "
        f"{v.delta[2][0]:.4g}"
    )
    hidden = step.formula(index[(BACKWARD, 1)], Item("node", 1, 2), sample).lines[0]
    assert hidden.startswith("delta_j = delta_k * w_jk * h_j * (1 - h_j) = ")
    edge = step.formula(index[(BACKWARD, 2)], Item("edge", 2, 0, 3), sample).lines
    assert edge[1].startswith("dE/dw_jk = sum_n delta_k h_j = ")
    assert edge[1].endswith(f" = {step.layers[1].grad_w[3, 0]:.4g}")
    update = step.formula(index[(UPDATE, None)], Item("edge", 2, 0, 3), sample).lines[0]
    w, g = step.layers[1].w[3, 0], step.layers[1].grad_w[3, 0]
    assert update.startswith("w_jk <- w_jk - eta * dE/dw_jk = ")
    assert f" - 0.1 * {'(' if g < 0 else ''}{g:.4g}" in update
    assert update.endswith(f" = {w - 0.1 * g:.4g}")
    forward = step.formula(index[(FORWARD, 1)], Item("node", 1, 0), sample).lines
    assert forward[0].startswith("a_j = w_1j x_1 + w_2j x_2 + b_j = ")
    assert forward[1].startswith("h_j = sigmoid(a_j) = 1 / (1 + exp(-a_j)) = ")
    output = step.formula(index[(FORWARD, 2)], Item("node", 2, 0), sample).lines
    assert output[0].startswith("a_k = w_1k h_1 + w_2k h_2 + w_3k h_3 + w_4k h_4 + w_5k h_5")
    assert output[1].startswith("p = sigmoid(a_k)")
    loss = step.formula(index[(LOSS, 2)], Item("node", 2, 0), sample).lines
    assert loss[0].startswith("E_n = 1/2 * (y - p)^2 = ")
    assert loss[1].startswith("E = 1/2 * sum_n (y - p)^2 = 1/2 * (")
    assert " + ... + " in loss[1]  # 150 samples: first three and the last


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"loss": "bce"}, "delta_k = (p - y) / n = "),
        ({"loss": "mse"}, "delta_k = 2/n * (p - y) * p * (1 - p) = 2/150 * "),
    ],
)
def test_output_error_terms_of_each_loss(overrides, expected):
    step = explain_step(make_trainer(overrides, 3))
    index = next(p.index for p in step.phases if p.kind == BACKWARD and p.layer == 2)
    assert step.formula(index, Item("node", 2, 0), 5).lines[0].startswith(expected)


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ("tanh", ("h_j = tanh(a_j) = tanh(", "delta_j = delta_k * w_jk * (1 - h_j^2) = ")),
        ("relu", ("h_j = max(0, a_j) = max(0, ", "delta_j = delta_k * w_jk * [a_j > 0] = ")),
        ("linear", ("h_j = a_j = ", "delta_j = delta_k * w_jk = ")),
    ],
)
def test_hidden_formulas_of_each_activation(activation, expected):
    step = explain_step(make_trainer({"activation": activation, "learning_rate": 0.01}, 3))
    index = {(p.kind, p.layer): p.index for p in step.phases}
    assert step.formula(index[(FORWARD, 1)], Item("node", 1, 1), 5).lines[1].startswith(expected[0])
    assert (
        step.formula(index[(BACKWARD, 1)], Item("node", 1, 1), 5).lines[0].startswith(expected[1])
    )


def test_wide_layers_truncate_their_sums():
    step = explain_step(make_trainer({"hidden": (16, 16), "activation": "tanh"}, 2))
    index = {(p.kind, p.layer): p.index for p in step.phases}
    line = step.formula(index[(FORWARD, 2)], Item("node", 2, 4), 3).lines[0]
    assert line.startswith("a_j = sum_i w_ij h_i + b_j = ")
    assert line.count(" * ") == 4 and " + ... + " in line
    formula = step.formula(index[(BACKWARD, 1)], Item("node", 1, 0), 3)
    assert formula.lines[0].startswith("delta_j = (sum_k w_jk delta_k) * (1 - h_j^2) = (")
    assert any("16 terms" in note for note in formula.notes)
    assert all(len(line) < 400 for line in formula.lines)


def test_other_optimizers_say_that_the_update_is_their_own():
    for name, expected in (
        ("momentum", "v <- mu * v - eta * dE/dw_jk = 0.9 * "),
        ("adam", "m <- 0.9 * m"),
    ):
        step = explain_step(make_trainer({"optimizer": name, "learning_rate": 0.01}, 4))
        formula = step.formula(len(step.phases) - 1, Item("edge", 2, 0, 1))
        assert formula.lines[0].startswith(expected)
        assert any(f"Optimizer {name}" in note for note in formula.notes)
        assert name in step.phase_view(len(step.phases) - 1).caption


# -- per-node maps -------------------------------------------------------------------------------


def test_node_output_grid_is_the_units_output_over_the_input_plane():
    trainer = make_trainer({"hidden": (4, 3), "activation": "tanh"}, 20)
    weights = trainer.weights()
    extent = (-1.0, 2.0, -0.5, 1.5)
    grid = node_output_grid(weights, "tanh", 2, 1, extent, 24)
    assert grid.shape == (24, 24) and grid.dtype == np.float32
    # row 0 is ymin, column 0 is xmin; the last row and column reach ymax and xmax
    corners = np.array([[-1.0, -0.5], [2.0, -0.5], [-1.0, 1.5], [2.0, 1.5]])
    h = forward_layers(weights, corners, "tanh")[1][1][:, 1]
    np.testing.assert_allclose(
        [grid[0, 0], grid[0, -1], grid[-1, 0], grid[-1, -1]], h, rtol=1e-6, atol=1e-7
    )
    grids = node_output_grids(weights, "tanh", extent, 24)
    assert [g.shape[0] for g in grids] == [2, 4, 3, 1]
    np.testing.assert_array_equal(grids[2][1], grid)
    np.testing.assert_allclose(grids[0][0][0], np.linspace(-1.0, 2.0, 24), rtol=1e-6)  # x1
    p = forward_layers(weights, corners, "tanh")[-1][1][:, 0]
    np.testing.assert_allclose(grids[-1][0][[0, 0, -1, -1], [0, -1, 0, -1]], p, rtol=1e-6)


def test_node_levels_follow_the_activation():
    grid = np.array([[-3.0, 2.0]])
    assert node_levels("sigmoid", 1, 2, grid) == (0.0, 1.0)
    assert node_levels("tanh", 2, 2, grid) == (0.0, 1.0)  # the output is a sigmoid
    assert node_levels("tanh", 1, 2, grid) == (-1.0, 1.0)
    assert node_levels("relu", 1, 2, grid) == (-3.0, 3.0)
    assert node_levels("linear", 1, 2, grid) == (-3.0, 3.0)
    assert node_levels("relu", 1, 2, np.zeros((2, 2))) == (-1.0, 1.0)  # a dead unit


# -- plumbing ------------------------------------------------------------------------------------


def test_a_step_through_pickles_for_the_training_process():
    step = explain_step(make_trainer({"optimizer": "adam"}, 3))
    copy = pickle.loads(pickle.dumps(step))
    assert (
        copy.formula(2, Item("node", 2, 0), 1).text == step.formula(2, Item("node", 2, 0), 1).text
    )


def test_explain_imports_no_qt():
    code = (
        "import sys, nnviz.core.explain; "
        "assert not [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'pyqtgraph'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_node_maps_of_diverged_weights_raise_no_warnings():
    import warnings

    weights = make_trainer({"activation": "relu"}, 3).weights()
    weights["W1"][0, 0] = 1e308
    weights["W1"][1, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grids = node_output_grids(weights, "relu", (-1.0, 1.0, -1.0, 1.0), 8)
        levels = [node_levels("relu", 1, 2, grid) for grid in grids[1]]
    assert all(np.isfinite(level).all() for level in levels)
    assert node_levels("relu", 1, 2, np.full((2, 2), np.nan)) == (-1.0, 1.0)


def test_a_regression_calls_its_prediction_p_everywhere_and_never_y():
    """The diagram names the output node as the formulas write the prediction: p. y is the
    target, in the formulas and in the loss phase's label on that same node."""
    trainer = Trainer(Config.preset("regression", iterations=0, hidden=(3,)))
    trainer.step(3)
    step = explain_step(trainer)
    task, depth = trainer.task, step.depth
    diagram = layout_diagram(
        step.sizes, 450, 350, input_names=task.input_names, output_names=task.output_names
    )
    name = diagram.side_labels[-1].text
    assert name == "p" and step.output_names == ("p",)
    assert step.unit_name(depth, 0) == "output p"
    sample = int(step.indices[0])
    v = step.values(sample)
    index = {(phase.kind, phase.layer): phase.index for phase in step.phases}
    forward = step.formula(index[("forward", depth)], Item("node", depth, 0), sample)
    assert forward.lines[-1] == f"{name} = a_k = {v.h[depth][0]:.4g}"
    loss = step.phase_view(index[("loss", depth)], sample)
    label = loss.node_labels[(depth, 0)][0]
    assert label.startswith(f"{name}=") and " y=" in label, label
    assert label.split()[1] == f"y={v.y:.3g}", "y is the target"
