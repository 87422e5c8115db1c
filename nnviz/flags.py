"""Command-line flags for `nnviz` and `nnviz-gui`, built from the Config's field descriptions.

Every Config field is a flag (snake_case field = --kebab-case flag) whose help, choices and
metavar come from `nnviz.core.config.FIELDS`, so a new field or a changed range shows up in
`--help` by itself. Both the CLI (nnviz.cli) and the window's launcher (nnviz.gui.app) parse
through here; this module imports neither of them, nor Qt, so it never ties the two together.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .core import PRESETS, Config, ConfigError, DataError, FileFormatError
from .core.budget import Budget, BudgetError, parse_size
from .core.config import FIELDS, GROUPS, FieldSpec

EXIT_USAGE = 2
#: Mistakes in what the user asked for: one line on stderr and exit status 2, never a traceback.
USER_ERRORS = (ConfigError, DataError, FileFormatError, BudgetError)

_METAVARS = {"int": "N", "float": "X", "layers": "W[,W...]", "path": "FILE", "multi": "F[,F...]"}


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag prints one line and exits 2 instead of the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def usage_error(prog: str, message: object) -> int:
    """Report a user mistake found after parsing the way Parser reports a bad flag."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def flag(name: str) -> str:
    """The flag of Config field `name`: learning_rate -> --learning-rate."""
    return "--" + name.replace("_", "-")


def flag_help(spec: FieldSpec) -> str:
    """The field's help, its range for numbers, and when it is used at all."""
    parts = [spec.help]
    if spec.kind in {"int", "float", "multi"}:
        allowed = spec.allowed()
        parts.append(f"{allowed[0].upper()}{allowed[1:]}.")
    if spec.used_if:
        other, values = spec.used_if
        parts.append(f"Used only with {flag(other)} {'/'.join(values)}.")
    return " ".join(parts).replace("%", "%%")  # argparse formats help with %


def add_config_flags(
    parser: argparse.ArgumentParser,
    *,
    presets: Sequence[str] = tuple(PRESETS),
    preset_help: str = "starting setup (default: seed)",
) -> None:
    """--preset, then one flag per Config field in its group; an unset flag keeps the preset."""
    top = parser.add_argument_group("configuration", "Flags override the --preset's values.")
    top.add_argument("--preset", choices=list(presets), help=preset_help)
    groups = {group: parser.add_argument_group(group.lower()) for group in GROUPS}
    for name, spec in FIELDS.items():
        options: dict[str, Any] = {"dest": name, "help": flag_help(spec)}
        if spec.kind == "choice":
            options["choices"] = spec.choices
        else:
            options["metavar"] = _METAVARS[spec.kind]
            options["type"] = {"int": int, "float": float, "path": path_text}.get(spec.kind, str)
        groups[spec.group].add_argument(flag(name), **options)


def path_text(text: str) -> str:
    """A path flag's value: an empty one (`--out ""`, an unset shell variable) is refused rather
    than taken as "no file", which would silently write or read nothing."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file")
    if "\0" in text:
        raise argparse.ArgumentTypeError("a path cannot contain a NUL character")
    return text


def memory_budget_text(text: str) -> Budget:
    """`--memory-budget 2G` as a Budget (K, M, G, T are powers of 1024; plain numbers are bytes)."""
    try:
        return Budget(parse_size(text), f"--memory-budget {text.strip()}")
    except BudgetError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_budget_flags(parser: argparse.ArgumentParser) -> None:
    """--memory-budget and --dry-run, for the commands that train."""
    parser.add_argument(
        "--memory-budget",
        type=memory_budget_text,
        metavar="SIZE",
        help="refuse runs that need more memory than this, such as 2G or 500M "
        "(default: NNVIZ_MEMORY_BUDGET, else half the available memory)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the memory estimate and whether it fits the budget, then exit "
        "without training (status 2 if it does not fit)",
    )


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The Config fields the user gave as flags."""
    return {name: getattr(args, name) for name in FIELDS if getattr(args, name, None) is not None}


def config_from_args(args: argparse.Namespace, base: Config | None = None) -> Config:
    """`base` (by default the --preset, else seed) with every config flag the user gave applied.

    Raises ConfigError for a value, or a combination, that Config refuses.
    """
    overrides = config_overrides(args)
    if base is None:
        return Config.preset(getattr(args, "preset", None) or "seed", **overrides)
    return base.replace(**overrides)


def window_size(text: str) -> tuple[int, int]:
    """`--window-size 1280x800` as (width, height), within what a screen can show."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 1280x800") from None
    if not (320 <= width <= 8000 and 240 <= height <= 8000):
        raise argparse.ArgumentTypeError(f"{text!r} is outside 320x240 to 8000x8000")
    return width, height


def add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    """The window's own arguments: a session to open and the scripted run."""
    parser.add_argument(
        "session", nargs="?", type=path_text, help="a session file (.nnviz) to open"
    )
    window = parser.add_argument_group("window")
    window.add_argument("--train", type=int, metavar="N", help="train N iterations after opening")
    window.add_argument(
        "--screenshot",
        type=path_text,
        metavar="FILE",
        help="save a PNG of the window after --train",
    )
    window.add_argument("--quit", action="store_true", help="exit after --train and --screenshot")
    window.add_argument(
        "--window-size", type=window_size, metavar="WxH", help="window size, e.g. 1280x800"
    )


def gui_parser(prog: str = "nnviz-gui") -> Parser:
    """The parser of `nnviz-gui`: the same flags as `nnviz gui`."""
    parser = Parser(
        prog=prog, description="Open the nnviz window: watch a NumPy neural network learn."
    )
    parser.add_argument("--version", action="version", version=f"nnviz {__version__}")
    add_gui_arguments(parser)
    add_config_flags(parser)
    return parser
