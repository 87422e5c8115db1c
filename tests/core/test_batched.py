"""BatchedTrainer: every network equals its own Trainer bit for bit (weights, history, divergence,
metrics, state), and the stacked kernel equals `network.Pass` per network."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nnviz import Config, Trainer
from nnviz.core.batched import BATCHABLE, BatchedTrainer, batch_key
from nnviz.core.batched.kernel import StackedPass
from nnviz.core.history import COLUMNS
from nnviz.core.network import Layout, Pass

#: Overflows within a few iterations at a large learning rate (the trainer's tests use it).
DIVERGING = {"hidden": (8, 4), "activation": "linear", "loss": "bce"}


def assert_same_bits(a: np.ndarray, b: np.ndarray, name: str = "") -> None:
    assert a.shape == b.shape and a.dtype == b.dtype, name
    assert a.tobytes() == b.tobytes(), name


def assert_network_is_trainer(batch: BatchedTrainer, k: int, trainer: Trainer) -> None:
    """Network k of `batch` and `trainer` agree in every bit a caller can see."""
    network = batch[k]
    assert network.iteration == trainer.iteration
    assert network.diverged_at == trainer.diverged_at
    for name, array in trainer.weights().items():
        assert_same_bits(network.weights()[name], array, name)
    ours, theirs = network.history.arrays(), trainer.history.arrays()
    for column in COLUMNS:
        assert_same_bits(getattr(ours, column), getattr(theirs, column), column)
    a, b = network.snapshot(), trainer.snapshot()
    for name in ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "target"):
        assert_same_bits(np.float64(getattr(a, name)), np.float64(getattr(b, name)), name)
    state, expected = network.training_state(), trainer.training_state()
    for key in ("iteration", "diverged_at", "record_every", "base_record_every"):
        assert state[key] == expected[key], key
    assert_same_bits(state["params"], expected["params"], "params")
    assert state["checkpoint"]["iteration"] == expected["checkpoint"]["iteration"]
    assert_same_bits(state["checkpoint"]["params"], expected["checkpoint"]["params"], "backup")
    for name, array in expected["optimizer"].items():
        assert_same_bits(np.asarray(state["optimizer"][name]), np.asarray(array), name)
    if expected["sampler"] is None:
        assert state["sampler"] is None
    else:
        assert state["sampler"]["rng"] == expected["sampler"]["rng"]
        assert state["sampler"]["position"] == expected["sampler"]["position"]
        assert np.array_equal(state["sampler"]["order"], expected["sampler"]["order"])


def run_both(configs, calls, record_every=20):
    """A BatchedTrainer and one Trainer per config, stepped with the same calls."""
    batch = BatchedTrainer(configs, record_every=record_every)
    trainers = [Trainer(config, batch.data, record_every=record_every) for config in configs]
    for n in calls:
        batch.advance(n)
        for trainer in trainers:
            if trainer.diverged_at is None:
                trainer.advance(n)
    return batch, trainers


def varied(base: dict, k: int = 3) -> list[Config]:
    """k configs of `base` that differ in every batchable field that matters to training."""
    rate = base.get("learning_rate", 0.1)
    changes = [
        {"weight_seed": 11, "learning_rate": rate, "momentum": 0.9},
        {"weight_seed": 12, "learning_rate": rate * 2, "momentum": 0.5, "l2": 0.01},
        {"weight_seed": 13, "learning_rate": rate / 2, "l1": 0.001, "threshold": 0.3},
    ]
    return [Config(**{**base, **change}) for change in changes[:k]]


# -- the stacked kernel ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hidden", "n"),
    [((5,), 750), ((5,), 1), ((1,), 14), ((1, 3), 750), ((3, 1, 4), 7), ((8, 4), 2), ((16,), 300)],
)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
@pytest.mark.parametrize("loss", ["sse", "mse", "bce"])
def test_stacked_matmul_equals_each_networks_dot(hidden, n, activation, loss):
    """np.matmul over (K, units, samples) gives each network's np.dot numbers bit for bit, on
    every BLAS path the layers take (gemm, gemv, a one-unit layer, outer products, n = 1)."""
    rng = np.random.default_rng(n + sum(hidden))
    layout, k = Layout(hidden), 4
    state = np.zeros((k, 2 * layout.size))
    params, grad = state[:, : layout.size], state[:, layout.size :]
    params[:] = rng.normal(0, 2, params.shape)
    params[:, ::5] = 0.0
    params[:, 1::7] = -0.0  # signed zeros must come out as Pass gives them
    x = rng.normal(size=(k, n, 2))
    y = rng.integers(0, 2, size=(k, n)).astype(float)
    stacked = StackedPass(layout, params, grad, n, activation, loss)
    stacked.gather(x.reshape(-1, 2).T.copy(), y.ravel(), np.arange(k * n).reshape(k, n))
    with np.errstate(all="ignore"):
        stacked.gradient()
        losses = stacked.losses()
    accuracies = stacked.accuracies(np.full((k, 1, 1), 0.5))
    for net in range(k):
        single_state = np.zeros(2 * layout.size)
        single_state[: layout.size] = params[net]
        single = Pass(
            layout, single_state[: layout.size], single_state[layout.size :], n, activation, loss
        )
        single.set_data(x[net], y[net])
        with np.errstate(all="ignore"):
            single.gradient()
            loss_value = single.loss_value()
        assert_same_bits(grad[net], single_state[layout.size :], "gradient")
        for buffers in ("pre", "out", "delta"):
            pairs = zip(getattr(stacked, buffers), getattr(single, buffers))
            for layer, (ours, theirs) in enumerate(pairs):
                ours = np.ascontiguousarray(ours[net])
                sigmoid = activation == "sigmoid" or layer == len(single.pre) - 1
                if buffers == "pre" and sigmoid:
                    # a sigmoid layer keeps -a: a sum of exactly 0 may come back as -0.0, which
                    # exp (and so h, the loss and the gradient, checked by bits) does not see
                    assert np.array_equal(ours, theirs, equal_nan=True)
                    assert_same_bits(ours[ours != 0], theirs[theirs != 0], buffers)
                else:
                    assert_same_bits(ours, theirs.copy(), buffers)
        assert losses[net] == loss_value or (np.isnan(losses[net]) and np.isnan(loss_value))
        assert accuracies[net] == single.accuracy(0.5)


def test_shared_inputs_equal_per_network_inputs():
    """Full-batch passes hand one (features, samples) array to every network's matmul."""
    layout = Layout((5,))
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(750, 2)), rng.integers(0, 2, 750).astype(float)
    state = np.zeros((3, 2 * layout.size))
    state[:, : layout.size] = rng.normal(size=(3, layout.size))
    shared = StackedPass(
        layout, state[:, : layout.size], state[:, layout.size :], 750, "tanh", "sse", (x, y)
    )
    shared.gradient()
    grad = state[:, layout.size :].copy()
    own = StackedPass(layout, state[:, : layout.size], state[:, layout.size :], 750, "tanh", "sse")
    own.gather(x.T.copy(), y, np.tile(np.arange(750), (3, 1)))
    own.gradient()
    assert_same_bits(state[:, layout.size :], grad)


