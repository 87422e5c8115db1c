"""The per-network state a stack of networks trains with: update rules and mini-batch shuffling.

Each is the single-network class (`optimizers.OPTIMIZERS`, `trainer.BatchSampler`) with a leading
network axis, and reads and writes the single network's state dicts, so a network can move between
a `Trainer` and a stack without a change in any bit. Hyperparameters are (K, 1) columns: a product
with a column is the same IEEE product as with the single network's scalar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..optimizers import ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, adam_moments


class StackedOptimizer:
    """`optimizers.GradientDescent` and its subclasses over a (K, size) gradient stack.

    `state` holds the stacked arrays by the single optimizer's names (velocity; first, second,
    steps); `row(k)` is network k's `optimizer.state()`.
    """

    def __init__(self, kind: str, states: Sequence[dict[str, np.ndarray]], size: int) -> None:
        k = len(states)
        self.kind = kind
        self.state = stack_states(kind, states)
        self._update = np.zeros((k, size))
        self._scratch = np.zeros((k, size)) if kind == "adam" else None
        self._rate = np.zeros((k, 1))
        self._negative_rate = np.zeros((k, 1))
        self._momentum = np.zeros((k, 1))

    def configure(self, learning_rates: np.ndarray, momenta: np.ndarray) -> None:
        """Each network's learning rate and momentum, as `configure` sets one network's."""
        self._rate[:, 0] = learning_rates
        self._negative_rate[:, 0] = -learning_rates
        self._momentum[:, 0] = momenta

    def update(self, grad: np.ndarray) -> np.ndarray:
        """The changes to add to the parameters (a buffer reused next call)."""
        if self.kind == "gd":
            np.multiply(grad, self._negative_rate, self._update)
        elif self.kind == "momentum":
            velocity = self.state["velocity"]
            np.multiply(velocity, self._momentum, velocity)
            np.multiply(grad, self._rate, self._update)
            np.subtract(velocity, self._update, velocity)
            np.copyto(self._update, velocity)
        else:
            self._adam(grad)
        return self._update

    def _adam(self, grad: np.ndarray) -> None:
        state, s = self.state, self._scratch
        m, v, steps = state["first"], state["second"], state["steps"]
        steps += 1
        adam_moments(m, v, grad, s)
        # the bias corrections in Python floats, as Adam.update computes them
        if np.all(steps == steps[0]):
            second = 1.0 - ADAM_BETA2 ** int(steps[0])
            first: float | np.ndarray = 1.0 - ADAM_BETA1 ** int(steps[0])
        else:
            second = np.array([[1.0 - ADAM_BETA2 ** int(t)] for t in steps])
            first = np.array([[1.0 - ADAM_BETA1 ** int(t)] for t in steps])
        np.divide(v, second, s)
        np.sqrt(s, s)
        np.add(s, ADAM_EPSILON, s)
        np.divide(m, s, self._update)
        np.multiply(self._update, self._negative_rate / first, self._update)

    def copy_state(self) -> dict[str, np.ndarray]:
        return {name: array.copy() for name, array in self.state.items()}

    def row(self, k: int, state: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Network k's state in `Optimizer.state()` form, from `state` (default: the current)."""
        state = self.state if state is None else state
        return {name: np.array(array[k]) for name, array in state.items()}

    def set_row(self, k: int, row: dict[str, np.ndarray]) -> None:
        for name, array in self.state.items():
            array[k] = row[name]


#: The names of each optimizer's state, as its `state()` gives them.
STATE_NAMES = {"gd": (), "momentum": ("velocity",), "adam": ("first", "second", "steps")}


def stack_states(kind: str, states: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Single optimizers' `state()` dicts as one dict of stacked arrays."""
    return {name: np.array([state[name] for state in states]) for name in STATE_NAMES[kind]}


class SamplerStack:
    """K `BatchSampler`s of one size that draw together: one position, the orders stacked.

    Each network keeps its own generator, so its batches are those of its own `BatchSampler`;
    only the permutations at the start of an epoch cost a call per network. `state(k)` gives a
    `BatchSampler.state()` dict. Orders are new arrays every epoch and never written, so a
    checkpoint can hold them by reference.
    """

    def __init__(self, n: int, batch_size: int, states: Sequence[dict]) -> None:
        positions = {int(state["position"]) for state in states}
        if len(positions) != 1:
            raise ValueError("networks trained together must be at the same point of an epoch")
        self.n, self.batch_size = n, batch_size
        self.position = self.last_start = positions.pop()
        self.rngs = []
        for state in states:
            rng = np.random.default_rng()
            rng.bit_generator.state = state["rng"]
            self.rngs.append(rng)
        self.rng_states = [rng.bit_generator.state for rng in self.rngs]
        self.before_epoch = list(self.rng_states)
        self.orders = [np.array(state["order"], dtype=np.int64) for state in states]
        self._stacked = np.array(self.orders)

    def next_indices(self) -> np.ndarray:
        """The next batch of every network, (K, batch) indices."""
        if self.position >= self.n:
            self.before_epoch = self.rng_states
            self.orders = [rng.permutation(self.n) for rng in self.rngs]
            self.rng_states = [rng.bit_generator.state for rng in self.rngs]
            self._stacked = np.array(self.orders)
            self.position = 0
        start = self.last_start = self.position
        self.position = min(start + self.batch_size, self.n)
        return self._stacked[:, start : self.position]

    def current_indices(self) -> np.ndarray:
        """The batch drawn last, again (after a network left the stack mid-iteration)."""
        return self._stacked[:, self.last_start : self.position]

    def checkpoint(self, before_last_draw: bool) -> list[tuple[dict, np.ndarray, int]]:
        """Each network's (generator state, order, position), as `BatchSampler.state` would give
        them now or before the latest draw; orders by reference (see the class)."""
        if before_last_draw and self.last_start == 0:
            return [(rng, order, self.n) for rng, order in zip(self.before_epoch, self.orders)]
        position = self.last_start if before_last_draw else self.position
        return [(rng, order, position) for rng, order in zip(self.rng_states, self.orders)]

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the networks at `rows` (a network left the stack)."""
        for name in ("rngs", "rng_states", "before_epoch", "orders"):
            values = getattr(self, name)
            setattr(self, name, [values[k] for k in rows])
        self._stacked = self._stacked[rows]


def sampler_state(checkpoint: tuple[dict, np.ndarray, int]) -> dict:
    """A `SamplerStack.checkpoint` entry as a `BatchSampler.state()` dict (fresh copies)."""
    rng, order, position = checkpoint
    return {
        "rng": {**rng, "state": dict(rng["state"])},
        "order": order.copy(),
        "position": position,
    }
