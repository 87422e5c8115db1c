"""The feed-forward network: parameter layout, initialisation, activations, losses and backprop.

Layout, chosen for speed: layer k is one matrix of shape (fan_out, fan_in + 1) whose last column is
the bias, and activations are stored as (units, samples) with a row of ones appended, so a layer is a
single matmul. All layer matrices are views into one flat parameter vector, so an optimizer updates
every layer with a handful of NumPy calls. The public weight format is the article's: `Wk` of shape
(fan_in, fan_out) and `bk` of shape (fan_out,).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from itertools import pairwise

import numpy as np

from .config import Config

Weights = Mapping[str, np.ndarray]


#: The output layer of each task: one sigmoid unit for two classes (the article's), a softmax of
#: K units for K >= 3 classes, one linear unit for a regression target.
OUTPUTS = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}


class Layout:
    """Sizes of every layer, e.g. (2, 5, 1), and where each layer sits in the flat vector."""

    def __init__(self, hidden: Sequence[int], n_inputs: int = 2, n_outputs: int = 1) -> None:
        self.sizes = (n_inputs, *hidden, n_outputs)
        self.shapes = [(fan_out, fan_in + 1) for fan_in, fan_out in zip(self.sizes, self.sizes[1:])]
        ends = np.cumsum([rows * cols for rows, cols in self.shapes])
        self.slices = [
            slice(end - rows * cols, end) for end, (rows, cols) in zip(ends, self.shapes)
        ]
        self.size = int(ends[-1])

    @property
    def depth(self) -> int:
        return len(self.shapes)

    def matrices(self, flat: np.ndarray) -> list[np.ndarray]:
        """Views of `flat`, one (fan_out, fan_in + 1) matrix per layer."""
        return [flat[s].reshape(shape) for s, shape in zip(self.slices, self.shapes)]

    def weight_mask(self) -> np.ndarray:
        """1.0 on weights and 0.0 on biases, for regularisation that leaves biases alone."""
        mask = np.ones(self.size)
        for matrix in self.matrices(mask):
            matrix[:, -1] = 0.0
        return mask

    def to_weights(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """The article's format: fresh arrays `W1` (fan_in, fan_out), `b1` (fan_out,), ..."""
        weights = {}
        for k, matrix in enumerate(self.matrices(flat), start=1):
            weights[f"W{k}"] = matrix[:, :-1].T.copy()
            weights[f"b{k}"] = matrix[:, -1].copy()
        return weights

    def from_weights(self, weights: Weights) -> np.ndarray:
        """Pack a weight dict into a flat vector, checking every name, shape and value."""
        expected = {f"{kind}{k}" for k in range(1, self.depth + 1) for kind in "Wb"}
        if set(weights) != expected:
            missing, extra = sorted(expected - set(weights)), sorted(set(weights) - expected)
            raise ValueError(
                self._misfit(weights) + f"weights do not fit the network {self.describe()}: "
                f"missing {missing or 'none'}, unexpected {extra or 'none'}"
            )
        flat = np.empty(self.size)
        for k, matrix in enumerate(self.matrices(flat), start=1):
            w, b = np.asarray(weights[f"W{k}"]), np.asarray(weights[f"b{k}"])
            fan_out, cols = matrix.shape
            for name, array, shape in ((f"W{k}", w, (cols - 1, fan_out)), (f"b{k}", b, (fan_out,))):
                if array.shape != shape:
                    raise ValueError(
                        self._misfit(weights) + f"{name} has shape {array.shape}, but the network "
                        f"{self.describe()} needs {shape}"
                    )
                if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
                    raise ValueError(f"{name} must hold finite numbers")
            matrix[:, :-1] = w.T
            matrix[:, -1] = b
        return flat

    def describe(self) -> str:
        return "-".join(str(s) for s in self.sizes)

    def _misfit(self, weights: Weights) -> str:
        """'weights are for 2-8-1 but the network is 2-5-1: ' when that can be told, else ''."""
        theirs = describe_weights(weights)
        if theirs is None or theirs == self.describe():
            return ""
        return f"weights are for {theirs} but the network is {self.describe()}: "


def layer_name(layer: int, depth: int) -> str:
    """'input', 'hidden 2' or 'output' for column `layer` of a network of `depth` weight layers:
    the one naming the diagram, the explain panel and the node maps share."""
    if layer == 0:
        return "input"
    return "output" if layer == depth else f"hidden {layer}"


