"""File formats: weights (.npz/.json), data and history CSV, and the run folder the CLI writes.

Every write goes to a temporary file in the target folder and is renamed into place, so a failure
never leaves a partial file. Every read refuses pickles, oversize claims and malformed arrays.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .datasets import Dataset
from .history import COLUMNS, HistoryArrays

if TYPE_CHECKING:
    from .metrics import Metrics
    from .trainer import Trainer

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
        os.replace(temp, path)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise FileFormatError(f"cannot write {path}: {error.strerror or error}") from None
        raise
    return path


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
    """Arrays of an .npz, refusing pickled objects and members that claim a huge size."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if info.file_size > MAX_ARRAY_BYTES:
                    raise FileFormatError(
                        f"{name}: member {info.filename} claims "
                        f"{info.file_size} bytes, more than nnviz accepts"
                    )
        source.seek(0)
        with np.load(source, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileFormatError:
        raise
    except ValueError as error:
        if "pickle" in str(error).lower():
            raise FileFormatError(
                f"{name} holds pickled objects, which nnviz refuses to load"
            ) from None
        raise FileFormatError(f"{name} is not a valid .npz file: {error}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
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


# -- the run folder --------------------------------------------------------------------------


def metrics_document(trainer: Trainer, metrics: Metrics) -> dict[str, Any]:
    """metrics.json: iterations, seconds, and loss/auc/accuracy/misclassification/report per split."""
    document: dict[str, Any] = {"iterations": trainer.iteration, "seconds": trainer.seconds}
    document.update(metrics.to_dict())
    if trainer.diverged_at is not None:
        document["diverged_at"] = trainer.diverged_at
    return document


def write_run(out: str | Path, trainer: Trainer, metrics: Metrics) -> list[Path]:
    """Write the run folder the CLI's `--out` promises; returns the files written."""
    out = Path(out)
    snapshot = trainer.snapshot()
    report = f"train\n{metrics.train.report_text}\ntest\n{metrics.test.report_text}"
    return [
        write_text(out / "config.json", trainer.config.to_json()),
        write_text(out / "metrics.json", json_text(metrics_document(trainer, metrics))),
        write_text(out / "report.txt", report),
        save_history_csv(out / "history.csv", snapshot.history),
        save_weights(out / "initial_weights.npz", trainer.initial_weights()),
        save_weights(out / "weights.npz", trainer.weights()),
        save_weights(out / "weights.json", trainer.weights()),
        save_data_csv(out / "data.csv", trainer.data),
    ]