# -- networks equal their own Trainer ----------------------------------------------------------

SETUPS = [
    pytest.param({}, id="seed-gd"),
    pytest.param(
        {"optimizer": "momentum", "learning_rate": 0.01, "loss": "mse"}, id="momentum-mse"
    ),
    pytest.param({"optimizer": "adam", "learning_rate": 0.01, "loss": "bce"}, id="adam-bce"),
    pytest.param({"batch_size": 32}, id="sgd-32"),
    pytest.param(
        {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 7, "loss": "bce"},
        id="adam-7-last-batch-of-1",
    ),
    pytest.param(
        {
            "optimizer": "momentum",
            "learning_rate": 0.05,
            "batch_size": 100,
            "hidden": (8, 4),
            "activation": "tanh",
            "init": "xavier",
        },
        id="momentum-100-tanh",
    ),
    pytest.param(
        {"hidden": (6, 1, 3), "activation": "relu", "init": "he", "loss": "bce"}, id="relu-deep"
    ),
    pytest.param({"hidden": (4,), "activation": "linear", "learning_rate": 0.01}, id="linear"),
    pytest.param(
        {"dataset": "spiral", "samples": 120, "hidden": (3,), "batch_size": 16}, id="spiral"
    ),
]


@pytest.mark.parametrize("fields", SETUPS)
def test_every_network_equals_its_own_trainer(fields):
    batch, trainers = run_both(varied(fields), [1, 99, 57, 143])
    for k, trainer in enumerate(trainers):
        assert trainer.diverged_at is None
        assert_network_is_trainer(batch, k, trainer)
        assert batch[k].evaluate().to_dict() == trainer.evaluate().to_dict()


def test_the_seed_network_in_a_batch_gives_the_published_numbers():
    configs = [Config.preset("seed", weight_seed=seed) for seed in (4242, 1, 2)]
    batch = BatchedTrainer(configs)
    batch.step(20000)
    metrics = batch[0].evaluate()
    assert metrics.test.auc == pytest.approx(0.9879, abs=5e-4)
    assert metrics.test.report["weighted avg"]["precision"] == pytest.approx(0.948, abs=5e-3)
    assert metrics.test.report["weighted avg"]["recall"] == pytest.approx(0.948, abs=5e-3)


