"""A run that goes on with other points (drawn by hand in the window): the same networks on a
new Dataset, without starting again (no Qt).

ConvNetJS-style drawing means the points change under a network that is learning; the network
must not notice more than the new points. So each network keeps its weights, its initial weights
(Reset goes back to them), its iteration, its history, and its optimizer's state (momentum's
velocity, Adam's moments): those are sized by the network, not by the data. Only what is sized
by the data starts again: the mini-batch order (a fresh shuffle of the new training points) and
the divergence checkpoint (taken at the change, so a recovery never returns to the old points).
"""

from __future__ import annotations

from ..core import Dataset, Trainer
from .seeds import SeedGroup


def continued_on(trainer: Trainer, dataset: Dataset) -> Trainer:
    """A Trainer of `trainer`'s config on `dataset` that carries on from `trainer`'s state.

    Raises ValueError (a DataError or ConfigError among them) when `dataset` does not fit the
    network: another task, number of classes or of inputs."""
    old = trainer.data
    if (dataset.task, dataset.n_classes, dataset.n_inputs) != (
        old.task,
        old.n_classes,
        old.n_inputs,
    ):
        raise ValueError(
            f"the new points are {_kind(dataset)}, but the network was built for {_kind(old)}; "
            "start a new run for other data"
        )
    state = trainer.training_state()
    fresh = Trainer(
        trainer.config,
        dataset,
        record_every=state["base_record_every"],
        initial_weights=trainer.initial_weights(),
    )
    sampler = fresh.sampler.state() if fresh.sampler else None
    state["sampler"] = sampler
    state["checkpoint"] = {
        "iteration": state["iteration"],
        "params": state["params"],
        "optimizer": state["optimizer"],
        "sampler": sampler,
    }
    fresh.restore_training_state(state)
    return fresh


def group_on(group: SeedGroup, dataset: Dataset) -> SeedGroup:
    """Every network of `group` carried on by `continued_on`, the same one selected."""
    trainers = [continued_on(trainer, dataset) for trainer in group.trainers()]
    return SeedGroup.of(trainers, group.selected)


def _kind(data: Dataset) -> str:
    classes = "a regression" if data.task == "regression" else f"{data.n_classes} classes"
    return f"{classes} on {data.n_inputs} inputs"