def unit_name(sizes: tuple[int, ...], layer: int, unit: int) -> str:
    """'input x1', 'hidden 2 unit 3', 'output p' (or 'output p2' with several outputs)."""
    if layer == 0:
        return f"input x{unit + 1}"
    if layer == len(sizes) - 1:
        return "output p" if sizes[-1] == 1 else f"output p{unit + 1}"
    return f"hidden {layer} unit {unit + 1}"


def describe_weights(weights: Weights) -> str | None:
    """The architecture a weight dict is for, e.g. '2-8-1', or None if its W1, W2, ... do not chain."""
    shapes: list[tuple[int, ...]] = []
    while f"W{len(shapes) + 1}" in weights:
        try:
            shapes.append(np.shape(weights[f"W{len(shapes) + 1}"]))
        except ValueError:  # a ragged nested list
            return None
    if not shapes or any(len(shape) != 2 for shape in shapes):
        return None
    if any(a[1] != b[0] for a, b in pairwise(shapes)):
        return None
    return "-".join(str(s) for s in (shapes[0][0], *(shape[1] for shape in shapes)))


def initial_parameters(config: Config, layout: Layout) -> np.ndarray:
    """Draw W1, W2, ... in order from RandomState(weight_seed), biases zero.

    For `uniform` this gives exactly the numbers of the article's
    `np.random.seed(s); np.random.uniform(-r, r, shape)` without touching NumPy's global RNG.
    """
    rng = np.random.RandomState(config.weight_seed)
    flat = np.zeros(layout.size)
    for matrix, (fan_in, fan_out) in zip(
        layout.matrices(flat), zip(layout.sizes, layout.sizes[1:])
    ):
        shape = (fan_in, fan_out)
        if config.init == "uniform":
            w = rng.uniform(-config.init_range, config.init_range, shape)
        elif config.init == "xavier":
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, shape)
        else:  # he
            w = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        matrix[:, :-1] = w.T
    return flat


# Kernels are lists of (NumPy function, arguments) built once per buffer set and then run in a
# loop: no helper calls, no string tests, and positional `out` arguments, because at 750 x 5 the
# per-call overhead of NumPy is most of the cost. Constants are 0-d arrays for the same reason
# (a Python float is converted on every call).
Op = tuple[Callable, tuple]
ONE = np.array(1.0)
ZERO = np.array(0.0)


def activation_ops(activation: str, a: np.ndarray, out: np.ndarray) -> list[Op]:
    """Calls that write h = f(a) into `out`."""
    if activation == "sigmoid":  # 1 / (1 + exp(-a)), as the article writes it
        return [
            (np.negative, (a, out)),
            (np.exp, (out, out)),
            (np.add, (out, ONE, out)),
            (np.divide, (ONE, out, out)),
        ]
    if activation == "tanh":
        return [(np.tanh, (a, out))]
    if activation == "relu":
        return [(partial(np.maximum, out=out), (a, ZERO))]
    return [(np.copyto, (out, a))]  # linear


def activation_grad_ops(
    activation: str, delta: np.ndarray, h: np.ndarray, a: np.ndarray, tmp: np.ndarray
) -> list[Op]:
    """Calls that multiply `delta` by f'(a) in place, using h = f(a) where that is cheaper."""
    if activation == "sigmoid":  # h (1 - h)
        return [
            (np.subtract, (ONE, h, tmp)),
            (np.multiply, (tmp, h, tmp)),
            (np.multiply, (delta, tmp, delta)),
        ]
    if activation == "tanh":  # 1 - h^2
        return [
            (np.multiply, (h, h, tmp)),
            (np.subtract, (ONE, tmp, tmp)),
            (np.multiply, (delta, tmp, delta)),
        ]
    if activation == "relu":  # 1 where a > 0
        return [(np.greater, (a, ZERO, tmp)), (np.multiply, (delta, tmp, delta))]
    return []  # linear


def output_ops(output: str, a: np.ndarray, out: np.ndarray, row: np.ndarray, axis: int) -> list[Op]:
    """Calls that write the output layer's h = f(a) into `out`; for a softmax over `axis` (the
    units), `row` is scratch of one unit's shape: p = exp(a - max a) / sum exp(a - max a)."""
    if output != "softmax":
        return activation_ops(output, a, out)
    return [
        (partial(np.max, axis=axis, keepdims=True, out=row), (a,)),
        (np.subtract, (a, row, out)),
        (np.exp, (out, out)),
        (partial(np.sum, axis=axis, keepdims=True, out=row), (out,)),
        (np.divide, (out, row, out)),
    ]


