"""`BatchedTrainer`: K networks of one architecture trained together, each as its own `Trainer`.

The networks may differ in the fields of `BATCHABLE` (weight seed, learning rate, momentum, L1,
L2, threshold, iterations) and in their initial weights. Each iteration runs one set of stacked
NumPy calls for all of them (`kernel.StackedPass`); every network's weights, history, divergence
and metrics are those of `Trainer(config)` stepped the same way, bit for bit
(tests/core/test_batched.py). The loop below is `Trainer._advance` with a network axis: checks at
the same iterations, the same checkpoints, and a network that fails a check is recovered exactly as
`Trainer._recover` does (replaying from its checkpoint on its own when needed) and leaves the
stack; the others go on.

    batch = BatchedTrainer([Config(weight_seed=s) for s in range(20)])
    batch.step(5000)                    # one Snapshot per network
    batch[3].evaluate().test.auc        # network 3, read like a Trainer
    batch[3].trainer()                  # an independent Trainer continuing network 3 exactly
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..budget import BASELINE_BYTES, BudgetError, estimate, format_bytes, memory_budget
from ..config import LIVE_FIELDS, SEEDS_RULE, Config, ConfigError, field_names
from ..datasets import Dataset, load_dataset
from ..files import load_weights
from ..history import COLUMNS, History
from ..metrics import Metrics, evaluate_setup
from ..network import Layout, initial_parameters
from ..optimizers import OPTIMIZERS
from ..tasks import stackable
from ..trainer import DENSE_HISTORY, MAX_HISTORY, BatchSampler, Snapshot, Trainer, snapshot_of
from .kernel import StackedPass
from .stack import Stack, measure
from .state import SamplerStack, sampler_state, stack_states

#: The fields networks trained together may differ in; all others must be equal.
BATCHABLE = frozenset(
    {"weight_seed", "learning_rate", "momentum", "l1", "l2", "threshold", "iterations"}
)
_NEUTRAL = {"weight_seed": 0, "learning_rate": 1.0, "momentum": 0.0, "l1": 0.0, "l2": 0.0}


def batch_key(config: Config) -> Config:
    """`config` with the BATCHABLE fields set to fixed values: equal keys can train together."""
    return dataclasses.replace(config, **_NEUTRAL, threshold=0.5, iterations=0)


class Network:
    """One network of a BatchedTrainer, read like a Trainer (`batch[k]`)."""

    def __init__(self, owner: BatchedTrainer, index: int, initial: np.ndarray) -> None:
        self._owner, self.index, self._initial = owner, index, initial
        self.history = History()
        self.iteration = 0
        self.seconds = 0.0
        self.diverged_at: int | None = None
        self.current = (math.nan,) * 4
        self.frozen: dict[str, Any] | None = None  # its training_state once it left the stack

    @property
    def config(self) -> Config:
        return self._owner.configs[self.index]

    def _row(self) -> int:
        stack = self._owner._stack
        return int(np.flatnonzero(stack.members == self.index)[0])

    def weights(self) -> dict[str, np.ndarray]:
        """The current weights, `W1` (fan_in, fan_out), `b1` (fan_out,), ... as fresh arrays."""
        if self.frozen is not None:
            return self._owner.layout.to_weights(self.frozen["params"])
        return self._owner.layout.to_weights(self._owner._stack.params[self._row()])

    def initial_weights(self) -> dict[str, np.ndarray]:
        return self._owner.layout.to_weights(self._initial)

    def snapshot(self) -> Snapshot:
        return snapshot_of(self, self.current)

    def evaluate(self, *, full: bool = True) -> Metrics:
        """Metrics of the current weights on train and test, as `Trainer.evaluate`."""
        return evaluate_setup(self.weights(), self._owner.data, self.config, full=full)

    def divergence_message(self) -> str:
        if self.diverged_at is None:
            return ""
        return (
            f"training diverged at iteration {self.diverged_at}: the loss or the weights became "
            f"NaN or infinite; the weights of iteration {self.iteration} are kept. Lower the "
            f"learning rate (now {self.config.learning_rate:g}) or use a saturating activation."
        )

    def training_state(self) -> dict[str, Any]:
        """`Trainer.training_state()` of this network: what continuing it exactly needs."""
        if self.frozen is not None:
            state = dict(self.frozen)
            state["params"] = state["params"].copy()
        else:
            state = self._owner._stack_state(self._row())
        return {
            **state,
            "iteration": self.iteration,
            "seconds": self.seconds,
            "diverged_at": self.diverged_at,
            "base_record_every": self._owner.base_record_every,
            "history": self.history.arrays(),
        }

    def trainer(self) -> Trainer:
        """A new, independent Trainer that continues this network bit for bit."""
        owner = self._owner
        trainer = Trainer(
            self.config,
            owner.data,
            record_every=owner.base_record_every,
            initial_weights=self.initial_weights(),
        )
        trainer.restore_training_state(self.training_state())
        return trainer


class BatchedTrainer:
    """Trains networks that differ only in BATCHABLE fields and initial weights, together.

    `configs` must agree on every other field (ValueError otherwise); `initial_weights`, if given,
    holds one weight dict (or None) per network. `step(n)`/`advance(n)` train every network that
    has not diverged; one that diverges stops alone, keeping its last finite weights, as its own
    Trainer would. `batch[k]` reads network k like a Trainer.
    """

    def __init__(
        self,
        configs: Sequence[Config],
        dataset: Dataset | None = None,
        *,
        record_every: int = 20,
        initial_weights: Sequence[Mapping[str, np.ndarray] | None] | None = None,
    ) -> None:
        configs = list(configs)
        if not configs:
            raise ValueError("a BatchedTrainer needs at least one configuration")
        if record_every < 1:
            raise ValueError("record_every must be at least 1")
        _check_compatible(configs)
        if initial_weights is not None and len(initial_weights) != len(configs):
            raise ValueError(
                f"initial_weights must have one entry per network ({len(configs)}), "
                f"not {len(initial_weights)}"
            )
        self.configs = configs
        self.data = dataset if dataset is not None else load_dataset(configs[0])
        if not stackable(configs[0], self.data):
            raise ConfigError("seeds", len(configs), SEEDS_RULE)
        _check_memory(configs[0], len(configs), self.data)
        self.layout = Layout(configs[0].hidden, self.data.x_train.shape[1])
        self.base_record_every = record_every
        self._networks = [
            Network(self, k, self._initial(config, (initial_weights or [None] * len(configs))[k]))
            for k, config in enumerate(configs)
        ]
        self._stack: Stack | None = None
        self.reset()

    def _initial(self, config: Config, weights: Mapping[str, np.ndarray] | None) -> np.ndarray:
        """Trainer's initial weights: the given ones, the init_weights file, or drawn."""
        if weights is None and config.init_weights:
            weights = load_weights(config.init_weights)
        if weights is None:
            return initial_parameters(config, self.layout)
        try:
            return self.layout.from_weights(weights)
        except ValueError as error:
            raise ConfigError(
                "init_weights", config.init_weights or "(given)", str(error)
            ) from None

    @classmethod
    def from_trainers(cls, trainers: Sequence[Trainer]) -> BatchedTrainer:
        """Continue the given Trainers together (for example sessions, `load_session`), each bit
        for bit as it would on its own. They must train on the same points and share their
        `record_every`, and those that have not diverged must be at the same iteration with the
        same history iterations (as networks saved from one BatchedTrainer are)."""
        if not trainers:
            raise ValueError("from_trainers needs at least one Trainer")
        first = trainers[0]
        if not all(_same_data(t.data, first.data) for t in trainers):
            raise ValueError("the Trainers must train on the same points")
        states = [t.training_state() for t in trainers]
        if len({s["base_record_every"] for s in states}) != 1:
            raise ValueError("the Trainers must have been built with the same record_every")
        batch = cls(
            [t.config for t in trainers],
            first.data,
            record_every=states[0]["base_record_every"],
            initial_weights=[t.initial_weights() for t in trainers],
        )
        batch._start(states)
        for network, state in zip(batch._networks, states):
            network.seconds = state["seconds"]
        return batch

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._networks)

    def __getitem__(self, k: int) -> Network:
        return self._networks[k]

    def __iter__(self):
        return iter(self._networks)

    @property
    def iteration(self) -> int:
        """The iteration of the networks still training (of the furthest one once all stopped)."""
        if self._stack is not None:
            return self._stack.iteration
        return max(network.iteration for network in self._networks)

    @property
    def training(self) -> tuple[int, ...]:
        """The networks still training (not diverged)."""
        return () if self._stack is None else tuple(int(m) for m in self._stack.members)

    def snapshots(self) -> tuple[Snapshot, ...]:
        return tuple(network.snapshot() for network in self._networks)

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> tuple[Snapshot, ...]:
        """Every network back to its initial weights, bit for bit, with no history."""
        n, size = len(self.data.x_train), self.layout.size
        optimizer = OPTIMIZERS[self.configs[0].optimizer](size).state()
        states = []
        for network in self._networks:
            config = network.config
            batch = config.batch_size
            sampler = None
            if 0 < batch < n:
                sampler = BatchSampler(n, batch, config.weight_seed).state()
            states.append(
                {
                    "iteration": 0,
                    "diverged_at": None,
                    "record_every": self.base_record_every,
                    "params": network._initial.copy(),
                    "optimizer": optimizer,
                    "sampler": sampler,
                    "history": None,
                    "checkpoint": {
                        "iteration": 0,
                        "params": network._initial.copy(),
                        "optimizer": optimizer,
                        "sampler": sampler,
                    },
                }
            )
            network.seconds = 0.0
        self._start(states)
        return self.snapshots()

    def _start(self, states: Sequence[dict[str, Any]]) -> None:
        """Take every network's state (Trainer.training_state() form) and stack the live ones."""
        live = [k for k, state in enumerate(states) if state["diverged_at"] is None]
        for k, (network, state) in enumerate(zip(self._networks, states)):
            network.history = History()
            if state["history"] is not None:
                table = np.column_stack([getattr(state["history"], c) for c in COLUMNS])
                network.history.load(table)
            network.iteration, network.diverged_at = state["iteration"], state["diverged_at"]
            network.frozen = None if k in live else _frozen(state)
        self._stack = self._stack_from(live, states) if live else None
        with np.errstate(all="ignore"):
            self._record_current(range(len(states)))

    def _stack_from(self, live: list[int], states: Sequence[dict[str, Any]]) -> Stack:
        chosen = [states[k] for k in live]
        if (
            len({s["iteration"] for s in chosen}) != 1
            or len({s["record_every"] for s in chosen}) != 1
        ):
            raise ValueError("networks that train on must share their iteration and record_every")
        histories = [self._networks[k].history.arrays().iteration for k in live]
        if any(not np.array_equal(h, histories[0]) for h in histories):
            raise ValueError("networks that train on must have histories at the same iterations")
        size = self.layout.size
        checkpoints = [s["checkpoint"] for s in chosen]
        sampler = None
        checkpoint_sampler = None
        if chosen[0]["sampler"] is not None:
            n, batch = len(self.data.x_train), self.configs[live[0]].batch_size
            sampler = SamplerStack(n, batch, [s["sampler"] for s in chosen])
            checkpoint_sampler = [
                (c["sampler"]["rng"], np.array(c["sampler"]["order"]), c["sampler"]["position"])
                for c in checkpoints
            ]
        kind = self.configs[live[0]].optimizer
        return Stack(
            self,
            np.array(live),
            chosen[0]["iteration"],
            chosen[0]["record_every"],
            np.array([s["params"] for s in chosen], dtype=float).reshape(len(live), size),
            [s["optimizer"] for s in chosen],
            sampler,
            (
                np.array([c["params"] for c in checkpoints], dtype=float).reshape(len(live), size),
                np.array([c["iteration"] for c in checkpoints]),
                stack_states(kind, [c["optimizer"] for c in checkpoints]),
                checkpoint_sampler,
            ),
        )

    def _stack_state(self, row: int) -> dict[str, Any]:
        """Trainer.training_state() parts of the live network at stack row `row`."""
        stack = self._stack
        sampler = None
        if stack.sampler is not None:
            sampler = sampler_state(stack.sampler.checkpoint(before_last_draw=False)[row])
        return {
            "record_every": stack.record_every,
            "params": stack.params[row].copy(),
            "optimizer": stack.optimizer.row(row),
            "sampler": sampler,
            "checkpoint": {
                "iteration": int(stack.checkpoint_at[row]),
                "params": stack.backup[row].copy(),
                "optimizer": stack.optimizer.row(row, stack.checkpoint_optimizer),
                "sampler": None
                if stack.checkpoint_sampler is None
                else sampler_state(stack.checkpoint_sampler[row]),
            },
        }

    def update_config(self, k: int, config: Config) -> None:
        """Trainer.update_config for network k: only live fields may change."""
        network = self._networks[k]
        if not network.config.is_live_change(config):
            raise ValueError(
                f"only {', '.join(sorted(LIVE_FIELDS))} can change without a new BatchedTrainer"
            )
        self.configs[k] = config
        if network.frozen is not None:  # as Trainer: the checkpoint moves to the kept weights
            frozen = network.frozen
            frozen["checkpoint"] = {
                "iteration": network.iteration,
                "params": frozen["params"].copy(),
                "optimizer": frozen["optimizer"],
                "sampler": frozen["sampler"],
            }
            return
        stack, row = self._stack, network._row()
        stack.configure()
        stack.backup[row] = stack.params[row]
        stack.checkpoint_at[row] = stack.iteration
        for name, array in stack.optimizer.state.items():
            stack.checkpoint_optimizer[name][row] = array[row]
        if stack.sampler is not None:
            stack.checkpoint_sampler[row] = stack.sampler.checkpoint(before_last_draw=False)[row]

    def retire(self, networks: Sequence[int]) -> None:
        """Stop training networks `networks` where they are, without diverging: each keeps its
        weights and state, reads and exports as before, and `advance` trains only the others (a
        sweep retires a network once its last row is measured)."""
        stack = self._stack
        if stack is None:
            return
        leaving = np.isin(stack.members, list(networks))
        for row in np.flatnonzero(leaving):
            self._networks[stack.members[row]].frozen = self._stack_state(int(row))
        keep = np.flatnonzero(~leaving)
        if keep.size < len(stack):
            self._stack = stack.take(keep) if keep.size else None

    # -- training --------------------------------------------------------------------------

    def step(self, n: int = 1) -> tuple[Snapshot, ...]:
        """Run `n` iterations of every network still training; a snapshot of each network."""
        self.advance(n)
        return self.snapshots()

    def advance(self, n: int = 1) -> None:
        """Trainer.advance for every network still training (diverged ones stay as they are)."""
        if n < 0:
            raise ValueError("the number of iterations must be >= 0")
        stack = self._stack
        if stack is None:
            return
        trained = [int(m) for m in stack.members]
        started = time.perf_counter()
        with np.errstate(all="ignore"):
            self._stack = self._run(stack, n, strict=False)
            self._record_current(trained)
            if n and self._stack is not None:
                self._final_check()
        share = (time.perf_counter() - started) / len(trained)
        for k in trained:
            self._networks[k].seconds += share

    def _run(self, stack: Stack, n: int, strict: bool) -> Stack | None:
        """Trainer._advance for a stack: n iterations, checking at history points, the last
        iteration and (`strict`) every iteration; returns the stack of the networks still live."""
        record_every = stack.record_every  # as Trainer: fixed for the call
        end = stack.iteration + n
        i, draw = stack.iteration, True
        while i < end:
            batch = stack.batch(draw)
            draw = True
            batch.gradient()
            stack.regularise()
            recording = i % record_every == 0 or i < DENSE_HISTORY
            if recording or strict or i == end - 1:
                train = stack.train_pass(batch)
                losses = train.losses()
                bad = stack.failing(losses)
                if bad.any():
                    stack = self._leave(stack, bad, i, strict)
                    if stack is None:
                        return None
                    draw = False  # the others redo iteration i: the same batch, the same numbers
                    continue
                stack.save_checkpoint(i)
                if recording:
                    self._record(stack, i, train, losses)
            stack.update()
            i += 1
        stack.iteration = end
        return stack

    def _leave(self, stack: Stack, bad: np.ndarray, i: int, strict: bool) -> Stack | None:
        """Trainer._recover(i, strict) for each failing network; the stack of the others."""
        rows = np.flatnonzero(bad)
        for at in np.unique(stack.checkpoint_at[rows]):
            group = rows[stack.checkpoint_at[rows] == at]
            if strict or i <= at + 1:
                for row in group:
                    self._freeze(stack, row, max(i, int(at) + 1))
                continue
            for row in group:
                self._networks[stack.members[row]].history.truncate(int(at))
            replay = self._run(stack.take(group, rewound=True), i - int(at), strict=True)
            if replay is not None:  # every iteration before i was fine: i is the first bad one
                for row in range(len(replay)):
                    self._freeze(replay, row, i)
        keep = np.flatnonzero(~bad)
        return stack.take(keep) if keep.size else None

    def _freeze(self, stack: Stack, row: int, diverged_at: int) -> None:
        """Network at `row` goes back to its checkpoint and stops: Trainer._recover's end."""
        network = self._networks[stack.members[row]]
        at = int(stack.checkpoint_at[row])
        network.history.truncate(at)
        network.iteration, network.diverged_at = at, diverged_at
        sampler = None
        if stack.checkpoint_sampler is not None:
            sampler = sampler_state(stack.checkpoint_sampler[row])
        optimizer = stack.optimizer.row(row, stack.checkpoint_optimizer)
        network.frozen = {
            "record_every": stack.record_every,
            "params": stack.backup[row].copy(),
            "optimizer": optimizer,
            "sampler": sampler,
            "checkpoint": {
                "iteration": at,
                "params": stack.backup[row].copy(),
                "optimizer": optimizer,
                "sampler": sampler,
            },
        }

    def _record(self, stack: Stack, i: int, train: StackedPass, losses: np.ndarray) -> None:
        """Trainer._record for every network of the stack at iteration i."""
        histories = [self._networks[m].history for m in stack.members]
        if len(histories[0]) >= MAX_HISTORY:
            stack.record_every *= 2
            for history in histories:
                history.thin(DENSE_HISTORY, stack.record_every)
        stack.eval_test.forward()
        test = stack.eval_test
        rows = zip(
            losses,
            test.losses(),
            train.accuracies(stack.thresholds),
            test.accuracies(stack.thresholds),
        )
        for history, row in zip(histories, rows):
            history.append(i, *(float(value) for value in row))

    def _record_current(self, networks) -> None:
        """Trainer._record_current for the given networks, live or stopped."""
        stack = self._stack
        live = [] if stack is None else [int(m) for m in stack.members]
        if live:
            values = measure(stack.eval_train, stack.eval_test, stack.thresholds)
            self._set_current(live, values, stack.iteration)
        stopped = [k for k in networks if k not in live]
        if stopped:
            params = np.array([self._networks[k].frozen["params"] for k in stopped])
            data, config = self.data, self.configs[stopped[0]]
            grad = np.zeros_like(params)

            def make(x: np.ndarray, y: np.ndarray) -> StackedPass:
                shared = (x, y)
                return StackedPass(
                    self.layout, params, grad, len(x), config.activation, config.loss, shared
                )

            thresholds = np.array([self.configs[k].threshold for k in stopped])[:, None, None]
            values = measure(
                make(data.x_train, data.y_train), make(data.x_test, data.y_test), thresholds
            )
            for k, row in zip(stopped, values):
                self._set_current([k], row[None], self._networks[k].iteration)

    def _set_current(self, networks: Sequence[int], values: np.ndarray, iteration: int) -> None:
        for k, row in zip(networks, values):
            network = self._networks[k]
            network.iteration = iteration
            network.current = tuple(float(value) for value in row)
            network.history.append(iteration, *network.current)

    def _final_check(self) -> None:
        """Trainer.advance's last look: a network whose loss or weights went NaN/inf after the
        last update goes back to its checkpoint (Trainer._recover(iteration, strict=True))."""
        stack = self._stack
        bad = np.array(
            [
                not (
                    math.isfinite(self._networks[m].current[0])
                    and math.isfinite(np.add.reduce(stack.params[row]))
                )
                for row, m in enumerate(stack.members)
            ]
        )
        if not bad.any():
            return
        rows = np.flatnonzero(bad)
        for row in rows:
            self._freeze(stack, row, max(stack.iteration, int(stack.checkpoint_at[row]) + 1))
        keep = np.flatnonzero(~bad)
        self._stack = stack.take(keep) if keep.size else None
        self._record_current([int(stack.members[row]) for row in rows])


