"""Session files: exact continuation after reopening, refusal of hostile files, importing weights."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from nnviz.core import Config, Dataset, FileFormatError, Trainer, TrainingDiverged, save_weights
from nnviz.core import files as files_module
from nnviz.core.datasets import with_points
from nnviz.core.history import COLUMNS
from nnviz.core.network import Layout, describe_weights
from nnviz.core.session import (
    MAX_MEMBERS,
    MEMBER_BYTES,
    MEMBERS,
    SessionError,
    import_weights,
    load_session,
    load_session_bytes,
    load_weights_for,
    save_session,
    session_bytes,
)
from nnviz.core.trainer import MAX_HISTORY

HISTORY_HEADER = (",".join(COLUMNS) + "\n").encode()
ADAM_BATCHES = {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32}
MOMENTUM = {"optimizer": "momentum", "learning_rate": 0.05, "momentum": 0.9}
DIVERGING = {
    "activation": "linear",
    "loss": "bce",
    "init": "he",
    "hidden": (16, 16),
    "samples": 200,
    "optimizer": "momentum",
    "learning_rate": 0.6,
    "batch_size": 32,
}


def assert_same_run(a: Trainer, b: Trainer) -> None:
    """Same weights, history, iteration and measurements, bit for bit."""
    assert a.iteration == b.iteration and a.diverged_at == b.diverged_at
    for name, array in a.weights().items():
        assert np.array_equal(b.weights()[name], array), name
    ha, hb = a.snapshot().history, b.snapshot().history
    for column in COLUMNS:
        assert getattr(ha, column).tobytes() == getattr(hb, column).tobytes(), column
    sa, sb = a.snapshot(), b.snapshot()
    for field in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        assert getattr(sa, field) == getattr(sb, field), field
    assert a.record_every == b.record_every


def reopened(trainer: Trainer, tmp_path: Path) -> Trainer:
    return load_session(save_session(tmp_path / "run.nnviz", trainer))


# -- exact continuation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "first"),
    [
        pytest.param({}, 250, id="full-batch-gd"),
        pytest.param(ADAM_BATCHES, 250, id="adam-batch-32-mid-epoch"),
        pytest.param(ADAM_BATCHES, 24 * 5, id="adam-batch-32-epoch-end"),
        pytest.param(ADAM_BATCHES, 1, id="adam-batch-32-after-one"),
        pytest.param(MOMENTUM, 250, id="momentum"),
        pytest.param({**MOMENTUM, "batch_size": 50}, 130, id="momentum-batch-50"),
    ],
)
def test_training_on_after_reopening_is_bit_identical(tmp_path, settings, first):
    config = Config(**settings)
    straight = Trainer(config)
    paused = Trainer(config)
    straight.advance(first)
    paused.advance(first)
    resumed = reopened(paused, tmp_path)
    assert_same_run(resumed, paused)  # the reopened state is the saved one
    for chunk in (300, 37):  # and it trains on exactly, across a second save too
        straight.advance(chunk)
        resumed.advance(chunk)
        assert_same_run(resumed, straight)
        resumed = reopened(resumed, tmp_path)
    # one uninterrupted advance: the same weights (its history lacks the rows at chunk ends)
    uninterrupted = Trainer(config)
    uninterrupted.advance(first + 337)
    assert resumed.iteration == uninterrupted.iteration
    for name, array in uninterrupted.weights().items():
        assert np.array_equal(resumed.weights()[name], array), name


def test_reopened_session_restores_every_part(tmp_path):
    trainer = Trainer(Config(hidden=(8, 4), **ADAM_BATCHES), record_every=7)
    trainer.advance(260)
    loaded = reopened(trainer, tmp_path)
    assert loaded.config == trainer.config
    for split in ("x_train", "y_train", "x_test", "y_test"):
        assert getattr(loaded.data, split).tobytes() == getattr(trainer.data, split).tobytes()
    for name, array in trainer.initial_weights().items():
        assert np.array_equal(loaded.initial_weights()[name], array)
    assert loaded.seconds == trainer.seconds > 0
    assert loaded.last_step() is None
    a, b = trainer.training_state(), loaded.training_state()
    for key in ("iteration", "seconds", "diverged_at", "record_every", "base_record_every"):
        assert a[key] == b[key], key
    for name, array in a["optimizer"].items():
        assert np.array_equal(b["optimizer"][name], array), name
    assert a["sampler"]["rng"] == b["sampler"]["rng"]
    assert np.array_equal(a["sampler"]["order"], b["sampler"]["order"])
    assert a["sampler"]["position"] == b["sampler"]["position"]
    assert a["checkpoint"]["iteration"] == b["checkpoint"]["iteration"]
    assert np.array_equal(a["checkpoint"]["params"], b["checkpoint"]["params"])
    # everything that is saved comes back: saving the reopened run gives the same bytes
    assert session_bytes(loaded) == session_bytes(trainer)
    assert reset_weights_equal(loaded, trainer)


def reset_weights_equal(a: Trainer, b: Trainer) -> bool:
    a.reset()
    b.reset()
    return all(np.array_equal(a.weights()[k], v) for k, v in b.weights().items())


def test_history_thinning_continues_exactly(tmp_path):
    config = Config(samples=100)
    straight, paused = Trainer(config, record_every=1), Trainer(config, record_every=1)
    straight.advance(MAX_HISTORY + 300)
    paused.advance(MAX_HISTORY + 300)
    assert paused.record_every > 1  # the history has been thinned at least once
    resumed = reopened(paused, tmp_path)
    straight.advance(MAX_HISTORY)
    resumed.advance(MAX_HISTORY)
    assert_same_run(resumed, straight)


def test_divergence_after_reopening_matches(tmp_path):
    config = Config(**DIVERGING)
    straight, paused = Trainer(config), Trainer(config)
    straight.advance(10)
    paused.advance(10)
    resumed = reopened(paused, tmp_path)
    straight.advance(100)
    resumed.advance(100)
    assert straight.diverged_at is not None
    assert_same_run(resumed, straight)
    # a diverged run reopens diverged: same message, refuses to step, resets cleanly
    again = reopened(straight, tmp_path)
    assert again.diverged_at == straight.diverged_at
    assert again.divergence_message() == straight.divergence_message()
    with pytest.raises(TrainingDiverged):
        again.advance(1)
    assert again.reset().iteration == 0


def test_csv_dataset_reopens_without_its_csv_file(tmp_path):
    source = Trainer(Config(samples=200))
    csv_path = tmp_path / "points.csv"
    rows = [
        f"{float(a)!r},{float(b)!r},{int(y)}"
        for (a, b), y in zip(source.data.x_train, source.data.y_train)
    ]
    csv_path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    config = Config(dataset="csv", csv_path=str(csv_path), **ADAM_BATCHES)
    straight, paused = Trainer(config), Trainer(config)
    straight.advance(90)
    paused.advance(90)
    path = save_session(tmp_path / "csv.nnviz", paused)
    csv_path.unlink()
    resumed = load_session(path)
    assert resumed.data.x_train.tobytes() == paused.data.x_train.tobytes()
    straight.advance(200)
    resumed.advance(200)
    assert_same_run(resumed, straight)


def drawn_canvas(data: Dataset, points: int, label: int) -> Dataset:
    """`data` emptied to draw on, then `points` points of class `label`: too few to train."""
    empty = dataclasses.replace(
        data, x_train=data.x_train[:0], y_train=data.y_train[:0], x_test=data.x_test[:0],
        y_test=data.y_test[:0],
    )  # fmt: skip
    xy = np.linspace(-0.5, 0.5, 2 * points).reshape(-1, 2)
    return with_points(empty, xy, [label] * points, min_train=0) if points else empty


@pytest.mark.parametrize("points", [0, 1], ids=["emptied", "one-point"])
@pytest.mark.parametrize(
    "settings",
    [{}, ADAM_BATCHES, {"dataset": "blobs", "classes": 4, "loss": "ce"}],
    ids=["gd", "adam-batches", "four-classes"],
)
def test_a_drawing_too_small_to_train_reopens_as_drawn(tmp_path, settings, points):
    """The window saves the drawing on screen with the networks as they are (the training
    process carries them on to it as SetData would), even before it can train."""
    config = Config(samples=200, **settings)
    trained = Trainer(config)
    trained.advance(30)
    canvas = drawn_canvas(trained.data, points, label=1)
    drawing = Trainer(config, canvas, initial_weights=trained.initial_weights())
    drawing.set_weights(trained.weights())
    again = reopened(drawing, tmp_path)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(again.data, name), getattr(canvas, name)), name
    assert (again.data.task, again.data.n_classes) == (canvas.task, canvas.n_classes)
    for name, array in trained.weights().items():
        assert np.array_equal(again.weights()[name], array), name
    assert len(again.data.x_train) == points


def test_a_drawing_of_one_class_on_csv_points_reopens_with_two_classes(tmp_path):
    csv_path = tmp_path / "points.csv"
    csv_path.write_text("x1,x2,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(12)))
    config = Config(dataset="csv", csv_path=str(csv_path))
    canvas = drawn_canvas(Trainer(config).data, 1, label=0)
    again = reopened(Trainer(config, canvas), tmp_path)
    assert (again.data.task, again.data.n_classes, len(again.data.x_train)) == ("binary", 2, 1)


def test_session_bytes_load_like_the_file(tmp_path):
    trainer = Trainer(Config(**MOMENTUM))
    trainer.advance(40)
    data = session_bytes(trainer)
    path = save_session(tmp_path / "run.nnviz", trainer)
    assert path.read_bytes() == data
    assert sorted(zipfile.ZipFile(path).namelist()) == sorted(MEMBERS)
    from_bytes = load_session_bytes(data, "run.nnviz")
    assert_same_run(from_bytes, load_session(path))
    assert_same_run(from_bytes, trainer)


def test_save_is_atomic_and_reports_unwritable_paths(tmp_path):
    trainer = Trainer(Config(samples=100))
    target = tmp_path / "run.nnviz"
    target.write_bytes(b"an older session")
    save_session(target, trainer)
    assert load_session(target).iteration == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SessionError, match="cannot write"):
        save_session(blocker / "run.nnviz", trainer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "run.nnviz"]


def test_restore_refuses_a_state_of_another_run_and_changes_nothing():
    adam = Trainer(Config(**ADAM_BATCHES))
    adam.advance(30)
    gd = Trainer(Config())
    gd.advance(5)
    before = gd.training_state()
    with pytest.raises(ValueError, match="optimizer does not fit gd"):
        gd.restore_training_state(adam.training_state())
    state = gd.training_state()
    state["sampler"] = adam.training_state()["sampler"]
    with pytest.raises(ValueError, match="sampler is given, but training is full-batch"):
        gd.restore_training_state(state)
    after = gd.training_state()
    assert after["iteration"] == before["iteration"] == 5
    assert np.array_equal(after["params"], before["params"])


# -- hostile and broken files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def good() -> bytes:
    """A session with every member in use: Adam moments, a sampler, a checkpoint."""
    trainer = Trainer(Config(**ADAM_BATCHES))
    trainer.advance(130)
    return session_bytes(trainer)


@pytest.fixture
def current():
    """The session the user has open, which a refused file must leave alone."""
    trainer = Trainer(Config(samples=100, hidden=(3,)))
    trainer.advance(7)
    return trainer


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), payload)
    return buffer.getvalue()


def raw_zip(entries, *, count: int | None = None, flags: int = 0) -> bytes:
    """A zip written by hand. Entries are (name, data) or (name, data, claimed_size), stored, or
    (name, deflated data, claimed_size, crc); a claim above 4 GiB is written in a ZIP64 extra
    field, as a real large member would be."""
    body, directory = bytearray(), bytearray()
    for entry in entries:
        name, data = entry[0].encode(), entry[1]
        claimed = entry[2] if len(entry) > 2 else len(data)
        extra, size, compressed = b"", claimed, len(data)
        if claimed > 0xFFFFFFFF:
            extra = struct.pack("<HHQQ", 1, 16, claimed, len(data))
            size = compressed = 0xFFFFFFFF
        method, crc = (8, entry[3]) if len(entry) > 3 else (0, zlib.crc32(data))
        offset = len(body)
        fields = (flags, method, 0, 33, crc, compressed, size, len(name), len(extra))
        body += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 45, *fields)
        body += name + extra + data
        directory += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, *fields, 0, 0, 0, 0, offset
        )
        directory += name + extra
    n = len(entries) if count is None else count
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(directory), len(body), 0)
    return bytes(body + directory + end)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def refuse(tmp_path: Path, data: bytes, match: str, current: Trainer) -> SessionError:
    """Opening `data` raises a SessionError naming the file and problem; nothing else changes."""
    path = tmp_path / "bad.nnviz"
    path.write_bytes(data)
    state, global_rng = current.training_state(), np.random.get_state()
    with pytest.raises(SessionError, match=match) as caught:
        load_session(path)
    assert "bad.nnviz" in str(caught.value)
    assert isinstance(caught.value, FileFormatError)
    after = current.training_state()
    assert after["iteration"] == state["iteration"]
    assert np.array_equal(after["params"], state["params"])
    assert len(current.history) == len(state["history"])
    assert np.random.get_state()[1].tobytes() == global_rng[1].tobytes()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.nnviz"]  # nothing was extracted
    return caught.value


@pytest.fixture
def forbid_reads(monkeypatch):
    """Call it to make opening any zip member fail: claims must be refused from the directory."""

    def forbidden(*args, **kwargs):
        pytest.fail("a member was read before the zip directory was checked")

    return lambda: monkeypatch.setattr(zipfile.ZipFile, "open", forbidden)


@pytest.mark.parametrize(
    "name", ["../evil.txt", "../../etc/passwd", "/tmp/evil.txt", "..\\evil.txt", "C:/evil.txt"]
)
def test_unsafe_member_paths_are_refused(tmp_path, good, current, name, forbid_reads):
    entries = [*members_of(good).items(), (name, b"owned")]
    forbid_reads()
    refuse(tmp_path, raw_zip(entries), "unsafe path", current)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_a_member_claiming_10_gb_is_refused_before_reading(tmp_path, good, current, forbid_reads):
    entries = [
        (name, payload, 10 * 10**9) if name == "weights.npz" else (name, payload)
        for name, payload in members_of(good).items()
    ]
    data = raw_zip(entries)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("weights.npz").file_size == 10 * 10**9
    forbid_reads()
    refuse(tmp_path, data, "member weights.npz claims 10000000000 bytes uncompressed", current)


def test_members_claiming_too_much_together_are_refused(tmp_path, good, current, forbid_reads):
    # each member claims its own limit, and together they are over 1 GiB
    entries = [(name, payload, MEMBER_BYTES[name]) for name, payload in members_of(good).items()]
    forbid_reads()
    refuse(tmp_path, raw_zip(entries), "members claim .* bytes uncompressed, more than", current)


def test_duplicate_member_names_are_refused(tmp_path, good, current, forbid_reads):
    members = members_of(good)
    entries = [*members.items(), ("weights.npz", members["initial_weights.npz"])]
    forbid_reads()
    refuse(tmp_path, raw_zip(entries), "member weights.npz appears twice", current)


def test_member_count_is_limited(tmp_path, current, forbid_reads):
    entries = [(f"m{i}.txt", b"x") for i in range(MAX_MEMBERS + 8)]
    forbid_reads()
    refuse(tmp_path, raw_zip(entries), f"claims {MAX_MEMBERS + 8} members", current)
    # an end record that understates the count does not get past the directory itself
    refuse(tmp_path, raw_zip(entries, count=3), f"has {MAX_MEMBERS + 8} members", current)


def test_an_oversize_directory_claim_is_refused(tmp_path, good, current, forbid_reads):
    data = bytearray(good)
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 12, 50 * 2**20)
    forbid_reads()
    refuse(tmp_path, bytes(data), r"claims a zip directory of 50\.0 MiB", current)


def test_unexpected_missing_and_encrypted_members_are_refused(tmp_path, good, current):
    members = members_of(good)
    refuse(
        tmp_path, rezip({**members, "notes.txt": b"hi"}), "unexpected member 'notes.txt'", current
    )
    without = {k: v for k, v in members.items() if k != "history.csv"}
    refuse(tmp_path, rezip(without), "not a complete session: history.csv missing", current)
    refuse(tmp_path, raw_zip(list(members.items()), flags=1), "is encrypted", current)


@pytest.mark.parametrize(
    "cut",
    [lambda d: d[: len(d) // 2], lambda d: d[:-10], lambda d: d[:100]],
    ids=["half", "end", "start"],
)
def test_truncated_files_are_refused(tmp_path, good, current, cut):
    refuse(tmp_path, cut(good), "is not a zip archive, or it is truncated", current)


def test_damaged_member_data_is_refused(tmp_path, good, current):
    members = members_of(good)
    data = bytearray(raw_zip(list(members.items())))
    start = data.find(members["data.csv"][:40])
    data[start + 20 : start + 21] = b"8" if data[start + 20] == ord("7") else b"7"  # still text
    # the CRC no longer matches; it is compared at the member's end, after the rows were read
    refuse(tmp_path, bytes(data), "member data.csv is damaged", current)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, I am a text file\n", np.random.RandomState(0).bytes(5000), b"\x89PNG\r\n\x1a\n"],
    ids=["empty", "text", "random", "png"],
)
def test_files_that_are_not_zips_are_refused(tmp_path, current, data):
    refuse(tmp_path, data, "is not a zip archive, or it is truncated", current)


def test_an_npz_is_not_a_session(tmp_path, current):
    error = refuse(tmp_path, npz_bytes(W1=np.ones((2, 5))), "unexpected member 'W1.npy'", current)
    assert "a session holds session.json" in str(error)


def test_missing_and_folder_paths(tmp_path):
    with pytest.raises(SessionError, match=r"cannot read .*none\.nnviz"):
        load_session(tmp_path / "none.nnviz")
    (tmp_path / "folder.nnviz").mkdir()
    with pytest.raises(SessionError, match=r"folder\.nnviz"):
        load_session(tmp_path / "folder.nnviz")
    os.mkfifo(tmp_path / "pipe.nnviz")
    with pytest.raises(SessionError, match=r"cannot read .*pipe\.nnviz"):
        load_from_pipe(tmp_path / "pipe.nnviz")


def load_from_pipe(path: Path) -> None:
    """Open a FIFO with a writer attached (so opening does not block), then load it."""
    writer = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        load_session(path)
    finally:
        os.close(writer)


class _Trap:
    """Unpickling this creates a marker file: proof that a loader ran pickled code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("member", ["weights.npz", "optimizer.npz", "checkpoint.npz"])
