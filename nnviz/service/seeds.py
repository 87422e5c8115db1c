"""The networks of one run, one weight seed or several (`Config.seeds`), as the training process
drives them (no Qt).

`SeedGroup` holds a `Trainer` for one seed and a `BatchedTrainer` for K > 1 (one stacked pass
for all K, each network bit for bit its own Trainer), behind the few methods the server and
the replay recorder use, so the server has one code path. One network is *selected*: the
window shows its map, its diagram and its Snapshot, and edits, Explain and Resume act on it.

`SeedStates` is what the window draws of all K networks at one iteration: their weights (flat,
one row a network), their losses and accuracies, and with the newest state the loss band
(median, min and max over the seeds at each history iteration). They are small: the window
keeps one per replay point. The seeds' histories stay in this process; the band is computed
here, once per reply, instead of sending K histories 40 times a second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core import Config, Dataset, Snapshot, Trainer
from ..core.batched import BatchedTrainer
from ..core.batched.kernel import stacked_matrices
from ..core.config import seed_configs
from ..core.files import (
    json_text,
    load_weights,
    save_weights,
    split_seed_weights,
    stack_seed_weights,
    write_text,
)
from ..core.history import COLUMNS, HistoryArrays
from ..core.metrics import Metrics
from ..core.network import Layout
from ..core.replay import ReplayPoint, ReplayRecorder, restart_state, resume_state
from ..core.run_files import write_run
from ..core.spread import spread

#: The loss band's rows: median, minimum and maximum over the seeds.
MEDIAN, LOW, HIGH = 0, 1, 2


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class LossBand:
    """Median, min and max over the seeds of the train and test loss, per history iteration
    (a seed that stopped early, diverged, counts only where its history reaches)."""

    iteration: np.ndarray  # (rows,)
    train: np.ndarray  # (3, rows): MEDIAN, LOW, HIGH
    test: np.ndarray  # (3, rows)

    @classmethod
    def of(cls, histories: Sequence[HistoryArrays]) -> LossBand:
        reference = max(histories, key=lambda h: (h.iteration[-1], len(h))).iteration
        if all(np.array_equal(h.iteration, reference) for h in histories):  # none diverged
            train = np.array([h.train_loss for h in histories])
            test = np.array([h.test_loss for h in histories])
        else:
            train = np.full((len(histories), len(reference)), np.nan)
            test = np.full_like(train, np.nan)
            for row, h in enumerate(histories):
                at = np.clip(np.searchsorted(h.iteration, reference), 0, len(h) - 1)
                found = h.iteration[at] == reference
                train[row, found] = h.train_loss[at[found]]
                test[row, found] = h.test_loss[at[found]]
        return cls(_frozen(reference.copy()), _summary(train), _summary(test))

    def cut(self, iteration: int) -> LossBand:
        """The rows up to `iteration` (the band a past replay point saw)."""
        end = int(np.searchsorted(self.iteration, iteration, side="right"))
        return LossBand(self.iteration[:end], self.train[:, :end], self.test[:, :end])


def _summary(values: np.ndarray) -> np.ndarray:
    """(3, rows): median, min and max of each column of `values` (seeds x rows), NaN-aware."""
    with np.errstate(all="ignore"):
        if not np.isnan(values).any():
            return _frozen(np.array([np.median(values, 0), values.min(0), values.max(0)]))
        return _frozen(
            np.array([np.nanmedian(values, 0), np.nanmin(values, 0), np.nanmax(values, 0)])
        )


@dataclass(frozen=True)
class SeedStates:
    """All K networks of a run of several seeds at one iteration; network k has weight seed
    `weight_seed + k`. Arrays are read-only."""

    iteration: int  # the run's: that of the networks still training
    weight_seed: int
    params: np.ndarray  # (K, parameters): each network's weights, flat as core.network.Layout
    scores: np.ndarray  # (K, 4): train loss, test loss, train accuracy, test accuracy
    iterations: np.ndarray  # (K,): each network's own (a diverged one stopped earlier)
    diverged_at: tuple[int | None, ...]
    selected: int  # the network whose Snapshot came with these states
    band: LossBand | None = None  # with the newest state only

    @property
    def count(self) -> int:
        return len(self.params)

    def weights(self, layout: Layout, k: int) -> dict[str, np.ndarray]:
        """Network k's weights as `W1`, `b1`, ... (read-only views)."""
        return {name: _frozen(w) for name, w in layout.to_weights(self.params[k]).items()}

    def point(self, layout: Layout, k: int, reference: Snapshot | ReplayPoint) -> ReplayPoint:
        """Network k at this iteration as a replay point (`reference`, the selected network's
        snapshot or point here, gives the target and the seconds)."""
        train_loss, test_loss, train_accuracy, test_accuracy = self.scores[k]
        return ReplayPoint(
            iteration=self.iteration,
            target=reference.target,
            train_loss=float(train_loss),
            test_loss=float(test_loss),
            train_accuracy=float(train_accuracy),
            test_accuracy=float(test_accuracy),
            weights=self.weights(layout, k),
            seconds=reference.seconds,
            diverged_at=self.diverged_at[k],
        )


