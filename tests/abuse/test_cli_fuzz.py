"""Seeded fuzzing of `nnviz train` and `nnviz sweep`: every flag, with valid, invalid and extreme
values (huge integers, 10**400, -0, nan, inf, empty text, other scripts' digits, negative numbers,
/dev/zero, FIFOs, folders, missing files).

The flags come from the real parser (`nnviz.cli.build_parser`), and each flag's kind from its
Config FieldSpec or its argparse type, so a new flag is fuzzed without a change here. Every command
line must end with exit status 0, 2 (a one-line error) or 3 (training diverged), never a traceback,
an "out of memory" or a hang.

Most cases run in a guarded worker process (this file run as a script) that imports nnviz once and
calls `nnviz.cli.main(argv)`, each case under an alarm of CASE_SECONDS, the worker under an
address-space limit (RLIMIT_AS) and with NNVIZ_MEMORY_BUDGET set below it; Qt is blocked there, so
pictures are skipped with a note. Two workers share the cases. A sample of the cases, and the
named hostile command lines of cli_regressions.py, run as real `python -m nnviz` processes under
the same limits, where the pictures are drawn; the named ones must also stay under 500 MB.

NNVIZ_FUZZ_SEED chooses another sequence, NNVIZ_FUZZ_CASES the number of cases (default 300). A
failing command line is printed; add it to cli_regressions.REGRESSIONS once fixed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import pytest
from cli_regressions import NAMED, NAMED_MEMORY_MB, REGRESSIONS
from guards import Hang, alarm

HERE = Path(__file__).resolve().parent
SEED = int(os.environ.get("NNVIZ_FUZZ_SEED", "20240612"))
CASES = int(os.environ.get("NNVIZ_FUZZ_CASES", "300"))
#: Cases run again as real processes (Qt drawing included): a sample, for time.
PROCESS_CASES = 24
#: The address space of every child: nnviz with NumPy and scikit-learn take about 400 MB of it.
ADDRESS_SPACE = 1536 * 2**20
#: What the children may plan for: the address space less what the libraries take.
BUDGET = "600M"
#: A hang guard per case, far above what any case takes.
CASE_SECONDS = 20
#: A command line that trains this many iterations, or sweeps this many runs, is a dry run.
MAX_ITERATIONS = 2000
MAX_RUNS = 20
EXIT_STATUSES = {0, 2, 3}  # done, refused, diverged

HUGE = "1" + "0" * 400
VERY_LONG = "9" * 5000
INTS = [
    "-1", "-0", "0", "+5", " 7 ", "1_000", "1e3", "0x10", "nan", "inf", "", "٣", "2.5",
    HUGE, f"-{HUGE}", VERY_LONG, "4294967296", "100000001",
]  # fmt: skip
FLOATS = [
    "-0", "-0.0", "nan", "-nan", "inf", "-inf", "1e308", "1e-320", "1e400", "-1e400", "",
    "0x1p3", "1_0.5", "٣.٥", HUGE, "-1", "2", "1e6", "1000001",
]  # fmt: skip
LAYERS = [
    "5", "1", "4096", ",".join(["4096"] * 8), ",".join(["4096"] * 9), "0", "-1", "", ",",
    "1,,2", "8;4", "a", HUGE, "1.5", " 3 , 4 ", "٣", "64,64,64", "1024,1024",
]  # fmt: skip
TEXTS = ["", "bogus", "SIGMOID", "ünïcödé", "☃", "-", "--", " "]
PATHS = [
    "{csv}", "{npz}", "{json}", "{missing}", "{dir}", "{fifo}", "/dev/zero", "/dev/null", "",
    "{long}", "{unicode}", "{empty}",
]  # fmt: skip
OUTS = ["{out}", "{dir}", "{npz}", "/dev/null", "/dev/zero", "", "{missing}/deeper/still", "{long}"]
SIZES = [
    "2G", "500M", "1000", "0", "-1", "", "abc", "1e9", "1.5G", "9" * 40, "1T", "0.0001K",
    "10 G", "1GiB", "100M",
]  # fmt: skip
SWEEP_VALUES = [
    "1,2", "", ",", "1e400", "nan", "-0", "8,4;16,16", "0", ",".join(["1"] * 1000), HUGE,
    "0.001,1", "tanh,relu", "1;2", "1e3,100", "x",
]  # fmt: skip
#: What a case gets unless it fuzzes that flag: small and fast.
BASE = {
    "train": {"--iterations": "3", "--samples": "200"},
    "sweep": {
        "--param": "hidden",
        "--values": "1,2",
        "--iterations": "3",
        "--samples": "200",
        "--jobs": "1",
        "--backend": "threading",
    },
}


# -- the cases ---------------------------------------------------------------------------------


def flags_of(command: str) -> dict[str, tuple[str, list[str], list[str]]]:
    """Every option of `nnviz <command>`: flag -> (kind, valid values, hostile values)."""
    from nnviz.cli import build_parser
    from nnviz.core.config import FIELDS

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = {}
    for action in commands.choices[command]._actions:
        if not action.option_strings or action.dest == "help":
            continue
        spec = FIELDS.get(action.dest)
        type_name = getattr(action.type, "__name__", "")
        if action.nargs == 0:
            kind, valid, hostile = "switch", [], []
        elif action.choices:
            kind, valid, hostile = "choice", list(action.choices), TEXTS
        elif spec is not None and spec.kind in ("int", "float"):
            kind = spec.kind
            low, high = spec.low, spec.high
            middle = (low + high) / 2
            if kind == "int":
                valid = [str(int(low)), str(int(high)), str(int(middle)), str(int(low) + 1)]
            else:
                valid = [repr(low), repr(middle), repr(high), repr(low + (high - low) / 7)]
            hostile = INTS if kind == "int" else FLOATS
        elif spec is not None and spec.kind == "layers":
            kind, valid, hostile = "layers", ["5", "8,4", "16,16", "2"], LAYERS
        elif spec is not None and spec.kind == "path":
            kind, valid, hostile = "path", ["{csv}" if "csv" in spec.suffixes else "{npz}"], PATHS
        elif action.dest == "out":
            kind, valid, hostile = "out", ["{out}"], OUTS
        elif type_name == "memory_budget_text":
            kind, valid, hostile = "size", ["500M", "2G"], SIZES
        elif action.type is int:
            kind, valid, hostile = "int", ["1", "2", "3", "-1"], INTS
        elif action.dest == "param":
            names = [name.replace("_", "-") for name in FIELDS] + list(FIELDS)
            kind, valid, hostile = "text", names, TEXTS
        elif action.dest == "values":
            kind, valid, hostile = "text", ["1,2", "0.1,0.5", "3"], SWEEP_VALUES
        else:
            kind, valid, hostile = "text", ["x"], TEXTS
        found[action.option_strings[-1]] = (kind, valid, hostile)
    return found


def generate(seed: int, count: int) -> list[list[str]]:
    """`count` command lines, the same for the same seed."""
    rng = random.Random(seed)
    flags = {command: flags_of(command) for command in ("train", "sweep")}
    cases = []
    for _ in range(count):
        command = rng.choice(("train", "sweep"))
        chosen = rng.sample(sorted(flags[command]), rng.choice((1, 1, 2, 3)))
        argv = dict(BASE[command])
        for flag in chosen:
            kind, valid, hostile = flags[command][flag]
            if kind == "switch":
                argv[flag] = None
                continue
            pool = valid if valid and rng.random() < 0.5 else hostile or valid
            argv[flag] = rng.choice(pool)
        cases.append(bounded([command, *_flatten(argv)]))
    return cases


def _flatten(argv: dict[str, str | None]) -> list[str]:
    return [part for flag, value in argv.items() for part in (flag, value) if part is not None]


def bounded(argv: list[str]) -> list[str]:
    """`argv`, as a dry run when it asks for valid but long work (many iterations or runs)."""

    def number(flag: str, default: int) -> int:
        if flag not in argv or argv.index(flag) + 1 >= len(argv):
            return default
        try:
            return int(argv[argv.index(flag) + 1])
        except ValueError:
            return default

    values = argv[argv.index("--values") + 1] if "--values" in argv[:-1] else "1"
    runs = number("--repeats", 1) * (values.count(",") + values.count(";") + 1)
    if "--preset" in argv and "article" in argv:
        runs *= 19
    if number("--iterations", 0) > MAX_ITERATIONS or (argv[0] == "sweep" and runs > MAX_RUNS):
        return [*argv, "--dry-run"]
    return argv


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    """The files the placeholders name: valid inputs, special files and missing paths."""
    import numpy as np

    from nnviz.core import Config, Trainer, save_weights

    base = tmp_path_factory.mktemp("cli-fuzz")
    (base / "folder").mkdir()
    os.mkfifo(base / "fifo")
    rng = np.random.default_rng(0)
    rows = "".join(
        f"{x:.3f},{y:.3f},{i % 2}\n" for i, (x, y) in enumerate(rng.normal(size=(40, 2)))
    )
    (base / "points.csv").write_text("x1,x2,label\n" + rows)
    weights = Trainer(Config(iterations=0)).weights()
    save_weights(base / "weights.npz", weights)
    save_weights(base / "weights.json", weights)
    (base / "empty.csv").write_text("")
    (base / "ünïcödé ☃.csv").write_text("x1,x2,label\n" + rows)
    return {
        "csv": str(base / "points.csv"),
        "npz": str(base / "weights.npz"),
        "json": str(base / "weights.json"),
        "missing": str(base / "missing"),
        "dir": str(base / "folder"),
        "fifo": str(base / "fifo"),
        "long": str(base / ("x" * 300)),
        "unicode": str(base / "ünïcödé ☃.csv"),
        "empty": str(base / "empty.csv"),
        "root": str(base),
    }


def filled(argv: list[str], places: dict[str, str], index: int) -> list[str]:
    """`argv` with its placeholders replaced; each case writes into an --out of its own."""
    names = {**places, "out": str(Path(places["root"], "out", str(index)))}
    return [part.format(**names) if "{" in part else part for part in argv]


def problems(result: dict) -> list[str]:
    """What is wrong with one case's outcome (nothing, if it passed)."""
    found = []
    err = result["stderr"]
    if result.get("exception"):
        found.append(f"raised: {result['exception'].strip().splitlines()[-1]}")
    if result.get("hang"):
        found.append(f"no answer within {CASE_SECONDS} s")
    if result["status"] not in EXIT_STATUSES:
        found.append(f"exit status {result['status']}")
    if "Traceback" in err:
        found.append("a traceback on stderr")
    if "out of memory" in err:
        found.append("ran out of memory within the budget")
    if result["status"] == 2:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        if not (last.startswith("nnviz") and "error:" in last):
            found.append(f"status 2 without a one-line error: {err[-300:]!r}")
    return found


