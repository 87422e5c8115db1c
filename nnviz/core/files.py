"""File formats: weights (.npz/.json), data and history CSV (the run folder is in `run_files`).

Every write goes to a temporary file beside the file it replaces (through a symlink, beside the
symlink's target) and is renamed into place, so a failure never leaves a partial file. Every read
takes regular files only, through `readers`, within size and row caps, and refuses pickles,
oversize claims, malformed arrays and values that are not finite.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from .config import SAMPLES_MAX
from .datasets import MAX_CSV_BYTES, MAX_CSV_CLASSES, Dataset, csv_columns
from .history import COLUMNS, HistoryArrays
from .readers import (
    check_zip_directory,
    csv_rows,
    kind_of,
    open_regular,
    parse_json,
    read_capped,
)

#: Most bytes the arrays of one .npz may claim, together and each (a 4096 x 4096 layer is 128 MiB).
MAX_ARRAY_BYTES = 256 * 1024 * 1024
#: An .npz file: its arrays, plus the zip's own headers.
MAX_NPZ_BYTES = MAX_ARRAY_BYTES + 2**20
#: An .npz (or JSON weights file) holds at most this many arrays, listed in at most this many
#: bytes of zip directory.
MAX_ARRAYS = 64
MAX_ZIP_DIRECTORY_BYTES = 2**20
#: A JSON weights file: about 700,000 weights as `save_weights` writes them. Parsed JSON takes up
#: to 12 times its text in memory, so larger networks are saved as .npz.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: The lists and objects in a JSON weights file: one per matrix row is about 33,000 at most.
MAX_JSON_CONTAINERS = 65_536
#: A history file: the trainer keeps about 2048 rows; a row nnviz writes takes at most 117 bytes.
MAX_HISTORY_ROWS = 65_536
MAX_HISTORY_BYTES = 128 * MAX_HISTORY_ROWS
#: Iterations are kept in the history's float64 column, exact up to here.
MAX_ITERATION = 2**53


class FileFormatError(ValueError):
    """A file could not be read or written; the message names the file and the problem."""


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write(handle)` on a temporary file beside the file `path` names, then rename it
    into place.

    A symlink is written through: its target is replaced, with its permissions, and the link
    stays. An existing path that is not a regular file (a device such as /dev/null, a FIFO, a
    folder) is refused rather than replaced by a regular file.
    """
    path = Path(path)
    target, mode = _write_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as error:
        raise FileFormatError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)  # mkstemp makes 0600
        os.replace(temp, target)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise FileFormatError(f"cannot write {path}: {error.strerror or error}") from None
        raise
    return path


def _write_target(path: Path) -> tuple[Path, int]:
    """The file `path` names, through any symlinks, and the permissions it is to have: its own
    if it exists, else those a plain open() would give."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target, _FILE_MODE
    except OSError as error:  # a symlink loop, or a file where a folder should be
        raise FileFormatError(f"cannot write {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        raise FileFormatError(f"cannot write {path}: it is {kind_of(mode)}, not a regular file")
    return target, stat.S_IMODE(mode)


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; done once, at import
    os.umask(mask)
    return mask


#: Files get the permissions a plain open() would give them.
_FILE_MODE = 0o666 & ~_read_umask()


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def _json_safe(value: Any) -> Any:
    """NaN and infinities (an undefined AUC, a diverged loss) become null: strict JSON."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def json_text(document: Any) -> str:
    return json.dumps(_json_safe(document), indent=2, allow_nan=False)


# -- weights ---------------------------------------------------------------------------------


def save_weights(path: str | Path, weights: Mapping[str, np.ndarray]) -> Path:
    """Write `W1, b1, ...` to .npz (exact binary) or .json (exact decimal), by the suffix."""
    path = Path(path)
    if path.suffix == ".json":
        data = {name: np.asarray(array).tolist() for name, array in weights.items()}
        return write_text(path, json.dumps(data, indent=1))
    if path.suffix != ".npz":
        raise FileFormatError(f"{path.name}: weights are saved as .npz or .json")
    return atomic_write(path, lambda handle: np.savez(handle, **dict(weights)))


def stack_seed_weights(
    weights: Sequence[Mapping[str, np.ndarray]], seeds: Sequence[int]
) -> dict[str, np.ndarray]:
    """The weights of several seeds of one network as one file's arrays: `seeds` (the weight
    seeds) and `W1`, `b1`, ... with a leading seed axis, so `W1[k]` is seed k's. One seed's
    weights stay `W1`, `b1`, ... as they are (no `seeds`)."""
    if len(weights) == 1:
        return dict(weights[0])
    stacked = {name: np.stack([w[name] for w in weights]) for name in weights[0]}
    return {"seeds": np.asarray(seeds, dtype=np.int64), **stacked}