class SeedGroup:
    """The networks of one run: `Trainer` for one seed, `BatchedTrainer` for several.

    Read like a Trainer by the server and `ReplayRecorder`: `iteration` is the run's,
    `diverged_at` is None while any network trains, `snapshot()` is the selected network's
    (at the run's iteration), and `advance(n)` trains every network still training.
    """

    def __init__(self, networks: Trainer | BatchedTrainer, selected: int = 0) -> None:
        self._networks = networks
        self.selected = 0
        self.select(selected)

    @classmethod
    def start(cls, config: Config, dataset: Dataset) -> SeedGroup:
        """A new run of `config` on `dataset`: `config.seeds` networks, weight seeds
        weight_seed, weight_seed + 1, ... (an initial-weights file of several seeds gives
        each network its own)."""
        configs = seed_configs(config)
        if len(configs) == 1:
            return cls(Trainer(config, dataset))
        initial = None
        if config.init_weights:
            initial = split_seed_weights(load_weights(config.init_weights))
            if len(initial) == 1:  # one network's weights: every seed starts from them
                initial = initial * len(configs)
            elif len(initial) != len(configs):
                raise ValueError(
                    f"{Path(config.init_weights).name} holds the weights of {len(initial)} "
                    f"seeds, not {len(configs)}"
                )
        return cls(BatchedTrainer(configs, dataset, initial_weights=initial))

    @classmethod
    def of(cls, trainers: Sequence[Trainer], selected: int = 0) -> SeedGroup:
        """The networks of `trainers` (a reopened session's), continued bit for bit."""
        if len(trainers) == 1:
            return cls(trainers[0])
        return cls(BatchedTrainer.from_trainers(trainers), selected)

    # -- reading ---------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return 1 if isinstance(self._networks, Trainer) else len(self._networks)

    @property
    def config(self) -> Config:
        """The run's config (network 0's; the others differ in weight seed only)."""
        networks = self._networks
        return networks.config if isinstance(networks, Trainer) else networks.configs[0]

    @property
    def data(self) -> Dataset:
        return self._networks.data

    @property
    def layout(self) -> Layout:
        return self._networks.layout

    @property
    def iteration(self) -> int:
        return self._networks.iteration

    @property
    def diverged_at(self) -> int | None:
        """None while any network trains; when every one has stopped, the latest stop."""
        networks = self._networks
        if isinstance(networks, Trainer):
            return networks.diverged_at
        if networks.training:
            return None
        return max(network.diverged_at for network in networks)

    def _network(self, k: int):
        networks = self._networks
        return networks if isinstance(networks, Trainer) else networks[k]

    def select(self, k: int) -> None:
        if not 0 <= k < self.count:
            raise ValueError(f"there is no seed {k}: this run has {self.count}")
        self.selected = k

    def snapshot(self) -> Snapshot:
        """The selected network's snapshot, at the run's iteration (a diverged network keeps
        the weights it stopped with)."""
        snapshot = self._network(self.selected).snapshot()
        if snapshot.iteration != self.iteration:
            snapshot = dataclasses.replace(snapshot, iteration=self.iteration)
        return snapshot

    def divergence_message(self) -> str:
        networks = self._networks
        if isinstance(networks, Trainer):
            return networks.divergence_message()
        own = networks[self.selected].divergence_message()
        stopped = [k for k, network in enumerate(networks) if network.diverged_at is not None]
        if not stopped:
            return ""
        seeds = ", ".join(str(self.config.weight_seed + k) for k in stopped[:8])
        more = ", ..." if len(stopped) > 8 else ""
        text = (
            f"{len(stopped)} of {len(networks)} seeds diverged (weight seeds {seeds}{more}) "
            "and keep their last finite weights; the others train on."
        )
        return f"{text} The selected seed: {own}" if own else text

    def trainers(self) -> list[Trainer]:
        """A Trainer per network: the one trained (one seed), or independent copies that
        continue each network bit for bit (several)."""
        networks = self._networks
        if isinstance(networks, Trainer):
            return [networks]
        return [network.trainer() for network in networks]

    def trainer(self) -> Trainer:
        """The selected network as a Trainer (a copy when there are several)."""
        networks = self._networks
        return networks if isinstance(networks, Trainer) else networks[self.selected].trainer()

    def states(self, *, band: bool = True) -> SeedStates | None:
        """Every network's state (None for one seed); `band` adds the loss band."""
        networks = self._networks
        if isinstance(networks, Trainer):
            return None
        layout = networks.layout
        return SeedStates(
            iteration=networks.iteration,
            weight_seed=self.config.weight_seed,
            params=_frozen(_stacked(layout, [n.weights() for n in networks])),
            scores=_frozen(np.array([n.current for n in networks])),
            iterations=_frozen(np.array([n.iteration for n in networks])),
            diverged_at=tuple(n.diverged_at for n in networks),
            selected=self.selected,
            band=LossBand.of([n.history.arrays() for n in networks]) if band else None,
        )

    # -- changing --------------------------------------------------------------------------

    def advance(self, n: int) -> None:
        self._networks.advance(n)

    def reset(self) -> None:
        self._networks.reset()

    def update_config(self, config: Config) -> None:
        """Live fields (learning rate, iterations, ...) for every network."""
        networks = self._networks
        if isinstance(networks, Trainer):
            networks.update_config(config)
            return
        for k, seeded in enumerate(seed_configs(config)):
            networks.update_config(k, seeded)

    def change(self, edit: Callable[[list[Trainer]], Any]) -> None:
        """Apply `edit` to the Trainers of `trainers()`, then train them on together."""
        trainers = self.trainers()
        edit(trainers)
        if not isinstance(self._networks, Trainer):
            self._networks = BatchedTrainer.from_trainers(trainers)

    def set_weights(self, weights: Sequence[dict[str, np.ndarray]]) -> None:
        """One weight dict for the selected network, or one per network."""
        if len(weights) not in (1, self.count):
            raise ValueError(
                f"the file holds the weights of {len(weights)} seeds; this run has {self.count}"
            )

        def edit(trainers: list[Trainer]) -> None:
            chosen = [self.selected] if len(weights) == 1 else range(self.count)
            for k, w in zip(chosen, weights):
                if trainers[k].iteration != self.iteration:
                    raise ValueError(
                        f"seed {self.config.weight_seed + k} diverged; its weights cannot change "
                        "while the other seeds train on (Reset first)"
                    )
                trainers[k].set_weights(w)

        self.change(edit)

    def resume(self, point: ReplayPoint, seeds: SeedStates | None) -> None:
        """Continue from a replay point of this run (`seeds`: every network's state there)."""
        if seeds is None:
            self.change(lambda trainers: _resume(trainers[0], point))
            return
        if seeds.count != self.count:
            raise ValueError(f"the replay point has {seeds.count} seeds, this run {self.count}")

        def edit(trainers: list[Trainer]) -> None:
            states = []
            for k, trainer in enumerate(trainers):
                if seeds.diverged_at[k] is not None:  # stopped before the point: stays so
                    states.append(None)
                    continue
                own = seeds.point(self.layout, k, point)
                states.append(_continued_state(trainer, own))
            for trainer, state in zip(trainers, _aligned(states)):
                if state is not None:
                    trainer.restore_training_state(state)

        self.change(edit)