def test_pickled_arrays_inside_are_refused_without_running_them(tmp_path, good, current, member):
    marker = tmp_path.parent / f"pickle-ran-{member}"
    evil = npz_bytes(W1=np.array([_Trap(marker)], dtype=object))
    refuse(
        tmp_path,
        rezip({**members_of(good), member: evil}),
        f"{member} in bad.nnviz holds pickled",
        current,
    )
    assert not marker.exists()


def test_an_npy_header_claiming_terabytes_is_refused_before_allocating(tmp_path, good, current):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    evil = rezip({"W1.npy": header.getvalue() + bytes(64)})
    refuse(
        tmp_path,
        rezip({**members_of(good), "weights.npz": evil}),
        r"claims shape \(1000000000000,\)",
        current,
    )


def test_weights_for_another_network_are_refused(tmp_path, good, current):
    other = Trainer(Config(hidden=(8,), samples=100)).weights()
    refuse(
        tmp_path,
        rezip({**members_of(good), "weights.npz": npz_bytes(**other)}),
        "weights.npz in bad.nnviz: weights are for 2-8-1 but the network is 2-5-1",
        current,
    )
    refuse(
        tmp_path,
        rezip({**members_of(good), "initial_weights.npz": npz_bytes(**other)}),
        "initial_weights.npz in bad.nnviz: weights are for 2-8-1",
        current,
    )


