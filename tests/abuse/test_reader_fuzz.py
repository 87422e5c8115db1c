"""Seeded fuzzing of every reader of a file a user names: CSV points, JSON and .npz weights, and
.nnviz sessions.

Each case starts from a valid file nnviz itself writes and breaks it (bit flips, truncations,
inserted bytes, huge size claims in zip and .npy headers, deep nesting, huge numbers, edited
fields and rows), or swaps in a special file (a FIFO, /dev/zero, a folder, a socket, a symlink
loop). Reading it must either give valid, finite data or raise one of nnviz's own errors
(FileFormatError, SessionError, DataError, ConfigError): never another exception, never a hang,
never memory without bound. The cases run in a child process under an address-space limit
(RLIMIT_AS), each under an alarm, so a regression fails the test instead of taking the machine.

NNVIZ_FUZZ_SEED chooses another sequence, NNVIZ_FUZZ_CASES the number of cases. A failing input
is saved and named in the failure message; copy it into reader_regressions/ (its name starts with
its surface: csv-, json-, npz- or session-) and it is read on every run from then on. The named
cases of issues 11 and 15 (bombs, zip64, FIFO, /dev/zero, deep JSON, 10**400) are built by
named_reader_cases.py, and each must be refused within 500 MB.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import resource
import struct
import subprocess
import sys
import time
import traceback
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from guards import Hang, alarm
from named_reader_cases import HISTORY_HEADER, NAMED, zip_with

if sys.platform != "linux":
    pytest.skip("the worker measures memory through /proc/self (Linux)", allow_module_level=True)

HERE = Path(__file__).resolve().parent
REGRESSIONS = HERE / "reader_regressions"
SEED = int(os.environ.get("NNVIZ_FUZZ_SEED", "20240611"))
CASES = int(os.environ.get("NNVIZ_FUZZ_CASES", "1200"))
#: The child's address space: Python, NumPy and scikit-learn take about 400 MB of it.
ADDRESS_SPACE = 1536 * 2**20
#: A hang guard per case, far above what any read takes.
CASE_SECONDS = 20
READ_MEMORY_MB = 500
SUFFIX = {"csv": ".csv", "json": ".json", "npz": ".npz", "session": ".nnviz"}


# -- the tests (in pytest's process) -------------------------------------------------------------


def run_worker(mode: str, out: Path, *args: str) -> dict:
    """Run this file as a child in `mode`; its summary, or a failure with its output."""
    command = [sys.executable, str(Path(__file__)), mode, str(out), *args]
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    summary = out / "summary.json"
    if done.returncode != 0 or not summary.exists():
        pytest.fail(f"the fuzz worker failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(summary.read_text())


def describe_failures(failures: list[dict]) -> str:
    lines = [f"{len(failures)} reads ended badly (inputs kept to copy into {REGRESSIONS}):"]
    for failure in failures[:30]:
        lines.append(
            f"  {failure['surface']} case {failure['case']} ({failure['mutation']}): "
            f"{failure['error']}\n    input: {failure['file']}"
        )
    return "\n".join(lines)


def test_readers_survive_fuzzing(tmp_path):
    summary = run_worker("fuzz", tmp_path, str(SEED), str(CASES))
    print(
        f"\nseed {SEED}: {summary['total']} cases in {summary['seconds']:.1f} s, peak RSS "
        f"{summary['peak_mb']:.0f} MB; by surface {summary['surfaces']}; outcomes "
        f"{summary['outcomes']}; most memory for one read {summary['heaviest']}, slowest read "
        f"{summary['slowest']}"
    )
    assert summary["total"] >= CASES
    assert not summary["failures"], describe_failures(summary["failures"])
    assert summary["heaviest"]["peak_mb"] < READ_MEMORY_MB, summary["heaviest"]


def test_recorded_failures_stay_fixed(tmp_path):
    summary = run_worker("files", tmp_path, str(REGRESSIONS))
    assert summary["total"] == len(list(REGRESSIONS.iterdir()))
    assert not summary["failures"], describe_failures(summary["failures"])


@pytest.fixture(scope="module")
def named(tmp_path_factory) -> dict[str, dict]:
    """Every named case, read once in one guarded child (its memory measured case by case)."""
    summary = run_worker("named", tmp_path_factory.mktemp("named"))
    print("\nnamed case: seconds, peak memory above the worker's own")
    for name, result in summary["named"].items():
        print(f"  {name}: {result['seconds']:.2f} s, {result['peak_mb']:.0f} MB: {result['error']}")
    return summary["named"]


@pytest.mark.parametrize("name", list(NAMED))
def test_named_case_is_refused_clearly(named, name):
    _, error_type, fragment = NAMED[name]
    result = named[name]
    assert result["outcome"] == "refused", result["error"]
    assert result["error"].startswith(f"{error_type}: "), result["error"]
    assert fragment in result["error"]
    assert "Traceback" not in result["error"]
    assert result["peak_mb"] < READ_MEMORY_MB


# -- the worker (a child process) ------------------------------------------------------------------


class Invalid(AssertionError):
    """A read succeeded but gave data nnviz should have refused."""


def check_points(points) -> None:
    import numpy as np

    from nnviz.core.config import SAMPLES_MAX
    from nnviz.core.datasets import MAX_CSV_CLASSES, MAX_INPUTS

    x, y = points
    inputs = x.shape[1] if x.ndim == 2 else 0
    if not (2 <= inputs <= MAX_INPUTS and len(x) == len(y) and 8 <= len(x) <= SAMPLES_MAX):
        raise Invalid(f"points of shape {x.shape} with {len(y)} labels")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise Invalid("non-finite points or targets")
    if y.dtype.kind == "i" and not (  # class labels (a float y is a regression target)
        set(np.unique(y)) <= set(range(MAX_CSV_CLASSES)) and np.unique(y).size >= 2
    ):
        raise Invalid("labels outside 0..15, or a single class")


def check_weights(weights) -> None:
    import numpy as np

    for name, array in weights.items():
        if not (isinstance(name, str) and array.dtype == np.float64):
            raise Invalid(f"{name!r} of type {array.dtype}")
        if not np.all(np.isfinite(array)):
            raise Invalid(f"{name} is not finite")


def check_trainer(trainer) -> None:
    """A loaded session is a state nnviz could have written: finite, in range, saveable."""
    import numpy as np

    from nnviz.core import TrainingDiverged
    from nnviz.core.session import load_session_bytes, session_bytes

    state = trainer.training_state()
    history = state["history"]
    losses = np.concatenate([history.train_loss, history.test_loss])
    accuracies = np.concatenate([history.train_accuracy, history.test_accuracy])
    if not (np.all(np.isfinite(losses)) and np.all(losses >= 0)):
        raise Invalid("history losses that are not finite numbers >= 0")
    if not np.all((accuracies >= 0) & (accuracies <= 1)):
        raise Invalid("history accuracies outside [0, 1]")
    if np.any(state["optimizer"].get("second", 0) < 0):
        raise Invalid("a negative Adam second moment")
    for key in ("iteration", "diverged_at", "record_every"):
        if state[key] is not None and state[key] > 2**53:
            raise Invalid(f"{key} = {state[key]}")
    check_weights(trainer.weights())
    load_session_bytes(session_bytes(trainer))  # what loads can be saved and loaded again
    with suppress(TrainingDiverged):
        trainer.advance(1)


def read(surface: str, path: Path, case: int = 0) -> None:
    """Read `path` as `surface`; raises Invalid for bad data that was accepted."""
    from nnviz.core import Config, Trainer
    from nnviz.core.datasets import load_points_csv
    from nnviz.core.files import load_weights
    from nnviz.core.network import Layout
    from nnviz.core.session import load_session, load_weights_for

    if surface == "csv":
        check_points(load_points_csv(path))
    elif surface in ("json", "npz"):
        way = case % 3
        if way == 0:
            check_weights(load_weights(path))
        elif way == 1:
            check_weights(load_weights_for(path, Layout((4,))))
        else:
            trainer = Trainer(Config(samples=60, hidden=(4,), init_weights=str(path)))
            check_weights(trainer.weights())
    elif surface == "session":
        check_trainer(load_session(path))
    elif surface == "session-init-weights":  # the session opens; its weights file is refused
        trainer = load_session(path)
        Trainer(trainer.config)
    else:
        raise ValueError(f"unknown surface {surface}")


def outcome(surface: str, path: Path, case: int = 0) -> tuple[str, str]:
    """("ok" | "refused" | "failed", what happened), with the read under an alarm."""
    from nnviz.core import ConfigError, DataError, FileFormatError

    try:
        with alarm(CASE_SECONDS):
            read(surface, path, case)
    except (FileFormatError, DataError, ConfigError) as error:
        return "refused", f"{type(error).__name__}: {error}"
    except (Exception, Hang) as error:  # every other exception is the finding
        where = traceback.extract_tb(error.__traceback__)[-1]
        text = f"{type(error).__name__}: {str(error)[:300]}"
        return "failed", f"{text} (at {Path(where.filename).name}:{where.lineno})"
    return "ok", ""


# -- valid files to start from ---------------------------------------------------------------------


def base_files(folder: Path) -> dict[str, bytes]:
    from nnviz.core import Config, Trainer, save_weights
    from nnviz.core.files import data_csv_text
    from nnviz.core.session import session_bytes

    adam = Config(samples=60, hidden=(4,), optimizer="adam", batch_size=16, learning_rate=0.01)
    trainer = Trainer(adam)
    trainer.advance(30)
    plain = Trainer(Config(samples=40, hidden=(3, 2), optimizer="momentum"))
    plain.advance(12)
    save_weights(folder / "base.json", trainer.weights())
    save_weights(folder / "base.npz", trainer.weights())
    points = b"x1,x2,label\n" + b"".join(
        f"{a!r},{b!r},{int(y)}\n".encode()
        for (a, b), y in zip(trainer.data.x_train.tolist(), trainer.data.y_train)
    )
    return {
        "csv": data_csv_text(trainer.data).encode(),
        "csv-plain": points,
        "json": (folder / "base.json").read_bytes(),
        "npz": (folder / "base.npz").read_bytes(),
        "session": session_bytes(trainer),
        "session-plain": session_bytes(plain),
    }


# -- mutations -----------------------------------------------------------------------------------

Mutation = Callable[[bytes, random.Random], bytes]
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
#: Numbers that have broken readers: too large for a float, too long to parse, not finite,
#: negative zero, out of every range.
NUMBERS = [
    b"1e400",
    b"-1e400",
    b"1" + b"0" * 400,
    b"9" * 5000,
    b"-" + b"9" * 4301,
    b"nan",
    b"NaN",
    b"inf",
    b"-Infinity",
    b"-0.0",
    b"1e-400",
    b"7.5",
    b"-1",
    b"2",
    b"1e308",
    b"9007199254740993",
    b"0x10",
    b"1_0",
    b"",
    b"\xd9\xa1",
    b"true",
    b"null",
    b"[]",
]
INSERTS = [
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b'"',
    b"\r",
    b"\r\n",
    b",",
    b"\n" * 1000,
    b"[",
    b"{",
    b"}",
    b"\\",
    b"PK\x05\x06",
    b"PK\x03\x04",
]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 3, 8, 32])):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def insert(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    blob = rng.choice(INSERTS) if rng.random() < 0.7 else rng.randbytes(rng.randrange(1, 64))
    return data[:at] + blob + data[at:]


def delete(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randrange(1, 200) :]


def repeat(data: bytes, rng: random.Random) -> bytes:
    """A span repeated up to a few thousand times (at most about 4 MB)."""
    at = rng.randrange(len(data))
    span = data[at : at + rng.randrange(1, 100)]
    times = min(rng.choice([2, 10, 1000, 50_000]), 4_000_000 // max(len(span), 1))
    return data[:at] + span * times + data[at:]


def number(data: bytes, rng: random.Random) -> bytes:
    matches = list(NUMBER.finditer(data))
    if not matches:
        return insert(data, rng)
    match = rng.choice(matches)
    return data[: match.start()] + rng.choice(NUMBERS) + data[match.end() :]


BYTES = [flip_bits, truncate, insert, delete, repeat]


# CSV text


def csv_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    choice = rng.randrange(7)
    if choice == 0:  # one row many times
        row = rng.choice(lines[1:] or lines)
        lines[1:1] = [row] * rng.choice([10, 1000, 30_000])
    elif choice == 1:  # a very long line
        lines.insert(rng.randrange(len(lines)), b"1," * rng.choice([100, 70_000, 300_000]))
    elif choice == 2:  # a field opened by a quote and never closed
        lines.insert(rng.randrange(len(lines)), b'"0.5,0.5,1')
    elif choice == 3:  # the header changed
        lines[0] = rng.choice([b"", b"x1,x2", b"X1 , X2 , LABEL", b"x1,x2,label,split,extra"])
    elif choice == 4:  # rows shuffled, or cut down to a few
        if rng.random() < 0.5:
            rng.shuffle(lines)
        else:
            del lines[rng.randrange(1, 12) :]
    elif choice == 5:  # a cell of a random row replaced
        row = rng.randrange(len(lines))
        cells = lines[row].split(b",")
        cells[rng.randrange(len(cells))] = rng.choice([*NUMBERS, b"train", b"test", b"valid"])
        lines[row] = b",".join(cells)
    else:  # other line endings
        return data.replace(b"\n", rng.choice([b"\r\n", b"\r", b"\n\n", b"\x0b"]))
    return b"\n".join(lines)


CSV = [*BYTES, number, number, csv_lines, csv_lines, csv_lines]


# JSON text


def json_nesting(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice([3, 50, 900, 1100, 5000, 70_000, 200_000])
    opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    nested = opener * depth + b"1" + closer * depth
    matches = list(NUMBER.finditer(data))
    match = rng.choice(matches) if matches else None
    if match is None:
        return nested
    return data[: match.start()] + nested + data[match.end() :]


def json_structure(data: bytes, rng: random.Random) -> bytes:
    """Valid JSON of the wrong shape: other types, many small containers, duplicate names."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return insert(data, rng)
    if not isinstance(document, dict) or not document:
        return json.dumps([document]).encode()
    key = rng.choice(sorted(document))
    choice = rng.randrange(6)
    if choice == 0:
        document[key] = rng.choice([None, True, "x", {}, [], [[]], [[1.0], [2.0, 3.0]], 1.5])
    elif choice == 1:
        document[key] = [[] for _ in range(rng.choice([10, 100_000]))]
    elif choice == 2:
        document[f"{key}x" * rng.choice([1, 1000])] = document[key]
    elif choice == 3:
        document = {f"W{i}": [[0.5]] for i in range(rng.choice([9, 70, 5000]))}
    elif choice == 4:
        document = rng.choice([[], "weights", 3, None, [document]])
    else:  # a duplicate name, written by hand: json.dumps cannot
        text = json.dumps(document).encode()
        return text[:-1] + b", " + json.dumps(key).encode() + b": [[1e400]]}"
    return json.dumps(document).encode()


