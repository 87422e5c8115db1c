"""The one training loop: the CLI, the tests, notebooks and the window's worker all drive `Trainer`."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .budget import check_budget
from .config import LIVE_FIELDS, Config, ConfigError
from .datasets import Dataset, load_dataset
from .files import load_weights
from .history import COLUMNS, History, HistoryArrays
from .metrics import Metrics, evaluate_setup
from .network import Pass, initial_parameters
from .optimizers import OPTIMIZERS
from .tasks import task_of

#: Every iteration below this is recorded in the history; after it, every `record_every`-th.
DENSE_HISTORY = 100
#: The history never holds more rows than this; long runs keep every 2nd, 4th, ... row.
MAX_HISTORY = 2048


class TrainingDiverged(RuntimeError):
    """Raised when stepping a trainer whose weights went NaN/inf; reset or change settings first."""


@dataclass(frozen=True)
class Snapshot:
    """An immutable picture of training at one iteration; its arrays are read-only copies."""

    iteration: int
    target: int
    train_loss: float
    test_loss: float
    train_accuracy: float
    test_accuracy: float
    weights: Mapping[str, np.ndarray]
    history: HistoryArrays
    seconds: float
    diverged_at: int | None = None

    @property
    def finished(self) -> bool:
        return self.iteration >= self.target or self.diverged_at is not None

    def __reduce__(self):
        """Pickle as plain data (a mapping proxy cannot be pickled); unpickling re-freezes it."""
        state = {name: getattr(self, name) for name in self.__dataclass_fields__}
        state["weights"] = dict(self.weights)
        return (_snapshot_from_state, (state,))


def snapshot_of(network: Any, current: tuple[float, float, float, float]) -> Snapshot:
    """The Snapshot of a Trainer, or of one network of a BatchedTrainer: anything with
    iteration, config, weights(), history, seconds and diverged_at, and its current
    (train loss, test loss, train accuracy, test accuracy)."""
    train_loss, test_loss, train_accuracy, test_accuracy = current
    return Snapshot(
        iteration=network.iteration,
        target=network.config.iterations,
        train_loss=train_loss,
        test_loss=test_loss,
        train_accuracy=train_accuracy,
        test_accuracy=test_accuracy,
        weights=_read_only(network.weights()),
        history=network.history.arrays(),
        seconds=network.seconds,
        diverged_at=network.diverged_at,
    )


def _snapshot_from_state(state: dict) -> Snapshot:
    state["weights"] = _read_only(state["weights"])
    history = state["history"]
    for name in history.__dataclass_fields__:
        getattr(history, name).flags.writeable = False
    return Snapshot(**state)


@dataclass(frozen=True)
class LayerTrace:
    """One layer of one iteration, in the article's (samples, units) orientation.

    `a` is the aggregation, `h` the activation, `delta` the error term dE/da, `grad_w`/`grad_b` the
    gradient and `update_w`/`update_b` the change the optimizer applied.
    """

    a: np.ndarray
    h: np.ndarray
    delta: np.ndarray
    grad_w: np.ndarray
    grad_b: np.ndarray
    update_w: np.ndarray
    update_b: np.ndarray


@dataclass(frozen=True)
class StepTrace:
    """Everything backpropagation computed in the last iteration."""

    iteration: int
    x: np.ndarray
    y: np.ndarray
    loss: float
    layers: tuple[LayerTrace, ...]
    weights_before: Mapping[str, np.ndarray]
    weights_after: Mapping[str, np.ndarray]


class BatchSampler:
    """Seeded shuffling for mini-batches: a new permutation each epoch, the last batch may be short."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size = n, batch_size
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(n)
        self.position = n  # start with a fresh permutation
        self._last_start = n
        self._rng_before_epoch = self.rng.bit_generator.state

    def state(self, *, before_last_draw: bool = False) -> dict:
        """The shuffling state, now or as it was before the latest batch was drawn."""
        if not before_last_draw:
            return {
                "rng": self.rng.bit_generator.state,
                "order": self.order.copy(),
                "position": self.position,
            }
        if self._last_start == 0:  # that batch began an epoch: undo the permutation too
            return {"rng": self._rng_before_epoch, "order": self.order.copy(), "position": self.n}
        return {
            "rng": self.rng.bit_generator.state,
            "order": self.order.copy(),
            "position": self._last_start,
        }

    def load_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.order = state["order"].copy()
        self.position = self._last_start = state["position"]

    def next_indices(self) -> np.ndarray:
        if self.position >= self.n:
            self._rng_before_epoch = self.rng.bit_generator.state
            self.order = self.rng.permutation(self.n)
            self.position = 0
        start = self._last_start = self.position
        self.position = min(start + self.batch_size, self.n)
        return self.order[start : self.position]


