"""One training iteration taken apart for teaching: forward, loss, backward, update, formulas.

`explain_step(trainer)` builds a `StepThrough` of the iteration the trainer would run next, without
touching the trainer: the weights are copied into a fresh parameter vector, the batch is the one
the trainer's sampler would draw (drawn from a copy of the sampler), and the gradient is computed
by the core's own `Pass` kernels on those copies, regularised the way the trainer does it and
passed through a copy of the trainer's optimizer. The numbers are therefore bit for bit the ones
`trainer.step(1)` computes; the tests hold them to `trainer.last_step()`.

Conventions, in the article's notation (a_j = sum_i w_ij x_i + b_j, h_j = f(a_j), p = sigmoid(a_k)):

- Arrays are (samples, units), weights `Wk` are (fan_in, fan_out) and `bk` (fan_out,).
- A node is (column, unit): column 0 holds the inputs, column L the output. An edge is (k, i, j):
  the weight `Wk[i, j]` from unit i of column k-1 to unit j of column k.
- The error term delta = dE/da is per sample and already carries the loss's own factor (1/n for
  bce, 2/n for mse, 1 for the article's sse), so dE/dw_ij = sum_n delta_j h_i and
  dE/db_j = sum_n delta_j over the batch for every loss.
- Values are shown for one training sample (an index into the training set) or for the batch
  (`sample=None`). In batch mode a unit's a and h are means over the batch, its delta is the sum
  over the batch (which is dE/db, the aggregate the loss uses: a plain sum for sse, the mean
  folded into delta for mse and bce) and the output shows the loss itself. Gradients and updates
  are always the batch's: that is what the iteration applies. A sample outside a mini-batch gets
  its forward values and the error term it would have in this batch, and a note that it does not
  contribute.

Formulas are plain text with the numbers substituted, e.g.
"delta_k = (p - y) * p * (1 - p) = (0.7311 - 1) * 0.7311 * 0.2689 = -0.05287";
numbers have four significant digits and negative factors are parenthesised, so the substituted
part of a line evaluates (with `^` as a power and exp, log, tanh, max, sqrt) to its result.

`node_output_grid` evaluates one unit's output over the input plane for the per-node heat maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .config import Config
from .datasets import Dataset
from .network import Layout, Pass, forward_layers, layer_name, unit_name
from .optimizers import ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, OPTIMIZERS
from .tasks import Task, task_of

__all__ = [
    "BACKWARD",
    "FORWARD",
    "LOSS",
    "UPDATE",
    "Formula",
    "Item",
    "Phase",
    "PhaseView",
    "SampleValues",
    "StepThrough",
    "build_step",
    "explain_step",
    "node_levels",
    "node_output_grid",
    "node_output_grids",
]

FORWARD, LOSS, BACKWARD, UPDATE = "forward", "loss", "backward", "update"
#: Sums with more terms than this are shown as the first three terms, "...", and the last one.
MAX_TERMS = 6


# -- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One stop of the step-through. `layer` is the active column (None for the update)."""

    index: int
    kind: str  # FORWARD, LOSS, BACKWARD or UPDATE
    layer: int | None
    title: str  # "1 forward: hidden 1", "2 loss", "3 backward: output", "4 update"


@dataclass(frozen=True)
class Item:
    """A node (column, unit), its bias, or the edge `W{layer}[source, unit]` of the diagram."""

    kind: str  # "node", "bias" or "edge"
    layer: int
    unit: int
    source: int = -1


@dataclass(frozen=True)
class LayerStep:
    """Column k of one iteration: (samples, units) a, h and delta, then the parameters' story."""

    a: np.ndarray
    h: np.ndarray
    delta: np.ndarray
    grad_w: np.ndarray  # dE/dW including regularisation, (fan_in, fan_out)
    grad_b: np.ndarray
    data_grad_w: np.ndarray  # sum_n delta h alone, before l1/l2
    update_w: np.ndarray  # the change the optimizer applies
    update_b: np.ndarray
    w: np.ndarray  # before the update
    b: np.ndarray
    w_after: np.ndarray
    b_after: np.ndarray


@dataclass(frozen=True)
class SampleValues:
    """Per-column values for one sample or for the batch; index 0 of a/delta is None (inputs)."""

    sample: int | None  # training-set index, None for the batch
    position: int | None  # row in the batch, None for the batch or a sample outside it
    x: np.ndarray
    y: float
    a: tuple[np.ndarray | None, ...]
    h: tuple[np.ndarray, ...]  # h[0] is x
    delta: tuple[np.ndarray | None, ...]
    loss: float  # the sample's term of E, or E for the batch

    @property
    def in_batch(self) -> bool:
        return self.sample is None or self.position is not None


@dataclass(frozen=True)
class Formula:
    """What the panel shows for one item in one phase: a title, equations, and notes."""

    title: str
    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join((self.title, *self.lines, *self.notes))


@dataclass(frozen=True)
class PhaseView:
    """What the network view highlights and labels for one phase (all keys are diagram indices).

    `node_labels[(column, unit)]` are short lines such as ("a=0.12", "h=0.53"); `edge_labels` and
    `edge_values` are keyed by (k, i, j) and cover every edge of the active weight layers (the
    view decides how many fit, strongest |value| first).
    """

    phase: Phase
    sample: int | None
    in_batch: bool
    columns: tuple[int, ...]
    weight_layers: tuple[int, ...]
    node_labels: Mapping[tuple[int, int], tuple[str, ...]]
    edge_labels: Mapping[tuple[int, int, int], str]
    edge_values: Mapping[tuple[int, int, int], float]
    caption: str
    selection: Item | None = None


# -- formatting ------------------------------------------------------------------------------