def output_delta_ops(
    loss: str,
    p: np.ndarray,
    y: np.ndarray,
    delta: np.ndarray,
    tmp: np.ndarray,
    output: str = "sigmoid",
) -> list[Op]:
    """Calls that write dE/da of the output units into `delta`.

    sigmoid: as each loss gives it (bce and ce alike). softmax with ce: (p - Y) / n, where `y`
    is the one-hot (K, n) matrix Y. linear with mse: 2/n (p - y). n is taken as 1 for no points
    (the test split of a drawing with no test point yet), whose delta is empty anyway.
    """
    ops: list[Op] = [(np.subtract, (p, y, delta))]
    if output == "softmax":  # softmax and cross-entropy cancel too
        return [*ops, (np.multiply, (delta, np.array(1.0 / max(delta.shape[1], 1)), delta))]
    if output == "linear":
        return [*ops, (np.multiply, (delta, np.array(2.0 / max(delta.size, 1)), delta))]
    if loss in ("bce", "ce"):  # sigmoid and cross-entropy cancel: (p - y) / n
        return [*ops, (np.multiply, (delta, np.array(1.0 / max(delta.size, 1)), delta))]
    ops += [
        (np.subtract, (ONE, p, tmp)),
        (np.multiply, (delta, p, delta)),
        (np.multiply, (delta, tmp, delta)),
    ]  # (p - y) p (1 - p)
    if loss == "mse":
        ops.append((np.multiply, (delta, np.array(2.0 / max(delta.size, 1)), delta)))
    return ops


def run(ops: list[Op]) -> None:
    for function, args in ops:
        function(*args)


def loss_value(
    loss: str, p: np.ndarray, y: np.ndarray, a: np.ndarray, output: str = "sigmoid"
) -> float:
    """The loss of outputs `p` (logits `a`) against labels or targets `y`.

    sse is the article's 1/2 * sum (y - p)^2; mse is mean (y - p)^2; bce (and ce with two
    classes) is the mean binary cross-entropy, computed from the logits so that a saturated
    output gives a finite value. A softmax's ce takes (n, K) `a` and class indices `y`:
    mean (log sum_c exp a_c - a_y), also from the logits.
    """
    if output == "softmax":
        a = np.asarray(a)
        top = a.max(axis=1)
        spread = np.log(np.sum(np.exp(a - top[:, None]), axis=1)) + top
        chosen = a[np.arange(len(a)), np.asarray(y).astype(np.intp)]
        return float(np.mean(spread - chosen))
    if loss in ("bce", "ce"):
        return float(np.mean(np.logaddexp(0.0, a) - y * a))
    diff = (p - y).ravel()
    squares = float(np.dot(diff, diff))
    return 0.5 * squares if loss == "sse" else squares / diff.size


