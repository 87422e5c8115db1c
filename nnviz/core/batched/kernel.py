"""Forward and backward passes of K networks of one layout, as single NumPy calls over a stack.

Every buffer of `network.Pass` gains a network axis, stored second: activations are
(units, K, samples) in memory, so each layer's values for all K networks form one contiguous block
that an elementwise ufunc sweeps at full speed (a (K, units, samples) block with a ones row per
network is strided and costs NumPy about twice as much per element). Network k's matrix is the
view [:, k, :], whose rows are K * samples apart: a leading dimension BLAS takes as it is, except
OpenBLAS's gemv for a vector of at most 3 elements stored tightly, which has its own rounding;
below `WIDE` samples the blocks therefore keep each network's rows together, as `Pass` has them.
The attributes `pre`, `out` and `delta` are (K, units, samples) views for readers.

A layer is one `np.matmul` over the stack: NumPy calls BLAS once per network, with the sizes and
transpose flags that `np.dot` uses in `Pass` (numpy's umath/matmul.c.src against
common/cblasfuncs.c); leading dimensions do not change the arithmetic, so each network gets the
numbers of its own `Pass` bit for bit. The one operand `np.dot` treats differently is the
transposed weight matrix that carries the error back (`back_ops`). Elementwise steps are the same
ufuncs, and sums that decide divergence are the same `ddot` per network.

A sigmoid's exp(-a) takes -a straight from the matmul with negated weights: negation is exact
and BLAS's products and sums round symmetrically, so -a has a's bits with the sign flipped (a sum
that is exactly zero may differ in the sign of its zero, which exp does not see). That saves a
pass over the largest buffer; `pre` gives a back.
tests/core/test_batched.py checks all of it against `Pass` and `Trainer`.
"""

from __future__ import annotations

import numpy as np

from ..network import (
    ONE,
    ZERO,
    Layout,
    Op,
    activation_grad_ops,
    activation_ops,
    loss_value,
    run,
)


def stacked_matrices(layout: Layout, flat: np.ndarray) -> list[np.ndarray]:
    """Views of the (K, layout.size) stack `flat`, one (K, fan_out, fan_in + 1) array per layer."""
    return [flat[:, s].reshape(len(flat), *shape) for s, shape in zip(layout.slices, layout.shapes)]


def output_delta_ops(
    loss: str, p: np.ndarray, y: np.ndarray, delta: np.ndarray, tmp: np.ndarray
) -> list[Op]:
    """`network.output_delta_ops` for a stack: the same calls, scaled by 1/n of one network."""
    n = p.shape[-1]
    ops: list[Op] = [(np.subtract, (p, y, delta))]
    if loss == "bce":
        return [*ops, (np.multiply, (delta, np.array(1.0 / n), delta))]
    ops += [
        (np.subtract, (ONE, p, tmp)),
        (np.multiply, (delta, p, delta)),
        (np.multiply, (delta, tmp, delta)),
    ]
    if loss == "mse":
        ops.append((np.multiply, (delta, np.array(2.0 / n), delta)))
    return ops


def back_ops(weights: np.ndarray, delta: np.ndarray, out: np.ndarray) -> list[Op]:
    """Calls that write W^T delta (W without its bias column) into `out`, as `np.dot` does it.

    `weights` is (K, fan_out, fan_in + 1); `delta` and `out` are (units, K, samples) blocks.
    `np.dot` copies the strided W^T to a contiguous matrix before gemm/gemv, but hands a single
    row (a layer of one unit) to gemv with its stride, and multiplies 1 x 1 by 1 x 1 directly; a
    stacked matmul on the raw view would use other BLAS arguments and round differently.
    """
    fan_in, fan_out, n = out.shape[0], delta.shape[0], delta.shape[2]
    view = weights[:, :, :-1].transpose(0, 2, 1)  # (K, fan_in, fan_out)
    if fan_out == 1:  # an outer product: BLAS adds each single product to 0 (-0.0 becomes 0.0)
        # the (1, K, n) error times a contiguous (fan_in, K, 1) copy of the weights, in that
        # order: NumPy broadcasts it twice as fast as the strided view first (a * b is b * a)
        column = np.empty((fan_in, len(weights), 1))
        ops: list[Op] = [
            (np.copyto, (column, view.transpose(1, 0, 2))),
            (np.multiply, (delta, column, out)),
        ]
        return ops if fan_in == 1 and n == 1 else [*ops, (np.add, (out, ZERO, out))]
    delta_k, out_k = delta.transpose(1, 0, 2), out.transpose(1, 0, 2)
    if fan_in == 1:
        return [(np.matmul, (view, delta_k, out_k))]
    copy = np.empty(view.shape)
    return [(np.copyto, (copy, view)), (np.matmul, (copy, delta_k, out_k))]