class _Numbers:
    """Formats numbers in formulas with `digits` significant digits (4 on screen)."""

    def __init__(self, digits: int = 4) -> None:
        self.digits = digits

    def n(self, value: float) -> str:
        """A number; never "-0"."""
        text = f"{float(value):.{self.digits}g}"
        return "0" if text in ("-0", "0") else text

    def f(self, value: float) -> str:
        """A number as a factor or term: negative numbers in parentheses."""
        text = self.n(value)
        return f"({text})" if text.startswith("-") else text


def _short(value: float) -> str:
    text = f"{float(value):.3g}"
    return "0" if text == "-0" else text


def _terms(terms: list[str], joiner: str = " + ") -> str:
    if len(terms) <= MAX_TERMS:
        return joiner.join(terms)
    return joiner.join([*terms[:3], "..."]) + joiner + terms[-1]


def _count_note(count: int, what: str) -> tuple[str, ...]:
    if count <= MAX_TERMS:
        return ()
    return (f"The sum has {count} {what}; only the first three and the last are written out.",)


# -- building --------------------------------------------------------------------------------


def explain_step(trainer) -> StepThrough:
    """The step-through of the iteration `trainer.step(1)` runs next; the trainer is untouched."""
    from .trainer import BatchSampler, TrainingDiverged

    if trainer.diverged_at is not None:
        raise TrainingDiverged(trainer.divergence_message())
    indices = None
    if trainer.sampler is not None:
        sampler = BatchSampler(trainer.sampler.n, trainer.sampler.batch_size, 0)
        sampler.load_state(trainer.sampler.state())
        indices = sampler.next_indices()
    return build_step(
        trainer.config,
        trainer.data,
        trainer.weights(),
        optimizer_state=trainer.optimizer.state(),
        batch_indices=indices,
        iteration=trainer.iteration,
    )


def build_step(
    config: Config,
    data: Dataset,
    weights: Mapping[str, np.ndarray],
    *,
    optimizer_state: Mapping[str, np.ndarray] | None = None,
    batch_indices: np.ndarray | None = None,
    iteration: int = 0,
) -> StepThrough:
    """The step-through of one iteration from these weights (and optimizer state) on this batch.

    `batch_indices` picks the mini-batch from the training set (None: the whole training set, in
    order, as the trainer's full batch). Without `optimizer_state` the optimizer starts fresh,
    which is exact for gd and for the first iteration of momentum and adam.
    """
    task = task_of(config, data)
    layout = task.layout(config.hidden)
    params = layout.from_weights(weights)
    grad = np.zeros(layout.size)
    x_train = task.inputs(data.x_train)
    if batch_indices is None:
        indices = np.arange(len(data.x_train))
        x, y = x_train, data.y_train
    else:
        indices = np.asarray(batch_indices, dtype=int).copy()
        x, y = x_train[indices], data.y_train[indices]
    batch = Pass(layout, params, grad, len(x), config.activation, config.loss, task.output)
    batch.set_data(x, y)
    optimizer = OPTIMIZERS[config.optimizer](layout.size)
    if optimizer_state is not None:
        optimizer.load_state(dict(optimizer_state))
    state_before = optimizer.state()
    with np.errstate(all="ignore"):
        batch.gradient()
        data_grad = grad.copy()
        _regularise(params, grad, layout, config.l1, config.l2)
        optimizer.configure(config.learning_rate, config.momentum)
        update = optimizer.update(grad).copy()
        after = np.add(params, update)
    state_after = optimizer.state()

    before_w, after_w = layout.to_weights(params), layout.to_weights(after)
    grads, data_grads = layout.to_weights(grad), layout.to_weights(data_grad)
    updates = layout.to_weights(update)
    layers = []
    for k, (a, h, d) in enumerate(zip(batch.pre, batch.out, batch.delta), start=1):
        layers.append(
            LayerStep(
                a=a.T.copy(),
                h=h.T.copy(),
                delta=d.T.copy(),
                grad_w=grads[f"W{k}"],
                grad_b=grads[f"b{k}"],
                data_grad_w=data_grads[f"W{k}"],
                update_w=updates[f"W{k}"],
                update_b=updates[f"b{k}"],
                w=before_w[f"W{k}"],
                b=before_w[f"b{k}"],
                w_after=after_w[f"W{k}"],
                b_after=after_w[f"b{k}"],
            )
        )

    def as_weights(state: dict) -> dict:
        return {
            key: layout.to_weights(value) if np.ndim(value) == 1 else float(value)
            for key, value in state.items()
        }

    return StepThrough(
        iteration=iteration,
        sizes=layout.sizes,
        activation=config.activation,
        loss=config.loss,
        optimizer=config.optimizer,
        learning_rate=config.learning_rate,
        momentum=config.momentum,
        l1=config.l1,
        l2=config.l2,
        indices=indices,
        x=np.array(x, dtype=float),
        y=np.array(y, dtype=float),
        x_train=np.array(x_train, dtype=float),
        y_train=np.array(data.y_train, dtype=float),
        layers=tuple(layers),
        loss_value=batch.loss_value(),
        weights_before=before_w,
        weights_after=after_w,
        optimizer_before=as_weights(state_before),
        optimizer_after=as_weights(state_after),
        output=task.output,
        input_names=task.input_names,
        output_names=task.output_names,
    )


def _regularise(params: np.ndarray, grad: np.ndarray, layout: Layout, l1: float, l2: float):
    """Add l2 * w + l1 * sign(w) to the weights' gradient, with the trainer's exact operations."""
    mask = layout.weight_mask()
    scratch = np.empty(layout.size)
    if l2:
        np.multiply(params, mask, scratch)
        np.multiply(scratch, l2, scratch)
        np.add(grad, scratch, grad)
    if l1:
        np.sign(params, scratch)
        np.multiply(scratch, mask, scratch)
        np.multiply(scratch, l1, scratch)
        np.add(grad, scratch, grad)


