"""nnviz.flags: one flag per Config field from its description, one-line errors, no Qt."""

from __future__ import annotations

import argparse
import textwrap

import pytest
from qt_blocker import BLOCKER, run_python

from nnviz import Config, ConfigError
from nnviz.core.config import FIELDS, GROUPS
from nnviz.flags import (
    EXIT_USAGE,
    Parser,
    add_config_flags,
    config_from_args,
    config_overrides,
    flag,
    gui_parser,
)

#: A config in which every field differs from the defaults.
EVERYTHING = Config(
    dataset="csv",
    csv_path="points.csv",
    classes=3,
    samples=77,
    noise=0.125,
    data_seed=2**32 - 1,
    test_size=0.3,
    split_seed=7,
    hidden=(8, 4),
    features=("x1", "sinx2", "x1x2"),
    activation="tanh",
    loss="bce",
    init="xavier",
    init_range=0.5,
    weight_seed=4_000_000_000,
    seeds=2,
    optimizer="momentum",
    learning_rate=2e-6,
    batch_size=32,
    momentum=0.5,
    l1=0.001,
    l2=0.002,
    iterations=123,
    threshold=0.4,
    init_weights="start.npz",
)


def argv_for(config: Config) -> list[str]:
    """The flags a user types to get `config`."""
    argv = []
    for name, value in config.to_dict().items():
        if value is not None:
            text = ",".join(map(str, value)) if name in ("hidden", "features") else repr(value)
            argv += [flag(name), text.strip("'")]
    return argv


def parser() -> Parser:
    built = Parser(prog="test")
    add_config_flags(built)
    return built


def test_every_field_is_a_flag_and_round_trips():
    assert set(EVERYTHING.to_dict()) == set(FIELDS)
    assert all(getattr(EVERYTHING, n) != getattr(Config(), n) for n in FIELDS)
    args = parser().parse_args(argv_for(EVERYTHING))
    assert set(config_overrides(args)) == set(FIELDS)
    assert config_from_args(args) == EVERYTHING


def test_no_flags_is_the_seed_preset_and_flags_override_it():
    assert config_from_args(parser().parse_args([])) == Config.preset("seed")
    assert config_overrides(parser().parse_args([])) == {}
    args = parser().parse_args(["--preset", "xor", "--iterations", "20", "--hidden", "3"])
    assert config_from_args(args) == Config.preset("xor", iterations=20, hidden=(3,))


def test_a_base_config_takes_the_place_of_the_preset():
    base = Config.preset("experiment")
    args = parser().parse_args(["--preset", "xor", "--learning-rate", "0.5"])
    assert config_from_args(args, base) == base.replace(learning_rate=0.5)


def test_help_lists_groups_flags_ranges_and_conditions(capsys):
    with pytest.raises(SystemExit) as caught:
        parser().parse_args(["--help"])
    assert caught.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    for group in GROUPS:
        assert f"{group.lower()}:" in text
    for name, spec in FIELDS.items():
        assert flag(name) in text, name
        assert " ".join(spec.help.split()) in text, name
        if spec.kind in {"int", "float"}:
            assert spec.allowed()[1:] in text, name  # "An integer ..." with a capital
    assert "--momentum X Momentum" in text and "Used only with --optimizer momentum." in text
    assert "An integer from 0 to 4294967295" in text


def test_presets_can_be_extended():
    built = Parser(prog="test")
    add_config_flags(built, presets=["seed", "article"], preset_help="with article")
    assert built.parse_args(["--preset", "article"]).preset == "article"


@pytest.mark.parametrize(
    "argv",
    [
        ["--samples", "2.5"],
        ["--dataset", "mnist"],
        ["--learning-rate", "abc"],
        ["--bogus"],
        ["--preset", "nope"],
    ],
)
def test_a_bad_flag_is_one_line_and_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        parser().parse_args(argv)
    assert caught.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("test: error: ") and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["--learning-rate", "1e400"], "learning_rate"),  # float("1e400") is inf
        (["--noise", "-1"], "noise"),
        (["--momentum", "nan"], "momentum"),
        (["--weight-seed", "4294967296"], "weight_seed"),
        (["--samples", "1" + "0" * 400], "samples"),
        (["--hidden", "1,1,1,1,1,1,1,1,1"], "hidden"),
    ],
)
def test_values_config_refuses_are_config_errors(argv, name):
    args = parser().parse_args(argv)
    with pytest.raises(ConfigError) as caught:
        config_from_args(args)
    assert caught.value.field == name


def test_gui_parser_has_the_window_arguments_and_every_config_flag():
    built = gui_parser()
    args = built.parse_args(
        ["run.nnviz", "--train", "50", "--quit", "--window-size", "1280x800", "--weight-seed", "7"]
    )
    assert (args.session, args.train, args.quit, args.window_size) == (
        "run.nnviz",
        50,
        True,
        (1280, 800),
    )
    assert args.screenshot is None
    assert config_from_args(args) == Config(weight_seed=7)
    assert built.prog == "nnviz-gui"


@pytest.mark.parametrize("size", ["big", "100x100", "1280x800x2"])
def test_a_bad_window_size_is_one_line(capsys, size):
    with pytest.raises(SystemExit) as caught:
        gui_parser().parse_args(["--window-size", size])
    assert caught.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("nnviz-gui: error: argument --window-size") and err.count("\n") == 1


def test_flags_need_no_qt_and_neither_cli_nor_gui():
    code = BLOCKER + textwrap.dedent(
        """
        import nnviz.flags
        wrong = [m for m in sys.modules if m.startswith(("nnviz.cli", "nnviz.gui"))]
        assert not wrong, wrong
        assert not leaked(), leaked()
        args = nnviz.flags.gui_parser().parse_args(["--hidden", "3"])
        print(nnviz.flags.config_from_args(args).hidden)
        """
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(3,)"


def test_dest_is_the_field_name():
    args = parser().parse_args([])
    assert isinstance(args, argparse.Namespace)
    assert {name for name in FIELDS if hasattr(args, name)} == set(FIELDS)