@pytest.mark.parametrize(
    ("member", "arrays", "match"),
    [
        ("optimizer.npz", {"first": np.ones(21)}, "optimizer does not fit adam"),
        (
            "optimizer.npz",
            {"first": np.ones(3), "second": np.ones(3), "steps": np.array(3)},
            "'first' must be finite with shape",
        ),
        (
            "optimizer.npz",
            {"first": np.ones(21), "second": np.ones(21), "steps": np.array(2.5)},
            "'steps' must be a whole number",
        ),
        (
            "sampler.npz",
            {"order": np.zeros(750)},
            "order must be a permutation of the 750 training points",
        ),
        ("sampler.npz", {}, r"holds no arrays, expected \['order'\]"),
        (
            "checkpoint.npz",
            {"params": np.ones(21), "sampler_order": np.arange(750)},
            "checkpoint optimizer does not fit adam",
        ),
        ("checkpoint.npz", {"params": np.ones(21)}, "checkpoint.npz in bad.nnviz holds"),
    ],
)
def test_state_of_the_wrong_shape_is_refused(tmp_path, good, current, member, arrays, match):
    refuse(tmp_path, rezip({**members_of(good), member: npz_bytes(**arrays)}), match, current)


@pytest.mark.parametrize(
    "member", ["weights.npz", "initial_weights.npz", "optimizer.npz", "checkpoint.npz"]
)
def test_nan_values_are_refused(tmp_path, good, current, member):
    arrays = dict(np.load(io.BytesIO(members_of(good)[member])))
    key = sorted(arrays)[0]
    arrays[key] = np.full(np.shape(arrays[key]), np.nan)
    refuse(
        tmp_path,
        rezip({**members_of(good), member: npz_bytes(**arrays)}),
        f"{member} in bad.nnviz: {key} contains NaN",
        current,
    )


