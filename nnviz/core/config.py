"""Training configuration: one frozen, validated record shared by the CLI, the API and the window.

Field names are the CLI's flag names in snake_case, so `--learning-rate 0.5` and
`Config(learning_rate=0.5)` mean the same thing.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

DATASETS = ("moons", "circles", "xor", "gauss", "spiral", "csv")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
LOSSES = ("sse", "mse", "bce")
INITS = ("uniform", "xavier", "he")
OPTIMIZERS = ("gd", "momentum", "adam")

#: Fields that can change while training runs without resetting the network.
LIVE_FIELDS = frozenset({"learning_rate", "momentum", "l1", "l2", "threshold", "iterations"})


class ConfigError(ValueError):
    """A configuration value is not allowed; the message names the field, the value and the rule."""

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        self.field = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{name} = {value!r} is not allowed: {allowed}")


@dataclass(frozen=True)
class Config:
    """Everything that determines a training run. The defaults are the article's published setup."""

    dataset: str = "moons"
    csv_path: str | None = None
    samples: int = 1000
    noise: float = 0.2
    data_seed: int = 4242
    test_size: float = 0.25
    split_seed: int = 42
    hidden: tuple[int, ...] = (5,)
    activation: str = "sigmoid"
    loss: str = "sse"
    init: str = "uniform"
    init_range: float = 0.1
    weight_seed: int = 4242
    optimizer: str = "gd"
    learning_rate: float = 0.1
    batch_size: int = 0
    momentum: float = 0.9
    l1: float = 0.0
    l2: float = 0.0
    iterations: int = 20000
    threshold: float = 0.5
    init_weights: str | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(_plain(v) for v in _as_hidden(self.hidden)))
        for f in fields(self):
            object.__setattr__(self, f.name, _plain(getattr(self, f.name)))
        _validate(self)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Config:
        """A named setup from PRESETS, with any field overridden."""
        if name not in PRESETS:
            raise ConfigError("preset", name, f"one of {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides})

    def replace(self, **changes: Any) -> Config:
        """A copy with some fields changed, validated like a new Config."""
        unknown = set(changes) - set(field_names())
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(
                name, changes[name], f"a field of Config ({', '.join(field_names())})"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Rebuild a Config from `to_dict()` output; unknown keys are refused, not ignored."""
        if not isinstance(data, dict):
            raise ConfigError("config", type(data).__name__, "a JSON object of Config fields")
        unknown = set(data) - set(field_names())
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(name, data[name], f"a field of Config ({', '.join(field_names())})")
        return cls(**data)

    def is_live_change(self, other: Config) -> bool:
        """True when `other` differs from this config only in fields that apply without a reset."""
        changed = {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}
        return changed <= LIVE_FIELDS


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Config))


PRESETS: dict[str, dict[str, Any]] = {
    # The article's published numbers: noise 0.2, 5 sigmoid units, lr 0.1, 20000 iterations.
    "seed": {},
    # The code printed in the article says noise=0.; it separates the moons perfectly.
    "article-code": {"noise": 0.0},
    # The article's experiment baseline (10000 iterations).
    "experiment": {"iterations": 10000},
    # A harder problem that needs depth, in the spirit of TensorFlow Playground.
    "spiral": {
        "dataset": "spiral",
        "noise": 0.1,
        "hidden": (16, 16),
        "activation": "tanh",
        "loss": "bce",
        "init": "xavier",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "iterations": 5000,
    },
    "xor": {
        "dataset": "xor",
        "noise": 0.05,
        "hidden": (8, 4),
        "activation": "tanh",
        "loss": "bce",
        "init": "xavier",
        "optimizer": "adam",
        "learning_rate": 0.03,
        "iterations": 2000,
    },
}


def _as_hidden(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise ConfigError("hidden", value, "comma-separated layer widths such as 8,4") from None
    if isinstance(value, int):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise ConfigError("hidden", value, "a sequence of layer widths such as (8, 4)") from None


def _plain(value: Any) -> Any:
    """NumPy scalars become Python numbers, so np.int64(5) is as good as 5."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(name, value, f"one of {', '.join(choices)}")


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if not _is_int(value) or value < low or (high is not None and value > high):
        bound = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
        raise ConfigError(name, value, bound)


def _check_float(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> None:
    ok = _is_number(value)
    if ok:
        ok = (value > low if open_low else value >= low) and (
            value < high if open_high else value <= high
        )
    if not ok:
        left = "(" if open_low else "["
        right = ")" if open_high else "]"
        raise ConfigError(name, value, f"a finite number in {left}{low:g}, {high:g}{right}")


def _validate(c: Config) -> None:
    _check_choice("dataset", c.dataset, DATASETS)
    if c.dataset == "csv" and not c.csv_path:
        raise ConfigError("csv_path", c.csv_path, "a CSV file path when dataset is csv")
    _check_int("samples", c.samples, 8, 1_000_000)
    _check_float("noise", c.noise, 0.0, 10.0)
    _check_int("data_seed", c.data_seed, 0, 2**32 - 1)
    _check_float("test_size", c.test_size, 0.0, 1.0, open_low=True, open_high=True)
    _check_int("split_seed", c.split_seed, 0, 2**32 - 1)
    if not c.hidden:
        raise ConfigError("hidden", c.hidden, "at least one hidden layer")
    for width in c.hidden:
        if not _is_int(width) or not 1 <= width <= 4096:
            raise ConfigError("hidden", c.hidden, "layer widths that are integers from 1 to 4096")
    _check_choice("activation", c.activation, ACTIVATIONS)
    _check_choice("loss", c.loss, LOSSES)
    _check_choice("init", c.init, INITS)
    _check_float("init_range", c.init_range, 0.0, 100.0, open_low=True)
    _check_int("weight_seed", c.weight_seed, 0, 2**32 - 1)
    _check_choice("optimizer", c.optimizer, OPTIMIZERS)
    _check_float("learning_rate", c.learning_rate, 0.0, 1e6, open_low=True)
    _check_int("batch_size", c.batch_size, 0)
    _check_float("momentum", c.momentum, 0.0, 1.0, open_high=True)
    _check_float("l1", c.l1, 0.0, 1e3)
    _check_float("l2", c.l2, 0.0, 1e3)
    _check_int("iterations", c.iterations, 0, 100_000_000)
    _check_float("threshold", c.threshold, 0.0, 1.0)