JSON = [*BYTES, number, number, json_nesting, json_structure, json_structure]


# zip archives: .npz weights and .nnviz sessions

#: (signature, field offset, struct format) of the size, count and offset fields zipfile trusts.
ZIP_FIELDS = [
    (b"PK\x03\x04", 6, "H"),
    (b"PK\x03\x04", 8, "H"),
    (b"PK\x03\x04", 18, "I"),
    (b"PK\x03\x04", 22, "I"),
    (b"PK\x03\x04", 26, "H"),
    (b"PK\x03\x04", 28, "H"),
    (b"PK\x01\x02", 8, "H"),
    (b"PK\x01\x02", 10, "H"),
    (b"PK\x01\x02", 20, "I"),
    (b"PK\x01\x02", 24, "I"),
    (b"PK\x01\x02", 24, "I"),
    (b"PK\x01\x02", 28, "H"),
    (b"PK\x01\x02", 30, "H"),
    (b"PK\x01\x02", 42, "I"),
    (b"PK\x05\x06", 10, "H"),
    (b"PK\x05\x06", 12, "I"),
    (b"PK\x05\x06", 16, "I"),
    (b"PK\x05\x06", 20, "H"),
]


def zip_field(data: bytes, rng: random.Random) -> bytes:
    """One size, count, offset or flag field of a zip header set to a lie."""
    signature, offset, kind = rng.choice(ZIP_FIELDS)
    places = [m.start() for m in re.finditer(re.escape(signature), data)]
    if not places:
        return flip_bits(data, rng)
    at = rng.choice(places) + offset
    if at + struct.calcsize(kind) > len(data):
        return truncate(data, rng)
    top = 0xFFFF if kind == "H" else 0xFFFFFFFF
    (old,) = struct.unpack_from("<" + kind, data, at)
    new = rng.choice([0, 1, top, top - 1, old + 1, max(old - 1, 0), min(old * 1000, top)])
    new = min(new, top) if rng.random() < 0.8 else rng.randrange(top + 1)
    out = bytearray(data)
    struct.pack_into("<" + kind, out, at, new)
    return bytes(out)