def edit_json(good: bytes, member: str, **changes) -> bytes:
    members = members_of(good)
    document = json.loads(members[member])
    document.update(changes)
    return rezip({**members, member: json.dumps(document).encode()})


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"bogus": 1}, "config.json in bad.nnviz: bogus = 1 is not allowed: a field of Config"),
        ({"learning_rate": -1}, "config.json in bad.nnviz: learning_rate = -1 is not allowed"),
        ({"hidden": "a,b"}, "config.json in bad.nnviz: hidden = 'a,b' is not allowed"),
        ({"optimizer": "sgd"}, "optimizer = 'sgd' is not allowed"),
        ({"csv_path": 5}, "csv_path = 5 is not allowed"),
        (
            {"hidden": [8]},
            "weights.npz in bad.nnviz: weights are for 2-5-1 but the network is 2-8-1",
        ),
        ({"batch_size": 0}, "sampler is given, but training is full-batch"),
        ({"optimizer": "momentum"}, "optimizer does not fit momentum"),
    ],
)
def test_invalid_config_is_refused(tmp_path, good, current, changes, match):
    refuse(tmp_path, edit_json(good, "config.json", **changes), match, current)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"format": "zip"}, "session.json in bad.nnviz does not describe an nnviz session"),
        ({"version": 3}, r"written by a newer nnviz \(session format 3\)"),
        ({"version": 2}, r"missing fields \['view'\]"),
        ({"view": {"plane": {"mode": "pca"}}}, r"unknown fields \['view'\]"),  # not format 1
        ({"version": 2, "view": [1]}, "session.json in bad.nnviz: view must be an object"),
        ({"extra": 1}, r"unknown fields \['extra'\]"),
        ({"iteration": -3}, "iteration must be a whole number >= 0"),
        ({"iteration": 129}, "history must list whole, increasing iterations"),
        ({"seconds": "soon"}, "seconds must be a finite number"),
        ({"diverged_at": 3}, "diverged_at must be a whole number >= 131"),
        ({"record_every": 0}, "record_every must be a whole number >= 1"),
        ({"base_record_every": 0}, "base_record_every must be a whole number >= 1"),
        ({"sampler": None}, r"sampler.npz in bad.nnviz holds \['order'\], expected no arrays"),
        (
            {"sampler": {"rng": {"bit_generator": "MT19937"}, "position": 3}},
            "sampler rng must be a PCG64",
        ),
        ({"checkpoint": {"iteration": 999, "sampler": None}}, "checkpoint.npz in bad.nnviz holds"),
        ({"checkpoint": []}, "checkpoint must hold iteration and sampler"),
    ],
)
def test_invalid_manifest_is_refused(tmp_path, good, current, changes, match):
    refuse(tmp_path, edit_json(good, "session.json", **changes), match, current)


