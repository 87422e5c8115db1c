"""Session files (.nnviz): a whole run, to reopen later and train on bit for bit.

A session is a zip archive of plain files; nothing in it is pickled:

    session.json         format name and version, iteration, seconds, diverged_at, the history
                         stride, and the mini-batch RNG states (PCG64, as JSON) with positions;
                         in format 2 also `view`, what the window showed (see SessionFile)
    config.json          the Config, as `Config.to_json` writes it
    data.csv             the exact points (x1,x2,label,split): csv datasets need them, and
                         generated ones then never depend on the scikit-learn version; a
                         drawing that cannot train yet (under 2 training points, a class
                         missing) is kept as drawn
    initial_weights.npz  W1, b1, ... of iteration 0, where Reset returns to
    weights.npz          W1, b1, ... now
    history.csv          the loss and accuracy record
    optimizer.npz        the optimizer's state: momentum velocity, Adam moments and step count
    sampler.npz          `order`, the shuffled order of the current epoch (empty for full batch)
    checkpoint.npz       where the divergence check returns to: `params`, `optimizer.<name>`
                         and `sampler_order`

Reading takes a regular file only and never extracts anything to disk. Before reading any member
it refuses archives whose directory announces more than MAX_MEMBERS entries (zip64 records
included), unsafe or duplicate names, and members that claim more than their MEMBER_BYTES or
MAX_TOTAL_BYTES together. Members are then read with those caps enforced while decompressing (a
claimed size can lie): the CSV members line by line with row caps, the .npz members within what
their network and data need. Every value is checked: a state nnviz could not have written (a NaN
or negative loss, an accuracy over 1, a negative Adam second moment, an iteration past 2**53) is
refused. Every refusal is a SessionError (a FileFormatError) that names the file and the problem.
`load_session` builds a new Trainer or raises: nothing else changes.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..version import __version__
from .batched import BatchedTrainer
from .config import SEED_MAX, SEEDS_MAX, Config
from .datasets import MAX_CSV_BYTES, MAX_CSV_CLASSES, Dataset
from .files import (
    MAX_ARRAY_BYTES,
    MAX_HISTORY_BYTES,
    MAX_ITERATION,
    FileFormatError,
    atomic_write,
    data_csv_text,
    history_csv_text,
    load_weights,
    read_data_csv,
    read_history_csv,
    read_npz,
)
from .history import HistoryArrays
from .network import Layout
from .readers import check_zip_directory, open_regular, parse_json, read_capped
from .tasks import task_of
from .trainer import Snapshot, Trainer

SESSION_SUFFIX = ".nnviz"
FORMAT = "nnviz-session"
#: The newest format read. Format 2 is format 1 with a `view` in session.json; a session with no
#: view is written as format 1, so an nnviz from before views opens it.
VERSION = 2
MEMBERS = (
    "session.json",
    "config.json",
    "data.csv",
    "initial_weights.npz",
    "weights.npz",
    "history.csv",
    "optimizer.npz",
    "sampler.npz",
    "checkpoint.npz",
)
#: Limits checked against what the zip directory claims, before any member is read.
MAX_MEMBERS = 32
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_DIRECTORY_BYTES = 1024 * 1024
#: The most each member may hold uncompressed; nnviz writes no more. The .npz members are then
#: held to what their network and data need (see `_state_bytes`).
MEMBER_BYTES = {
    "session.json": 64 * 1024,
    "config.json": 64 * 1024,
    "data.csv": MAX_CSV_BYTES,
    "history.csv": MAX_HISTORY_BYTES,
    **{member: MAX_ARRAY_BYTES for member in MEMBERS if member.endswith(".npz")},
}
#: A session whose network and data would need more memory than this to train is refused.
MAX_TRAINING_BYTES = 4 * 1024 * 1024 * 1024

_MANIFEST_KEYS = {
    "format",
    "version",
    "nnviz",
    "iteration",
    "seconds",
    "diverged_at",
    "record_every",
    "base_record_every",
    "sampler",
    "checkpoint",
}
_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same state always gives the same bytes

#: What the window showed of a run, as a JSON object (see SessionFile).
View = Mapping[str, Any]


class SessionError(FileFormatError):
    """A session file cannot be read or written; the message names the file and the problem."""


@dataclass(frozen=True)
class SessionFile:
    """What a session file holds: its networks (one, or every seed's) and `view`, what the
    window showed of them (which plane of data with more than two inputs) as the window wrote
    it, or None. The core keeps the view as a JSON object without reading it: a view is a
    preference, which the window reads leniently, not a state to train on."""

    trainers: list[Trainer]
    view: dict[str, Any] | None = None


# -- writing ---------------------------------------------------------------------------------


def save_session(path: str | Path, trainer: Trainer, view: View | None = None) -> Path:
    """Write `trainer` (and the window's `view` of it) to a session file atomically (temporary
    file, then rename); returns it."""
    data = session_bytes(trainer, view)
    try:
        return atomic_write(path, lambda handle: handle.write(data))
    except SessionError:
        raise
    except FileFormatError as error:
        raise SessionError(str(error)) from None


def session_bytes(trainer: Trainer, view: View | None = None) -> bytes:
    """The bytes of a session file for `trainer` (what `save_session` writes)."""
    members = _members(trainer, view)
    for name, payload in members.items():
        if len(payload) > MEMBER_BYTES[name]:
            raise SessionError(f"{name} would be {len(payload)} bytes, too large for a session")
    if sum(len(payload) for payload in members.values()) > MAX_TOTAL_BYTES:
        raise SessionError("this run is too large to save as a session")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload)
    return buffer.getvalue()


def _members(trainer: Trainer, view: View | None) -> dict[str, bytes]:
    state = trainer.training_state()
    sampler, checkpoint = state["sampler"], state["checkpoint"]
    manifest = {
        "format": FORMAT,
        "version": 1 if view is None else 2,
        "nnviz": __version__,
        "iteration": state["iteration"],
        "seconds": state["seconds"],
        "diverged_at": state["diverged_at"],
        "record_every": state["record_every"],
        "base_record_every": state["base_record_every"],
        "sampler": _sampler_position(sampler),
        "checkpoint": {
            "iteration": checkpoint["iteration"],
            "sampler": _sampler_position(checkpoint["sampler"]),
        },
        **({} if view is None else {"view": dict(view)}),
    }
    checkpoint_arrays = {"params": checkpoint["params"]}
    for key, array in checkpoint["optimizer"].items():
        checkpoint_arrays[f"optimizer.{key}"] = array
    if checkpoint["sampler"] is not None:
        checkpoint_arrays["sampler_order"] = checkpoint["sampler"]["order"]
    members = {
        "session.json": json.dumps(manifest, indent=2, allow_nan=False),
        "config.json": trainer.config.to_json(),
        "data.csv": data_csv_text(trainer.data),
        "initial_weights.npz": _npz(trainer.initial_weights()),
        "weights.npz": _npz(trainer.layout.to_weights(state["params"])),
        "history.csv": history_csv_text(state["history"]),
        "optimizer.npz": _npz(state["optimizer"]),
        "sampler.npz": _npz({"order": sampler["order"]} if sampler else {}),
        "checkpoint.npz": _npz(checkpoint_arrays),
    }
    return {
        name: payload.encode("utf-8") if isinstance(payload, str) else payload
        for name, payload in members.items()
    }


def _sampler_position(sampler: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if sampler is None else {"rng": sampler["rng"], "position": sampler["position"]}


def _npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **dict(arrays))
    return buffer.getvalue()


# -- reading ---------------------------------------------------------------------------------


def load_session(path: str | Path) -> Trainer:
    """A new Trainer in exactly the saved state, or a SessionError; nothing else changes."""
    path = Path(path)
    with open_regular(path, MAX_TOTAL_BYTES, SessionError, "session files") as handle:
        try:
            return _load(handle, path.name)
        except OSError as error:  # a disk error while reading
            raise SessionError(f"cannot read {path}: {error.strerror or error}") from None


def load_session_bytes(data: bytes, name: str = "session.nnviz") -> Trainer:
    """`load_session` for bytes already read (e.g. passed to the training process)."""
    return _load(io.BytesIO(data), name)


def _load(handle: IO[bytes], name: str) -> Trainer:
    check_zip_directory(
        handle, name, SessionError, max_members=MAX_MEMBERS, max_bytes=MAX_DIRECTORY_BYTES
    )
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, EOFError, ValueError, struct.error, NotImplementedError) as error:
        raise SessionError(f"{name} is not a session file (not a readable zip): {error}") from None
    with archive:
        _check_directory(archive.infolist(), name)
        return _restore(archive, name).trainers[0]


def _restore(archive: zipfile.ZipFile, name: str) -> SessionFile:
    """Read the members in the order that bounds them: the manifest and config, then the data,
    whose size with the network's bounds the arrays."""
    manifest = _manifest(_json(archive, "session.json", name), name)
    config = _config(_json(archive, "config.json", name), name)
    expected = config.task
    with _member(archive, "data.csv", name) as stream:
        data = read_data_csv(
            stream, f"data.csv in {name}", expected[1] if expected else None, drawn=True
        )
    if expected is None and data.task != "regression":
        data = _classes_of_network(archive, config, data, name)
    if expected is not None and (data.task, data.n_classes) != expected:
        raise SessionError(
            f"data.csv in {name} holds {_task_text(data.task, data.n_classes)}, but the "
            f"config's {config.dataset} has {_task_text(*expected)}"
        )
    layout = _guard(name, "config.json", lambda: task_of(config, data).layout(config.hidden))
    _check_training_size(config, layout, data, name)
    limit = _state_bytes(layout, data)
    initial = _weights(archive, "initial_weights.npz", layout, limit, name)
    params = layout.from_weights(_weights(archive, "weights.npz", layout, limit, name))
    optimizer = _arrays(archive, "optimizer.npz", limit, name)
    sampler_arrays = _arrays(archive, "sampler.npz", limit, name)
    checkpoint_arrays = _arrays(archive, "checkpoint.npz", limit, name)
    _check_keys(sampler_arrays, {"order"} if manifest["sampler"] else set(), "sampler.npz", name)
    checkpoint_sampler = manifest["checkpoint"]["sampler"]
    fixed = {"params", "sampler_order"} if checkpoint_sampler else {"params"}
    optional = {key for key in checkpoint_arrays if key.startswith("optimizer.")}
    _check_keys(checkpoint_arrays, fixed | optional, "checkpoint.npz", name)
    _check_second_moment(optimizer.get("second"), "optimizer.npz", name)
    _check_second_moment(checkpoint_arrays.get("optimizer.second"), "checkpoint.npz", name)
    with _member(archive, "history.csv", name) as stream:
        table = read_history_csv(stream, f"history.csv in {name}")
    history = HistoryArrays(*table.T)  # restore_training_state checks the iterations
    state = {
        "iteration": manifest["iteration"],
        "seconds": manifest["seconds"],
        "diverged_at": manifest["diverged_at"],
        "record_every": manifest["record_every"],
        "params": params,
        "optimizer": optimizer,
        "sampler": _sampler_state(manifest["sampler"], sampler_arrays.get("order")),
        "history": history,
        "checkpoint": {
            "iteration": manifest["checkpoint"]["iteration"],
            "params": checkpoint_arrays["params"],
            "optimizer": {
                key.removeprefix("optimizer."): array
                for key, array in checkpoint_arrays.items()
                if key.startswith("optimizer.")
            },
            "sampler": _sampler_state(checkpoint_sampler, checkpoint_arrays.get("sampler_order")),
        },
    }
    try:
        trainer = Trainer(
            config, data, record_every=manifest["base_record_every"], initial_weights=initial
        )
        trainer.restore_training_state(state)
    except ValueError as error:
        raise SessionError(f"{name}: the saved training state does not fit: {error}") from None
    return SessionFile([trainer], manifest.get("view"))


def _task_text(task: str, classes: int) -> str:
    return "a regression target" if task == "regression" else f"{classes} classes"


def _check_directory(infos: list[zipfile.ZipInfo], name: str) -> None:
    """Everything the zip directory claims, checked before any member is read."""
    if len(infos) > MAX_MEMBERS:
        raise SessionError(f"{name} has {len(infos)} members; a session has at most {MAX_MEMBERS}")
    seen: set[str] = set()
    for info in infos:
        _check_member(info, seen, name)
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise SessionError(
            f"{name}: its members claim {total} bytes uncompressed, more than nnviz accepts "
            f"({MAX_TOTAL_BYTES} bytes)"
        )
    missing = [member for member in MEMBERS if member not in seen]
    if missing:
        raise SessionError(f"{name} is not a complete session: {', '.join(missing)} missing")


@contextmanager
def _member(archive: zipfile.ZipFile, member: str, name: str) -> Iterator[IO[bytes]]:
    """`member` opened for reading; what goes wrong while it is read becomes a SessionError."""
    try:
        with archive.open(member) as stream:
            yield stream
    except SessionError:
        raise
    except FileFormatError as error:  # a reader's refusal, which names the member already
        raise SessionError(str(error)) from None
    except (
        zipfile.BadZipFile,
        EOFError,
        ValueError,
        struct.error,
        zlib.error,
        NotImplementedError,
        RuntimeError,
    ) as error:
        raise SessionError(f"{name}: member {member} is damaged: {error}") from None


def _check_member(info: zipfile.ZipInfo, seen: set[str], name: str) -> None:
    member = info.filename
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or ":" in member or "\0" in member or ".." in parts:
        raise SessionError(
            f"{name}: member {member!r} has an unsafe path (absolute or with ..); refused"
        )
    if member in seen:
        raise SessionError(f"{name}: member {member} appears twice; refused")
    seen.add(member)
    if member not in MEMBERS:
        raise SessionError(
            f"{name}: unexpected member {member!r}; a session holds {', '.join(MEMBERS)}"
        )
    if info.flag_bits & 0x1:
        raise SessionError(f"{name}: member {member} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise SessionError(f"{name}: member {member} uses an unsupported compression method")
    if info.file_size > MEMBER_BYTES[member]:
        raise SessionError(
            f"{name}: member {member} claims {info.file_size} bytes uncompressed, more than nnviz "
            f"accepts ({MEMBER_BYTES[member]} bytes)"
        )


def _guard(name: str, member: str, read: Callable[[], Any]) -> Any:
    """Run `read()`, turning its ValueError (ConfigError, a layout's) into a SessionError that
    names `member`."""
    try:
        return read()
    except ValueError as error:
        raise SessionError(f"{member} in {name}: {error}") from None


def _json(archive: zipfile.ZipFile, member: str, name: str) -> Any:
    label = f"{member} in {name}"
    with _member(archive, member, name) as stream:
        data = read_capped(stream, MEMBER_BYTES[member], label, SessionError)
    return parse_json(data, label, SessionError)


def _manifest(manifest: Any, name: str) -> dict[str, Any]:
    where = f"session.json in {name}"
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SessionError(f"{where} does not describe an nnviz session")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SessionError(f"{where}: version {version!r} is not a session format version")
    if version > VERSION:
        raise SessionError(
            f"{name} was written by a newer nnviz (session format {version}); "
            f"this nnviz reads format {VERSION}"
        )
    keys = _MANIFEST_KEYS | ({"view"} if version >= 2 else set())
    if set(manifest) != keys:
        unknown, missing = set(manifest) - keys, keys - set(manifest)
        raise SessionError(
            f"{where}: unknown fields {sorted(unknown) or 'none'}, "
            f"missing fields {sorted(missing) or 'none'}"
        )
    _check_view(manifest.get("view"), where)
    base = manifest["base_record_every"]
    if not isinstance(base, int) or isinstance(base, bool) or base < 1:
        raise SessionError(f"{where}: base_record_every must be a whole number >= 1")
    checkpoint = manifest["checkpoint"]
    if not isinstance(checkpoint, dict) or set(checkpoint) != {"iteration", "sampler"}:
        raise SessionError(f"{where}: checkpoint must hold iteration and sampler")
    for sampler in (manifest["sampler"], checkpoint["sampler"]):
        if sampler is not None and (
            not isinstance(sampler, dict) or set(sampler) != {"rng", "position"}
        ):
            raise SessionError(f"{where}: a sampler must be null or hold rng and position")
    counts = {
        "iteration": manifest["iteration"],
        "diverged_at": manifest["diverged_at"],
        "record_every": manifest["record_every"],
        "base_record_every": base,
        "checkpoint iteration": checkpoint["iteration"],
        **{
            f"{label} position": sampler["position"]
            for label, sampler in (
                ("sampler", manifest["sampler"]),
                ("checkpoint sampler", checkpoint["sampler"]),
            )
            if sampler is not None
        },
    }
    for label, count in counts.items():  # the trainer checks their types and lower bounds
        if isinstance(count, int) and count > MAX_ITERATION:
            shown = count if count < 10**20 else f"an integer of {len(str(count))} digits"
            raise SessionError(f"{where}: {label} is {shown}, more than 2**53 (no run gets there)")
    return manifest


def _check_view(view: Any, where: str) -> None:
    if view is not None and not isinstance(view, dict):
        raise SessionError(f"{where}: view must be an object (what the window showed)")


def _config(document: Any, name: str) -> Config:
    config = _guard(name, "config.json", lambda: Config.from_dict(document))
    for field in ("csv_path", "init_weights"):
        if not isinstance(getattr(config, field), (str, type(None))):
            raise SessionError(f"config.json in {name}: {field} must be a path or null")
    return config


def _classes_of_network(
    archive: zipfile.ZipFile, config: Config, data: Dataset, name: str
) -> Dataset:
    """A CSV run's classes as its network counts them: data.csv holds only the classes its
    points have, and a drawing may have fewer than the run trains (one class, or none)."""
    layout = _guard(name, "config.json", lambda: task_of(config, data).layout(config.hidden))
    limit = MAX_CSV_CLASSES * _state_bytes(layout, data)  # up to MAX_CSV_CLASSES outputs
    bias = _arrays(archive, "weights.npz", limit, name).get(f"b{len(layout.sizes) - 1}")
    outputs = bias.shape[0] if bias is not None and bias.ndim == 1 else 0
    if not data.n_classes < outputs <= MAX_CSV_CLASSES:
        return data  # two classes (one output), or a mismatch the layout check names
    return replace(data, task="multiclass", n_classes=outputs)


def _state_bytes(layout: Layout, data: Dataset) -> int:
    """The most an .npz member of this session needs: the checkpoint holds the most, the
    parameters, two Adam moments and the sampler's order; 64 KiB more for headers."""
    return 8 * (3 * layout.size + len(data.x_train)) + 64 * 1024


def _arrays(archive: zipfile.ZipFile, member: str, limit: int, name: str) -> dict[str, np.ndarray]:
    label = f"{member} in {name}"
    with _member(archive, member, name) as stream:
        data = read_capped(stream, limit, label, SessionError)
    try:
        return read_npz(data, label, max_bytes=limit)
    except FileFormatError as error:
        raise SessionError(str(error)) from None


def _weights(
    archive: zipfile.ZipFile, member: str, layout: Layout, limit: int, name: str
) -> dict[str, np.ndarray]:
    weights = _arrays(archive, member, limit, name)
    _guard(name, member, lambda: layout.from_weights(weights))
    return weights


def _check_second_moment(second: np.ndarray | None, member: str, name: str) -> None:
    """Adam's second moment is a running mean of squares; a negative one makes NaN steps."""
    if second is not None and np.any(second < 0):
        raise SessionError(
            f"{member} in {name}: Adam's second moment holds negative values; it is a mean of "
            "squares, never negative"
        )


def _check_keys(
    arrays: Mapping[str, np.ndarray], expected: set[str], member: str, name: str
) -> None:
    if set(arrays) != expected:
        raise SessionError(
            f"{member} in {name} holds {sorted(arrays) or 'no arrays'}, "
            f"expected {sorted(expected) or 'no arrays'}"
        )


def _sampler_state(position: dict[str, Any] | None, order: np.ndarray | None) -> dict | None:
    return None if position is None else {**position, "order": order}


def _check_training_size(config: Config, layout: Layout, data: Dataset, name: str) -> None:
    """Refuse a network and data whose training buffers would not fit in memory."""
    n_train, n_test = len(data.x_train), len(data.x_test)
    points = 2 * n_train + n_test + min(config.batch_size, n_train)
    need = 8 * 5 * sum(layout.sizes) * points + 8 * 6 * layout.size
    if need > MAX_TRAINING_BYTES:
        raise SessionError(
            f"config.json in {name}: a {layout.describe()} network on {n_train + n_test} points "
            f"needs about {need / 2**30:.1f} GiB to train; nnviz opens sessions up to "
            f"{MAX_TRAINING_BYTES / 2**30:.0f} GiB"
        )


# -- importing weights -----------------------------------------------------------------------


def load_weights_for(path: str | Path, layout: Layout) -> dict[str, np.ndarray]:
    """Weights from .npz or .json that fit `layout`, or a FileFormatError naming the file and
    both architectures ("weights are for 2-8-1 but the network is 2-5-1: ...")."""
    weights = load_weights(path)
    try:
        layout.from_weights(weights)
    except ValueError as error:
        raise FileFormatError(f"{Path(path).name}: {error}") from None
    return weights


def import_weights(path: str | Path, trainer: Trainer) -> Snapshot:
    """Continue `trainer` from the weights in a file; on any error the trainer is unchanged."""
    return trainer.set_weights(load_weights_for(path, trainer.layout))


# -- sessions of several seeds ---------------------------------------------------------------

#: A run of K > 1 seeds (Config.seeds) is saved as one archive of K ordinary sessions, each read
#: with every check above, next to `seeds.json` (format name, version and K, and the window's view
#: when there is one); a run of one seed is an ordinary session, so files written before seeds
#: existed open as they did.
SEEDS_FORMAT = "nnviz-seeds"
SEEDS_MANIFEST = "seeds.json"


def seeds_session_bytes(trainers: Sequence[Trainer], view: View | None = None) -> bytes:
    """One session for one Trainer; for several (the seeds of one run, `BatchedTrainer`'s
    networks as `batch[k].trainer()`), `seeds.json` and `seed0.nnviz`, `seed1.nnviz`, ...
    `view`: what the window showed (see SessionFile)."""
    if len(trainers) == 1:
        return session_bytes(trainers[0], view)
    manifest = {"format": SEEDS_FORMAT, "version": 1, "nnviz": __version__, "seeds": len(trainers)}
    if view is not None:  # readers before views ignore it: they open the seeds as ever
        manifest["view"] = dict(view)
    members = {SEEDS_MANIFEST: json.dumps(manifest, indent=2).encode("utf-8")}
    members.update({f"seed{k}.nnviz": session_bytes(t) for k, t in enumerate(trainers)})
    if sum(len(payload) for payload in members.values()) > MAX_TOTAL_BYTES:
        raise SessionError("this run is too large to save as a session")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.compress_type = zipfile.ZIP_STORED  # the sessions inside are compressed
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload)
    return buffer.getvalue()


def save_seeds_session(
    path: str | Path, trainers: Sequence[Trainer], view: View | None = None
) -> Path:
    """`seeds_session_bytes(trainers, view)` written atomically to `path`."""
    data = seeds_session_bytes(trainers, view)
    try:
        return atomic_write(path, lambda handle: handle.write(data))
    except SessionError:
        raise
    except FileFormatError as error:
        raise SessionError(str(error)) from None


def load_seeds_session(path: str | Path) -> list[Trainer]:
    """The Trainers of a session file: one for an ordinary session, K for a run of K seeds
    (checked to be seeds weight_seed, weight_seed + 1, ... of one config on the same points)."""
    return read_session_file(path).trainers


def read_session_file(path: str | Path) -> SessionFile:
    """`load_seeds_session`'s Trainers with the window's view of them."""
    path = Path(path)
    with open_regular(path, MAX_TOTAL_BYTES, SessionError, "session files") as handle:
        try:
            return _load_seeds(handle, path.name)
        except OSError as error:
            raise SessionError(f"cannot read {path}: {error.strerror or error}") from None


def load_seeds_session_bytes(data: bytes, name: str = "session.nnviz") -> list[Trainer]:
    """`load_seeds_session` for bytes already read."""
    return _load_seeds(io.BytesIO(data), name).trainers


def _load_seeds(handle: IO[bytes], name: str) -> SessionFile:
    check_zip_directory(
        handle,
        name,
        SessionError,
        max_members=MAX_MEMBERS + SEEDS_MAX,
        max_bytes=MAX_DIRECTORY_BYTES,
    )
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, EOFError, ValueError, struct.error, NotImplementedError) as error:
        raise SessionError(f"{name} is not a session file (not a readable zip): {error}") from None
    with archive:
        if SEEDS_MANIFEST not in archive.namelist():
            _check_directory(archive.infolist(), name)  # an ordinary session
            return _restore(archive, name)
        names = archive.namelist()
        manifest = _seeds_json(archive, name)
        count = _seeds_manifest(manifest, name)
        expected = [SEEDS_MANIFEST, *(f"seed{k}.nnviz" for k in range(count))]
        infos = archive.infolist()
        if sorted(names) != sorted(expected) or len(names) != len(set(names)):
            raise SessionError(f"{name} should hold {', '.join(expected)} and nothing else")
        if sum(info.file_size for info in infos) > MAX_TOTAL_BYTES:
            raise SessionError(
                f"{name}: its members claim more than nnviz accepts ({MAX_TOTAL_BYTES} bytes)"
            )
        trainers = []
        for k in range(count):
            member = f"seed{k}.nnviz"
            with _member(archive, member, name) as stream:
                data = read_capped(stream, MAX_TOTAL_BYTES, f"{member} in {name}", SessionError)
            trainers.append(load_session_bytes(data, f"{member} in {name}"))
    _check_seeds(trainers, name)
    return SessionFile(trainers, manifest.get("view"))


