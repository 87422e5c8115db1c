"""Config: one clear ConfigError per bad value, presets, and the dict/JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from nnviz import Config, ConfigError, Trainer
from nnviz.core import PRESETS
from nnviz.core.config import LIVE_FIELDS, field_names

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
    ("loss", "ce", "sse, mse, bce"),
    ("init", "normal", "uniform, xavier, he"),
    ("optimizer", "sgd", "gd, momentum, adam"),
    ("dataset", "iris", "moons, circles, xor, gauss, spiral, csv"),
    ("batch_size", -1, "an integer >= 0"),
    ("batch_size", 1.5, "an integer >= 0"),
    ("batch_size", True, "an integer >= 0"),
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
    assert math.isclose(Config(test_size=0.5).test_size, 0.5)


def test_live_fields():
    base = Config()
    for name in ("learning_rate", "momentum", "l1", "l2", "threshold", "iterations"):
        assert name in LIVE_FIELDS
    assert base.is_live_change(base.replace(learning_rate=0.3, l2=0.1, iterations=5))
    for change in ({"hidden": (3,)}, {"batch_size": 8}, {"noise": 0.3}, {"weight_seed": 1}):
        assert not base.is_live_change(base.replace(**change))