def test_sampler_positions_and_rng_values_are_checked(tmp_path, good, current):
    manifest = json.loads(members_of(good)["session.json"])
    sampler = manifest["sampler"]
    for position, match in (
        (0, "position must be a whole number from 1 to 750"),
        (True, "position"),
    ):
        refuse(
            tmp_path,
            edit_json(good, "session.json", sampler={**sampler, "position": position}),
            match,
            current,
        )
    rng = {**sampler["rng"], "state": {"state": -1, "inc": 3}}
    refuse(
        tmp_path, edit_json(good, "session.json", sampler={**sampler, "rng": rng}), "PCG64", current
    )


@pytest.mark.parametrize("member", ["config.json", "session.json"])
@pytest.mark.parametrize(
    "text",
    [b"{not json", b"[1, 2]", b"\xff\xfe", b"[" * 60000],
    ids=["broken", "list", "not-utf8", "deep"],
)
def test_invalid_json_is_refused(tmp_path, good, current, member, text):
    refuse(tmp_path, rezip({**members_of(good), member: text}), f"{member} in bad.nnviz", current)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b"a,b\n", "data.csv in bad.nnviz: expected the header x1,x2,label,split"),
        (
            b"x1,x2,label,split\n0.1,0.2,2.5,train\n",
            "data.csv in bad.nnviz line 2: needs finite x1, x2, ... and a label from 0 to 15",
        ),
        (
            b"x1,x2,label,split\n0.1,0.2,2,train\n0.3,0.2,0,train\n0.1,0.5,1,test\n",
            "data.csv in bad.nnviz holds 3 classes, but the config's moons has 2 classes",
        ),
        (b"x1,x2,label,split\n0.1,nan,1,train\n", "line 2: needs finite"),
        (b"x1,x2,label,split\n0.1,0.2,1,valid\n", "line 2: expected x1,x2,label,split"),
    ],
)
def test_invalid_data_is_refused(tmp_path, good, current, text, match):
    refuse(tmp_path, rezip({**members_of(good), "data.csv": text}), match, current)


