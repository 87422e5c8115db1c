"""File formats: weights (.npz/.json), data and history CSV (the run folder is in `run_files`).

Every write goes to a temporary file in the target folder and is renamed into place, so a failure
never leaves a partial file. Every read refuses pickles, oversize claims and malformed arrays.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .datasets import Dataset
from .history import COLUMNS, HistoryArrays

#: Largest uncompressed size an .npz member may claim, and largest JSON weights file.
MAX_ARRAY_BYTES = 256 * 1024 * 1024


class FileFormatError(ValueError):
    """A file could not be read or written; the message names the file and the problem."""


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write(handle)` on a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise FileFormatError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _FILE_MODE)  # mkstemp makes 0600; give the usual permissions
        os.replace(temp, path)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise FileFormatError(f"cannot write {path}: {error.strerror or error}") from None
        raise
    return path


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


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Read a weight dict from .npz or .json; shapes are checked later against the network."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise FileFormatError(f"cannot read {path}: {error.strerror or error}") from None
    if path.suffix == ".json":
        if size > MAX_ARRAY_BYTES:
            raise FileFormatError(f"{path.name} is too large for a weights file ({size} bytes)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise FileFormatError(f"{path.name} is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise FileFormatError(f"{path.name} must hold an object of named arrays")
        arrays = {}
        for name, value in data.items():
            try:
                arrays[name] = np.array(value, dtype=float)
            except (TypeError, ValueError):
                raise FileFormatError(f"{path.name}: {name} is not a numeric array") from None
        return _checked_arrays(arrays, path.name)
    try:
        with path.open("rb") as handle:
            return read_npz(handle, path.name)
    except OSError as error:
        raise FileFormatError(f"cannot read {path}: {error.strerror or error}") from None


def read_npz(source: IO[bytes] | bytes, name: str) -> dict[str, np.ndarray]:
    """Arrays of an .npz, refusing pickles, huge claims (see `check_npz_claims`) and bad values."""
    limit = 2 * MAX_ARRAY_BYTES + 2**20  # the members' cap plus the zip's own overhead
    data = source if isinstance(source, bytes) else source.read(limit + 1)
    if len(data) > limit:
        raise FileFormatError(f"{name} is {len(data)} bytes or more, more than nnviz accepts")
    check_npz_claims(data, name)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise FileFormatError(f"{name} is not a valid .npz file: {error}") from None
    return _checked_arrays(arrays, name)


def _checked_arrays(arrays: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    for key, array in arrays.items():
        if not isinstance(array, np.ndarray):
            raise FileFormatError(f"{name}: member {key!r} is not a NumPy array")
        if array.dtype.kind not in "iuf":
            raise FileFormatError(f"{name}: {key} has type {array.dtype}, expected numbers")
        if not np.all(np.isfinite(array)):
            raise FileFormatError(f"{name}: {key} contains NaN or infinite values")
    return {key: array.astype(float) for key, array in arrays.items()}


# -- tables ----------------------------------------------------------------------------------


def _csv_text(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def save_data_csv(path: str | Path, data: Dataset) -> Path:
    """x1, x2, label, split; floats in shortest round-trip form so they read back exactly."""
    rows = []
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        rows.extend(
            (repr(float(a)), repr(float(b)), int(label), split) for (a, b), label in zip(x, y)
        )
    return write_text(path, _csv_text(["x1", "x2", "label", "split"], rows))


def save_history_csv(path: str | Path, history: HistoryArrays) -> Path:
    columns = [getattr(history, name) for name in COLUMNS]
    rows = [(int(row[0]), *(repr(float(v)) for v in row[1:])) for row in zip(*columns)]
    return write_text(path, _csv_text(list(COLUMNS), rows))


def load_history_csv(text: str, name: str = "history.csv") -> np.ndarray:
    """A (rows, 5) table from history CSV text, checked for the header and numbers."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0] != list(COLUMNS):
        raise FileFormatError(f"{name}: expected the header {','.join(COLUMNS)}")
    try:
        table = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=float)
    except ValueError:
        raise FileFormatError(f"{name}: every value must be a number") from None
    if table.size and (table.ndim != 2 or table.shape[1] != len(COLUMNS)):
        raise FileFormatError(f"{name}: every row needs {len(COLUMNS)} values")
    return table.reshape(-1, len(COLUMNS))


# -- helpers for sessions and other containers read from memory -------------------------------