@pytest.mark.parametrize("record_every", [1, 20, 1 << 30])
@pytest.mark.parametrize(
    "extra",
    [{}, {"optimizer": "momentum", "batch_size": 64}, {"optimizer": "adam", "batch_size": 9}],
    ids=["gd", "momentum-64", "adam-9"],
)
def test_a_diverging_network_stops_alone_as_its_trainer_does(extra, record_every):
    rates = [0.01, 5.0, 50.0, 20.0, 0.02]
    configs = [
        Config(**DIVERGING, **extra, learning_rate=rate, weight_seed=seed)
        for seed, rate in enumerate(rates)
    ]
    batch, trainers = run_both(configs, [3, 7, 190], record_every)
    assert batch[0].diverged_at is None
    assert (
        batch[2].diverged_at is not None or extra.get("optimizer") == "adam"
    )  # Adam's steps stay small
    assert set(batch.training) == {k for k, t in enumerate(trainers) if t.diverged_at is None}
    for k, trainer in enumerate(trainers):
        assert_network_is_trainer(batch, k, trainer)


@pytest.mark.parametrize("record_every", [1, 50, 1 << 30])
@pytest.mark.parametrize("batch_size", [0, 64])
def test_divergence_between_checks_is_found_by_the_same_replay(record_every, batch_size):
    """Stable first, then live learning rates that overflow between two looks (past iteration
    100), so the first bad iteration is found by replaying from the checkpoint."""
    configs = [
        Config(**DIVERGING, learning_rate=0.01, batch_size=batch_size, weight_seed=s)
        for s in range(4)
    ]
    batch, trainers = run_both(configs, [150], record_every)
    for k, rate in [(1, 50.0), (2, 20.0), (3, 0.02)]:
        config = configs[k].replace(learning_rate=rate)
        batch.update_config(k, config)
        trainers[k].update_config(config)
    batch.advance(300)
    for trainer in trainers:
        if trainer.diverged_at is None:
            trainer.advance(300)
    assert batch[1].diverged_at > 150 and batch[0].diverged_at is None
    for k, trainer in enumerate(trainers):
        assert_network_is_trainer(batch, k, trainer)


def test_stopped_networks_are_kept_and_the_rest_train_on():
    configs = [Config(**DIVERGING, learning_rate=rate) for rate in (50.0, 0.01)]
    batch = BatchedTrainer(configs)
    snapshots = batch.step(300)
    wild, calm = snapshots
    assert wild.diverged_at is not None and wild.finished
    assert wild.iteration == wild.diverged_at - 1 and np.isfinite(wild.train_loss)
    assert all(np.all(np.isfinite(array)) for array in wild.weights.values())
    assert calm.iteration == 300 and calm.diverged_at is None
    assert batch.training == (1,)
    assert "diverged at iteration" in batch[0].divergence_message()
    assert batch[1].divergence_message() == ""
    batch.step(10)  # the stopped network stays where it was
    assert batch[0].iteration == wild.iteration and batch[1].iteration == 310


@pytest.mark.parametrize(
    "fields", [{}, {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32}]
)
def test_retired_networks_keep_their_state_and_the_rest_train_on(fields):
    """A sweep retires a network after its last row: it stays as its Trainer was at that
    iteration, exports to a Trainer that continues it exactly, and the others train on."""
    batch, trainers = run_both(varied(fields), [150])
    batch.retire([1, 1])
    assert batch.training == (0, 2)
    batch.advance(120)
    for k in (0, 2):
        trainers[k].advance(120)
    for k, trainer in enumerate(trainers):
        assert_network_is_trainer(batch, k, trainer)
    assert batch[1].iteration == 150 and batch[1].diverged_at is None
    continued = batch[1].trainer()
    continued.advance(60)
    trainers[1].advance(60)
    for name, array in trainers[1].weights().items():
        assert_same_bits(continued.weights()[name], array, name)
    batch.retire([0, 2])
    assert batch.training == () and batch.iteration == 270
    batch.advance(5)  # nothing left to train
    assert [network.iteration for network in batch] == [270, 150, 270]


# -- state, export, reset ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields", [{}, {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32}]
)
def test_a_network_continues_as_an_independent_trainer(fields):
    configs = varied(fields)
    batch = BatchedTrainer(configs)
    batch.step(130)
    exported = batch[1].trainer()
    batch.step(70)
    exported.step(70)
    for name, array in exported.weights().items():
        assert_same_bits(batch[1].weights()[name], array, name)
    reference = Trainer(configs[1])
    reference.step(130)
    reference.step(70)
    assert_network_is_trainer(batch, 1, reference)