def _stacked(layout: Layout, weights: list[dict[str, np.ndarray]]) -> np.ndarray:
    """(K, parameters): the networks' weights packed as Layout.from_weights packs one (without
    its checks: these come from the trainer; a sixth of the time for 16 networks)."""
    params = np.empty((len(weights), layout.size))
    for k, matrix in enumerate(stacked_matrices(layout, params), start=1):
        matrix[:, :, :-1] = np.stack([w[f"W{k}"] for w in weights]).transpose(0, 2, 1)
        matrix[:, :, -1] = np.stack([w[f"b{k}"] for w in weights])
    return params


def _resume(trainer: Trainer, point: ReplayPoint) -> None:
    trainer.restore_training_state(resume_state(trainer, point))


def _continued_state(trainer: Trainer, point: ReplayPoint) -> dict[str, Any]:
    """resume_state, also for a network that stopped before the point was reached in its
    current run (its kept iteration may lie before the point's)."""
    history = trainer.history.arrays()
    end = int(np.searchsorted(history.iteration, point.iteration, side="right"))
    rows = [getattr(history, name)[:end] for name in COLUMNS]
    if end == 0 or history.iteration[end - 1] != point.iteration:
        values = (
            point.iteration,
            point.train_loss,
            point.test_loss,
            point.train_accuracy,
            point.test_accuracy,
        )
        rows = [np.append(column, value) for column, value in zip(rows, values)]
    snapshot = Snapshot(
        iteration=point.iteration,
        target=point.target,
        train_loss=point.train_loss,
        test_loss=point.test_loss,
        train_accuracy=point.train_accuracy,
        test_accuracy=point.test_accuracy,
        weights=point.weights,
        history=HistoryArrays(*rows),
        seconds=point.seconds,
    )
    return restart_state(trainer, snapshot)