# -- the step-through ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StepThrough:
    """One iteration, phase by phase. Plain data (picklable); build it with `explain_step`."""

    iteration: int
    sizes: tuple[int, ...]
    activation: str
    loss: str
    optimizer: str
    learning_rate: float
    momentum: float
    l1: float
    l2: float
    indices: np.ndarray  # the batch, as indices into the training set
    x: np.ndarray  # (n, features) batch inputs
    y: np.ndarray  # (n,) batch labels
    x_train: np.ndarray
    y_train: np.ndarray
    layers: tuple[LayerStep, ...]  # layers[k - 1] is column k
    loss_value: float
    weights_before: dict[str, np.ndarray]
    weights_after: dict[str, np.ndarray]
    optimizer_before: dict  # e.g. {"velocity": {"W1": ..., "b1": ...}} or {"steps": 3.0, ...}
    optimizer_after: dict
    output: str = "sigmoid"  # the output layer: sigmoid, softmax (K classes) or linear
    input_names: tuple[str, ...] = ("x1", "x2")  # the input units: x1, x2, x1², sin x1, ...
    output_names: tuple[str, ...] = ("p",)  # p (also a regression's prediction); p1..pK

    # -- structure ---------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """L, the number of weight layers; the output is column L."""
        return len(self.layers)

    @property
    def batch_size(self) -> int:
        return len(self.y)

    @property
    def phases(self) -> tuple[Phase, ...]:
        depth, phases = self.depth, []
        for column in range(1, depth + 1):
            phases.append(
                Phase(len(phases), FORWARD, column, f"1 forward: {self.column_name(column)}")
            )
        phases.append(Phase(len(phases), LOSS, depth, "2 loss"))
        for column in range(depth, 0, -1):
            title = f"3 backward: {self.column_name(column)}"
            phases.append(Phase(len(phases), BACKWARD, column, title))
        phases.append(Phase(len(phases), UPDATE, None, "4 update"))
        return tuple(phases)

    def column_name(self, column: int) -> str:
        return layer_name(column, self.depth)

    def unit_name(self, column: int, unit: int) -> str:
        """'input x1' (or 'input x1²', 'input petal width'), 'hidden 1 unit 2', 'output p2'."""
        if column == 0:
            return f"input {self.input_names[unit]}"
        if column == self.depth:
            return f"output {self.output_names[unit]}"
        return unit_name(self.sizes, column, unit)

    def position(self, sample: int) -> int | None:
        """Where training sample `sample` sits in this iteration's batch, or None."""
        rows = np.flatnonzero(self.indices == sample)
        return int(rows[0]) if rows.size else None

    # -- values ------------------------------------------------------------------------------

    def values(self, sample: int | None = None) -> SampleValues:
        """Per-column a, h and delta for training sample `sample`, or the batch aggregate."""
        layers = self.layers
        if sample is None:
            return SampleValues(
                sample=None,
                position=None,
                x=self.x.mean(axis=0),
                y=float(self.y.mean()),
                a=(None, *(layer.a.mean(axis=0) for layer in layers)),
                h=(self.x.mean(axis=0), *(layer.h.mean(axis=0) for layer in layers)),
                delta=(None, *(layer.grad_b for layer in layers)),
                loss=self.loss_value,
            )
        sample = int(sample)
        if not 0 <= sample < len(self.x_train):
            raise ValueError(f"sample {sample} is not in the training set of {len(self.x_train)}")
        row = self.position(sample)
        if row is not None:
            a = tuple(layer.a[row] for layer in layers)
            h = tuple(layer.h[row] for layer in layers)
            delta = tuple(layer.delta[row] for layer in layers)
        else:
            a, h, delta = self._sample_outside_batch(sample)
        x, y = self.x_train[sample], float(self.y_train[sample])
        return SampleValues(
            sample=sample,
            position=row,
            x=x,
            y=y,
            a=(None, *a),
            h=(x, *h),
            delta=(None, *delta),
            loss=self._loss_term(h[-1], y, a[-1]),
        )

    def _sample_outside_batch(self, sample: int):
        """Forward values and the error terms one sample would have in this batch (plain NumPy)."""
        with np.errstate(all="ignore"):
            layers = forward_layers(
                self.weights_before, self.x_train[sample][None], self.activation, self.output
            )
            a = [layer[0][0] for layer in layers]
            h = [layer[1][0] for layer in layers]
            p, y, n = h[-1], float(self.y_train[sample]), self.batch_size
            if self.output == "softmax":
                delta = (p - np.eye(len(p))[int(y)]) / n
            elif self.output == "linear":
                delta = (p - y) * (2.0 / n)
            elif self.loss in ("bce", "ce"):
                delta = (p - y) / n
            else:
                delta = (p - y) * p * (1 - p) * (2.0 / n if self.loss == "mse" else 1.0)
            deltas = [delta]
            for k in range(self.depth - 1, 0, -1):
                back = self.layers[k].w @ deltas[0]
                deltas.insert(0, back * _derivative(self.activation, a[k - 1], h[k - 1]))
        return tuple(a), tuple(h), tuple(deltas)

    def _loss_term(self, p: np.ndarray, y: float, a: np.ndarray) -> float:
        """The sample's term of the batch loss, from its outputs `p` and logits `a`."""
        n = self.batch_size
        if self.output == "softmax":
            top = float(a.max())
            return (top + float(np.log(np.sum(np.exp(a - top)))) - float(a[int(y)])) / n
        p, a = float(p[0]), float(a[0])
        if self.loss == "sse":
            return 0.5 * (y - p) ** 2
        if self.loss == "mse":
            return (y - p) ** 2 / n
        return float(np.logaddexp(0.0, a) - y * a) / n

    # -- what the diagram shows ----------------------------------------------------------------

    def phase_view(
        self, index: int, sample: int | None = None, selection: Item | None = None
    ) -> PhaseView:
        """Highlights and labels of phase `index` for one sample or the batch."""
        phase = self.phases[index]
        v = self.values(sample)
        depth, sizes = self.depth, self.sizes
        node_labels: dict[tuple[int, int], tuple[str, ...]] = {}
        edge_values: dict[tuple[int, int, int], float] = {}
        mean = "mean " if sample is None else ""
        who = "batch means" if sample is None else f"sample #{sample}"
        if phase.kind == FORWARD:
            c = phase.layer
            columns, weight_layers = (c,), (c,)
            out = "p" if c == depth else "h"
            if c == 1:
                for u in range(sizes[0]):
                    node_labels[(0, u)] = (f"x={_short(v.x[u])}",)
            for u in range(sizes[c]):
                node_labels[(c, u)] = (f"a={_short(v.a[c][u])}", f"{out}={_short(v.h[c][u])}")
            terms = self.layers[c - 1].w * v.h[c - 1][:, None]
            edge_values = _edge_dict(c, terms)
            sym = "x" if c == 1 else "h"
            caption = (
                f"forward, {self.column_name(c)}: a = Σ w·{sym} + b, {out} = f(a); "
                f"edges w·{sym} · {who}"
            )
        elif phase.kind == LOSS and self.output == "softmax":
            columns, weight_layers = (depth,), ()
            for u in range(sizes[depth]):
                target = (
                    f"{mean}y={_short(np.mean(self.y == u))}"
                    if sample is None
                    else (f"y={int(int(v.y) == u)}")
                )
                node_labels[(depth, u)] = (f"{mean}p={_short(v.h[depth][u])} {target}",)
            true = 0 if sample is None else int(v.y)
            energy = f"E={_short(v.loss)}" if sample is None else f"E_n={_short(v.loss)}"
            node_labels[(depth, true)] += (energy,)
            caption = f"loss ({self.loss}): E = {_loss_symbolic('ce-softmax')} · {who}"
            if sample is not None:
                caption += f", batch E = {_short(self.loss_value)}"
        elif phase.kind == LOSS:
            columns, weight_layers = (depth,), ()
            p, y = v.h[depth][0], v.y
            label = (
                f"{mean}p={_short(p)} {mean}y={_short(y)}"
                if sample is None
                else (f"p={_short(p)} y={_short(y)}")
            )
            node_labels[(depth, 0)] = (
                label,
                f"E={_short(v.loss)}" if sample is None else (f"E_n={_short(v.loss)}"),
            )
            caption = f"loss ({self.loss}): E = {_loss_symbolic(self.loss)} · {who}"
            if sample is not None:
                caption += f", batch E = {_short(self.loss_value)}"
        elif phase.kind == BACKWARD:
            c = phase.layer
            columns, weight_layers = (c,), (c,)
            name = "Σδ" if sample is None else "δ"
            for u in range(sizes[c]):
                node_labels[(c, u)] = (f"{name}={_short(v.delta[c][u])}",)
            edge_values = _edge_dict(c, self.layers[c - 1].grad_w)
            where = "Σδ = dE/db over the batch" if sample is None else f"δ of sample #{sample}"
            caption = f"backward, {self.column_name(c)}: {where}; edges dE/dw (batch)"
        else:
            columns, weight_layers = tuple(range(1, depth + 1)), tuple(range(1, depth + 1))
            for c in range(1, depth + 1):
                for u in range(sizes[c]):
                    node_labels[(c, u)] = (f"Δb={_short(self.layers[c - 1].update_b[u])}",)
                edge_values.update(_edge_dict(c, self.layers[c - 1].update_w))
            rule = "-η·dE/dw" if self.optimizer == "gd" else f"{self.optimizer}'s step"
            caption = f"update (η = {_short(self.learning_rate)}): edges Δw = {rule}, units Δb"
        return PhaseView(
            phase=phase,
            sample=sample,
            in_batch=v.in_batch,
            columns=columns,
            weight_layers=weight_layers,
            node_labels=node_labels,
            edge_labels={key: _short(value) for key, value in edge_values.items()},
            edge_values=edge_values,
            caption=caption,
            selection=selection,
        )

    def default_item(self, index: int) -> Item:
        """What the panel explains in phase `index` before the user picks something."""
        phase = self.phases[index]
        if phase.kind == UPDATE:
            return Item("edge", self.depth, 0, 0)
        return Item("node", phase.layer, 0)

    # -- formulas ----------------------------------------------------------------------------

    def formula(
        self, index: int, item: Item, sample: int | None = None, digits: int = 4
    ) -> Formula:
        """The article's formula for `item` in phase `index`, with this iteration's numbers.

        `digits` significant digits per number (4 on screen; tests use more to check that every
        substituted line evaluates to its result).
        """
        phase = self.phases[index]
        v = self.values(sample)
        fmt = _Numbers(digits)
        if phase.kind == LOSS:
            return self._loss_formula(v, fmt)
        if item.kind == "edge":
            return self._edge_formula(phase.kind, item.layer, item.source, item.unit, v, fmt)
        if item.layer == 0:
            return self._input_formula(phase.kind, item.unit, v, fmt)
        if phase.kind == FORWARD:
            if item.kind == "bias":
                return self._bias_forward(item.layer, item.unit, v, fmt)
            return self._node_forward(item.layer, item.unit, v, fmt)
        if phase.kind == BACKWARD:
            return self._node_backward(item.layer, item.unit, v, fmt)
        return self._update_formula(f"b{item.layer}", (item.unit,), self._bias_symbol(item), fmt)

    def _who(self, v: SampleValues, fmt: _Numbers) -> str:
        if v.sample is None:
            return f"the batch of {self.batch_size}"
        return f"sample #{v.sample} (x = ({', '.join(fmt.n(x) for x in v.x)}), y = {fmt.n(v.y)})"

    def _outside_note(self, v: SampleValues) -> tuple[str, ...]:
        if v.in_batch:
            return ()
        return (
            f"Sample #{v.sample} is not in this iteration's mini-batch: its error term is shown "
            "as it would be in this batch, but it adds nothing to the gradient.",
        )

    def _letters(self, k: int) -> tuple[str, str, str]:
        """Source letter, target letter and source symbol of weight layer k (article style)."""
        target = "k" if k == self.depth else "j"
        if k == 1:
            return "i", target, "x"
        return ("j" if k == self.depth else "i"), target, "h"

    def _bias_symbol(self, item: Item) -> str:
        return f"b_{'k' if item.layer == self.depth else 'j'}"

    def _input_formula(self, kind: str, unit: int, v: SampleValues, fmt: _Numbers) -> Formula:
        title = f"{self.unit_name(0, unit)} · {kind}"
        value = f"{'mean ' if v.sample is None else ''}x_{unit + 1} = {fmt.n(v.x[unit])}"
        name = self.input_names[unit]
        feature = f"Feature {unit + 1}" if name == f"x{unit + 1}" else f"Input {unit + 1}, {name},"
        notes = {
            FORWARD: f"{feature} of {self._who(v, fmt)}.",
            BACKWARD: "Inputs have no error term: backpropagation ends at the first weights, "
            "dE/dw_ij = sum_n delta_j x_i.",
            UPDATE: "Inputs have no parameters to update.",
        }
        return Formula(title, (value,), (notes[kind],))

    def _node_forward(self, c: int, u: int, v: SampleValues, fmt: _Numbers) -> Formula:
        layer, depth = self.layers[c - 1], self.depth
        source, t, sym = self._letters(c)
        inputs, n_in = v.h[c - 1], self.sizes[c - 1]
        mean = "mean " if v.sample is None else ""
        if n_in <= MAX_TERMS:
            symbolic = " + ".join(f"w_{i + 1}{t} {sym}_{i + 1}" for i in range(n_in))
        else:
            symbolic = f"sum_{source} w_{source}{t} {sym}_{source}"
        numbers = _terms([f"{fmt.f(layer.w[i, u])} * {fmt.f(inputs[i])}" for i in range(n_in)])
        a, h = v.a[c][u], v.h[c][u]
        lines = [
            f"{mean}a_{t} = {symbolic} + b_{t} = {numbers} + {fmt.f(layer.b[u])} = {fmt.n(a)}",
        ]
        out = ("p_k" if self.output == "softmax" else "p") if c == depth else f"h_{t}"
        function = self.output if c == depth else self.activation
        notes = list(_count_note(n_in, "terms"))
        if v.sample is None:
            lines.append(f"mean {out} = mean over the batch of {function}(a_{t}) = {fmt.n(h)}")
            notes.append(
                f"Means over the {self.batch_size} samples of the batch. a is linear, so its mean "
                f"follows from the mean inputs; {out} is the mean of {function}(a), not "
                f"{function} of the mean a."
            )
        elif function == "softmax":
            logits = v.a[c]
            others = _terms([f"exp({fmt.n(value)})" for value in logits])
            lines.append(
                f"p_k = exp(a_k) / sum_c exp(a_c) = exp({fmt.n(a)}) / ({others}) = {fmt.n(h)}"
            )
            notes.append(
                f"For {self._who(v, fmt)}. The softmax turns the {len(logits)} output "
                "aggregations into class probabilities that add up to 1."
            )
            notes.extend(_count_note(len(logits), "classes"))
        else:
            lines.append(_activation_line(function, out, t, a, h, fmt))
            notes.append(f"For {self._who(v, fmt)}.")
            if function == "linear":
                notes.append("A regression's output is linear: p is the predicted target itself.")
        return Formula(f"{self.unit_name(c, u)} · forward", tuple(lines), tuple(notes))

    def _bias_forward(self, c: int, u: int, v: SampleValues, fmt: _Numbers) -> Formula:
        node = self._node_forward(c, u, v, fmt)
        t = "k" if c == self.depth else "j"
        line = f"b_{t} = {fmt.n(self.layers[c - 1].b[u])}, added to every a_{t}"
        return Formula(
            f"bias b{c}[{u + 1}] of {self.unit_name(c, u)} · forward",
            (line, *node.lines),
            node.notes,
        )

    def _loss_formula(self, v: SampleValues, fmt: _Numbers) -> Formula:
        loss, n, depth = self.loss, self.batch_size, self.depth
        if self.output == "softmax":
            return self._softmax_loss_formula(v, fmt)
        title = f"loss ({loss}) · output p"
        lines, notes = [], []
        if v.sample is not None:
            p, y = float(v.h[depth][0]), v.y
            if loss == "sse":
                lines.append(
                    f"E_n = 1/2 * (y - p)^2 = 1/2 * ({fmt.n(y)} - {fmt.f(p)})^2 = {fmt.n(v.loss)}"
                )
            elif loss == "mse":
                lines.append(
                    f"E_n = (y - p)^2 / n = ({fmt.n(y)} - {fmt.f(p)})^2 / {n} = {fmt.n(v.loss)}"
                )
            else:
                lines.append(
                    "E_n = -(y * log(p) + (1 - y) * log(1 - p)) / n = "
                    f"-({fmt.n(y)} * log({fmt.n(p)}) + (1 - {fmt.n(y)}) * log(1 - {fmt.n(p)})) / {n}"
                    f" = {fmt.n(v.loss)}"
                )
            notes.append(f"E_n is the share of {self._who(v, fmt)} in the batch loss E.")
            notes.extend(self._outside_note(v))
        p_all, y_all = self.layers[-1].h[:, 0], self.y
        if loss in ("bce", "ce"):
            terms = [
                f"log({fmt.n(p)})" if y >= 0.5 else f"log(1 - {fmt.n(p)})"
                for p, y in zip(p_all, y_all)
            ]
            lines.append(
                f"E = -1/n * sum_n (y log p + (1 - y) log(1 - p)) = -1/{n} * ({_terms(terms)})"
                f" = {fmt.n(self.loss_value)}"
            )
        else:
            terms = [f"({fmt.n(y)} - {fmt.f(p)})^2" for p, y in zip(p_all, y_all)]
            factor = "1/2" if loss == "sse" else f"1/{n}"
            symbol = "1/2" if loss == "sse" else "1/n"
            lines.append(
                f"E = {symbol} * sum_n (y - p)^2 = {factor} * ({_terms(terms)})"
                f" = {fmt.n(self.loss_value)}"
            )
        notes.extend(_count_note(n, "terms, one per sample of the batch"))
        return Formula(title, tuple(lines), tuple(notes))

    def _softmax_loss_formula(self, v: SampleValues, fmt: _Numbers) -> Formula:
        """Cross-entropy of a softmax: -log of the probability given to the true class."""
        n = self.batch_size
        lines, notes = [], []
        if v.sample is not None:
            y = int(v.y)
            p_y = float(v.h[self.depth][y])
            lines.append(f"E_n = -log(p_y) / n = -log({fmt.n(p_y)}) / {n} = {fmt.n(v.loss)}")
            notes.append(
                f"p_y is the probability the network gives the sample's class y = {y} "
                f"(output p{y + 1}). E_n is the share of {self._who(v, fmt)} in the batch loss E."
            )
            notes.extend(self._outside_note(v))
        chosen = self.layers[-1].h[np.arange(n), self.y.astype(np.intp)]
        terms = [f"log({fmt.n(p)})" for p in chosen]
        lines.append(
            f"E = -1/n * sum_n log p_y = -1/{n} * ({_terms(terms)}) = {fmt.n(self.loss_value)}"
        )
        notes.append(
            "Cross-entropy: only the probability of each sample's true class counts; the "
            "softmax makes the others smaller when it grows."
        )
        notes.extend(_count_note(n, "terms, one per sample of the batch"))
        names = f"{self.output_names[0]}..{self.output_names[-1]}"
        return Formula(f"loss (ce) · outputs {names}", tuple(lines), tuple(notes))

    def _node_backward(self, c: int, u: int, v: SampleValues, fmt: _Numbers) -> Formula:
        depth, n = self.depth, self.batch_size
        t = "k" if c == depth else "j"
        title = f"{self.unit_name(c, u)} · backward"
        grad_b = self.layers[c - 1].grad_b[u]
        batch_terms = [fmt.f(d) for d in self.layers[c - 1].delta[:, u]]
        batch_line = f"dE/db_{t} = sum_n delta_{t} = {_terms(batch_terms)} = {fmt.n(grad_b)}"
        notes = []
        if v.sample is None:
            notes.append(
                f"The sum of the unit's error terms over the {n} samples of the batch: dE/db."
            )
            notes.extend(_count_note(n, "terms"))
            return Formula(title, (batch_line,), tuple(notes))
        d = v.delta[c][u]
        if c == depth and self.output == "softmax":
            p, hit = float(v.h[c][u]), float(int(v.y) == u)
            line = f"delta_k = (p_k - y_k) / n = ({fmt.n(p)} - {fmt.n(hit)}) / {n} = {fmt.n(d)}"
            notes.append(
                f"y_k is 1 for the sample's class (class {int(v.y)}, output p{int(v.y) + 1}) "
                "and 0 for the others: softmax and cross-entropy cancel to p - y."
            )
        elif c == depth and self.output == "linear":
            p, y = float(v.h[c][u]), v.y
            line = f"delta_k = 2/n * (p - y) = 2/{n} * ({fmt.n(p)} - {fmt.f(y)}) = {fmt.n(d)}"
            notes.append("A linear output has f'(a) = 1: the error term is the loss's own.")
        elif c == depth:
            p, y = float(v.h[c][u]), v.y
            if self.loss in ("bce", "ce"):
                line = f"delta_k = (p - y) / n = ({fmt.n(p)} - {fmt.f(y)}) / {n} = {fmt.n(d)}"
            else:
                scale, scale_num = ("", "") if self.loss == "sse" else ("2/n * ", f"2/{n} * ")
                line = (
                    f"delta_k = {scale}(p - y) * p * (1 - p) = {scale_num}({fmt.n(p)} - "
                    f"{fmt.n(y)}) * {fmt.n(p)} * {fmt.f(1 - p)} = {fmt.n(d)}"
                )
        else:
            h, a = float(v.h[c][u]), float(v.a[c][u])
            weights, deltas = self.layers[c].w[u], v.delta[c + 1]
            symbol, numbers = _derivative_text(self.activation, h, a, fmt)
            if len(deltas) == 1:
                back_symbol = "delta_k * w_jk"
                back_numbers = f"{fmt.f(deltas[0])} * {fmt.f(weights[0])}"
            else:
                back_symbol = "(sum_k w_jk delta_k)"
                back_numbers = (
                    "("
                    + _terms([f"{fmt.f(w)} * {fmt.f(dk)}" for w, dk in zip(weights, deltas)])
                    + ")"
                )
                notes.extend(_count_note(len(deltas), "terms"))
            if symbol:
                line = (
                    f"delta_j = {back_symbol} * {symbol} = {back_numbers} * {numbers} = {fmt.n(d)}"
                )
            else:
                line = f"delta_j = {back_symbol} = {back_numbers} = {fmt.n(d)}"
            if self.activation == "relu":
                notes.append(
                    f"relu passes the error back only where a_j > 0 (here a_j = {fmt.n(a)})."
                )
        notes.append(f"For {self._who(v, fmt)}; delta = dE/da for this sample.")
        notes.extend(self._outside_note(v))
        notes.extend(_count_note(n, "terms in dE/db, one per sample"))
        return Formula(title, (line, batch_line), tuple(notes))

    def _edge_formula(
        self, kind: str, k: int, i: int, j: int, v: SampleValues, fmt: _Numbers
    ) -> Formula:
        s, t, sym = self._letters(k)
        w = f"w_{s}{t}"
        layer = self.layers[k - 1]
        title = (
            f"W{k}[{i + 1}→{j + 1}] from {self.unit_name(k - 1, i)} to "
            f"{self.unit_name(k, j)} · {kind}"
        )
        if kind == FORWARD:
            value, source = layer.w[i, j], v.h[k - 1][i]
            mean = "mean " if v.sample is None else ""
            numbers = f"{fmt.f(value)} * {fmt.f(source)}"
            line = f"{w} * {mean}{sym}_{s} = {numbers} = {fmt.n(value * source)}"
            return Formula(
                title, (line,), (f"This edge's term in a_{t}, for {self._who(v, fmt)}.",)
            )
        if kind == BACKWARD:
            lines, notes = [], []
            if v.sample is not None:
                d, source = v.delta[k][j], v.h[k - 1][i]
                lines.append(
                    f"this sample's term: delta_{t} * {sym}_{s} = {fmt.f(d)} * {fmt.f(source)} = "
                    f"{fmt.n(d * source)}"
                )
                notes.extend(self._outside_note(v))
            inputs = self.x if k == 1 else self.layers[k - 2].h
            terms = [f"{fmt.f(d)} * {fmt.f(x)}" for d, x in zip(layer.delta[:, j], inputs[:, i])]
            data = layer.data_grad_w[i, j]
            lines.append(f"dE/d{w} = sum_n delta_{t} {sym}_{s} = {_terms(terms)} = {fmt.n(data)}")
            if self.l1 or self.l2:
                weight = layer.w[i, j]
                symbolic, numbers = [f"sum_n delta_{t} {sym}_{s}"], [fmt.f(data)]
                if self.l2:
                    symbolic.append(f"l2 * {w}")
                    numbers.append(f"{fmt.f(self.l2)} * {fmt.f(weight)}")
                if self.l1:
                    symbolic.append(f"l1 * sign({w})")
                    numbers.append(f"{fmt.f(self.l1)} * {fmt.f(np.sign(weight))}")
                lines.append(
                    f"dE/d{w} = {' + '.join(symbolic)} = {' + '.join(numbers)} = "
                    f"{fmt.n(layer.grad_w[i, j])}"
                )
            notes.append(f"The gradient sums over the {self.batch_size} samples of the batch.")
            notes.extend(_count_note(self.batch_size, "terms"))
            return Formula(title, tuple(lines), tuple(notes))
        return self._update_formula(f"W{k}", (i, j), w, fmt, title)

    def _update_formula(
        self,
        name: str,
        index: tuple[int, ...],
        symbol: str,
        fmt: _Numbers,
        title: str | None = None,
    ) -> Formula:
        k = int(name[1:])
        layer = self.layers[k - 1]
        if name[0] == "W":
            value, grad = layer.w[index], layer.grad_w[index]
            change, new = layer.update_w[index], layer.w_after[index]
        else:
            value, grad = layer.b[index], layer.grad_b[index]
            change, new = layer.update_b[index], layer.b_after[index]
            if title is None:
                title = f"bias {name}[{index[0] + 1}] of {self.unit_name(k, index[0])} · update"
        eta, g = fmt.n(self.learning_rate), f"dE/d{symbol}"
        notes = []
        if self.optimizer == "gd":
            lines = (
                f"{symbol} <- {symbol} - eta * {g} = {fmt.f(value)} - {eta} * {fmt.f(grad)} = "
                f"{fmt.n(new)}",
                f"change = -eta * {g} = -{eta} * {fmt.f(grad)} = {fmt.n(change)}",
            )
        elif self.optimizer == "momentum":
            v_old = self.optimizer_before["velocity"][name][index]
            mu = fmt.n(self.momentum)
            lines = (
                f"v <- mu * v - eta * {g} = {mu} * {fmt.f(v_old)} - {eta} * {fmt.f(grad)} = "
                f"{fmt.n(change)}",
                f"{symbol} <- {symbol} + v = {fmt.f(value)} + {fmt.f(change)} = {fmt.n(new)}",
            )
            notes.append(
                "Optimizer momentum: the change is the velocity v, which remembers earlier "
                "gradients, not -eta * dE/dw alone."
            )
        else:
            m_old = self.optimizer_before["first"][name][index]
            s_old = self.optimizer_before["second"][name][index]
            m_new = self.optimizer_after["first"][name][index]
            s_new = self.optimizer_after["second"][name][index]
            steps = int(self.optimizer_after["steps"])
            b1, b2 = fmt.n(ADAM_BETA1), fmt.n(ADAM_BETA2)
            c1, c2 = fmt.n(1 - ADAM_BETA1), fmt.n(1 - ADAM_BETA2)
            lines = (
                f"m <- {b1} * m + {c1} * {g} = {b1} * {fmt.f(m_old)} + {c1} * {fmt.f(grad)} = "
                f"{fmt.n(m_new)}",
                f"s <- {b2} * s + {c2} * ({g})^2 = {b2} * {fmt.f(s_old)} + {c2} * {fmt.f(grad)}^2 = "
                f"{fmt.n(s_new)}",
                f"change = -eta / (1 - {b1}^t) * m / (sqrt(s / (1 - {b2}^t)) + {ADAM_EPSILON:g})"
                f" = -{eta} / (1 - {b1}^{steps}) * {fmt.f(m_new)} / (sqrt({fmt.n(s_new)} / "
                f"(1 - {b2}^{steps})) + {ADAM_EPSILON:g}) = {fmt.n(change)}",
                f"{symbol} <- {symbol} + change = {fmt.f(value)} + {fmt.f(change)} = {fmt.n(new)}",
            )
            notes.append(
                f"Optimizer adam (step t = {steps}): the change is the optimizer's own, scaled "
                "by running averages m and s of the gradient, not -eta * dE/dw."
            )
        if title is None:
            title = f"{name}{list(index)} · update"
        return Formula(title, lines, tuple(notes))