def test_invalid_history_is_refused(tmp_path, good, current):
    members = members_of(good)
    refuse(
        tmp_path,
        rezip({**members, "history.csv": b"a,b\n"}),
        "history.csv in bad.nnviz: expected the header",
        current,
    )
    lines = members["history.csv"].decode().splitlines()
    shuffled = "\n".join([lines[0], lines[2], lines[1], *lines[3:]]).encode()
    refuse(tmp_path, rezip({**members, "history.csv": shuffled}), "increasing iterations", current)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        (1, "inf", "train_loss inf must be a finite number >= 0"),
        (2, "inf", "test_loss inf must be a finite number >= 0"),
        (1, "-0.25", "train_loss -0.25 must be a finite number >= 0"),
        (3, "7.5", "train_accuracy 7.5 must be from 0 to 1"),
    ],
)
def test_history_values_no_run_has_are_refused(tmp_path, good, current, column, value, match):
    members = members_of(good)
    lines = members["history.csv"].decode().splitlines()
    cells = lines[5].split(",")
    cells[column] = value
    lines[5] = ",".join(cells)
    history = "\n".join(lines).encode()
    refuse(
        tmp_path,
        rezip({**members, "history.csv": history}),
        f"history.csv in bad.nnviz line 6: {match}",
        current,
    )