def _seeds_json(archive: zipfile.ZipFile, name: str) -> Any:
    with _member(archive, SEEDS_MANIFEST, name) as stream:
        data = read_capped(stream, 64 * 1024, f"{SEEDS_MANIFEST} in {name}", SessionError)
    return parse_json(data, f"{SEEDS_MANIFEST} in {name}", SessionError)


def _seeds_manifest(manifest: Any, name: str) -> int:
    where = f"{SEEDS_MANIFEST} in {name}"
    if not isinstance(manifest, dict) or manifest.get("format") != SEEDS_FORMAT:
        raise SessionError(f"{where} does not describe a run of several seeds")
    if manifest.get("version") != 1:
        raise SessionError(f"{where}: version {manifest.get('version')!r} is not 1")
    count = manifest.get("seeds")
    if not isinstance(count, int) or isinstance(count, bool) or not 2 <= count <= SEEDS_MAX:
        raise SessionError(f"{where}: seeds must be a whole number from 2 to {SEEDS_MAX}")
    _check_view(manifest.get("view"), where)
    return count


def _check_seeds(trainers: list[Trainer], name: str) -> None:
    """The seeds of one run: seed k is the first one's config with weight seed + k, all on the
    same points, and they can train on together."""
    first = trainers[0].config
    if first.seeds != len(trainers):
        raise SessionError(
            f"{name}: config.json says {first.seeds} seeds, the file holds {len(trainers)}"
        )
    for k, trainer in enumerate(trainers):
        if first.weight_seed + k > SEED_MAX or trainer.config != first.replace(
            weight_seed=first.weight_seed + k
        ):
            raise SessionError(
                f"seed{k}.nnviz in {name}: its config is not the first seed's with weight seed "
                f"{first.weight_seed} + {k}"
            )
    try:
        BatchedTrainer.from_trainers(trainers)
    except ValueError as error:
        raise SessionError(f"{name}: the seeds cannot train on together: {error}") from None
