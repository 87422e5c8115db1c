"""Forward and backward passes of K networks of one layout, as single NumPy calls over a stack.

Every buffer of `network.Pass` gains a leading network axis: activations are (K, units, samples),
layer k's weights (K, fan_out, fan_in + 1). A layer is one `np.matmul` over the stack; NumPy then
calls BLAS once per network, with the sizes, transpose flags and leading dimensions that
`np.dot` uses in `Pass` (numpy's umath/matmul.c.src against common/cblasfuncs.c), so each network
gets the numbers of its own `Pass` bit for bit. The one operand `np.dot` treats differently is the
transposed weight matrix that carries the error back (`back_ops`). Elementwise steps are the same
ufuncs over contiguous blocks, and sums that decide divergence are the same `ddot` per network.
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

    `np.dot` copies the strided W^T to a contiguous matrix before gemm/gemv, but hands a single
    row (a layer of one unit) to gemv with its stride, and multiplies 1 x 1 by 1 x 1 directly; a
    stacked matmul on the raw view would use other BLAS arguments and round differently.
    """
    fan_in, fan_out, n = out.shape[1], delta.shape[1], delta.shape[2]
    view = weights[:, :, :-1].transpose(0, 2, 1)
    if fan_in == 1 and fan_out == 1 and n == 1:
        return [(np.multiply, (view, delta, out))]
    if fan_out == 1:  # an outer product: BLAS adds each single product to 0 (-0.0 becomes 0.0)
        return [(np.multiply, (view, delta, out)), (np.add, (out, ZERO, out))]
    if fan_in == 1:
        return [(np.matmul, (view, delta, out))]
    copy = np.empty(view.shape)
    return [(np.copyto, (copy, view)), (np.matmul, (copy, delta, out))]


class StackedPass:
    """Preallocated buffers and kernels of `network.Pass` for K networks and n samples each.

    `shared_x` (full-batch training and evaluation) gives every network the same (n, features)
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
        self.n, self.loss = n, loss
        matrices = stacked_matrices(layout, params)
        grads = stacked_matrices(layout, grad)
        rows = 1 if shared is not None else k
        first = np.ones((sizes[0] + 1, n)) if shared is not None else np.ones((k, sizes[0] + 1, n))
        self.inputs = [first] + [np.ones((k, size + 1, n)) for size in sizes[1:-1]]
        self.pre = [np.empty((k, size, n)) for size in sizes[1:]]
        self.out = [z[:, :-1] for z in self.inputs[1:]] + [np.empty((k, 1, n))]
        self.delta = [np.empty((k, size, n)) for size in sizes[1:]]
        self.tmp = [np.empty((k, size, n)) for size in sizes[1:]]
        self.y = np.empty((rows, 1, n))
        self.labels = np.empty((rows, 1, n), dtype=bool)
        self._diff = np.empty((k, n))
        self._squares = np.empty((k, 1, 1))
        self._hits = np.empty((k, 1, n), dtype=bool)
        if shared is not None:
            self.set_data(*shared)

        depth = len(matrices)
        self._forward: list[Op] = []
        for layer in range(depth):
            self._forward.append(
                (np.matmul, (matrices[layer], self.inputs[layer], self.pre[layer]))
            )
            kind = activation if layer < depth - 1 else "sigmoid"
            self._forward += activation_ops(kind, self.pre[layer], self.out[layer])
        self._gradient = self._forward + output_delta_ops(
            loss, self.out[-1], self.y, self.delta[-1], self.tmp[-1]
        )
        for layer in range(depth - 1, -1, -1):
            inputs_t = np.swapaxes(self.inputs[layer], -1, -2)
            self._gradient.append((np.matmul, (self.delta[layer], inputs_t, grads[layer])))
            if layer:
                self._gradient += back_ops(
                    matrices[layer], self.delta[layer], self.delta[layer - 1]
                )
                self._gradient += activation_grad_ops(
                    activation,
                    self.delta[layer - 1],
                    self.out[layer - 1],
                    self.pre[layer - 1],
                    self.tmp[layer - 1],
                )

    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        """The same (n, features) points and 0/1 labels for every network."""
        self.inputs[0][:-1] = x.T
        self.y[0, 0] = y
        np.greater_equal(self.y, 0.5, self.labels)

    def gather(self, x_t: np.ndarray, y: np.ndarray, indices: np.ndarray) -> None:
        """Each network's own points: columns `indices` (K, n) of x_t (features, points) and
        their labels, copied straight into the buffers."""
        inputs = self.inputs[0][:, :-1].transpose(1, 0, 2)
        np.take(x_t, indices, axis=1, out=inputs, mode="clip")  # "clip": no buffering
        np.take(y, indices, out=self.y[:, 0], mode="clip")
        np.greater_equal(self.y, 0.5, self.labels)

    def forward(self) -> None:
        run(self._forward)

    def gradient(self) -> None:
        """Forward, then backpropagate and write each network's dE/dparams into the grad stack."""
        run(self._gradient)

    def losses(self) -> np.ndarray:
        """Each network's loss, as `Pass.loss_value` computes it (a (K,) array)."""
        if self.loss == "bce":
            p, y, a = self.out[-1], self.y, self.pre[-1]
            return np.array([loss_value("bce", p[k], y[k % len(y)], a[k]) for k in range(len(p))])
        diff = self._diff
        np.subtract(self.out[-1][:, 0], self.y[:, 0], diff)
        squares = self._squares  # one ddot per network, as np.dot(diff, diff)
        np.matmul(diff[:, None, :], diff[:, :, None], squares)
        if self.loss == "sse":
            return 0.5 * squares[:, 0, 0]
        return squares[:, 0, 0] / self.n

    def accuracies(self, thresholds: np.ndarray) -> np.ndarray:
        """Each network's share of samples whose p >= its threshold (a (K, 1, 1) column) matches."""
        np.greater_equal(self.out[-1], thresholds, self._hits)
        np.equal(self._hits, self.labels, self._hits)
        return np.count_nonzero(self._hits, axis=(1, 2)) / self.n
