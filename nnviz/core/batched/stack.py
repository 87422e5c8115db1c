"""The networks of a `BatchedTrainer` that are still training, stacked at one iteration."""

from __future__ import annotations

from typing import Any

import numpy as np

from .kernel import StackedPass
from .state import SamplerStack, StackedOptimizer, sampler_state


class Stack:
    """The networks still training, stacked at one common iteration: weights and gradients (one
    buffer, as in Trainer), optimizer, shuffling, hyperparameters and divergence checkpoint."""

    def __init__(
        self,
        owner: Any,
        members: np.ndarray,
        iteration: int,
        record_every: int,
        params: np.ndarray,
        optimizer: list[dict[str, np.ndarray]],
        sampler: SamplerStack | None,
        checkpoint: tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], list | None],
    ) -> None:
        layout, config, data = owner.layout, owner.configs[members[0]], owner.data
        k, size = len(members), layout.size
        self.owner, self.members, self.iteration = owner, members, iteration
        self.record_every = record_every
        self.state = np.zeros((k, 2 * size))
        self.params, self.grad = self.state[:, :size], self.state[:, size:]
        self.params[:] = params
        self.optimizer = StackedOptimizer(config.optimizer, optimizer, size)
        self.sampler = sampler
        self.backup, self.checkpoint_at, self.checkpoint_optimizer, self.checkpoint_sampler = (
            checkpoint
        )
        self._ones = np.ones((2 * size, 1))
        self._sums = np.empty((k, 1, 1))
        self._mask = layout.weight_mask()
        self._scratch = np.empty((k, size))
        self._passes: dict[int, StackedPass] = {}
        self._x_t = np.ascontiguousarray(data.x_train.T)  # mini-batches gather its columns
        self.eval_train = self._pass(len(data.x_train), (data.x_train, data.y_train))
        # full-batch training reuses the evaluation pass: every use recomputes it from the weights
        self.full = self.eval_train if sampler is None else None
        self.eval_test = self._pass(len(data.x_test), (data.x_test, data.y_test))
        self.configure()

    def __len__(self) -> int:
        return len(self.members)

    def _pass(self, n: int, shared: tuple[np.ndarray, np.ndarray] | None = None) -> StackedPass:
        config = self.owner.configs[self.members[0]]
        return StackedPass(
            self.owner.layout, self.params, self.grad, n, config.activation, config.loss, shared
        )

    def configure(self) -> None:
        """Read each network's live hyperparameters from its config (Trainer reads them per call)."""
        configs = [self.owner.configs[m] for m in self.members]
        column = np.array
        self.optimizer.configure(
            column([c.learning_rate for c in configs]), column([c.momentum for c in configs])
        )
        self._penalties = []  # (name, per-network column, where to add it), l2 first as Trainer
        for penalty in ("l2", "l1"):
            values = column([getattr(c, penalty) for c in configs])[:, None]
            if values.any():
                self._penalties.append((penalty, values, True if values.all() else values != 0))
        self.thresholds = column([c.threshold for c in configs])[:, None, None]

    def batch(self, draw: bool) -> StackedPass:
        """The pass of this iteration: the full training set, or the next mini-batch of every
        network (or, with `draw` False, the one drawn last again)."""
        if self.full is not None:
            return self.full
        sampler = self.sampler
        indices = sampler.next_indices() if draw else sampler.current_indices()
        n = indices.shape[1]
        batch = self._passes.get(n)
        if batch is None:
            batch = self._passes[n] = self._pass(n)
        batch.gather(self._x_t, self.owner.data.y_train, indices)
        return batch

    def regularise(self) -> None:
        """Trainer._add_regularisation for the networks whose l1 or l2 is not zero."""
        params, grad, scratch, mask = self.params, self.grad, self._scratch, self._mask
        for penalty, column, where in self._penalties:
            if penalty == "l2":
                np.multiply(params, mask, scratch)
            else:
                np.sign(params, scratch)
                np.multiply(scratch, mask, scratch)
            np.multiply(scratch, column, scratch)
            np.add(grad, scratch, grad, where=where)

    def failing(self, losses: np.ndarray) -> np.ndarray:
        """Networks whose weights, gradient or loss hold NaN/inf: Trainer's one `ddot` each."""
        np.matmul(self.state[:, None, :], self._ones, self._sums)
        return ~(np.isfinite(self._sums[:, 0, 0]) & np.isfinite(losses))

    def train_pass(self, batch: StackedPass) -> StackedPass:
        if self.full is not None:
            return batch
        self.eval_train.forward()
        return self.eval_train

    def update(self) -> None:
        np.add(self.params, self.optimizer.update(self.grad), self.params)

    def save_checkpoint(self, iteration: int, batch_drawn: bool = True) -> None:
        np.copyto(self.backup, self.params)
        self.checkpoint_at[:] = iteration
        self.checkpoint_optimizer = self.optimizer.copy_state()
        if self.sampler is not None:
            self.checkpoint_sampler = self.sampler.checkpoint(before_last_draw=batch_drawn)

    def take(self, rows: np.ndarray, *, rewound: bool = False) -> Stack:
        """The networks at `rows` alone, as they are, or (`rewound`) back at their checkpoint."""
        sampler = self.sampler
        checkpoint_sampler = self.checkpoint_sampler
        if checkpoint_sampler is not None:
            checkpoint_sampler = [checkpoint_sampler[r] for r in rows]
        if rewound and sampler is not None:
            sampler = SamplerStack(
                sampler.n, sampler.batch_size, [sampler_state(c) for c in checkpoint_sampler]
            )
        elif sampler is not None:
            sampler.keep(rows)
        source = self.checkpoint_optimizer if rewound else self.optimizer.state
        optimizer = self.optimizer
        iteration = int(self.checkpoint_at[rows[0]]) if rewound else self.iteration
        return Stack(
            self.owner,
            self.members[rows],
            iteration,
            self.record_every,
            (self.backup if rewound else self.params)[rows],
            [optimizer.row(r, source) for r in rows],
            sampler,
            (
                self.backup[rows].copy(),
                self.checkpoint_at[rows].copy(),
                {name: array[rows].copy() for name, array in self.checkpoint_optimizer.items()},
                checkpoint_sampler,
            ),
        )


def measure(train: StackedPass, test: StackedPass, thresholds: np.ndarray) -> np.ndarray:
    """(K, 4): each network's train loss, test loss, train and test accuracy, as
    Trainer._record_current computes them."""
    train.forward()
    test.forward()
    return np.column_stack(
        [
            train.losses(),
            test.losses(),
            train.accuracies(thresholds),
            test.accuracies(thresholds),
        ]
    )
