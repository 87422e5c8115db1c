"""Backpropagation against central finite differences of an independently written objective.

The reference objective below is written from the definitions, not from `nnviz.core`:
sse = 1/2 * sum (p - y)^2, mse = mean (p - y)^2, bce = mean -(y log p + (1 - y) log(1 - p)),
plus l2/2 * sum W^2 + l1 * sum |W| over the weights (never the biases).
"""

from __future__ import annotations

import numpy as np
import pytest

from nnviz import Config, Trainer
from nnviz.core.network import forward_layers, loss_value

ACTIVATIONS = ["sigmoid", "tanh", "relu", "linear"]
LOSSES = ["sse", "mse", "bce"]
DEPTHS = [(3,), (3, 2)]
EPS = 1e-6
KINK_MARGIN = 1e-3  # relu: no pre-activation this close to 0, far beyond what EPS can move it


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


HIDDEN = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda a: np.where(a > 0, a, 0.0),
    "linear": lambda a: a,
}


def reference_forward(weights, x, activation):
    """Pre-activations of every layer and the output probabilities, (samples, units) arrays."""
    depth = len(weights) // 2
    h, pre = x, []
    for k in range(1, depth + 1):
        a = h @ weights[f"W{k}"] + weights[f"b{k}"]
        pre.append(a)
        h = HIDDEN[activation](a) if k < depth else _sigmoid(a)
    return pre, h[:, 0]


def reference_objective(weights, x, y, activation, loss, l1=0.0, l2=0.0):
    _, p = reference_forward(weights, x, activation)
    if loss == "sse":
        value = 0.5 * np.sum((p - y) ** 2)
    elif loss == "mse":
        value = np.mean((p - y) ** 2)
    else:
        value = np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    for name, w in weights.items():
        if name.startswith("W"):
            value += 0.5 * l2 * np.sum(w**2) + l1 * np.sum(np.abs(w))
    return value


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


def flat(weights):
    return np.concatenate([weights[k].ravel() for k in sorted(weights)])


def relative_error(analytic, numeric):
    a, n = flat(analytic), flat(numeric)
    return np.linalg.norm(a - n) / max(np.linalg.norm(a), np.linalg.norm(n))


def trainer_with_random_weights(activation, loss, hidden, l1=0.0, l2=0.0):
    """A trainer on 30 training points, its weights drawn so that no relu sits on its kink."""
    config = Config(
        samples=40, hidden=hidden, activation=activation, loss=loss, l1=l1, l2=l2, iterations=0
    )
    trainer = Trainer(config)
    x = np.asarray(trainer.data.x_train)
    for seed in range(100):
        rng = np.random.RandomState(seed)
        weights = {
            name: rng.normal(0.0, 1.0, array.shape)
            for name, array in trainer.initial_weights().items()
        }
        pre, _ = reference_forward(weights, x, activation)
        if min(np.abs(a).min() for a in pre) > KINK_MARGIN and all(
            np.abs(w).min() > KINK_MARGIN for k, w in weights.items() if k.startswith("W")
        ):
            trainer.set_weights(weights)
            return trainer, weights
    raise AssertionError("no weights away from the kinks were found")


def analytic_gradient(trainer, l1=0.0, l2=0.0):
    trainer._full_pass().gradient()
    if l1 or l2:
        trainer._add_regularisation(l1, l2)
    return trainer.layout.to_weights(trainer.grad.copy())


@pytest.mark.parametrize("hidden", DEPTHS, ids=["1-layer", "2-layers"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_finite_differences(activation, loss, hidden):
    trainer, weights = trainer_with_random_weights(activation, loss, hidden)
    x, y = np.asarray(trainer.data.x_train), np.asarray(trainer.data.y_train)
    numeric = finite_differences(weights, lambda w: reference_objective(w, x, y, activation, loss))
    analytic = analytic_gradient(trainer)
    assert np.linalg.norm(flat(numeric)) > 1e-3  # not a vacuous comparison of zeros
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("hidden", DEPTHS, ids=["1-layer", "2-layers"])
@pytest.mark.parametrize(
    ("l1", "l2"), [(0.0, 0.7), (0.3, 0.0), (0.2, 0.5)], ids=["l2", "l1", "l1+l2"]
)
@pytest.mark.parametrize(("activation", "loss"), [("sigmoid", "sse"), ("relu", "bce")])
def test_regularised_gradient_matches_finite_differences(activation, loss, hidden, l1, l2):
    trainer, weights = trainer_with_random_weights(activation, loss, hidden, l1, l2)
    x, y = np.asarray(trainer.data.x_train), np.asarray(trainer.data.y_train)
    numeric = finite_differences(
        weights, lambda w: reference_objective(w, x, y, activation, loss, l1, l2)
    )
    analytic = analytic_gradient(trainer, l1, l2)
    assert relative_error(analytic, numeric) < 1e-6


def test_regularisation_penalises_weights_and_not_biases():
    trainer, weights = trainer_with_random_weights("sigmoid", "sse", (3, 2))
    trainer.grad[:] = 0.0
    trainer._add_regularisation(0.0, 0.25)
    l2 = trainer.layout.to_weights(trainer.grad.copy())
    trainer.grad[:] = 0.0
    trainer._add_regularisation(0.5, 0.0)
    l1 = trainer.layout.to_weights(trainer.grad.copy())
    for name, w in weights.items():
        if name.startswith("W"):
            assert np.array_equal(l2[name], 0.25 * w)
            assert np.array_equal(l1[name], 0.5 * np.sign(w))
        else:
            assert not l2[name].any() and not l1[name].any()


@pytest.mark.parametrize("hidden", DEPTHS, ids=["1-layer", "2-layers"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_values_follow_the_definitions(activation, loss, hidden):
    """The Pass's loss, and `loss_value` over `forward_layers`, are the reference objective."""
    trainer, weights = trainer_with_random_weights(activation, loss, hidden)
    x, y = np.asarray(trainer.data.x_train), np.asarray(trainer.data.y_train)
    expected = reference_objective(weights, x, y, activation, loss)
    batch = trainer._full_pass()
    batch.forward()
    assert batch.loss_value() == pytest.approx(expected, rel=1e-12)
    a, p = forward_layers(weights, x, activation)[-1]
    assert loss_value(loss, p[:, 0], y, a[:, 0]) == pytest.approx(expected, rel=1e-12)
    assert trainer.snapshot().train_loss == pytest.approx(expected, rel=1e-12)


def test_sse_is_half_the_sum_and_mse_the_mean():
    """Pin the scale of each loss on numbers worked by hand."""
    p = np.array([0.9, 0.2, 0.6, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    logit = np.log(p / (1 - p))
    squares = 0.01 + 0.04 + 0.36 + 0.25
    assert loss_value("sse", p, y, logit) == pytest.approx(squares / 2, rel=1e-14)
    assert loss_value("mse", p, y, logit) == pytest.approx(squares / 4, rel=1e-14)
    bce = -(np.log(0.9) + np.log(0.8) + np.log(0.4) + np.log(0.5)) / 4
    assert loss_value("bce", p, y, logit) == pytest.approx(bce, rel=1e-12)


def test_bce_stays_finite_for_a_saturated_output():
    y = np.array([1.0, 0.0])
    logit = np.array([-800.0, 800.0])
    p = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
    assert loss_value("bce", p, y, logit) == pytest.approx(800.0)