@pytest.mark.parametrize("member", ["optimizer.npz", "checkpoint.npz"])
def test_a_negative_adam_second_moment_is_refused(tmp_path, good, current, member):
    arrays = dict(np.load(io.BytesIO(members_of(good)[member])))
    key = "second" if member == "optimizer.npz" else "optimizer.second"
    arrays[key] = arrays[key].copy()
    arrays[key][3] = -1e-9
    refuse(
        tmp_path,
        rezip({**members_of(good), member: npz_bytes(**arrays)}),
        f"{member} in bad.nnviz: Adam's second moment holds negative values",
        current,
    )


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"diverged_at": 10**400}, "diverged_at is an integer of 401 digits, more than 2\\*\\*53"),
        ({"iteration": 2**53 + 1}, "iteration is 9007199254740993, more than 2\\*\\*53"),
        ({"record_every": 10**30}, "record_every is an integer of 31 digits"),
    ],
)
def test_counts_past_2_to_the_53_are_refused(tmp_path, good, current, changes, match):
    refuse(tmp_path, edit_json(good, "session.json", **changes), match, current)


def test_a_config_value_of_minus_zero_reads_as_zero(tmp_path, good):
    path = tmp_path / "run.nnviz"
    path.write_bytes(edit_json(good, "config.json", l2=-0.0))
    assert math.copysign(1.0, load_session(path).config.l2) == 1.0


def test_initial_weights_named_by_a_fifo_do_not_block_opening(tmp_path, good):
    """The session carries its initial weights; the FIFO its config names is never opened, and
    a new run from that config is refused at once instead of waiting for a writer."""
    os.mkfifo(tmp_path / "w.npz")
    path = tmp_path / "run.nnviz"
    path.write_bytes(edit_json(good, "config.json", init_weights=str(tmp_path / "w.npz")))
    trainer = load_session(path)
    assert trainer.config.init_weights == str(tmp_path / "w.npz")
    with pytest.raises(FileFormatError, match=r"w\.npz: it is a pipe \(FIFO\)"):
        Trainer(trainer.config)