def zip64_end(data: bytes, rng: random.Random) -> bytes:
    """A zip64 end record and locator before the end record, announcing a huge directory."""
    end = data.rfind(b"PK\x05\x06")
    if end < 0:
        return zip_field(data, rng)
    count = rng.choice([1, 9, 3_000_000, 2**40, 2**64 - 1])
    size = rng.choice([0, 46, 2**20 + 1, 2**32, 2**63])
    offset = rng.choice([0, end, 2**62])
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1)
    tail = bytearray(data[end:])
    if rng.random() < 0.7:
        struct.pack_into("<HHII", tail, 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    return data[:end] + record + locator + bytes(tail)


def zip_members(data: bytes) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()}
    except Exception:  # a mutated zip may not open: then there is nothing to edit
        return None


def rezip(members: dict[str, bytes], rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    method = rng.choice([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, payload in members.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), payload)
    return buffer.getvalue()


DESCRS = [
    "<f8",
    ">f8",
    "<f4",
    "<f2",
    "<i8",
    "|u1",
    "|b1",
    "<c16",
    "|O",
    "<U4",
    "|V8",
    "<f16",
    "|S0",
]
SHAPES = [(10**12,), (2**62, 2**62), (-1,), (0,), (3,), (1,) * 40, (), (4, 1)]


def npy_header(data: bytes, rng: random.Random) -> bytes:
    """One array's .npy header rewritten: another shape (claims huge or negative), type or order,
    followed by the old array data."""
    members = zip_members(data)
    if not members:
        return zip_field(data, rng)
    name = rng.choice(sorted(members))
    payload = members[name]
    start = payload.find(b"{")
    end = payload.find(b"}", start)
    if start < 0 or end < 0:
        return zip_field(data, rng)
    shape = rng.choice(SHAPES)
    header = (
        f"{{'descr': '{rng.choice(DESCRS)}', 'fortran_order': {rng.choice(['False', 'True'])}, "
        f"'shape': {shape}, }}"
    ).encode()
    header = header + b" " * (-(len(header) + 11) % 64) + b"\n"
    version = rng.choice([b"\x01\x00", b"\x02\x00", b"\x03\x00"])
    size = struct.pack("<H" if version == b"\x01\x00" else "<I", len(header))
    members[name] = b"\x93NUMPY" + version + size + header + payload[end + 1 :].lstrip(b" \n")
    return rezip(members, rng)


def npz_values(data: bytes, rng: random.Random) -> bytes:
    """One element of one array set to a value that cannot be a state: NaN, infinite, huge,
    negative (an Adam second moment), or a fractional step count."""
    import numpy as np

    members = zip_members(data)
    if not members:
        return zip_field(data, rng)
    arrays = {}
    for name, payload in members.items():
        try:
            arrays[name.removesuffix(".npy")] = np.load(io.BytesIO(payload), allow_pickle=False)
        except Exception:  # a member that is no array is left out
            continue
    if not arrays:
        return zip_field(data, rng)
    key = rng.choice(sorted(arrays))
    array = np.array(arrays[key], dtype=float)
    value = rng.choice([np.nan, np.inf, -1.0, -1e308, 1e308, 2.5, 1e300, -0.0, 2.0**70])
    if array.size:
        array.flat[rng.randrange(array.size)] = value
    else:
        array = np.array(value)
    arrays[key] = array
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz_members(data: bytes, rng: random.Random) -> bytes:
    """Members added, removed or repeated."""
    members = zip_members(data)
    if not members:
        return zip_field(data, rng)
    name = rng.choice(sorted(members))
    choice = rng.randrange(3)
    if choice == 0:
        del members[name]
    elif choice == 1:
        members[f"{name}x"] = members[name]
    else:
        members.update({f"m{i}.npy": members[name] for i in range(rng.choice([2, 70, 3000]))})
    return rezip(members, rng)


ZIP = [*BYTES, zip_field, zip_field, zip64_end]
NPZ = [*ZIP, npy_header, npy_header, npz_values, npz_values, npz_members]


# sessions: a member edited, then zipped again


def edit_json_field(data: bytes, rng: random.Random) -> bytes:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return number(data, rng)
    if not isinstance(document, dict) or not document:
        return number(data, rng)
    target, key = document, rng.choice(sorted(document))
    while isinstance(target[key], dict) and target[key] and rng.random() < 0.7:
        target = target[key]
        key = rng.choice(sorted(target))
    target[key] = rng.choice(
        [
            10**400,
            -1,
            0,
            2**53 + 1,
            2**64,
            float("inf"),
            float("nan"),
            None,
            "x",
            [],
            {},
            True,
            -0.0,
            7.5,
            10**20,
            1e308,
            [8] * 9,
            [4097],
            "../../etc/passwd",
        ]
    )
    return json.dumps(document).encode()


def history_row(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    rows = [i for i, line in enumerate(lines[1:], start=1) if line]
    if not rows:
        return csv_lines(data, rng)
    row = rng.choice(rows)
    cells = lines[row].split(b",")
    column = rng.randrange(len(cells))
    cells[column] = rng.choice(
        [
            b"-1",
            b"nan",
            b"inf",
            b"-inf",
            b"7.5",
            b"1e400",
            b"-0.0",
            b"1.5",
            b"1e308",
            b"2.5",
            b"9" * 30,
        ]
    )
    lines[row] = b",".join(cells)
    return b"\n".join(lines)


def member_bomb(name: str, rng: random.Random) -> tuple[bytes, int]:
    """A large, very compressible member (up to 10 MB) and the size its headers will claim."""
    rows = {
        "history.csv": (HISTORY_HEADER, b"0,0.1,0.1,0.5,0.5\n"),
        "data.csv": (b"x1,x2,label,split\n", b"0.5,0.5,1,train\n"),
    }.get(name, (b"", b"\x00" * 64))
    count = rng.choice([10_000, 100_000, 600_000]) // max(len(rows[1]) // 16, 1)
    payload = rows[0] + rows[1] * count
    return payload, rng.choice([len(payload), 1000, 2**31 - 1])


MEMBER_MUTATIONS = {
    ".json": [edit_json_field, edit_json_field, json_nesting, number, *BYTES],
    ".csv": [history_row, history_row, csv_lines, number, *BYTES],
    ".npz": [npz_values, npz_values, npy_header, npz_members, zip_field, *BYTES],
}


def session_member(data: bytes, rng: random.Random) -> bytes:
    members = zip_members(data)
    if not members:
        return zip_field(data, rng)
    name = rng.choice(sorted(members))
    if rng.random() < 0.04:
        payload, claim = member_bomb(name, rng)
        del members[name]
        import zlib

        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = compressor.compress(payload) + compressor.flush()
        return zip_with(
            members, {name: (packed, len(payload), zlib.crc32(payload))}, claims={name: claim}
        )
    mutation = rng.choice(MEMBER_MUTATIONS.get(Path(name).suffix, BYTES))
    members[name] = mutation(members[name], rng)
    if rng.random() < 0.1:
        del members[rng.choice(sorted(members))]
    return rezip(members, rng)


SESSION = [*ZIP, session_member, session_member, session_member, session_member, session_member]

#: surface -> (base files to start from, mutations)
SURFACES = {
    "csv": (["csv", "csv-plain"], CSV),
    "json": (["json"], JSON),
    "npz": (["npz"], NPZ),
    "session": (["session", "session-plain"], SESSION),
}
WEIGHTS = {"csv": 3, "json": 2, "npz": 2, "session": 4}


# -- special files ---------------------------------------------------------------------------------


def special_files(folder: Path, suffix: str) -> Iterator[tuple[str, Path]]:
    """Paths that are not regular files, or lead nowhere, each with the surface's suffix."""
    import socket

    folder.mkdir()
    for name, target in (
        ("zero", "/dev/zero"),
        ("null", "/dev/null"),
        ("random", "/dev/urandom"),
        ("status", "/proc/self/status"),
    ):
        (folder / f"{name}{suffix}").symlink_to(target)
        yield f"symlink to {target}", folder / f"{name}{suffix}"
    os.mkfifo(folder / f"fifo{suffix}")
    yield "FIFO, no writer", folder / f"fifo{suffix}"
    os.mkfifo(folder / f"written{suffix}")
    writer = os.open(folder / f"written{suffix}", os.O_RDWR | os.O_NONBLOCK)
    try:
        yield "FIFO with a writer", folder / f"written{suffix}"
    finally:
        os.close(writer)
    (folder / f"folder{suffix}").mkdir()
    yield "a folder", folder / f"folder{suffix}"
    (folder / f"a{suffix}").symlink_to(folder / f"b{suffix}")
    (folder / f"b{suffix}").symlink_to(folder / f"a{suffix}")
    yield "a symlink loop", folder / f"a{suffix}"
    (folder / f"dangling{suffix}").symlink_to(folder / "nowhere")
    yield "a dangling symlink", folder / f"dangling{suffix}"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / f"socket{suffix}"))
    try:
        yield "a socket", folder / f"socket{suffix}"
    finally:
        server.close()
    (folder / f"empty{suffix}").write_bytes(b"")
    yield "an empty file", folder / f"empty{suffix}"
    with (folder / f"sparse{suffix}").open("wb") as handle:
        handle.truncate(8 * 2**30)
    yield "an 8 GiB sparse file", folder / f"sparse{suffix}"


