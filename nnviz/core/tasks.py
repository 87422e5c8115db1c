"""What a network is asked to do with a dataset: its task, its inputs and its output layer.

A `Task` joins a Config to the Dataset it trains on: the network's inputs (the feature crosses of
`nnviz.core.features` applied to the raw points), its output layer (one sigmoid unit for two
classes, a softmax of K units for K classes, one linear unit for regression) and the loss rule.
The trainer, the metrics, the step-through and the window all build their networks and read their
predictions through it, so a grid of raw points is evaluated exactly as the training data is:

    task = task_of(config, data)
    values = task.outputs(snapshot.weights, config.activation, grid)   # grid: (n, raw inputs)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .config import Config, ConfigError, check_loss, stacks
from .datasets import Dataset
from .features import FeatureError, FeatureMap
from .network import OUTPUTS, Layout, forward_layers


@dataclass(frozen=True)
class Task:
    """The task of a dataset ("binary", "multiclass", "regression"), its classes (0 for
    regression) and the inputs the network sees."""

    kind: str
    n_classes: int
    features: FeatureMap

    @property
    def output(self) -> str:
        """The output layer: "sigmoid", "softmax" or "linear"."""
        return OUTPUTS[self.kind]

    @property
    def n_inputs(self) -> int:
        return self.features.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.kind == "multiclass" else 1

    @property
    def input_names(self) -> tuple[str, ...]:
        """The input units' names: x1, x2, x1², x1·x2, sin x1, ... or the data's own."""
        return self.features.names

    @property
    def output_names(self) -> tuple[str, ...]:
        """The output units' names: p (P(class 1), or a regression's predicted target) or
        p1..pK (P(class k-1)). Never y: Explain's formulas write the target y and the
        prediction p, and the diagram names its output node as they do."""
        if self.kind == "multiclass":
            return tuple(f"p{k + 1}" for k in range(self.n_classes))
        return ("p",)

    def layout(self, hidden: Sequence[int]) -> Layout:
        return Layout(hidden, self.n_inputs, self.n_outputs)

    def inputs(self, raw: np.ndarray) -> np.ndarray:
        """The network's inputs for raw points (n, raw inputs): `raw` itself without crosses."""
        return self.features.apply(raw)

    def outputs(
        self, weights: Mapping[str, np.ndarray], activation: str, raw: np.ndarray
    ) -> np.ndarray:
        """The network's answer for raw points: P(class 1) (n,) for two classes, every class's
        probability (n, K) for more, the predicted target (n,) for regression."""
        h = forward_layers(weights, self.inputs(raw), activation, self.output)[-1][1]
        return h if self.kind == "multiclass" else h[:, 0]


def task_of(config: Config, data: Dataset) -> Task:
    """The task of training `config` on `data`; a ConfigError when the loss does not fit the
    data's task or crosses are asked of data that is not 2-D."""
    check_loss(data.task, config.loss, config.dataset)
    try:
        features = FeatureMap.of(config.features, data.feature_names)
    except FeatureError as error:
        raise ConfigError("features", config.features, str(error)) from None
    return Task(data.task, data.n_classes, features)


def stackable(config: Config, data: Dataset | None = None) -> bool:
    """Whether a BatchedTrainer can train `config` (on `data`): the article's kind of network,
    two classes with one sigmoid output (sse, mse or bce) on the raw inputs. Other tasks train
    one Trainer each. Without `data` a CSV file is taken to be binary until it is read."""
    kind = data.task if data is not None else (config.task or ("binary", 2))[0]
    return stacks(kind, config.features, config.loss)