def _read_only(mapping: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    for array in mapping.values():
        array.flags.writeable = False
    return MappingProxyType(dict(mapping))


class Trainer:
    """Trains the configured network on the configured data, one iteration at a time.

    >>> trainer = Trainer(Config.preset("seed"))
    >>> snapshot = trainer.step(100)
    >>> snapshot.iteration
    100
    """

    def __init__(
        self,
        config: Config,
        dataset: Dataset | None = None,
        *,
        record_every: int = 20,
        initial_weights: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        if record_every < 1:
            raise ValueError("record_every must be at least 1")
        self.config = config
        self.data = dataset if dataset is not None else load_dataset(config)
        check_budget(config, data=self.data, views=False, replay=False)  # before allocating
        self.task = task_of(config, self.data)
        self.layout = self.task.layout(config.hidden)
        # the network's inputs: the raw points themselves unless crosses are asked for
        self._x_train = self.task.inputs(self.data.x_train)
        self._x_test = self.task.inputs(self.data.x_test)
        self.record_every = self._record_every = record_every
        if initial_weights is None and config.init_weights:
            initial_weights = load_weights(config.init_weights)
        if initial_weights is not None:
            try:
                self._initial = self.layout.from_weights(initial_weights)
            except ValueError as error:
                raise ConfigError(
                    "init_weights", config.init_weights or "(given)", str(error)
                ) from None
        else:
            self._initial = initial_parameters(config, self.layout)
        # Parameters and gradient share one buffer so that a single sum detects NaN/inf in either.
        self._state = np.zeros(2 * self.layout.size)
        self.params = self._state[: self.layout.size]
        self.grad = self._state[self.layout.size :]
        self._backup = np.empty(self.layout.size)
        self._ones = np.ones(2 * self.layout.size)  # dot(ones, state) sums faster than add.reduce
        self._weight_mask = self.layout.weight_mask()
        self._scratch = np.empty(self.layout.size)
        self._passes: dict[int, Pass] = {}
        self._eval_train = self._make_pass(self._x_train, self.data.y_train)
        self._eval_test = self._make_pass(self._x_test, self.data.y_test)
        self.history = History()
        self.reset()

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> Snapshot:
        """Return to the initial weights, bit for bit, and forget the history."""
        np.copyto(self.params, self._initial)
        self.iteration = 0
        self.seconds = 0.0
        self.diverged_at: int | None = None
        self.optimizer = OPTIMIZERS[self.config.optimizer](self.layout.size)
        n = len(self.data.x_train)
        batch = self.config.batch_size
        self.sampler = BatchSampler(n, batch, self.config.weight_seed) if 0 < batch < n else None
        self._last_pass: Pass | None = None  # the batch of the last applied update
        self._last_update: np.ndarray | None = None
        self.history.clear()
        self.record_every = self._record_every
        self._save_checkpoint(0)
        self._record_current()
        return self.snapshot()

    def update_config(self, config: Config) -> None:
        """Apply a new config whose changes are all live (learning rate, momentum, l1, l2, ...)."""
        if not self.config.is_live_change(config):
            raise ValueError(
                f"only {', '.join(sorted(LIVE_FIELDS))} can change without a new Trainer"
            )
        self.config = config
        self._save_checkpoint(self.iteration, batch_drawn=False)  # replays use the new values

    def weights(self) -> dict[str, np.ndarray]:
        """The current weights as fresh arrays `W1` (fan_in, fan_out), `b1` (fan_out,), ..."""
        return self.layout.to_weights(self.params)

    def initial_weights(self) -> dict[str, np.ndarray]:
        return self.layout.to_weights(self._initial)

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> Snapshot:
        """Continue from the given weights (shape-checked); the optimizer keeps its state."""
        np.copyto(self.params, self.layout.from_weights(weights))
        self.diverged_at = None
        self._save_checkpoint(self.iteration, batch_drawn=False)  # replays start from the edit
        self._last_pass = self._last_update = None  # the last step's trace no longer applies
        self.history.truncate(self.iteration - 1)
        self._record_current()
        return self.snapshot()

    # -- exact continuation (sessions) ------------------------------------------------------

    def training_state(self) -> dict[str, Any]:
        """What continuing exactly needs beyond the config, the data and the initial weights.

        Plain values and copied arrays: iteration, seconds, diverged_at, the history stride
        (`record_every`, `base_record_every`), `params`, optimizer and shuffling state, the history,
        and the divergence checkpoint. `restore_training_state` on a Trainer of the same config, data
        and initial weights then trains on bit for bit as this one would.
        """
        at, optimizer_state, sampler_state = self._checkpoint
        return {
            "iteration": self.iteration,
            "seconds": self.seconds,
            "diverged_at": self.diverged_at,
            "record_every": self.record_every,
            "base_record_every": self._record_every,
            "params": self.params.copy(),
            "optimizer": self.optimizer.state(),
            "sampler": self.sampler.state() if self.sampler else None,
            "history": self.history.arrays(),
            "checkpoint": {
                "iteration": at,
                "params": self._backup.copy(),
                "optimizer": {key: array.copy() for key, array in optimizer_state.items()},
                "sampler": _copied_sampler_state(sampler_state),
            },
        }

    def restore_training_state(self, state: Mapping[str, Any]) -> Snapshot:
        """Continue from `training_state()` output. Everything is checked before anything changes;
        a ValueError names the part that does not fit this trainer's config and data.

        `base_record_every` is not restored (it is a constructor argument); `last_step()` is None
        until the next iteration.
        """
        try:
            iteration = _whole(state["iteration"], "iteration")
            seconds = state["seconds"]
            if not (_is_number(seconds) and seconds >= 0):
                raise ValueError(f"seconds must be a finite number >= 0, not {seconds!r}")
            diverged_at = state["diverged_at"]
            if diverged_at is not None:
                _whole(diverged_at, "diverged_at", iteration + 1)
            record_every = _whole(state["record_every"], "record_every", 1)
            params = self._checked_params(state["params"], "params")
            optimizer = self._checked_optimizer(state["optimizer"], "optimizer")
            sampler = self._checked_sampler(state["sampler"], "sampler")
            table = _checked_history(state["history"], iteration)
            checkpoint = state["checkpoint"]
            at = _whole(checkpoint["iteration"], "checkpoint iteration", 0, iteration)
            backup = self._checked_params(checkpoint["params"], "checkpoint params")
            backup_optimizer = self._checked_optimizer(
                checkpoint["optimizer"], "checkpoint optimizer"
            )
            backup_sampler = self._checked_sampler(checkpoint["sampler"], "checkpoint sampler")
        except KeyError as error:
            raise ValueError(f"the training state has no {error.args[0]!r}") from None
        except (TypeError, AttributeError, OverflowError) as error:
            raise ValueError(f"the training state is malformed: {error}") from None
        np.copyto(self.params, params)
        self.iteration, self.seconds, self.diverged_at = iteration, float(seconds), diverged_at
        self.record_every, self.optimizer, self.sampler = record_every, optimizer, sampler
        self.history.load(table)
        np.copyto(self._backup, backup)
        backup_state = backup_sampler.state() if backup_sampler else None
        self._checkpoint = (at, backup_optimizer.state(), backup_state)
        self._last_pass = self._last_update = None
        self._record_current()  # the history already ends at `iteration`: this only measures
        return self.snapshot()

    def _checked_params(self, value: Any, name: str) -> np.ndarray:
        array = np.asarray(value)
        if array.shape != (self.layout.size,) or array.dtype.kind not in "iuf":
            raise ValueError(
                f"{name} must be {self.layout.size} numbers for {self.layout.describe()}"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")
        return array.astype(float)

    def _checked_optimizer(self, state: Any, name: str):
        optimizer = OPTIMIZERS[self.config.optimizer](self.layout.size)
        try:
            if not isinstance(state, Mapping):
                raise ValueError("it must be a mapping of arrays")
            state = {key: np.asarray(array) for key, array in state.items()}
            optimizer.load_state(state)
            if "steps" in state and not (state["steps"] >= 0 and state["steps"] % 1 == 0):
                raise ValueError("Adam state 'steps' must be a whole number >= 0")
        except ValueError as error:
            raise ValueError(f"{name} does not fit {self.config.optimizer}: {error}") from None
        return optimizer

    def _checked_sampler(self, state: Any, name: str) -> BatchSampler | None:
        """A new sampler in `state`, or None for full-batch training (then `state` must be None)."""
        n, batch = len(self.data.x_train), self.config.batch_size
        if not 0 < batch < n:
            if state is not None:
                raise ValueError(f"{name} is given, but training is full-batch")
            return None
        if not isinstance(state, Mapping) or set(state) != {"rng", "order", "position"}:
            raise ValueError(f"{name} needs rng, order and position for batch size {batch}")
        order = np.asarray(state["order"])
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"{name} order must be a permutation of the {n} training points")
        position = _whole(state["position"], f"{name} position", 1, n)
        rng = _checked_rng_state(state["rng"], name)
        sampler = BatchSampler(n, batch, self.config.weight_seed)
        sampler.load_state({"rng": rng, "order": order.astype(np.int64), "position": position})
        return sampler

    # -- training --------------------------------------------------------------------------

    def step(self, n: int = 1) -> Snapshot:
        """Run `n` iterations (fewer if the weights diverge) and return a snapshot."""
        self.advance(n)
        return self.snapshot()

    def advance(self, n: int = 1) -> None:
        """Run `n` iterations without building a snapshot (for loops that report less often)."""
        if self.diverged_at is not None:
            raise TrainingDiverged(self.divergence_message())
        if n < 0:
            raise ValueError("the number of iterations must be >= 0")
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            self._advance(n)
            self._record_current()
            final_ok = math.isfinite(self._current[0]) and math.isfinite(np.add.reduce(self.params))
            if n and self.diverged_at is None and not final_ok:
                self._recover(self.iteration, strict=True)  # the last update went bad
                self._record_current()
        self.seconds += time.perf_counter() - start

    def run(self, chunk: int = 1000) -> Iterator[Snapshot]:
        """Step in chunks until `config.iterations` is reached or training diverges."""
        while self.iteration < self.config.iterations and self.diverged_at is None:
            yield self.step(min(chunk, self.config.iterations - self.iteration))

    def _advance(self, n: int, *, strict: bool = False) -> None:
        """Run n iterations, looking for NaN/inf at history points and at the last iteration.

        The look covers the weights, their gradient and the training loss: cheap, but not free
        at 25 us an iteration, so it is not done every time. When it finds NaN/inf, the run is
        replayed from the last checkpoint with a look at every iteration (`strict`), which names
        the first bad iteration and keeps the weights before it. Where the looks fall does not
        matter: splitting a run into calls differently gives the same result.
        """
        config, params, grad = self.config, self.params, self.grad
        optimizer, state, ones = self.optimizer, self._state, self._ones
        optimizer.configure(config.learning_rate, config.momentum)
        l1, l2, record_every, dot, add = config.l1, config.l2, self.record_every, np.dot, np.add
        full = self._full_pass() if self.sampler is None else None
        start = self.iteration
        last = start + n - 1
        for i in range(start, start + n):
            batch = full or self._next_batch()
            batch.gradient()
            if l1 or l2:
                self._add_regularisation(l1, l2)
            recording = i % record_every == 0 or i < DENSE_HISTORY
            if recording or strict or i == last:
                train = self._train_pass(batch)
                loss = train.loss_value()
                if not (math.isfinite(dot(ones, state)) and math.isfinite(loss)):
                    self._recover(i, strict)
                    return
                self._save_checkpoint(i)
                if recording:
                    self.iteration = i
                    self._record(train, loss)
            update = optimizer.update(grad)
            add(params, update, params)
            self._last_pass, self._last_update = batch, update
        self.iteration = start + n

    def _save_checkpoint(self, iteration: int, *, batch_drawn: bool = True) -> None:
        """Remember the state before the update of `iteration`, to return to on divergence.

        Inside the loop the batch of `iteration` is already drawn (`batch_drawn`), so a replay
        must draw the same one again; between calls nothing is drawn yet.
        """
        np.copyto(self._backup, self.params)
        sampler = self.sampler
        sampler_state = sampler.state(before_last_draw=batch_drawn) if sampler else None
        self._checkpoint = (iteration, self.optimizer.state(), sampler_state)

    def _recover(self, iteration: int, strict: bool) -> None:
        """Return to the checkpoint; in strict mode `iteration` is where training diverged."""
        checkpoint, optimizer_state, sampler_state = self._checkpoint
        np.copyto(self.params, self._backup)
        self.optimizer.load_state(optimizer_state)
        if self.sampler is not None:
            self.sampler.load_state(sampler_state)
        self.history.truncate(checkpoint)
        self.iteration = checkpoint
        if strict or iteration <= checkpoint + 1:
            self.diverged_at = max(iteration, checkpoint + 1)
            return
        self._advance(iteration - checkpoint, strict=True)  # look at every iteration before it
        if self.diverged_at is None:  # all were good, so `iteration` itself is the first bad one
            self._recover(iteration, strict=True)

    def _add_regularisation(self, l1: float, l2: float) -> None:
        scratch = self._scratch
        if l2:
            np.multiply(self.params, self._weight_mask, scratch)
            np.multiply(scratch, l2, scratch)
            np.add(self.grad, scratch, self.grad)
        if l1:
            np.sign(self.params, scratch)
            np.multiply(scratch, self._weight_mask, scratch)
            np.multiply(scratch, l1, scratch)
            np.add(self.grad, scratch, self.grad)

    def _new_pass(self, n: int) -> Pass:
        config = self.config
        return Pass(
            self.layout, self.params, self.grad, n, config.activation, config.loss, self.task.output
        )

    def _make_pass(self, x: np.ndarray, y: np.ndarray) -> Pass:
        batch = self._new_pass(len(x))
        batch.set_data(x, y)
        return batch

    def _full_pass(self) -> Pass:
        n = len(self.data.x_train)
        if n not in self._passes:
            self._passes[n] = self._make_pass(self._x_train, self.data.y_train)
        return self._passes[n]

    def _next_batch(self) -> Pass:
        indices = self.sampler.next_indices()
        batch = self._passes.get(len(indices))
        if batch is None:
            batch = self._passes[len(indices)] = self._new_pass(len(indices))
        batch.set_data(self._x_train[indices], self.data.y_train[indices])
        return batch

    # -- measuring -------------------------------------------------------------------------

    def _train_pass(self, batch: Pass) -> Pass:
        """The pass holding the whole training set's forward: the batch itself for full-batch
        training, else the evaluation pass, run now."""
        if self.sampler is None:
            return batch
        self._eval_train.forward()
        return self._eval_train

    def _record(self, train: Pass, train_loss: float) -> None:
        """Append a history row for the current iteration from a full training-set forward."""
        if len(self.history) >= MAX_HISTORY:  # bounded memory: halve the density past the start
            self.record_every *= 2
            self.history.thin(DENSE_HISTORY, self.record_every)
        self._eval_test.forward()
        test, threshold = self._eval_test, self.config.threshold
        self.history.append(
            self.iteration,
            train_loss,
            test.loss_value(),
            train.accuracy(threshold),
            test.accuracy(threshold),
        )

    def _record_current(self) -> None:
        with np.errstate(all="ignore"):
            for batch in (self._eval_train, self._eval_test):
                batch.forward()
            train, test, threshold = self._eval_train, self._eval_test, self.config.threshold
            self._current = (
                train.loss_value(),
                test.loss_value(),
                train.accuracy(threshold),
                test.accuracy(threshold),
            )
        self.history.append(
            self.iteration, self._current[0], self._current[1], self._current[2], self._current[3]
        )

    def snapshot(self) -> Snapshot:
        return snapshot_of(self, self._current)

    def divergence_message(self) -> str:
        if self.diverged_at is None:
            return ""
        return (
            f"training diverged at iteration {self.diverged_at}: the loss or the weights became "
            f"NaN or infinite; the weights of iteration {self.iteration} are kept. Lower the "
            f"learning rate (now {self.config.learning_rate:g}) or use a saturating activation."
        )

    def last_step(self) -> StepTrace | None:
        """The error terms, gradients and updates of the most recent iteration, as copies.

        None before the first iteration and after divergence (the buffers then hold the failed
        iteration, not the one whose weights were kept).
        """
        batch, update = self._last_pass, self._last_update
        if batch is None or update is None or self.diverged_at is not None:
            return None
        grads = self.layout.to_weights(self.grad)
        updates = self.layout.to_weights(update)
        layers = tuple(
            LayerTrace(
                a.T.copy(),
                h.T.copy(),
                d.T.copy(),
                grads[f"W{k}"],
                grads[f"b{k}"],
                updates[f"W{k}"],
                updates[f"b{k}"],
            )
            for k, (a, h, d) in enumerate(zip(batch.pre, batch.out, batch.delta), start=1)
        )
        return StepTrace(
            iteration=self.iteration - 1,
            x=batch.x.T.copy(),
            y=batch.y[0].copy(),
            loss=batch.loss_value(),
            layers=layers,
            weights_before=_read_only(self.layout.to_weights(self._backup)),
            weights_after=_read_only(self.weights()),
        )

    def evaluate(self, *, full: bool = True) -> Metrics:
        """Metrics of the current weights on train and test (see `nnviz.core.metrics`): with the
        classification reports (`full`, for the CLI and report.txt), or only the fast ones."""
        return evaluate_setup(self.weights(), self.data, self.config, full=full)


def _copied_sampler_state(state: dict | None) -> dict | None:
    if state is None:
        return None
    return {
        "rng": copy.deepcopy(state["rng"]),
        "order": state["order"].copy(),
        "position": state["position"],
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and math.isfinite(value)


def _whole(value: Any, name: str, low: int = 0, high: int | None = None) -> int:
    if not _is_int(value) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        raise ValueError(f"{name} must be a whole number {bound}, not {value!r}")
    return int(value)


def _checked_rng_state(rng: Any, name: str) -> dict:
    """A PCG64 bit-generator state (as `Generator.bit_generator.state` gives), checked field by field."""
    inner = rng.get("state") if isinstance(rng, Mapping) else None
    valid = (
        isinstance(rng, Mapping)
        and set(rng) == {"bit_generator", "state", "has_uint32", "uinteger"}
        and rng["bit_generator"] == "PCG64"
        and isinstance(inner, Mapping)
        and set(inner) == {"state", "inc"}
        and all(_is_int(inner[key]) and 0 <= inner[key] < 2**128 for key in ("state", "inc"))
        and _is_int(rng["has_uint32"])
        and rng["has_uint32"] in (0, 1)
        and _is_int(rng["uinteger"])
        and 0 <= rng["uinteger"] < 2**32
    )
    if not valid:
        raise ValueError(f"{name} rng must be a PCG64 bit-generator state")
    return {
        "bit_generator": "PCG64",
        "state": {"state": int(inner["state"]), "inc": int(inner["inc"])},
        "has_uint32": int(rng["has_uint32"]),
        "uinteger": int(rng["uinteger"]),
    }


def _checked_history(history: HistoryArrays, iteration: int) -> np.ndarray:
    """The (rows, 5) table of a history that ends at `iteration`, rows in increasing iteration."""
    columns = [np.asarray(getattr(history, name), dtype=float) for name in COLUMNS]
    if any(column.shape != columns[0].shape or column.ndim != 1 for column in columns):
        raise ValueError("history columns must be equally long lists of numbers")
    table = np.column_stack(columns)
    steps = table[:, 0]
    if (
        len(table) == 0
        or not np.all(np.isfinite(steps))
        or np.any(steps % 1 != 0)
        or steps[0] < 0
        or np.any(np.diff(steps) <= 0)
        or steps[-1] != iteration
    ):
        raise ValueError(
            f"history must list whole, increasing iterations from >= 0 up to {iteration}"
        )
    return table