# -- the worker's modes ----------------------------------------------------------------------------


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fuzz(out: Path, seed: int, cases: int) -> dict:
    base = base_files(out)
    surfaces = [name for name, weight in WEIGHTS.items() for _ in range(weight)]
    counts, outcomes, failures = Counter(), Counter(), []

    heaviest = {"case": None, "peak_mb": 0.0}
    slowest = {"case": None, "seconds": 0.0}

    def record(surface: str, case: int, mutation: str, path: Path) -> None:
        result, message, seconds, memory = measured(surface, path, case)
        if memory > heaviest["peak_mb"]:
            heaviest.update(case=f"{surface} {case} ({mutation})", peak_mb=memory)
        if seconds > slowest["seconds"]:
            slowest.update(case=f"{surface} {case} ({mutation})", seconds=seconds)
        counts[surface] += 1
        outcomes[f"{surface} {result}"] += 1
        if result == "failed":
            kept = out / "failures" / f"{surface}-{seed}-{case}{SUFFIX[surface]}"
            kept.parent.mkdir(exist_ok=True)
            if path.is_file() and not path.is_symlink():
                kept.write_bytes(path.read_bytes())
            failures.append(
                {
                    "surface": surface,
                    "case": case,
                    "mutation": mutation,
                    "error": message,
                    "file": str(kept) if kept.exists() else str(path),
                }
            )

    for surface, suffix in SUFFIX.items():
        for index, (what, path) in enumerate(special_files(out / f"special-{surface}", suffix)):
            record(surface, -1 - index, what, path)
    for case in range(cases):
        rng = random.Random(f"{seed}-{case}")
        surface = rng.choice(surfaces)
        starts, mutations = SURFACES[surface]
        data = base[rng.choice(starts)]
        names = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            mutation = rng.choice(mutations) if data else insert
            names.append(mutation.__name__)
            try:
                data = mutation(data, rng)
            except Exception:  # a structured mutation that cannot parse an earlier one's output
                names.append("flip_bits")
                data = flip_bits(data, rng)
        path = out / f"case{SUFFIX[surface]}"
        path.write_bytes(data)
        record(surface, case, "+".join(names), path)
    return {
        "total": sum(counts.values()),
        "surfaces": dict(counts),
        "heaviest": heaviest,
        "slowest": slowest,
        "outcomes": dict(sorted(outcomes.items())),
        "failures": failures,
    }