def report(results: list[dict]) -> str:
    lines = []
    for result in results:
        for problem in problems(result):
            lines.append(
                f"  {result['argv']!r}: {problem}\n    stderr: {result['stderr'][-400:]!r}"
            )
    return f"{len(lines)} failures:\n" + "\n".join(lines[:40])


# -- running them ------------------------------------------------------------------------------


def child_environment() -> dict[str, str]:
    env = {
        **os.environ,
        "NNVIZ_MEMORY_BUDGET": BUDGET,
        "QT_QPA_PLATFORM": "offscreen",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    env.pop("DISPLAY", None)
    return env


#: Runs `python argv[2:]` under the address-space limit in a fresh child and writes that child's
#: peak resident memory (KiB) and wait status to argv[1]. A child of this small launcher, not of
#: pytest: a child's ru_maxrss starts from its parent's at fork and is kept across exec, and with
#: preexec_fn the fork would also copy this whole (threaded) process.
LAUNCHER = f"""
import os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{{usage.ru_maxrss}} {{status}}")
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def limited(report: Path, *command: str) -> list[str]:
    """`python *command` under the limits, its peak memory and status written to `report`."""
    return [sys.executable, "-c", LAUNCHER, str(report), *command]


def run_workers(cases: list[list[str]], folder: Path, workers: int = 2) -> list[dict]:
    """The cases split over `workers` guarded worker processes; their results in case order."""
    started = []
    for index in range(workers):
        given, taken = folder / f"cases{index}.json", folder / f"results{index}.json"
        given.write_text(json.dumps(cases[index::workers]))
        started.append(
            (
                subprocess.Popen(
                    limited(folder / f"worker{index}", __file__, "worker", str(given), str(taken)),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=child_environment(),
                ),
                taken,
            )
        )
    shares = []
    for process, taken in started:
        out, err = process.communicate(timeout=CASE_SECONDS * len(cases))
        if process.returncode != 0 or not taken.exists():
            pytest.fail(
                f"a fuzz worker failed ({process.returncode}):\n{out[-2000:]}\n{err[-4000:]}"
            )
        shares.append(json.loads(taken.read_text()))
    return [shares[i % workers][i // workers] for i in range(len(cases))]


def run_measured(argv: list[str]) -> dict:
    """One command line as a real process under the limits, with its own peak memory."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        report, err = Path(folder, "report"), Path(folder, "stderr")
        with err.open("wb") as stderr:
            child = subprocess.Popen(
                limited(report, "-m", "nnviz", *argv),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=child_environment(),
                start_new_session=True,  # one process group: a hang is killed with its child
            )
            try:
                child.wait(timeout=CASE_SECONDS)  # a hang guard, not a measurement
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        hang = not report.exists()
        kib, status = map(int, report.read_text().split()) if not hang else (0, 0)
        text = err.read_bytes().decode(errors="replace")
    return {
        "argv": argv,
        "status": None if hang else os.waitstatus_to_exitcode(status),
        "stderr": text,
        "hang": hang,
        "seconds": time.perf_counter() - started,
        "mb": kib / 1024,
    }


# -- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cases() -> list[list[str]]:
    return generate(SEED, CASES)


def test_every_flag_is_fuzzed(cases):
    """The generator reaches every flag of both commands, so a new flag cannot be missed."""
    for command in ("train", "sweep"):
        used = {part for case in cases if case[0] == command for part in case}
        assert set(flags_of(command)) - set(BASE[command]) <= used | {"--dry-run"}, command


def test_generation_is_seeded():
    assert generate(7, 20) == generate(7, 20) != generate(8, 20)
    assert bounded(["train", "--iterations", "100000000"])[-1] == "--dry-run"
    assert bounded(["sweep", "--repeats", "5000", "--values", "1,2"])[-1] == "--dry-run"
    assert bounded(["train", "--iterations", "3"]) == ["train", "--iterations", "3"]


def test_the_commands_survive_fuzzing(cases, places, tmp_path):
    every = [*REGRESSIONS, *cases]
    argvs = [filled(argv, places, index) for index, argv in enumerate(every)]
    started = time.perf_counter()
    results = run_workers(argvs, tmp_path)
    outcomes = Counter(result["status"] for result in results)
    slowest = max(results, key=lambda result: result["seconds"])
    print(
        f"\nseed {SEED}: {len(results)} command lines ({len(REGRESSIONS)} recorded) in "
        f"{time.perf_counter() - started:.1f} s; exit statuses {dict(outcomes)}; slowest "
        f"{slowest['seconds']:.2f} s; peak memory {max(r['mb'] for r in results):.0f} MB"
    )
    assert len(results) >= CASES
    assert not any(problems(result) for result in results), report(results)


@pytest.mark.slow
def test_a_sample_survives_as_real_processes(cases, places):
    """Real `python -m nnviz` processes (pictures drawn with Qt), two at a time."""
    sample = random.Random(SEED).sample(range(len(cases)), min(PROCESS_CASES, len(cases)))
    argvs = [filled(cases[index], places, 10_000 + index) for index in sample]
    results = _two_at_a_time(argvs)
    print(
        f"\n{len(results)} processes; exit statuses {dict(Counter(r['status'] for r in results))}"
    )
    assert not any(problems(result) for result in results), report(results)


def test_named_command_lines_are_refused_at_once(places):
    argvs = [filled(argv, places, 20_000 + index) for index, argv in enumerate(NAMED)]
    results = _two_at_a_time(argvs)
    print("\nnamed command line: exit status, seconds, peak memory")
    for result in results:
        print(
            f"  {result['status']} {result['seconds']:.2f} s {result['mb']:.0f} MB {result['argv']}"
        )
    assert not any(problems(result) for result in results), report(results)
    for result in results:
        assert result["status"] == 2, result
        assert len(result["stderr"].strip().splitlines()) == 1, result["stderr"]
        assert result["mb"] < NAMED_MEMORY_MB, result


def _two_at_a_time(argvs: list[list[str]]) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run_measured, argvs))


