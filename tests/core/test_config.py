"""Config: one clear ConfigError per bad value, presets, and the dict/JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from nnviz import Config, ConfigError, Trainer
from nnviz.core import PRESETS
from nnviz.core.config import DATA_FIELDS, FIELDS, GROUPS, LIVE_FIELDS, field_names
from nnviz.core.datasets import load_dataset

NAN = float("nan")
INF = float("inf")

# (field, value, a phrase of what is allowed that the message must contain)
INVALID = [
    ("learning_rate", 0.0, "(0, 1e+06]"),
    ("learning_rate", -1.0, "(0, 1e+06]"),
    ("learning_rate", NAN, "finite number"),
    ("learning_rate", INF, "finite number"),
    ("learning_rate", "0.1", "finite number"),
    ("learning_rate", True, "finite number"),
    ("hidden", (), "at least one hidden layer"),
    ("hidden", (0,), "integers from 1 to 4096"),
    ("hidden", (8, 0), "integers from 1 to 4096"),
    ("hidden", (5000,), "integers from 1 to 4096"),
    ("hidden", (4,) * 9, "at most 8 hidden layers"),
    ("hidden", (2.5,), "integers from 1 to 4096"),
    ("hidden", (True,), "integers from 1 to 4096"),
    ("hidden", "8,x", "comma-separated layer widths"),
    ("hidden", "", "at least one hidden layer"),
    ("hidden", None, "a sequence of layer widths"),
    ("test_size", 0.0, "(0, 1)"),
    ("test_size", 1.0, "(0, 1)"),
    ("test_size", -0.25, "(0, 1)"),
    ("test_size", NAN, "(0, 1)"),
    ("activation", "softmax", "sigmoid, tanh, relu, linear"),
    ("loss", "cross-entropy", "sse, mse, bce, ce"),
    ("init", "normal", "uniform, xavier, he"),
    ("optimizer", "sgd", "gd, momentum, adam"),
    (
        "dataset",
        "mnist",
        "moons, circles, xor, gauss, spiral, blobs, iris, wine, plane, gauss-reg, csv",
    ),
    ("batch_size", -1, "an integer from 0 to 1000000"),
    ("batch_size", 1.5, "an integer from 0 to 1000000"),
    ("batch_size", True, "an integer from 0 to 1000000"),
    ("batch_size", 1_000_001, "an integer from 0 to 1000000"),
    ("samples", 7, "an integer from 8 to 1000000"),
    ("samples", 100.0, "an integer from 8 to 1000000"),
    ("samples", False, "an integer from 8 to 1000000"),
    ("iterations", -1, "an integer from 0 to"),
    ("iterations", True, "an integer from 0 to"),
    ("momentum", 1.0, "[0, 1)"),
    ("momentum", -0.1, "[0, 1)"),
    ("l1", -0.5, "[0, 1000]"),
    ("l2", NAN, "[0, 1000]"),
    ("threshold", 1.5, "[0, 1]"),
    ("noise", -0.1, "[0, 10]"),
    ("init_range", 0.0, "(0, 100]"),
    ("weight_seed", -1, "an integer from 0 to 4294967295"),
    ("weight_seed", 2**32, "an integer from 0 to 4294967295"),
    ("data_seed", 1.0, "an integer from 0 to 4294967295"),
    ("split_seed", -3, "an integer from 0 to 4294967295"),
    ("csv_path", 5, "a file path"),
    ("init_weights", b"w.npz", "a file path"),
    ("dataset", ["moons"], "one of moons"),
]


@pytest.mark.parametrize(("name", "value", "allowed"), INVALID)
def test_invalid_value_names_field_value_and_rule(name, value, allowed):
    with pytest.raises(ConfigError) as caught:
        Config(**{name: value})
    error = caught.value
    message = str(error)
    assert error.field == name
    assert message.startswith(f"{name} = ")
    assert allowed in message
    shown = "()" if value == "" else repr(value)  # an empty hidden string parses to ()
    assert shown in message
    assert isinstance(error, ValueError)  # callers may catch ValueError


@pytest.mark.parametrize(("name", "value", "allowed"), INVALID[::4])
def test_replace_validates_like_the_constructor(name, value, allowed):
    with pytest.raises(ConfigError, match=f"^{name} = ") as caught:
        Config().replace(**{name: value})
    assert allowed in str(caught.value)


def test_csv_dataset_needs_a_path():
    with pytest.raises(ConfigError) as caught:
        Config(dataset="csv")
    assert caught.value.field == "csv_path"
    assert "CSV file path" in str(caught.value)
    assert Config(dataset="csv", csv_path="points.csv").csv_path == "points.csv"


def test_unknown_field_in_replace_is_refused_by_name():
    with pytest.raises(ConfigError) as caught:
        Config().replace(learning_rate=0.2, hiden=(3,))
    message = str(caught.value)
    assert caught.value.field == "hiden"
    assert "hiden = (3,)" in message
    assert "a field of Config" in message and "hidden" in message


def test_unknown_field_in_from_dict_is_refused_not_ignored():
    data = Config().to_dict()
    data["bogus"] = 1
    with pytest.raises(ConfigError) as caught:
        Config.from_dict(data)
    assert caught.value.field == "bogus"
    assert "bogus = 1" in str(caught.value)


@pytest.mark.parametrize("data", [[1, 2], "seed", None])
def test_from_dict_refuses_a_non_object(data):
    with pytest.raises(ConfigError, match="JSON object"):
        Config.from_dict(data)


def test_from_dict_validates_values():
    data = Config().to_dict()
    data["learning_rate"] = -2
    with pytest.raises(ConfigError, match=r"^learning_rate = -2 "):
        Config.from_dict(data)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError) as caught:
        Config.preset("article2")
    assert caught.value.field == "preset"
    for name in PRESETS:
        assert name in str(caught.value)


def test_defaults_are_the_articles_setup():
    config = Config.preset("seed")
    assert config == Config()
    assert (config.dataset, config.samples, config.noise, config.data_seed) == (
        "moons",
        1000,
        0.2,
        4242,
    )
    assert (config.test_size, config.split_seed) == (0.25, 42)
    assert (config.hidden, config.activation, config.loss) == ((5,), "sigmoid", "sse")
    assert (config.init, config.init_range, config.weight_seed) == ("uniform", 0.1, 4242)
    assert (config.optimizer, config.learning_rate, config.batch_size) == ("gd", 0.1, 0)
    assert (config.l1, config.l2, config.iterations, config.threshold) == (0.0, 0.0, 20000, 0.5)


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_load_and_build_a_trainer(name):
    config = Config.preset(name)
    for field, value in PRESETS[name].items():
        expected = tuple(value) if field == "hidden" else value
        assert getattr(config, field) == expected
    trainer = Trainer(config)
    assert trainer.step(2).iteration == 2


def test_preset_overrides_win():
    config = Config.preset("spiral", learning_rate=0.02, hidden="4,4")
    assert config.learning_rate == 0.02 and config.hidden == (4, 4)
    assert config.dataset == "spiral" and config.optimizer == "adam"
    with pytest.raises(ConfigError, match=r"^learning_rate"):
        Config.preset("spiral", learning_rate=0)


@pytest.mark.parametrize("name", list(PRESETS))
def test_to_dict_from_dict_round_trip(name):
    config = Config.preset(name, l2=0.001, threshold=0.4)
    data = config.to_dict()
    assert set(data) == set(field_names())
    assert data["hidden"] == list(config.hidden)
    assert Config.from_dict(data) == config
    again = Config.from_dict(json.loads(config.to_json()))
    assert again == config
    assert again.to_json() == config.to_json()


@pytest.mark.parametrize(
    ("given", "parsed"),
    [("8,4", (8, 4)), (" 16 , 16 ", (16, 16)), ("5", (5,)), (5, (5,)), ([8, 4], (8, 4))],
)
def test_hidden_parses_to_a_tuple(given, parsed):
    assert Config(hidden=given).hidden == parsed


def test_config_is_frozen_and_hashable():
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.learning_rate = 0.5
    assert hash(config) == hash(Config())
    assert config.replace(learning_rate=0.5) != config
    assert config.learning_rate == 0.1


def test_integers_are_accepted_for_float_fields():
    config = Config(learning_rate=1, noise=0, l2=2)
    assert config.learning_rate == 1 and config.noise == 0 and config.l2 == 2
    assert all(type(value) is float for value in (config.learning_rate, config.noise, config.l2))
    assert config == Config(learning_rate=1.0, noise=0.0, l2=2.0)
    assert math.isclose(Config(test_size=0.5).test_size, 0.5)


def test_live_fields():
    base = Config()
    for name in ("learning_rate", "momentum", "l1", "l2", "threshold", "iterations"):
        assert name in LIVE_FIELDS
    assert base.is_live_change(base.replace(learning_rate=0.3, l2=0.1, iterations=5))
    for change in ({"hidden": (3,)}, {"batch_size": 8}, {"noise": 0.3}, {"weight_seed": 1}):
        assert not base.is_live_change(base.replace(**change))


FLOAT_FIELDS = [name for name, spec in FIELDS.items() if spec.kind == "float"]
INT_FIELDS = [name for name, spec in FIELDS.items() if spec.kind == "int"]


def test_every_field_is_described():
    assert tuple(FIELDS) == field_names()
    for name, spec in FIELDS.items():
        assert spec.label and spec.help.endswith("."), name
        assert spec.group in GROUPS, name
        assert spec.kind in {"choice", "int", "float", "layers", "path", "multi"}, name
        if spec.kind in {"int", "float", "layers"}:
            assert spec.low < spec.high, name
        if spec.used_if:
            other, values = spec.used_if
            assert set(values) <= set(FIELDS[other].choices), name
    assert {spec.group for spec in FIELDS.values()} == set(GROUPS)


def test_live_and_data_fields_come_from_the_descriptions():
    assert {n for n, s in FIELDS.items() if s.effect == "live"} == LIVE_FIELDS
    assert {"learning_rate", "momentum", "l1", "l2", "threshold", "iterations"} == LIVE_FIELDS
    assert {
        "dataset",
        "csv_path",
        "classes",
        "samples",
        "noise",
        "data_seed",
        "test_size",
        "split_seed",
    } == DATA_FIELDS


@pytest.mark.parametrize("name", FLOAT_FIELDS + INT_FIELDS)
def test_ranges_are_the_ones_validation_uses(name):
    """Each bound is accepted when closed and refused when open, and a step past it is refused."""
    spec = FIELDS[name]
    kind = float if spec.kind == "float" else int
    low, high = kind(spec.low), kind(spec.high)
    beyond_low = math.nextafter(low, -INF) if kind is float else low - 1
    beyond_high = math.nextafter(high, INF) if kind is float else high + 1
    for value, accepted in (
        (low, not spec.open_low),
        (high, not spec.open_high),
        (beyond_low, False),
        (beyond_high, False),
    ):
        if accepted:
            assert getattr(Config(**{name: value}), name) == value
        else:
            with pytest.raises(ConfigError, match=f"^{name} = ") as caught:
                Config(**{name: value})
            assert spec.allowed() in str(caught.value)


def test_seeds_take_every_32_bit_value():
    for name in ("data_seed", "split_seed", "weight_seed"):
        assert FIELDS[name].high == 2**32 - 1
        assert getattr(Config(**{name: 2**32 - 1}), name) == 2**32 - 1


@pytest.mark.parametrize("name", FLOAT_FIELDS + INT_FIELDS)
@pytest.mark.parametrize(
    "value", [10**400, -(10**400), 10**5000], ids=["1e400", "-1e400", "1e5000"]
)
def test_huge_integers_are_a_config_error(name, value):
    """float(10**400) raises OverflowError, and repr(10**5000) raises ValueError: neither leaks."""
    with pytest.raises(ConfigError, match=f"^{name} = <.*integer of about") as caught:
        Config(**{name: value})
    assert caught.value.value == value
    assert FIELDS[name].allowed() in str(caught.value)


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_non_finite_floats_are_refused_by_name(name, value):
    with pytest.raises(ConfigError, match=f"^{name} = -?(nan|inf) is not allowed: a finite number"):
        Config(**{name: value})


def test_negative_zero_is_zero():
    config = Config(noise=-0.0, l1=-0.0, l2=-0.0, momentum=-0.0, threshold=-0.0)
    for name in ("noise", "l1", "l2", "momentum", "threshold"):
        assert math.copysign(1.0, getattr(config, name)) == 1.0, name
    assert config == Config(noise=0.0, l1=0.0, l2=0.0, momentum=0.0, threshold=0.0)
    assert "-0.0" not in config.to_json()


@pytest.mark.parametrize("dataset", ["moons", "circles", "xor", "gauss", "spiral"])
def test_negative_zero_noise_draws_points(dataset):
    """numpy refuses a scale of -0.0 ("scale < 0"); the config hands it 0.0."""
    data = load_dataset(Config(dataset=dataset, noise=-0.0, samples=40))
    assert len(data.x_train) + len(data.x_test) == 40


def test_paths_are_text_or_none():
    assert Config(init_weights="").init_weights is None
    assert Config(dataset="csv", csv_path=Path("points.csv")).csv_path == "points.csv"
    assert Config(csv_path="x.csv").csv_path == "x.csv"  # kept, though only csv reads it
    with pytest.raises(ConfigError, match=r"^csv_path = None"):
        Config(dataset="csv", csv_path="")


def test_layer_limits():
    assert Config(hidden=(4096,) * 8).hidden == (4096,) * 8
    with pytest.raises(ConfigError, match="at most 8 hidden layers"):
        Config(hidden="1,1,1,1,1,1,1,1,1")


def test_a_config_error_survives_pickling_with_its_message_and_field():
    import pickle

    with pytest.raises(ConfigError) as refused:
        Config(learning_rate=-1.0)
    again = pickle.loads(pickle.dumps(refused.value))
    assert str(again) == str(refused.value) and again.field == "learning_rate"