class Pass:
    """Preallocated buffers and the forward/backward kernels for one batch size.

    After `gradient()`, `pre`, `out` and `delta` hold every layer's aggregation a, activation h and
    error term for that batch, so a step can be shown without recomputing it. `np.dot` with `out=`
    is used because it costs a third less than `np.matmul` on these small matrices.
    """

    def __init__(
        self,
        layout: Layout,
        params: np.ndarray,
        grad: np.ndarray,
        n: int,
        activation: str,
        loss: str,
        output: str = "sigmoid",
    ) -> None:
        sizes = layout.sizes
        self.n = n
        self.loss = loss
        self.output = output
        self.matrices = layout.matrices(params)
        grads = layout.matrices(grad)
        # inputs[k] feeds layer k: x (with ones row), then each hidden layer's h (with ones row)
        self.inputs = [np.ones((size + 1, n)) for size in sizes[:-1]]
        self.pre = [np.empty((size, n)) for size in sizes[1:]]
        self.out = [z[:-1] for z in self.inputs[1:]] + [np.empty((sizes[-1], n))]
        self.delta = [np.empty((size, n)) for size in sizes[1:]]
        self.tmp = [np.empty((size, n)) for size in sizes[1:]]
        self.y = np.empty((1, n))
        # what the output's delta compares p with: the labels, or one-hot rows for a softmax
        self.target = np.zeros((sizes[-1], n)) if output == "softmax" else self.y
        self._row = np.empty((1, n))
        self._diff = np.empty(n)
        self._labels = np.empty((1, n), dtype=bool)
        self._hits = np.empty((1, n), dtype=bool)

        depth = len(self.matrices)
        self._forward: list[Op] = []
        for k in range(depth):
            self._forward.append((np.dot, (self.matrices[k], self.inputs[k], self.pre[k])))
            if k < depth - 1:
                self._forward += activation_ops(activation, self.pre[k], self.out[k])
            else:
                self._forward += output_ops(output, self.pre[k], self.out[k], self._row, 0)
        self._gradient = self._forward + output_delta_ops(
            loss, self.out[-1], self.target, self.delta[-1], self.tmp[-1], output
        )
        for k in range(depth - 1, -1, -1):
            self._gradient.append((np.dot, (self.delta[k], self.inputs[k].T, grads[k])))
            if k:  # carry the error term back through the matrix without its bias column
                back = self.matrices[k][:, :-1].T
                self._gradient.append((np.dot, (back, self.delta[k], self.delta[k - 1])))
                self._gradient += activation_grad_ops(
                    activation, self.delta[k - 1], self.out[k - 1], self.pre[k - 1], self.tmp[k - 1]
                )

    @property
    def x(self) -> np.ndarray:
        """The input rows (without the ones row), to be filled by the caller."""
        return self.inputs[0][:-1]

    @property
    def p(self) -> np.ndarray:
        return self.out[-1]

    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        """Fill the inputs from (n, features) points and 0/1 labels (class indices for a
        softmax, targets for a linear output)."""
        self.x[:] = x.T
        self.y[0] = y
        if self.output == "softmax":
            self.target.fill(0.0)
            self.target[self.y[0].astype(np.intp), np.arange(self.n)] = 1.0
        else:
            np.greater_equal(self.y, 0.5, self._labels)

    def forward(self) -> None:
        run(self._forward)

    def gradient(self) -> None:
        """Forward, then backpropagate the loss and write dE/dparams into the grad vector."""
        run(self._gradient)

    def loss_value(self) -> float:
        """The loss of the pass's points; NaN for no points (a drawing's empty test split)."""
        if not self.n:
            return math.nan
        if self.output == "softmax":
            return loss_value(self.loss, self.out[-1].T, self.y[0], self.pre[-1].T, "softmax")
        if self.loss in ("bce", "ce"):
            return loss_value(self.loss, self.out[-1], self.y, self.pre[-1])
        diff = self._diff
        np.subtract(self.out[-1][0], self.y[0], diff)
        squares = float(np.dot(diff, diff))
        return 0.5 * squares if self.loss == "sse" else squares / self.n

    def accuracy(self, threshold: float) -> float:
        """Share of samples whose prediction p >= threshold matches the label; for a softmax,
        whose most probable class is the label; NaN for a regression target or no points."""
        if self.output == "linear" or not self.n:
            return math.nan
        if self.output == "softmax":
            return np.count_nonzero(np.argmax(self.out[-1], axis=0) == self.y[0]) / self.n
        np.greater_equal(self.out[-1], threshold, self._hits)
        np.equal(self._hits, self._labels, self._hits)
        return np.count_nonzero(self._hits) / self.n


def forward_layers(
    weights: Weights, x: np.ndarray, activation: str, output: str = "sigmoid"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(a, h) of every layer for network inputs `x` of shape (n, inputs), in the article's
    (samples, units) form; the last layer's h is the `output`'s (see OUTPUTS)."""
    depth = len(weights) // 2
    h = np.asarray(x, dtype=float)
    layers = []
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, depth + 1):
            a = h @ weights[f"W{k}"] + weights[f"b{k}"]
            h = np.empty_like(a)
            if k < depth:
                run(activation_ops(activation, a, h))
            else:
                run(output_ops(output, a, h, np.empty((len(a), 1)), 1))
            layers.append((a, h))
    return layers


def predict_proba(
    weights: Weights, x: np.ndarray, activation: str, output: str = "sigmoid"
) -> np.ndarray:
    """P(class 1) for each row of `x` (n,), from a weight dict such as a snapshot's; for a
    softmax output every class's probability, (n, K)."""
    h = forward_layers(weights, x, activation, output)[-1][1]
    return h if output == "softmax" else h[:, 0]


def predict(weights: Weights, x: np.ndarray, activation: str) -> np.ndarray:
    """The regression network's prediction (its linear output) for each row of `x`, (n,)."""
    return forward_layers(weights, x, activation, "linear")[-1][1][:, 0]