# -- the worker (a child process) --------------------------------------------------------------


def peak_mb() -> float:
    """This process's resident high-water mark (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def run_case(argv: list[str]) -> dict:
    """`nnviz.cli.main(argv)` with its output captured and its exit status, exception or hang."""
    from nnviz.cli import main

    out, err = io.StringIO(), io.StringIO()
    result: dict = {"argv": argv, "exception": None, "hang": False}
    reset_peak()
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), alarm(CASE_SECONDS):
            status = main(argv)
    except SystemExit as done:
        status = done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    except Hang:
        status, result["hang"] = None, True
    except BaseException:  # anything else escaping main is a failure to report
        status, result["exception"] = None, traceback.format_exc()
    result.update(
        status=status,
        stderr=err.getvalue(),
        seconds=time.perf_counter() - started,
        mb=peak_mb(),
    )
    return result


def worker(given: str, taken: str) -> None:
    """Run the cases in `given` (JSON) and write their results to `taken`, Qt blocked."""
    import warnings

    sys.modules["nnviz.gui.plots"] = None  # type: ignore[assignment]  # pictures: a note, no Qt
    warnings.filterwarnings("error", module="nnviz")  # as pytest.ini_options does
    results = [run_case(argv) for argv in json.loads(Path(given).read_text())]
    Path(taken).write_text(json.dumps(results))


if __name__ == "__main__":
    worker(sys.argv[2], sys.argv[3])