def test_trainers_continue_together_as_they_would_alone():
    configs = [
        Config(**DIVERGING, learning_rate=rate, weight_seed=s, batch_size=50)
        for s, rate in enumerate((0.01, 50.0, 0.02))
    ]
    data = Trainer(configs[0]).data
    alone = [Trainer(config, data) for config in configs]
    for trainer in alone:
        trainer.step(120)
    assert alone[1].diverged_at is not None
    together = BatchedTrainer.from_trainers([_copy(trainer) for trainer in alone])
    with pytest.raises(ValueError, match="same points"):
        BatchedTrainer.from_trainers([alone[0], Trainer(configs[0].replace(noise=0.3))])
    together.step(80)
    for trainer in alone:
        if trainer.diverged_at is None:
            trainer.step(80)
    for k, trainer in enumerate(alone):
        assert_network_is_trainer(together, k, trainer)


def _copy(trainer: Trainer) -> Trainer:
    """What a saved and loaded session gives: the same state, on its own copy of the points."""
    copy = Trainer(trainer.config, initial_weights=trainer.initial_weights())
    copy.restore_training_state(trainer.training_state())
    return copy


def test_reset_repeats_the_run_bit_for_bit():
    batch = BatchedTrainer(varied({"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32}))
    initial = [network.initial_weights() for network in batch]
    first = batch.step(150)
    batch.reset()
    for network, weights in zip(batch, initial):
        assert network.iteration == 0 and len(network.history) == 1
        for name, array in weights.items():
            assert_same_bits(network.weights()[name], array, name)
    again = batch.step(150)
    for a, b in zip(first, again):
        for name in a.weights:
            assert_same_bits(a.weights[name], b.weights[name], name)


def test_initial_weights_can_be_given_per_network():
    base = Trainer(Config.preset("seed")).initial_weights()
    nudged = {name: array + 1e-13 for name, array in base.items()}
    batch = BatchedTrainer([Config.preset("seed")] * 2, initial_weights=[base, nudged])
    batch.step(50)
    reference = Trainer(Config.preset("seed"), initial_weights=nudged)
    reference.step(50)
    assert_network_is_trainer(batch, 1, reference)


def test_only_batchable_fields_may_differ():
    assert {
        "weight_seed",
        "learning_rate",
        "momentum",
        "l1",
        "l2",
        "threshold",
        "iterations",
    } == BATCHABLE
    assert batch_key(Config(learning_rate=0.5, weight_seed=3)) == batch_key(Config())
    with pytest.raises(ValueError, match="hidden"):
        BatchedTrainer([Config(), Config(hidden=(3,))])
    with pytest.raises(ValueError, match="one entry per network"):
        BatchedTrainer([Config()], initial_weights=[None, None])
    batch = BatchedTrainer([Config(), Config(weight_seed=2)])
    with pytest.raises(ValueError, match="learning_rate"):
        batch.update_config(0, Config(batch_size=32))
    batch.update_config(0, Config(learning_rate=0.3))
    assert batch[0].config.learning_rate == 0.3


def test_every_pair_of_batchable_values_gives_independent_runs():
    """A small grid of seeds x learning rates: the sweep's common case."""
    configs = [
        Config.preset("seed", weight_seed=seed, learning_rate=rate)
        for seed, rate in itertools.product((1, 2), (0.01, 0.5, 1.0))
    ]
    batch, trainers = run_both(configs, [400])
    for k, trainer in enumerate(trainers):
        assert_network_is_trainer(batch, k, trainer)


def test_networks_saved_as_sessions_continue_together(tmp_path):
    """The window's multi-network sessions: each network saved as a session file, loaded, and
    trained on together, as the batch itself would have."""
    from nnviz.core import load_session, save_session

    configs = varied({"optimizer": "momentum", "learning_rate": 0.05, "batch_size": 40})
    batch = BatchedTrainer(configs)
    batch.step(90)
    paths = [
        save_session(tmp_path / f"net{k}.nnviz", network.trainer())
        for k, network in enumerate(batch)
    ]
    restored = BatchedTrainer.from_trainers([load_session(path) for path in paths])
    batch.step(60)
    restored.step(60)
    for k in range(len(batch)):
        for name, array in batch[k].weights().items():
            assert_same_bits(restored[k].weights()[name], array, name)
        for column in COLUMNS:
            assert_same_bits(
                getattr(restored[k].history.arrays(), column),
                getattr(batch[k].history.arrays(), column),
                column,
            )