def _frozen(state: dict[str, Any]) -> dict[str, Any]:
    keys = ("record_every", "params", "optimizer", "sampler", "checkpoint")
    frozen = {key: state[key] for key in keys}
    frozen["params"] = np.array(frozen["params"], dtype=float)
    return frozen


def _same_data(a: Dataset, b: Dataset) -> bool:
    return a is b or all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("x_train", "y_train", "x_test", "y_test")
    )


def _check_compatible(configs: Sequence[Config]) -> None:
    key = batch_key(configs[0])
    for config in configs[1:]:
        other = batch_key(config)
        if other != key:
            differing = [
                name for name in field_names() if getattr(key, name) != getattr(other, name)
            ]
            raise ValueError(
                f"networks trained together may differ only in {', '.join(sorted(BATCHABLE))}; "
                f"these differ in {', '.join(differing)}"
            )


def _check_memory(config: Config, networks: int, data: Dataset) -> None:
    """Refuse a batch whose K networks' buffers do not fit the memory budget (see core.budget)."""
    one = estimate(dataclasses.replace(config, seeds=1), data=data, views=False, replay=False)
    one = one.total  # one network's (an estimate of config.seeds counts every seed already)
    needed = BASELINE_BYTES + networks * (one - BASELINE_BYTES)
    budget = memory_budget()
    if needed > budget.bytes:
        raise BudgetError(
            f"{networks} networks trained together need about {format_bytes(needed)}, more than "
            f"the memory budget of {budget}; train fewer at once"
        )