def deflated_member(name: str, payload: bytes, claim: int | None = None) -> tuple:
    """A raw_zip entry whose data is deflated by hand, optionally claiming another size."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(payload) + compressor.flush()
    return (name, data, len(payload) if claim is None else claim, zlib.crc32(payload))


def test_a_history_bomb_is_refused_from_its_claim(tmp_path, good, current, forbid_reads):
    """history.csv of 20 MB (20 KB deflated), over its 8 MiB cap, refused before any read."""
    bomb = HISTORY_HEADER + b"0,0.1,0.1,0.5,0.5\n" * 1_200_000
    members = members_of(good)
    entries = [(n, p) for n, p in members.items() if n != "history.csv"]
    data = raw_zip([*entries, deflated_member("history.csv", bomb)])
    forbid_reads()
    refuse(tmp_path, data, "member history.csv claims 21600060 bytes uncompressed", current)


def test_a_history_bomb_that_lies_about_its_size_is_refused(tmp_path, good, current):
    bomb = HISTORY_HEADER + b"0,0.1,0.1,0.5,0.5\n" * 1_200_000
    members = members_of(good)
    entries = [(n, p) for n, p in members.items() if n != "history.csv"]
    for claim in (1000, MEMBER_BYTES["history.csv"]):
        data = raw_zip([*entries, deflated_member("history.csv", bomb, claim)])
        refuse(tmp_path, data, "history.csv", current)


def test_data_rows_past_samples_max_are_refused_while_reading(tmp_path, good, current, monkeypatch):
    monkeypatch.setattr(files_module, "SAMPLES_MAX", 100)
    rows = b"x1,x2,label,split\n" + b"0.5,0.5,1,train\n0.5,0.5,0,test\n" * 60
    refuse(
        tmp_path,
        rezip({**members_of(good), "data.csv": rows}),
        "data.csv in bad.nnviz has more than 101 lines; nnviz reads at most 100 rows",
        current,
    )


def test_a_zip64_directory_of_millions_is_refused_before_zipfile_parses_it(
    tmp_path, current, monkeypatch
):
    fields = (45, 45, 0, 0, 0, 33, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0)
    directory = (struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", *fields) + b"W1.npy") * 100_000
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 3_000_000, 3_000_000, len(directory), 0
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(directory), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)

    def parse(self):
        pytest.fail("zipfile parsed the directory")

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", parse)
    refuse(tmp_path, directory + record + locator + end, "claims 3000000 members", current)


def test_a_network_too_large_to_train_is_refused(tmp_path, good, current):
    # the weights would not fit either; the size check comes first and names the problem
    data = edit_json(good, "config.json", hidden=[4096] * 8)
    refuse(tmp_path, data, r"a 2-4096-.*-1 network on 1000 points needs about .* GiB", current)


# -- importing weights ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_import_weights_continues_from_them(tmp_path, suffix):
    trainer = Trainer(Config(**MOMENTUM))
    trainer.advance(20)
    velocity = trainer.training_state()["optimizer"]["velocity"]
    other = Trainer(Config(weight_seed=7)).weights()
    path = save_weights(tmp_path / f"w{suffix}", other)
    snapshot = import_weights(path, trainer)
    assert snapshot.iteration == 20
    for name, array in other.items():
        assert np.array_equal(trainer.weights()[name], array)
    assert np.array_equal(trainer.training_state()["optimizer"]["velocity"], velocity)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
@pytest.mark.parametrize(
    ("hidden", "message"),
    [
        ((8,), "weights are for 2-8-1 but the network is 2-5-1"),
        ((8, 4), "weights are for 2-8-4-1 but the network is 2-5-1"),
    ],
)
def test_import_weights_of_another_architecture_names_both(tmp_path, suffix, hidden, message):
    trainer = Trainer(Config())
    trainer.advance(3)
    before = trainer.weights()
    path = save_weights(tmp_path / f"w{suffix}", Trainer(Config(hidden=hidden)).weights())
    with pytest.raises(FileFormatError, match=f"w\\{suffix}: {message}"):
        import_weights(path, trainer)
    assert trainer.iteration == 3
    for name, array in before.items():
        assert np.array_equal(trainer.weights()[name], array)


def test_load_weights_for_refuses_hostile_npz(tmp_path):
    layout = Layout((5,))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**11,)}
    )
    (tmp_path / "huge.npz").write_bytes(rezip({"W1.npy": header.getvalue() + bytes(64)}))
    with pytest.raises(FileFormatError, match=r"huge\.npz: W1\.npy claims shape"):
        load_weights_for(tmp_path / "huge.npz", layout)
    marker = tmp_path / "pickle-ran"
    np.savez(tmp_path / "evil.npz", W1=np.array([_Trap(marker)], dtype=object))
    with pytest.raises(FileFormatError, match=r"evil\.npz holds pickled objects"):
        load_weights_for(tmp_path / "evil.npz", layout)
    assert not marker.exists()
    with pytest.raises(FileFormatError, match="cannot read"):
        load_weights_for(tmp_path / "none.npz", layout)


def test_describe_weights():
    assert describe_weights(Layout((8, 4)).to_weights(np.zeros(Layout((8, 4)).size))) == "2-8-4-1"
    assert describe_weights({"W1": np.ones((2, 3)), "W2": np.ones((4, 1))}) is None
    assert describe_weights({"b1": np.ones(3)}) is None
    assert describe_weights({"W1": [[1, 2], [3]]}) is None
