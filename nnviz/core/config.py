"""Training configuration: one frozen, validated record shared by the CLI, the API and the window.

Field names are the CLI's flag names in snake_case, so `--learning-rate 0.5` and
`Config(learning_rate=0.5)` mean the same thing. Each field carries a `FieldSpec` (help, range,
group, what a change costs) next to its default; validation, the `nnviz` flags (nnviz.flags) and the
control panel are all built from it, so a range or a help text is written once and agrees everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

DATASETS = (
    "moons",
    "circles",
    "xor",
    "gauss",
    "spiral",
    "blobs",
    "iris",
    "wine",
    "plane",
    "gauss-reg",
    "csv",
)
ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
LOSSES = ("sse", "mse", "bce", "ce")
INITS = ("uniform", "xavier", "he")
OPTIMIZERS = ("gd", "momentum", "adam")
#: scikit-learn's fixed tables and their class counts (samples, noise and data_seed do not apply).
TABLES = {"iris": 3, "wine": 3}
#: The datasets nnviz draws itself (samples, noise and data_seed mean nothing for a CSV file).
GENERATED = tuple(name for name in DATASETS if name != "csv" and name not in TABLES)
#: 2-D point sets with any number of classes (`classes`).
CLASSED = ("spiral", "blobs")
#: Datasets whose target is a number: a linear output trained with mse.
REGRESSION = ("plane", "gauss-reg")
#: Datasets with two raw inputs, where feature crosses apply (a CSV file may have two).
PLANAR = tuple(name for name in DATASETS if name not in TABLES)
TASKS = ("binary", "multiclass", "regression")
CLASSES_MAX = 8
#: Feature crosses (nnviz.core.features), and the default: the raw inputs as they are.
FEATURES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
RAW_FEATURES = ("x1", "x2")

#: The groups fields are shown in, in this order.
GROUPS = ("Data", "Network", "Training")
SEED_MAX = 2**32 - 1  # numpy's RandomState and scikit-learn accept seeds up to this
SAMPLES_MAX = 1_000_000
WIDTH_MAX = 4096
LAYERS_MAX = 8
#: The most networks the window trains together (`seeds`).
SEEDS_MAX = 64

Kind = Literal["choice", "int", "float", "layers", "path", "multi"]
#: What changing a field costs: "live" applies to the running network, "network" starts a new
#: network on the same points, "data" draws new points and starts a new network.
Effect = Literal["live", "network", "data"]

EFFECT_TEXT = {
    "live": "Applies to the running network at once.",
    "network": "Changing it starts a new network.",
    "data": "Changing it draws new points and starts a new network.",
}


#: Why several seeds are refused: they train as one stack, which holds the article's kind of
#: network only (the batched kernel has no softmax, linear output or crosses).
SEEDS_RULE = (
    "1 for this setup: several seeds train together only for two classes on the raw inputs "
    "x1, x2 with loss sse, mse or bce"
)


def stacks(task: str, features: tuple[str, ...], loss: str) -> bool:
    """Whether networks of this task, input features and loss can train as one stack."""
    return task == "binary" and features == RAW_FEATURES and loss != "ce"


class ConfigError(ValueError):
    """A configuration value is not allowed; the message names the field, the value and the rule."""

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        self.field = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{name} = {_shown(value)} is not allowed: {allowed}")

    def __reduce__(self):
        """Pickle by the constructor's arguments, so a sweep worker's refusal reaches the caller."""
        return (type(self), (self.field, self.value, self.allowed))


@dataclass(frozen=True)
class FieldSpec:
    """How one Config field is described, checked, offered as a flag and edited in the panel.

    `low`/`high` bound numbers (and layer widths); an open bound excludes the value itself.
    `step` is the editors' increment (`log_step`: a tenth of the value's order of magnitude).
    `special` names the lowest value (batch_size 0 is "full batch"). `used_if` is (field, values):
    the field matters only while that other field has one of those values. A "multi" field is a
    tuple of distinct `choices`, in the order given (written "x1,x2,x1sq" on the command line).
    """

    label: str
    help: str
    group: str
    effect: Effect
    kind: Kind
    low: float = 0
    high: float = 0
    open_low: bool = False
    open_high: bool = False
    choices: tuple[str, ...] = ()
    step: float = 1
    log_step: bool = False
    special: str | None = None
    used_if: tuple[str, tuple[str, ...]] | None = None
    suffixes: tuple[str, ...] = ()

    def allowed(self) -> str:
        """The rule in words, as ConfigError, `--help` and the tooltips say it."""
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)}"
        if self.kind == "int":
            return f"an integer from {int(self.low)} to {int(self.high)}"
        if self.kind == "float":
            left, right = "([("[not self.open_low], ")]"[not self.open_high]
            return f"a finite number in {left}{self.low:g}, {self.high:g}{right}"
        if self.kind == "layers":
            return (
                f"1 to {LAYERS_MAX} hidden layers of {int(self.low)} to {int(self.high)} "
                "neurons, such as 8,4"
            )
        if self.kind == "multi":
            return f"one or more distinct of {', '.join(self.choices)}, comma-separated"
        return "a file path, or nothing"

    def in_range(self, number: float) -> bool:
        above = number > self.low if self.open_low else number >= self.low
        below = number < self.high if self.open_high else number <= self.high
        return above and below

    def clean(self, name: str, value: Any) -> Any:
        """`value` as the field stores it (float for floats, a tuple of ints for layers, str or
        None for paths); raises ConfigError naming `name` when it breaks the rule."""
        value = _plain(value)
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ConfigError(name, value, self.allowed())
            return value
        if self.kind == "int":
            if not _is_int(value) or not self.in_range(value):
                raise ConfigError(name, value, self.allowed())
            return value
        if self.kind == "float":
            return self._clean_float(name, value)
        if self.kind == "layers":
            return self._clean_layers(name, value)
        if self.kind == "multi":
            return self._clean_multi(name, value)
        return _clean_path(name, value, self.allowed())

    def _clean_multi(self, name: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            items = tuple(part.strip() for part in value.split(",") if part.strip())
        elif isinstance(value, (list, tuple)):
            items = tuple(value)
        else:
            raise ConfigError(name, value, self.allowed())
        if (
            not items
            or not all(isinstance(item, str) and item in self.choices for item in items)
            or len(set(items)) != len(items)
        ):
            raise ConfigError(name, items, self.allowed())
        return items

    def _clean_float(self, name: str, value: Any) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(name, value, self.allowed())
        try:
            number = float(value) + 0.0  # + 0.0 turns -0.0 into 0.0, which numpy accepts as a scale
        except OverflowError:  # an int too large for a float
            raise ConfigError(name, value, self.allowed()) from None
        if not math.isfinite(number) or not self.in_range(number):
            raise ConfigError(name, value, self.allowed())
        return number

    def _clean_layers(self, name: str, value: Any) -> tuple[int, ...]:
        layers = tuple(_plain(width) for width in _as_hidden(value))
        if not layers:
            raise ConfigError(name, layers, "at least one hidden layer")
        if len(layers) > LAYERS_MAX:
            raise ConfigError(name, layers, f"at most {LAYERS_MAX} hidden layers")
        for width in layers:
            if not _is_int(width) or not self.in_range(width):
                low, high = int(self.low), int(self.high)
                raise ConfigError(
                    name, layers, f"layer widths that are integers from {low} to {high}"
                )
        return layers


def _describe(default: Any, **spec: Any) -> Any:
    """A dataclass field with its FieldSpec in the metadata, so the description sits by the default."""
    return field(default=default, metadata={"spec": FieldSpec(**spec)})


_SEED = {"kind": "int", "low": 0, "high": SEED_MAX}


@dataclass(frozen=True)
class Config:
    """Everything that determines a training run. The defaults are the article's published setup."""

    dataset: str = _describe(
        "moons",
        label="Dataset",
        help="The data: moons (the article's), circles, xor, gauss (two classes each); spiral and "
        "blobs with --classes; iris and wine (3 classes, 4 and 13 inputs, standardised); "
        "regression targets plane and gauss-reg; or csv for your own points.",
        group="Data",
        effect="data",
        kind="choice",
        choices=DATASETS,
    )
    csv_path: str | None = _describe(
        None,
        label="CSV file",
        help="A CSV file with the header x1,x2,label (more inputs x3, x4, ... may follow x2) "
        "and labels 0 to K-1, or x1,x2,target for a regression target.",
        group="Data",
        effect="data",
        kind="path",
        used_if=("dataset", ("csv",)),
        suffixes=("csv",),
    )
    classes: int = _describe(
        2,
        label="Classes",
        help="How many classes (arms of the spiral, blobs) to draw. With 3 or more the output "
        "is a softmax trained with --loss ce.",
        group="Data",
        effect="data",
        kind="int",
        low=2,
        high=CLASSES_MAX,
        used_if=("dataset", CLASSED),
    )
    samples: int = _describe(
        1000,
        label="Samples",
        help="How many points to generate, train and test together.",
        group="Data",
        effect="data",
        kind="int",
        low=8,
        high=SAMPLES_MAX,
        step=50,
        used_if=("dataset", GENERATED),
    )
    noise: float = _describe(
        0.2,
        label="Noise",
        help="Standard deviation of the noise added to the generated points.",
        group="Data",
        effect="data",
        kind="float",
        low=0.0,
        high=10.0,
        step=0.05,
        used_if=("dataset", GENERATED),
    )
    data_seed: int = _describe(
        4242,
        label="Data seed",
        help="Seed of the point generator: the same seed gives the same points.",
        group="Data",
        effect="data",
        used_if=("dataset", GENERATED),
        **_SEED,
    )
    test_size: float = _describe(
        0.25,
        label="Test size",
        help="Share of the points held out for testing (train_test_split's test_size).",
        group="Data",
        effect="data",
        kind="float",
        low=0.0,
        high=1.0,
        open_low=True,
        open_high=True,
        step=0.05,
    )
    split_seed: int = _describe(
        42,
        label="Split seed",
        help="Seed of train_test_split: which points go to the test set.",
        group="Data",
        effect="data",
        **_SEED,
    )
    hidden: tuple[int, ...] = _describe(
        (5,),
        label="Hidden layers",
        help="The hidden layers and the neurons in each, such as 5 or 8,4.",
        group="Network",
        effect="network",
        kind="layers",
        low=1,
        high=WIDTH_MAX,
    )
    features: tuple[str, ...] = _describe(
        RAW_FEATURES,
        label="Features",
        help="The network's inputs, as in TensorFlow Playground: x1, x2 and the crosses "
        "x1sq, x2sq, x1x2, sinx1, sinx2, for 2-D data. Data with more inputs takes them as "
        "they are (only x1,x2 is allowed for it).",
        group="Network",
        effect="network",
        kind="multi",
        choices=FEATURES,
        used_if=("dataset", PLANAR),
    )
    activation: str = _describe(
        "sigmoid",
        label="Activation",
        help="Activation of the hidden units. The output is a sigmoid for two classes, a "
        "softmax for more, and linear for regression.",
        group="Network",
        effect="network",
        kind="choice",
        choices=ACTIVATIONS,
    )
    loss: str = _describe(
        "sse",
        label="Loss",
        help="sse: 1/2 sum (y - p)^2 (the article's); mse: mean (y - p)^2; "
        "bce: mean binary cross-entropy; ce: the cross entropy of a softmax output for 3 or "
        "more classes (with 2 classes it is bce). Several classes need ce, regression mse.",
        group="Training",
        effect="network",
        kind="choice",
        choices=LOSSES,
    )
    init: str = _describe(
        "uniform",
        label="Init scheme",
        help="How the initial weights are drawn: uniform in [-r, r] (the article's), "
        "Xavier/Glorot uniform, or He normal. Biases start at zero.",
        group="Network",
        effect="network",
        kind="choice",
        choices=INITS,
    )
    init_range: float = _describe(
        0.1,
        label="Init range r",
        help="r of the uniform initialisation: weights start in [-r, r].",
        group="Network",
        effect="network",
        kind="float",
        low=0.0,
        high=100.0,
        open_low=True,
        step=0.05,
        used_if=("init", ("uniform",)),
    )
    weight_seed: int = _describe(
        4242,
        label="Weight seed",
        help="Seed of the initial weights and of mini-batch shuffling.",
        group="Network",
        effect="network",
        **_SEED,
    )
    optimizer: str = _describe(
        "gd",
        label="Optimizer",
        help="gd: plain gradient descent (the article's); momentum; adam.",
        group="Training",
        effect="network",
        kind="choice",
        choices=OPTIMIZERS,
    )
    learning_rate: float = _describe(
        0.1,
        label="Learning rate",
        help="Step size eta of each update.",
        group="Training",
        effect="live",
        kind="float",
        low=0.0,
        high=1e6,
        open_low=True,
        step=0.01,
        log_step=True,
    )
    batch_size: int = _describe(
        0,
        label="Batch size",
        help="Points per update. 0 is full batch (the article's): every training point at once.",
        group="Training",
        effect="network",
        kind="int",
        low=0,
        high=SAMPLES_MAX,
        special="full batch",
    )
    momentum: float = _describe(
        0.9,
        label="Momentum",
        help="Momentum coefficient mu of the momentum optimizer.",
        group="Training",
        effect="live",
        kind="float",
        low=0.0,
        high=1.0,
        open_high=True,
        step=0.05,
        used_if=("optimizer", ("momentum",)),
    )
    l1: float = _describe(
        0.0,
        label="L1",
        help="L1 penalty l1 * sum |w| on the weights (not the biases).",
        group="Training",
        effect="live",
        kind="float",
        low=0.0,
        high=1e3,
        step=0.0001,
    )
    l2: float = _describe(
        0.0,
        label="L2",
        help="L2 penalty l2/2 * sum w^2 on the weights (not the biases).",
        group="Training",
        effect="live",
        kind="float",
        low=0.0,
        high=1e3,
        step=0.0001,
    )
    iterations: int = _describe(
        20000,
        label="Iterations",
        help="Training stops by itself after this many iterations.",
        group="Training",
        effect="live",
        kind="int",
        low=0,
        high=100_000_000,
        step=1000,
    )
    threshold: float = _describe(
        0.5,
        label="Threshold",
        help="Predict class 1 when p >= threshold; moves the ROC operating point.",
        group="Training",
        effect="live",
        kind="float",
        low=0.0,
        high=1.0,
        step=0.01,
    )
    seeds: int = _describe(
        1,
        label="Seeds",
        help="Train this many networks together, with the weight seeds weight_seed, "
        "weight_seed + 1, ...: the views show their spread (the loss band, every seed's "
        "boundary, AUC mean and standard deviation). Click a seed's boundary to select it.",
        group="Training",
        effect="network",
        kind="int",
        low=1,
        high=SEEDS_MAX,
    )
    init_weights: str | None = _describe(
        None,
        label="Initial weights",
        help="Start from weights saved as .npz or .json instead of drawing them.",
        group="Network",
        effect="network",
        kind="path",
        suffixes=("npz", "json"),
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            spec = f.metadata["spec"]
            object.__setattr__(self, f.name, spec.clean(f.name, getattr(self, f.name)))
        if self.dataset == "csv" and not self.csv_path:
            raise ConfigError("csv_path", self.csv_path, "a CSV file path when dataset is csv")
        if self.dataset in TABLES and self.features != RAW_FEATURES:
            raise ConfigError(
                "features",
                self.features,
                f"x1,x2 only: {self.dataset} has more than 2 inputs and crosses need 2-D data",
            )
        task = self.task
        if task is not None:
            check_loss(task[0], self.loss, self.dataset)
            if self.seeds > 1 and not stacks(task[0], self.features, self.loss):
                raise ConfigError("seeds", self.seeds, SEEDS_RULE)

    @property
    def task(self) -> tuple[str, int] | None:
        """(task, classes) the dataset implies: ("binary", 2), ("multiclass", K) or
        ("regression", 0); None for a CSV file, whose task is known once it is read."""
        if self.dataset == "csv":
            return None
        if self.dataset in REGRESSION:
            return ("regression", 0)
        classes = TABLES.get(self.dataset) or (self.classes if self.dataset in CLASSED else 2)
        return ("binary", 2) if classes == 2 else ("multiclass", classes)

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
        data["features"] = list(self.features)
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


def check_loss(task: str, loss: str, data: str) -> None:
    """Refuse a loss that does not fit the task, naming the rule: regression trains a linear
    output with mse; three or more classes a softmax with ce; two classes take any loss."""
    if task == "regression" and loss != "mse":
        raise ConfigError(
            "loss", loss, f"mse for regression ({data} has a numeric target, a linear output)"
        )
    if task == "multiclass" and loss != "ce":
        raise ConfigError(
            "loss", loss, f"ce (softmax and cross-entropy) for {data}, which has 3 or more classes"
        )


def seed_configs(config: Config) -> list[Config]:
    """The `config.seeds` networks trained together: weight seeds weight_seed, weight_seed + 1,
    ... (as a sweep's repeats); a ConfigError when the last would pass SEED_MAX."""
    last = config.weight_seed + config.seeds - 1
    if last > SEED_MAX:
        raise ConfigError(
            "seeds",
            config.seeds,
            f"at most {SEED_MAX - config.weight_seed + 1} with weight seed {config.weight_seed} "
            f"(the seeds count up from it to at most {SEED_MAX})",
        )
    return [config.replace(weight_seed=config.weight_seed + k) for k in range(config.seeds)]


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Config))