def read_files(out: Path, folder: Path) -> dict:
    failures, outcomes = [], Counter()
    for path in sorted(folder.iterdir()):
        surface = path.name.split("-")[0]
        result, message = outcome(surface, path)
        outcomes[result] += 1
        if result == "failed":
            failures.append(
                {
                    "surface": surface,
                    "case": path.name,
                    "mutation": "kept file",
                    "error": message,
                    "file": str(path),
                }
            )
    return {"total": sum(outcomes.values()), "outcomes": dict(outcomes), "failures": failures}


def memory_mb(field: str) -> float:
    """A line of /proc/self/status in MB: VmRSS now, or VmHWM, the most since the last reset."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def measured(surface: str, path: Path, case: int = 0) -> tuple[str, str, float, float]:
    """`outcome`, its seconds, and the memory it took above what was resident before: the
    high-water mark is reset first (Linux: /proc/self/clear_refs), so the peak is the read's own
    and not what building its input took."""
    Path("/proc/self/clear_refs").write_text("5")
    before = memory_mb("VmRSS")
    start = time.perf_counter()
    result, message = outcome(surface, path, case)
    return result, message, time.perf_counter() - start, memory_mb("VmHWM") - before


def read_named(out: Path) -> dict:
    """Each named case built, then read and measured."""
    import gc

    base = base_files(out)
    results = {}
    for index, (name, (build, _, _)) in enumerate(NAMED.items()):
        folder = out / f"named{index}"
        folder.mkdir()
        surface, path = build(folder, base)
        gc.collect()
        result, message, seconds, memory = measured(surface, path)
        results[name] = {"outcome": result, "error": message, "seconds": seconds, "peak_mb": memory}
        for item in folder.iterdir():  # free the disk: some inputs are hundreds of MB
            if item.is_file() and not item.is_symlink():
                item.unlink()
    return {"named": results}


def main(argv: list[str]) -> None:
    mode, out = argv[0], Path(argv[1])
    # imported before the limit: they are not what is measured
    import sklearn.datasets  # noqa: F401

    import nnviz.core.session  # noqa: F401

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    warnings.filterwarnings("error", module="nnviz")  # as pytest.ini_options has it
    start = time.perf_counter()
    if mode == "fuzz":
        summary = fuzz(out, int(argv[2]), int(argv[3]))
    elif mode == "files":
        summary = read_files(out, Path(argv[2]))
    else:
        summary = read_named(out)
    summary.update(seconds=time.perf_counter() - start, peak_mb=peak_mb())
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