def _aligned(states: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
    """Histories of the networks that train on, cut to the iterations all of them have (a
    network that stopped early kept rows the others thinned since)."""
    live = [state for state in states if state is not None]
    if not live:
        return states
    common = live[0]["history"].iteration
    for state in live[1:]:
        common = np.intersect1d(common, state["history"].iteration)
    for state in live:
        history = state["history"]
        keep = np.isin(history.iteration, common)
        state["history"] = HistoryArrays(*(getattr(history, name)[keep] for name in COLUMNS))
    return states


def restored_group(
    config: Config, dataset: Dataset, snapshot: Snapshot, seeds: SeedStates | None
) -> SeedGroup:
    """A new run that continues from the window's newest state (the training process died):
    each network from its newest weights, with a fresh optimizer. With several seeds only the
    window's states are left, not the seeds' histories: each history starts again with that
    state's row."""
    if seeds is None:
        trainer = Trainer(config, dataset)
        trainer.restore_training_state(restart_state(trainer, snapshot))
        return SeedGroup(trainer)
    trainers = [Trainer(c, dataset) for c in seed_configs(config)]
    layout = trainers[0].layout
    for k, trainer in enumerate(trainers):
        point = seeds.point(layout, k, snapshot)
        row = HistoryArrays(*(np.array([value]) for value in (seeds.iteration, *seeds.scores[k])))
        state = restart_state(trainer, dataclasses.replace(_as_snapshot(point), history=row))
        trainer.restore_training_state(state)
    return SeedGroup.of(trainers, seeds.selected)


def _as_snapshot(point: ReplayPoint) -> Snapshot:
    fields = {name: getattr(point, name) for name in ReplayPoint.__dataclass_fields__}
    return Snapshot(**fields, history=HistoryArrays(*(np.zeros(0) for _ in COLUMNS)))


class SeedRecorder(ReplayRecorder):
    """`ReplayRecorder` for a `SeedGroup`: with each point it records every network's state
    (for several seeds), so the window can replay all of them."""

    def restart(self) -> None:
        super().restart()
        self._states: list[SeedStates] = []

    def _record_if_due(self) -> None:
        recorded = len(self._points)
        super()._record_if_due()
        if len(self._points) > recorded and self.trainer.count > 1:
            self._states.append(self.trainer.states(band=False))

    def take_states(self) -> list[SeedStates]:
        """The states recorded with the points of the last `take()`, oldest first."""
        states, self._states = self._states, []
        return states


def write_seeds_run(
    folder: str | Path,
    group: SeedGroup,
    evaluated: Sequence[tuple[Trainer, Metrics]] | None = None,
) -> list[Path]:
    """The run folder of several seeds: `seed0/`, `seed1/`, ... each an ordinary run folder
    (`nnviz train --out`), and at the top config.json, seeds.csv (each seed's weight seed,
    iteration, losses, accuracies and AUCs), metrics.json (their mean, standard deviation,
    minimum and maximum) and the weights of every seed in one weights.npz (see
    core.files.stack_seed_weights). `evaluated`, each of `group.trainers()` with its
    `evaluate()` (fast mode will do), saves evaluating them again when the caller has them."""
    folder = Path(folder)
    written: list[Path] = []
    rows = []
    if evaluated is None:
        evaluated = [(trainer, trainer.evaluate()) for trainer in group.trainers()]
    trainers = [trainer for trainer, _ in evaluated]
    for k, (trainer, metrics) in enumerate(evaluated):
        written += write_run(folder / f"seed{k}", trainer, metrics)
        rows.append(
            {
                "seed": k,
                "weight_seed": trainer.config.weight_seed,
                "iteration": trainer.iteration,
                "diverged_at": trainer.diverged_at,
                "train_loss": metrics.train.loss,
                "test_loss": metrics.test.loss,
                "train_accuracy": metrics.train.accuracy,
                "test_accuracy": metrics.test.accuracy,
                "train_auc": metrics.train.auc,
                "test_auc": metrics.test.auc,
            }
        )
    header = list(rows[0])
    lines = [",".join(header)] + [
        ",".join("" if row[c] is None else repr(row[c]) for c in header) for row in rows
    ]
    seeds = [t.config.weight_seed for t in trainers]
    summary = {
        "seeds": len(rows),
        "weight_seeds": seeds,
        **{column: spread([row[column] for row in rows]).to_dict() for column in header[4:]},
    }
    written += [
        write_text(folder / "config.json", group.config.to_json()),
        write_text(folder / "seeds.csv", "\n".join(lines) + "\n"),
        write_text(folder / "metrics.json", json_text(summary)),
        save_weights(
            folder / "initial_weights.npz",
            stack_seed_weights([t.initial_weights() for t in trainers], seeds),
        ),
        save_weights(
            folder / "weights.npz", stack_seed_weights([t.weights() for t in trainers], seeds)
        ),
    ]
    return written