#: Samples from which a pass stores its blocks unit by unit (see the module).
WIDE = 8


def _block(rows: int, k: int, n: int, fill: float | None = None) -> np.ndarray:
    """A (rows, K, n) buffer: contiguous, or below WIDE samples a view of (K, rows, n) memory."""
    block = np.empty((rows, k, n)) if n >= WIDE else np.empty((k, rows, n)).transpose(1, 0, 2)
    if fill is not None:
        block[...] = fill
    return block


def _by_network(block: np.ndarray) -> np.ndarray:
    """A (units, K, samples) block as the (K, units, samples) view the matmuls and readers use."""
    return block.transpose(1, 0, 2)


class StackedPass:
    """Preallocated buffers and kernels of `network.Pass` for K networks and n samples each.

    `shared` (full-batch training and evaluation) gives every network the same (n, features)
    inputs once; otherwise `gather` fills each network's own samples.
    """

    def __init__(
        self,
        layout: Layout,
        params: np.ndarray,
        grad: np.ndarray,
        n: int,
        activation: str,
        loss: str,
        shared: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        sizes, k = layout.sizes, len(params)
        depth = len(sizes) - 1
        self.n, self.loss = n, loss
        matrices = stacked_matrices(layout, params)
        grads = stacked_matrices(layout, grad)
        kinds = [activation] * (depth - 1) + ["sigmoid"]
        negated_params = np.empty_like(params)  # the output, a sigmoid, always takes them
        negated = stacked_matrices(layout, negated_params)
        # inputs[l] feeds layer l: x with a ones row (shared: (features + 1, n) for all), then
        # each hidden layer's h with a ones row, (units + 1, K, n)
        first = (
            np.ones((sizes[0] + 1, n)) if shared is not None else _block(sizes[0] + 1, k, n, 1.0)
        )
        self._inputs = [first] + [_block(size + 1, k, n, 1.0) for size in sizes[1:-1]]
        self._out = [z[:-1] for z in self._inputs[1:]] + [_block(1, k, n)]
        # a sigmoid layer keeps -a (see the module), any other a
        self._pre = [_block(size, k, n) for size in sizes[1:]]
        self._delta = [_block(size, k, n) for size in sizes[1:]]
        self._tmp = [_block(size, k, n) for size in sizes[1:]]
        self._kinds = kinds
        self.y = _block(1, k, n)  # shared labels too are stored per network: NumPy broadcasts a
        self.labels = np.empty((1, k, n), dtype=bool)  # (1, 1, n) row over K three times slower
        self._diff = np.empty((k, n))
        self._squares = np.empty((k, 1, 1))
        self._hits = np.empty((1, k, n), dtype=bool)
        self._logits = np.empty((k, n)) if loss == "bce" else None
        if shared is not None:
            self.set_data(*shared)

        inputs = [first if shared is not None else _by_network(first)]
        inputs += [_by_network(z) for z in self._inputs[1:]]
        self._forward: list[Op] = [(np.negative, (params, negated_params))]
        for layer, kind in enumerate(kinds):
            pre, out = self._pre[layer], self._out[layer]
            if kind == "sigmoid":  # 1 / (1 + exp(-a)), -a from the negated weights
                self._forward += [
                    (np.matmul, (negated[layer], inputs[layer], _by_network(pre))),
                    (np.exp, (pre, out)),
                    (np.add, (out, ONE, out)),
                    (np.divide, (ONE, out, out)),
                ]
            else:
                self._forward.append(
                    (np.matmul, (matrices[layer], inputs[layer], _by_network(pre)))
                )
                self._forward += activation_ops(kind, pre, out)
        self._gradient = self._forward + output_delta_ops(
            loss, self._out[-1], self.y, self._delta[-1], self._tmp[-1]
        )
        for layer in range(depth - 1, -1, -1):
            inputs_t = np.swapaxes(inputs[layer], -1, -2)
            delta = _by_network(self._delta[layer])
            self._gradient.append((np.matmul, (delta, inputs_t, grads[layer])))
            if layer:
                self._gradient += back_ops(
                    matrices[layer], self._delta[layer], self._delta[layer - 1]
                )
                self._gradient += activation_grad_ops(
                    activation,
                    self._delta[layer - 1],
                    self._out[layer - 1],
                    self._pre[layer - 1],
                    self._tmp[layer - 1],
                )

    @property
    def pre(self) -> list[np.ndarray]:
        """Each layer's aggregation a, (K, units, n) (a copy for a sigmoid layer, see the module)."""
        return [
            _by_network(-pre if kind == "sigmoid" else pre)
            for pre, kind in zip(self._pre, self._kinds)
        ]

    @property
    def out(self) -> list[np.ndarray]:
        """Each layer's activation h, (K, units, n) views."""
        return [_by_network(out) for out in self._out]

    @property
    def delta(self) -> list[np.ndarray]:
        """Each layer's error term, (K, units, n) views."""
        return [_by_network(delta) for delta in self._delta]

    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        """The same (n, features) points and 0/1 labels for every network."""
        self._inputs[0][:-1] = x.T
        self.y[0] = y
        np.greater_equal(self.y, 0.5, self.labels)

    def gather(self, x_t: np.ndarray, y: np.ndarray, indices: np.ndarray) -> None:
        """Each network's own points: columns `indices` (K, n) of x_t (features, points) and
        their labels, copied straight into the buffers."""
        np.take(x_t, indices, axis=1, out=self._inputs[0][:-1], mode="clip")  # "clip": no buffering
        np.take(y, indices, out=self.y[0], mode="clip")
        np.greater_equal(self.y, 0.5, self.labels)

    def forward(self) -> None:
        run(self._forward)

    def gradient(self) -> None:
        """Forward, then backpropagate and write each network's dE/dparams into the grad stack."""
        run(self._gradient)

    def losses(self) -> np.ndarray:
        """Each network's loss, as `Pass.loss_value` computes it (a (K,) array)."""
        p, y = self._out[-1][0], self.y[0]
        if self.loss == "bce":
            a = np.negative(self._pre[-1][0], self._logits)  # the output is a sigmoid: -a kept
            rows = range(len(p))  # each network's (1, n) arrays, as Pass.loss_value reads them
            return np.array([loss_value("bce", p[k : k + 1], y[k], a[k : k + 1]) for k in rows])
        diff = self._diff
        np.subtract(p, y, diff)
        squares = self._squares  # one ddot per network, as np.dot(diff, diff)
        np.matmul(diff[:, None, :], diff[:, :, None], squares)
        if self.loss == "sse":
            return 0.5 * squares[:, 0, 0]
        return squares[:, 0, 0] / self.n

    def accuracies(self, thresholds: np.ndarray) -> np.ndarray:
        """Each network's share of samples whose p >= its threshold (a (K, 1, 1) column) matches."""
        np.greater_equal(self._out[-1], thresholds.reshape(1, -1, 1), self._hits)
        np.equal(self._hits, self.labels, self._hits)
        return np.count_nonzero(self._hits, axis=(0, 2)) / self.n