#: Every field's description, in the order of the fields.
FIELDS: dict[str, FieldSpec] = {f.name: f.metadata["spec"] for f in fields(Config)}
#: Fields that can change while training runs without resetting the network.
LIVE_FIELDS = frozenset(name for name, spec in FIELDS.items() if spec.effect == "live")
#: Fields whose change needs new points (and so a new network).
DATA_FIELDS = frozenset(name for name, spec in FIELDS.items() if spec.effect == "data")

PRESETS: dict[str, dict[str, Any]] = {
    # The article's published numbers: noise 0.2, 5 sigmoid units, lr 0.1, 20000 iterations.
    "seed": {},
    # The code printed in the article says noise=0.; it separates the moons perfectly.
    "article-code": {"noise": 0.0},
    # The article's experiment baseline (10000 iterations).
    "experiment": {"iterations": 10000},
    # The seed setup at lr 0.5 with 16 weight seeds: past about 6,000 iterations the seeds
    # part ways (the README's "Many seeds at once").
    "chaos": {"learning_rate": 0.5, "seeds": 16},
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
    # Issue 14's acceptance run: three classes of iris, four standardised measurements.
    "iris": {
        "dataset": "iris",
        "hidden": (8,),
        "activation": "tanh",
        "loss": "ce",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "iterations": 3000,
    },
    # Three spiral arms, learned through Playground's feature crosses (test accuracy 0.936).
    "spiral3": {
        "dataset": "spiral",
        "classes": 3,
        "noise": 0.1,
        "features": ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"),
        "hidden": (16, 16),
        "activation": "tanh",
        "loss": "ce",
        "init": "xavier",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "iterations": 2000,
    },
    # Playground's Gaussian regression: six bumps of +-1, a linear output trained with mse.
    "regression": {
        "dataset": "gauss-reg",
        "noise": 0.0,
        "hidden": (16, 16),
        "activation": "tanh",
        "loss": "mse",
        "init": "xavier",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "iterations": 4000,
    },
}


def _as_hidden(value: Any) -> tuple[Any, ...]:
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


def _clean_path(name: str, value: Any, allowed: str) -> str | None:
    """A path as text; an empty path means no file, as an empty line edit does."""
    if value is None:
        return None
    path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(path, str):
        raise ConfigError(name, value, allowed)
    return path or None


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


def _shown(value: Any) -> str:
    """repr, but an integer too long to read (or even to print: Python caps int-to-str at 4300
    digits) is named by its size."""
    if isinstance(value, tuple):
        inner = ", ".join(_shown(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if _is_int(value) and value.bit_length() > 128:
        digits = int(math.log10(abs(value))) + 1
        return f"<{'negative ' * (value < 0)}integer of about {digits} digits>"
    return repr(value)