def _edge_dict(k: int, values: np.ndarray) -> dict[tuple[int, int, int], float]:
    return {
        (k, i, j): float(values[i, j])
        for i in range(values.shape[0])
        for j in range(values.shape[1])
    }


def _loss_symbolic(loss: str) -> str:
    return {
        "sse": "1/2 Σ (y - p)²",
        "mse": "1/n Σ (y - p)²",
        "bce": "-1/n Σ [y log p + (1 - y) log(1 - p)]",
        "ce": "-1/n Σ [y log p + (1 - y) log(1 - p)]",
        "ce-softmax": "-1/n Σ log p_y",
    }[loss]


def _derivative(activation: str, a: np.ndarray, h: np.ndarray) -> np.ndarray:
    """f'(a), from h where the trainer uses h."""
    if activation == "sigmoid":
        return h * (1.0 - h)
    if activation == "tanh":
        return 1.0 - h * h
    if activation == "relu":
        return (a > 0).astype(float)
    return np.ones_like(a)


def _derivative_text(activation: str, h: float, a: float, fmt: _Numbers) -> tuple[str, str]:
    """f'(a_j) in symbols and in numbers (empty for linear, whose derivative is 1)."""
    if activation == "sigmoid":
        return "h_j * (1 - h_j)", f"{fmt.f(h)} * {fmt.f(1 - h)}"
    if activation == "tanh":
        return "(1 - h_j^2)", f"(1 - {fmt.f(h)}^2)"
    if activation == "relu":
        return "[a_j > 0]", "1" if a > 0 else "0"
    return "", ""


