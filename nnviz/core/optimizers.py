"""Update rules over the flat parameter vector: one set of NumPy calls updates every layer.

Hyperparameters are held as 0-d arrays, set by `configure()` before each run of iterations, so a
live learning-rate change applies at the next chunk and no Python float is converted per call.
"""

from __future__ import annotations

import numpy as np

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPSILON = 1e-8


class GradientDescent:
    """The article's rule: w <- w - eta * dE/dw."""

    def __init__(self, size: int) -> None:
        self._update = np.zeros(size)
        self._rate = np.array(0.0)
        self._negative_rate = np.array(0.0)
        self._momentum = np.array(0.0)

    def configure(self, learning_rate: float, momentum: float) -> None:
        self._rate[...] = learning_rate
        self._negative_rate[...] = -learning_rate
        self._momentum[...] = momentum

    def update(self, grad: np.ndarray) -> np.ndarray:
        """The change to add to the parameters for this gradient (a buffer reused next call)."""
        np.multiply(grad, self._negative_rate, self._update)
        return self._update

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        _check_state(state, {}, self)


class Momentum(GradientDescent):
    """Classical momentum: v <- mu * v - eta * g; w <- w + v."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._velocity = np.zeros(size)

    def update(self, grad: np.ndarray) -> np.ndarray:
        np.multiply(self._velocity, self._momentum, self._velocity)
        np.multiply(grad, self._rate, self._update)
        np.subtract(self._velocity, self._update, self._velocity)
        np.copyto(self._update, self._velocity)
        return self._update

    def state(self) -> dict[str, np.ndarray]:
        return {"velocity": self._velocity.copy()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        _check_state(state, {"velocity": self._velocity.shape}, self)
        self._velocity[:] = state["velocity"]


def adam_moments(m: np.ndarray, v: np.ndarray, grad: np.ndarray, scratch: np.ndarray) -> None:
    """Move Adam's moments m and v towards grad and grad² in place. One sequence of in-place
    operations, shared by Adam and the batched trainer, so that both round alike."""
    np.multiply(m, ADAM_BETA1, m)
    np.multiply(grad, 1.0 - ADAM_BETA1, scratch)
    np.add(m, scratch, m)
    np.multiply(v, ADAM_BETA2, v)
    np.multiply(grad, grad, scratch)
    np.multiply(scratch, 1.0 - ADAM_BETA2, scratch)
    np.add(v, scratch, v)


class Adam(GradientDescent):
    """Adam (Kingma and Ba) with bias correction, applied to weights and biases alike."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._first = np.zeros(size)
        self._second = np.zeros(size)
        self._scratch = np.zeros(size)
        self._steps = 0

    def update(self, grad: np.ndarray) -> np.ndarray:
        self._steps += 1
        m, v, s = self._first, self._second, self._scratch
        adam_moments(m, v, grad, s)
        np.divide(v, 1.0 - ADAM_BETA2**self._steps, s)
        np.sqrt(s, s)
        np.add(s, ADAM_EPSILON, s)
        np.divide(m, s, self._update)
        step = -float(self._rate) / (1.0 - ADAM_BETA1**self._steps)
        np.multiply(self._update, step, self._update)
        return self._update

    def state(self) -> dict[str, np.ndarray]:
        return {
            "first": self._first.copy(),
            "second": self._second.copy(),
            "steps": np.array(self._steps),
        }

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        shape = self._first.shape
        _check_state(state, {"first": shape, "second": shape, "steps": ()}, self)
        self._first[:] = state["first"]
        self._second[:] = state["second"]
        self._steps = int(state["steps"])


def _check_state(state: dict[str, np.ndarray], shapes: dict[str, tuple], owner: object) -> None:
    name = type(owner).__name__
    if set(state) != set(shapes):
        raise ValueError(f"{name} state needs {sorted(shapes) or 'nothing'}, got {sorted(state)}")
    for key, shape in shapes.items():
        if np.shape(state[key]) != shape or not np.all(np.isfinite(state[key])):
            raise ValueError(f"{name} state {key!r} must be finite with shape {shape}")


OPTIMIZERS = {"gd": GradientDescent, "momentum": Momentum, "adam": Adam}