#: An .npz checked by `check_npz_claims` may hold at most this many arrays.
MAX_NPZ_MEMBERS = 64


def check_npz_claims(data: bytes, name: str, *, max_total: int = MAX_ARRAY_BYTES) -> None:
    """Refuse an .npz whose claims would make NumPy allocate too much, before any array is read.

    `read_npz` caps the size each member claims in the zip directory, but `np.load` allocates the
    shape written in each .npy header before it reads the data, so a tiny file can ask for
    terabytes. This reads only the headers and refuses too many members, a claimed total over
    `max_total`, object (pickled) arrays, and a header whose shape needs more bytes than its member
    holds. Call it before `read_npz`.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise FileFormatError(
                    f"{name} holds {len(infos)} arrays; nnviz reads at most {MAX_NPZ_MEMBERS}"
                )
            for info in infos:
                if info.file_size > MAX_ARRAY_BYTES:
                    raise FileFormatError(
                        f"{name}: member {info.filename} claims "
                        f"{info.file_size} bytes, more than nnviz accepts"
                    )
            total = sum(info.file_size for info in infos)
            if total > max_total:
                raise FileFormatError(
                    f"{name}: its arrays claim {total} bytes, more than nnviz accepts"
                )
            for info in infos:
                with archive.open(info) as member:
                    _check_npy_header(member, info, name)
    except FileFormatError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise FileFormatError(f"{name} is not a valid .npz file: {error}") from None


def _check_npy_header(member: IO[bytes], info: zipfile.ZipInfo, name: str) -> None:
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise FileFormatError(f"{name}: {info.filename} is .npy version {version}, not 1.0 or 2.0")
    if dtype.hasobject:
        raise FileFormatError(f"{name} holds pickled objects, which nnviz refuses to load")
    if any(size < 0 for size in shape) or math.prod(shape) * dtype.itemsize > info.file_size:
        raise FileFormatError(
            f"{name}: {info.filename} claims shape {shape} of {dtype}, more than its "
            f"{info.file_size} bytes hold"
        )


def data_csv_text(data: Dataset) -> str:
    """The text `save_data_csv` writes: x1, x2, label, split, floats that read back exactly."""
    rows = []
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        rows.extend(
            (repr(float(a)), repr(float(b)), int(label), split) for (a, b), label in zip(x, y)
        )
    return _csv_text(["x1", "x2", "label", "split"], rows)


def load_data_csv(text: str, name: str = "data.csv") -> Dataset:
    """The Dataset of `data_csv_text` output, rows in file order, every value checked."""
    try:
        rows = iter(list(csv.reader(io.StringIO(text))))
    except csv.Error as error:
        raise FileFormatError(f"{name} is not readable CSV: {error}") from None
    if next(rows, None) != ["x1", "x2", "label", "split"]:
        raise FileFormatError(f"{name}: expected the header x1,x2,label,split")
    splits: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    for line, row in enumerate(rows, start=2):
        if not row:
            continue
        try:
            if len(row) != 4:
                raise ValueError
            x1, x2, label = float(row[0]), float(row[1]), float(row[2])
            points, labels = splits[row[3]]
        except (ValueError, KeyError):
            raise FileFormatError(
                f"{name} line {line}: expected x1,x2,label,split with split train or test"
            ) from None
        if not (math.isfinite(x1) and math.isfinite(x2)) or label not in (0.0, 1.0):
            raise FileFormatError(f"{name} line {line}: needs finite x1, x2 and a label 0 or 1")
        points.append((x1, x2))
        labels.append(label)
    (x_train, y_train), (x_test, y_test) = splits["train"], splits["test"]
    if len(x_train) < 2 or not x_test:
        raise FileFormatError(f"{name} needs at least 2 train rows and 1 test row")
    if len(set(y_train + y_test)) < 2:
        raise FileFormatError(f"{name} holds only one class; both 0 and 1 are needed")
    return Dataset(
        np.array(x_train, dtype=float).reshape(-1, 2),
        np.array(y_train, dtype=float),
        np.array(x_test, dtype=float).reshape(-1, 2),
        np.array(y_test, dtype=float),
    )


def history_csv_text(history: HistoryArrays) -> str:
    """The text `save_history_csv` writes; `load_history_csv` reads it back exactly."""
    columns = [getattr(history, name) for name in COLUMNS]
    rows = [(int(row[0]), *(repr(float(v)) for v in row[1:])) for row in zip(*columns)]
    return _csv_text(list(COLUMNS), rows)