def _activation_line(function: str, out: str, t: str, a: float, h: float, fmt: _Numbers) -> str:
    if function == "sigmoid":
        return (
            f"{out} = sigmoid(a_{t}) = 1 / (1 + exp(-a_{t})) = 1 / (1 + exp({fmt.n(-a)}))"
            f" = {fmt.n(h)}"
        )
    if function == "tanh":
        return f"{out} = tanh(a_{t}) = tanh({fmt.n(a)}) = {fmt.n(h)}"
    if function == "relu":
        return f"{out} = max(0, a_{t}) = max(0, {fmt.n(a)}) = {fmt.n(h)}"
    return f"{out} = a_{t} = {fmt.n(h)}"


# -- per-node maps ---------------------------------------------------------------------------


def _grid(extent: tuple[float, float, float, float], size: int) -> np.ndarray:
    xmin, xmax, ymin, ymax = extent
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, size), np.linspace(ymin, ymax, size))
    return np.column_stack([gx.ravel(), gy.ravel()])


def node_output_grids(
    weights: Mapping[str, np.ndarray],
    activation: str,
    extent: tuple[float, float, float, float],
    size: int = 24,
    points: np.ndarray | None = None,
    *,
    task: Task | None = None,
) -> list[np.ndarray]:
    """Every unit's output over the input plane: per column a (units, size, size) float32 array.

    Rows run from ymin to ymax and columns from xmin to xmax ([y, x], as the boundary grid).
    Column 0 holds the network's inputs (with `task`: its crosses of the raw points, x1² and so
    on). `points` may pass a cached (size * size, raw inputs) grid of raw points in any row
    order (the network view passes ymax first, its y axis pointing down; a slice of data with
    more inputs passes every raw input). `task` (default: the article's two inputs and sigmoid
    output) gives the crosses and the output layer.
    """
    if points is None:
        points = _grid(extent, size)
    inputs = points if task is None else task.inputs(points)
    output = "sigmoid" if task is None else task.output
    grids = [inputs.T.reshape(-1, size, size).astype(np.float32)]
    with np.errstate(over="ignore", invalid="ignore"):  # diverged weights: inf and NaN maps
        for _, h in forward_layers(weights, inputs, activation, output):
            grids.append(h.T.reshape(-1, size, size).astype(np.float32))
    return grids


def node_output_grid(
    weights: Mapping[str, np.ndarray],
    activation: str,
    layer: int,
    unit: int,
    extent: tuple[float, float, float, float],
    size: int = 24,
    *,
    task: Task | None = None,
) -> np.ndarray:
    """Unit `unit` of column `layer` (0 = inputs) over the input plane, (size, size) [y, x]."""
    return node_output_grids(weights, activation, extent, size, task=task)[layer][unit]


def node_levels(
    activation: str, layer: int, depth: int, grid: np.ndarray, output: str = "sigmoid"
) -> tuple[float, float]:
    """Colour levels for a unit's map: [0, 1] for sigmoid and the output's probabilities,
    [-1, 1] for tanh, and +-max|value| for relu, linear, a regression's output and the inputs
    (so zero is the neutral colour)."""
    if layer == depth and output != "linear":
        return (0.0, 1.0)
    hidden = 0 < layer < depth
    if hidden and activation == "sigmoid":
        return (0.0, 1.0)
    if hidden and activation == "tanh":
        return (-1.0, 1.0)
    finite = np.abs(grid[np.isfinite(grid)])
    largest = float(finite.max()) if finite.size else 0.0
    return (-largest, largest) if largest > 0.0 else (-1.0, 1.0)