def split_seed_weights(arrays: Mapping[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """`stack_seed_weights` undone: one weight dict per seed (a single one for a file without
    `seeds`); shapes are checked against the network later."""
    if "seeds" not in arrays:
        return [dict(arrays)]
    count = np.asarray(arrays["seeds"]).shape
    if len(count) != 1 or count[0] < 1:
        raise FileFormatError("seeds must list the weight seeds, one number a seed")
    rest = {name: values for name, values in arrays.items() if name != "seeds"}
    for name, values in rest.items():
        if values.ndim < 2 or len(values) != count[0]:
            raise FileFormatError(f"{name} must hold one array for each of the {count[0]} seeds")
    return [{name: values[k] for name, values in rest.items()} for k in range(count[0])]


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Read a weight dict from .npz or .json, a regular file only; shapes are checked later
    against the network."""
    path = Path(path)
    is_json = path.suffix == ".json"
    limit = MAX_JSON_BYTES if is_json else MAX_NPZ_BYTES
    what = "JSON weights files" if is_json else ".npz weights files"
    with open_regular(path, limit, FileFormatError, what) as handle:
        try:
            if is_json:
                return _json_weights(
                    read_capped(handle, limit, path.name, FileFormatError), path.name
                )
            return read_npz(handle, path.name, max_bytes=MAX_ARRAY_BYTES)
        except OSError as error:
            raise FileFormatError(f"cannot read {path}: {error.strerror or error}") from None


def _json_weights(data: bytes, name: str) -> dict[str, np.ndarray]:
    # Lists and strings cost most memory per byte of text (an empty list: 64 bytes for 3); a
    # weights file has one list per matrix row and a name per array, so count them first.
    containers, quotes = data.count(b"[") + data.count(b"{"), data.count(b'"')
    if containers > MAX_JSON_CONTAINERS or quotes > 4 * MAX_ARRAYS:
        raise FileFormatError(
            f"{name} holds {containers:,} lists and {quotes:,} quotes; a weights file has at "
            f"most {MAX_JSON_CONTAINERS:,} lists (one per matrix row) and {MAX_ARRAYS} names"
        )
    document = parse_json(data, name, FileFormatError)
    if not isinstance(document, dict):
        raise FileFormatError(f"{name} must hold an object of named arrays")
    arrays = {}
    for key, value in document.items():
        try:
            arrays[key] = np.array(value, dtype=float)
        except OverflowError:  # an integer such as 10**400
            raise FileFormatError(f"{name}: {key} holds a number too large for a float") from None
        except (TypeError, ValueError):
            raise FileFormatError(f"{name}: {key} is not a numeric array") from None
    return _checked_arrays(arrays, name)


def read_npz(source: IO[bytes] | bytes, name: str, *, max_bytes: int) -> dict[str, np.ndarray]:
    """The arrays of an .npz (a seekable file or bytes), read one at a time.

    NumPy's own loader allocates whatever shape an .npy header states before reading a byte of
    data, so a tiny file could ask for terabytes. This refuses, before reading any array: too many
    members, claims over `max_bytes` (each and together), encrypted or unknown compression,
    pickled (object) arrays, types that are not numbers, and shapes larger than their member.
    """
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    check_zip_directory(
        handle,
        name,
        FileFormatError,
        max_members=MAX_ARRAYS,
        max_bytes=MAX_ZIP_DIRECTORY_BYTES,
    )
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            _check_claims(infos, name, max_bytes)
            arrays = {}
            for info in infos:
                key = info.filename.removesuffix(".npy")
                if key in arrays:
                    raise FileFormatError(f"{name} holds {key} twice")
                with archive.open(info) as member:
                    arrays[key] = _read_npy(member, info, key, name)
    except FileFormatError:
        raise
    except (
        ValueError,
        TypeError,
        OSError,
        EOFError,
        struct.error,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
        RuntimeError,
    ) as error:
        raise FileFormatError(f"{name} is not a valid .npz file: {error}") from None
    return _checked_arrays(arrays, name)


def _check_claims(infos: list[zipfile.ZipInfo], name: str, max_bytes: int) -> None:
    if len(infos) > MAX_ARRAYS:
        raise FileFormatError(f"{name} holds {len(infos)} arrays; nnviz reads at most {MAX_ARRAYS}")
    for info in infos:
        if info.flag_bits & 0x1:
            raise FileFormatError(f"{name}: member {info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FileFormatError(
                f"{name}: member {info.filename} uses an unsupported compression method"
            )
        if info.file_size > max_bytes:
            raise FileFormatError(
                f"{name}: member {info.filename} claims {info.file_size} bytes, more than nnviz "
                f"accepts ({max_bytes})"
            )
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise FileFormatError(
            f"{name}: its arrays claim {total} bytes, more than nnviz accepts ({max_bytes})"
        )


def _read_npy(member: IO[bytes], info: zipfile.ZipInfo, key: str, name: str) -> np.ndarray:
    """One array, its header checked against its member before anything is allocated."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise FileFormatError(f"{name}: {info.filename} is .npy version {version}, not 1.0 or 2.0")
    if dtype.hasobject:
        raise FileFormatError(f"{name} holds pickled objects, which nnviz refuses to load")
    if dtype.kind not in "iuf":
        raise FileFormatError(f"{name}: {key} has type {dtype}, expected numbers")
    count = math.prod(shape)
    if any(size < 0 for size in shape) or count * dtype.itemsize > info.file_size:
        raise FileFormatError(
            f"{name}: {info.filename} claims shape {shape} of {dtype}, more than its "
            f"{info.file_size} bytes hold"
        )
    values = np.empty(count, dtype)
    raw, filled = values.view(np.uint8), 0
    while filled < raw.size:
        chunk = member.read(min(2**20, raw.size - filled))
        if not chunk:
            raise FileFormatError(f"{name}: {info.filename} ends before its {shape} values")
        raw[filled : filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
        filled += len(chunk)
    if member.read(1):  # also where zipfile compares the CRC, at the member's end
        raise FileFormatError(f"{name}: {info.filename} holds more than its {shape} values")
    return values.reshape(shape[::-1]).T if fortran_order else values.reshape(shape)


def _checked_arrays(arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """The arrays as float64, if there are not too many and every value is finite."""
    if len(arrays) > MAX_ARRAYS:
        raise FileFormatError(
            f"{name} holds {len(arrays)} arrays; nnviz reads at most {MAX_ARRAYS}"
        )
    checked = {}
    for key, values in arrays.items():
        with np.errstate(over="ignore", invalid="ignore"):  # too large for a float64: inf
            values = values.astype(float, copy=False)
        if not np.all(np.isfinite(values)):
            raise FileFormatError(f"{name}: {key} contains NaN or infinite values")
        checked[key] = values
    return checked


# -- tables ----------------------------------------------------------------------------------


def _csv_text(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def data_csv_text(data: Dataset) -> str:
    """x1, x2, ..., label (or target), split; floats in shortest round-trip form so they read
    back exactly. Labels are written as whole numbers, regression targets as floats."""
    inputs = [f"x{i + 1}" for i in range(data.n_inputs)]
    regression = data.task == "regression"
    rows = []
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        rows.extend(
            (
                *(repr(float(v)) for v in point),
                repr(float(label)) if regression else int(label),
                split,
            )
            for point, label in zip(x, y)
        )
    return _csv_text([*inputs, "target" if regression else "label", "split"], rows)


def history_csv_text(history: HistoryArrays) -> str:
    """The text `save_history_csv` writes; `load_history_csv` reads it back exactly."""
    columns = [getattr(history, name) for name in COLUMNS]
    rows = [(int(row[0]), *(repr(float(v)) for v in row[1:])) for row in zip(*columns)]
    return _csv_text(list(COLUMNS), rows)


def save_data_csv(path: str | Path, data: Dataset) -> Path:
    return write_text(path, data_csv_text(data))


def save_history_csv(path: str | Path, history: HistoryArrays) -> Path:
    return write_text(path, history_csv_text(history))


def read_data_csv(
    stream: IO[bytes], name: str = "data.csv", n_classes: int | None = None, *, drawn: bool = False
) -> Dataset:
    """The Dataset of `data_csv_text` output, rows in file order, every value checked; at most
    SAMPLES_MAX rows are read.

    The header x1,...,xd,label,split holds classes (two: binary; more: multiclass), and
    x1,...,xd,target,split a regression target. `n_classes`, when the caller knows it (a
    session's config), keeps classes that no point has any more (all drawn away). `drawn`
    (a session's points) also reads a canvas that cannot train yet: fewer than 2 training rows,
    or one class or none (then two classes, unless `n_classes` says more).
    """
    rows = csv_rows(stream, name, FileFormatError, max_bytes=MAX_CSV_BYTES, max_rows=SAMPLES_MAX)
    header = next(rows, (0, None))[1]
    columns = csv_columns(header or [])
    if columns is None or header != [
        *(f"x{i + 1}" for i in range(columns[0])),
        columns[1],
        "split",
    ]:
        raise FileFormatError(f"{name}: expected the header x1,x2,label,split")
    inputs, kind = columns
    regression = kind == "target"
    splits = {"train": (array("d"), array("d")), "test": (array("d"), array("d"))}
    for line, row in rows:
        try:
            if len(row) != inputs + 2:
                raise ValueError
            values = [float(cell) for cell in row[: inputs + 1]]
            points, labels = splits[row[-1]]
        except (ValueError, KeyError):
            raise FileFormatError(
                f"{name} line {line}: expected {','.join(header)} with split train or test"
            ) from None
        label = values[-1]
        good = label % 1 == 0 and 0 <= label < MAX_CSV_CLASSES
        if not all(math.isfinite(v) for v in values) or not (regression or good):
            rule = "a finite target" if regression else f"a label from 0 to {MAX_CSV_CLASSES - 1}"
            raise FileFormatError(f"{name} line {line}: needs finite x1, x2, ... and {rule}")
        points.extend(values[:inputs])
        labels.append(label + 0.0)  # -0 reads as 0
    (x_train, y_train), (x_test, y_test) = (
        (np.array(points, dtype=float).reshape(-1, inputs), np.array(labels, dtype=float))
        for points, labels in splits.values()
    )
    if len(x_train) < 2 and not drawn:  # no test row is fine: a drawing before its 4th point
        raise FileFormatError(f"{name} needs at least 2 train rows")
    if regression:
        return Dataset(x_train, y_train, x_test, y_test, "regression", 0)
    present = np.unique(np.concatenate([y_train, y_test]))
    if present.size < 2 and not drawn:
        raise FileFormatError(f"{name} holds only one class; at least two are needed")
    classes = max(int(present.max(initial=1)) + 1, n_classes or 0)
    task = "binary" if classes == 2 else "multiclass"
    return Dataset(x_train, y_train, x_test, y_test, task, classes)


def read_history_csv(stream: IO[bytes], name: str = "history.csv") -> np.ndarray:
    """A (rows, 5) table of history CSV, every value checked: iterations whole, losses finite
    and >= 0 or nan (a split with no point: a drawing's empty test split, or a row recorded
    while a drawing had no training point; such rows stay in the history once points are
    drawn), accuracies from 0 to 1 (nan for a regression); at most MAX_HISTORY_ROWS rows are
    read."""
    rows = csv_rows(
        stream, name, FileFormatError, max_bytes=MAX_HISTORY_BYTES, max_rows=MAX_HISTORY_ROWS
    )
    if next(rows, (0, None))[1] != list(COLUMNS):
        raise FileFormatError(f"{name}: expected the header {','.join(COLUMNS)}")
    table = array("d")
    for line, row in rows:
        if len(row) != len(COLUMNS):
            raise FileFormatError(f"{name} line {line}: every row needs {len(COLUMNS)} values")
        try:
            values = [float(value) for value in row]
        except ValueError:
            raise FileFormatError(f"{name} line {line}: every value must be a number") from None
        problem = _history_problem(values)
        if problem:
            raise FileFormatError(f"{name} line {line}: {problem}")
        table.extend(values)
    return np.array(table, dtype=float).reshape(-1, len(COLUMNS))


def _history_problem(row: list[float]) -> str | None:
    iteration = row[0]
    if not (0 <= iteration <= MAX_ITERATION and iteration % 1 == 0):
        return f"iteration {row[0]!r} must be a whole number from 0 to 2**53"
    for column, value in zip(COLUMNS[1:3], row[1:3]):
        if not (math.isnan(value) or (math.isfinite(value) and value >= 0)):
            return f"{column} {value!r} must be a finite number >= 0 (or nan, for no points)"
    for column, value in zip(COLUMNS[3:], row[3:]):
        if not (0 <= value <= 1 or math.isnan(value)):  # NaN: a regression has no accuracy
            return f"{column} {value!r} must be from 0 to 1 (or nan, for regression)"
    return None


def load_history_csv(text: str, name: str = "history.csv") -> np.ndarray:
    """`read_history_csv` for text already in memory."""
    return read_history_csv(io.BytesIO(text.encode("utf-8")), name)
