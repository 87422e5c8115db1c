"""File formats: exact weight round trips, refusal of hostile or broken files, atomic writes, run folder."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnviz import Config, ConfigError, Trainer
from nnviz.core import FileFormatError, load_weights, save_weights
from nnviz.core import files as files_module
from nnviz.core.datasets import load_points_csv
from nnviz.core.files import atomic_write, load_history_csv, read_npz
from nnviz.core.network import Layout
from nnviz.core.run_files import write_run

RUN_FILES = [
    "config.json",
    "metrics.json",
    "report.txt",
    "history.csv",
    "initial_weights.npz",
    "weights.npz",
    "weights.json",
    "data.csv",
]


@pytest.fixture(scope="module")
def trained():
    """A (8, 4) network after some Adam steps: weights with every bit pattern in use."""
    trainer = Trainer(
        Config(hidden=(8, 4), activation="tanh", optimizer="adam", learning_rate=0.01)
    )
    trainer.step(200)
    return trainer


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def assert_identical(loaded, expected):
    assert set(loaded) == set(expected)
    for name, array in expected.items():
        assert loaded[name].dtype == np.float64
        assert loaded[name].shape == array.shape
        assert loaded[name].tobytes() == np.asarray(array, dtype=float).tobytes(), name


def leftovers(folder):
    return [p.name for p in Path(folder).iterdir() if p.name.endswith(".part")]


# -- exact round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_weights_round_trip_bit_for_bit(tmp_path, trained, suffix):
    weights = trained.weights()
    weights["b3"] = np.array([np.nextafter(0.1, 1.0)])  # a value one ulp off a short decimal
    path = save_weights(tmp_path / f"w{suffix}", weights)
    assert path == tmp_path / f"w{suffix}"
    loaded = load_weights(path)
    assert_identical(loaded, weights)
    assert leftovers(tmp_path) == []


def test_saved_weights_restart_training_exactly(tmp_path, trained):
    save_weights(tmp_path / "w.json", trained.weights())
    resumed = Trainer(trained.config, initial_weights=load_weights(tmp_path / "w.json"))
    assert_identical(resumed.weights(), trained.weights())
    via_config = Trainer(trained.config.replace(init_weights=str(tmp_path / "w.json")))
    assert_identical(via_config.initial_weights(), trained.weights())


def test_save_refuses_an_unknown_suffix(tmp_path, trained):
    with pytest.raises(FileFormatError, match=r"w\.txt: weights are saved as \.npz or \.json"):
        save_weights(tmp_path / "w.txt", trained.weights())
    assert list(tmp_path.iterdir()) == []


# -- hostile and broken files --------------------------------------------------------------------


class _Trap:
    """Unpickling this creates a marker file: proof that a loader ran pickled code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_npz_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pickle-ran"
    path = tmp_path / "evil.npz"
    np.savez(path, W1=np.array([_Trap(marker)], dtype=object), b1=np.zeros(5))
    with pytest.raises(FileFormatError, match=r"evil\.npz holds pickled objects"):
        load_weights(path)
    assert not marker.exists()


def test_zip_member_claiming_a_huge_size_is_refused(tmp_path):
    data = bytearray(npz_bytes(W1=np.ones((2, 5))))
    central = data.find(b"PK\x01\x02")
    assert central >= 0
    struct.pack_into("<I", data, central + 24, 300 * 2**20)  # uncompressed size: 300 MiB
    path = tmp_path / "bomb.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"bomb\.npz: member W1\.npy claims 314572800 bytes"):
        load_weights(path)


def test_member_size_limit_applies(tmp_path, monkeypatch):
    monkeypatch.setattr(files_module, "MAX_ARRAY_BYTES", 1000)
    path = tmp_path / "big.npz"
    np.savez(path, W1=np.ones((2, 100)))  # 1600 bytes of data
    with pytest.raises(FileFormatError, match="more than nnviz accepts"):
        load_weights(path)
    np.savez(path, W1=np.ones((2, 10)))
    assert load_weights(path)["W1"].shape == (2, 10)


def test_oversize_json_is_refused(tmp_path, trained, monkeypatch):
    path = save_weights(tmp_path / "w.json", trained.weights())
    monkeypatch.setattr(files_module, "MAX_JSON_BYTES", 100)
    with pytest.raises(
        FileFormatError, match=r"w\.json is [0-9,]+ bytes; nnviz reads JSON weights files up to 100"
    ):
        load_weights(path)


def _member_not_npy():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("W1.npy", b"hello, not an array")
    return buffer.getvalue()


def _bad_crc():
    data = bytearray(npz_bytes(W1=np.arange(10.0)))
    data[-150] ^= 0xFF  # a byte of the array data; the CRC no longer matches
    return bytes(data)


CORRUPT = [
    pytest.param(lambda: npz_bytes(W1=np.ones((2, 5)))[:150], id="truncated"),
    pytest.param(lambda: b"", id="empty"),
    pytest.param(lambda: np.random.RandomState(0).bytes(400), id="random-bytes"),
    pytest.param(_member_not_npy, id="member-not-npy"),
    pytest.param(_bad_crc, id="bad-crc"),
    pytest.param(lambda: b"\x93NUMPY\x01\x00" + b" " * 50, id="bare-npy-header"),
]


@pytest.mark.parametrize("make", CORRUPT)
def test_corrupt_npz_raises_file_format_error(tmp_path, make):
    path = tmp_path / "broken.npz"
    path.write_bytes(make())
    with pytest.raises(FileFormatError, match=r"broken\.npz"):
        load_weights(path)
    with pytest.raises(FileFormatError):
        read_npz(path.read_bytes(), "broken.npz", max_bytes=2**20)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(tmp_path, bad):
    w1 = np.ones((2, 5))
    w1[1, 3] = bad
    np.savez(tmp_path / "w.npz", W1=w1)
    with pytest.raises(FileFormatError, match=r"w\.npz: W1 contains NaN or infinite values"):
        load_weights(tmp_path / "w.npz")
    (tmp_path / "w.json").write_text(json.dumps({"W1": w1.tolist()}))  # writes NaN/Infinity
    with pytest.raises(FileFormatError, match=r"w\.json: W1 contains NaN or infinite values"):
        load_weights(tmp_path / "w.json")


@pytest.mark.parametrize(
    ("array", "kind"), [(np.array(["a", "b"]), "<U1"), (np.array([1 + 2j]), "complex128")]
)
def test_non_real_arrays_are_refused(tmp_path, array, kind):
    np.savez(tmp_path / "w.npz", W1=array)
    with pytest.raises(FileFormatError, match=f"W1 has type {kind}, expected numbers"):
        load_weights(tmp_path / "w.npz")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"w\.json is not valid JSON"),
        ("[1, 2, 3]", r"w\.json must hold an object of named arrays"),
        ('{"W1": "abc"}', r"w\.json: W1 is not a numeric array"),
        ('{"W1": [[1, 2], [3]]}', r"w\.json: W1 is not a numeric array"),
        ('{"W1": [1, null]}', r"w\.json: W1 contains NaN"),
    ],
)
def test_malformed_json_weights(tmp_path, text, message):
    (tmp_path / "w.json").write_text(text)
    with pytest.raises(FileFormatError, match=message):
        load_weights(tmp_path / "w.json")


def test_non_utf8_json_weights(tmp_path):
    (tmp_path / "w.json").write_bytes(b'{"W1": [1.0]}\xff')
    with pytest.raises(FileFormatError, match=r"w\.json is not UTF-8 text"):
        load_weights(tmp_path / "w.json")


def test_missing_weights_file(tmp_path):
    for name in ("none.npz", "none.json"):
        with pytest.raises(FileFormatError, match=f"cannot read .*{name}"):
            load_weights(tmp_path / name)


@pytest.mark.parametrize("name", ["folder.npz", "folder.json", "folder"])
def test_a_folder_is_not_a_weights_file(tmp_path, name):
    (tmp_path / name).mkdir()
    with pytest.raises(FileFormatError, match=name):
        load_weights(tmp_path / name)


def test_a_fifo_of_weights_is_refused_without_waiting(tmp_path):
    for name in ("pipe.npz", "pipe.json"):
        os.mkfifo(tmp_path / name)  # a plain open() would wait for a writer for ever
        with pytest.raises(FileFormatError, match=f"cannot read .*{name}: it is a pipe"):
            load_weights(tmp_path / name)
        config = Config(init_weights=str(tmp_path / name))
        with pytest.raises(FileFormatError, match="not a regular file"):
            Trainer(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"W1": [[1e0, ' + b"1" + b"0" * 400 + b"]]}", r"w\.json: W1 holds a number too large"),
        (b'{"W1": [' + b"9" * 5000 + b"]}", r"w\.json is not valid JSON: .*4300 digits"),
        (b'{"W1": ' + b"[" * 5000 + b"]" * 5000 + b"}", r"w\.json is not valid JSON: .*nest"),
        (b'{"W1": ' + b"[" * 70_000 + b"]" * 70_000 + b"}", r"w\.json holds 70,001 lists"),
        (b'{"W1": [' + b'"ab",' * 300 + b"1]}", r"holds 2 lists and 602 quotes"),
        (b'{"W1": [1e400]}', r"w\.json: W1 contains NaN or infinite values"),
    ],
    ids=["10**400", "5000-digits", "deep", "many-lists", "many-strings", "1e400"],
)
def test_json_weights_with_huge_numbers_or_deep_nesting(tmp_path, text, message):
    (tmp_path / "w.json").write_bytes(text)
    with pytest.raises(FileFormatError, match=message):
        load_weights(tmp_path / "w.json")


def test_npz_arrays_in_any_byte_order_layout_and_number_type_read_back(tmp_path):
    w1 = np.arange(10.0).reshape(2, 5)
    np.savez(
        tmp_path / "w.npz",
        W1=np.asfortranarray(w1),
        b1=np.arange(5.0).astype(">f8"),
        W2=np.ones((5, 1), np.float32),
        b2=np.array([3], np.int16),
    )
    loaded = load_weights(tmp_path / "w.npz")
    assert np.array_equal(loaded["W1"], w1) and loaded["W1"].dtype == np.float64
    assert np.array_equal(loaded["b1"], np.arange(5.0)) and loaded["b1"].dtype == np.float64
    assert loaded["W2"].dtype == np.float64 and loaded["b2"].tolist() == [3.0]


def test_npz_values_that_overflow_a_float64_are_refused(tmp_path):
    if np.finfo(np.longdouble).max <= np.finfo(np.float64).max:
        pytest.skip("long double is float64 here")
    np.savez(tmp_path / "w.npz", W1=np.array([np.longdouble("1e4000")]))
    with pytest.raises(FileFormatError, match="W1 contains NaN or infinite values"):
        load_weights(tmp_path / "w.npz")


def test_npz_members_that_zipfile_cannot_read_are_refused_by_name(tmp_path):
    data = bytearray(npz_bytes(W1=np.ones(3)))
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 10, 99)  # compression method 99: AES
    (tmp_path / "aes.npz").write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"aes\.npz: .* unsupported compression method"):
        load_weights(tmp_path / "aes.npz")
    struct.pack_into("<HH", data, central + 8, 1, 0)  # encrypted, stored
    (tmp_path / "locked.npz").write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"locked\.npz: member W1\.npy is encrypted"):
        load_weights(tmp_path / "locked.npz")


def test_npz_member_with_bytes_past_its_array_is_refused(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ones(3))
    with zipfile.ZipFile(tmp_path / "w.npz", "w") as archive:
        archive.writestr("W1.npy", buffer.getvalue() + b"more")
    with pytest.raises(FileFormatError, match=r"W1\.npy holds more than its \(3,\) values"):
        load_weights(tmp_path / "w.npz")


# -- shapes --------------------------------------------------------------------------------------


def test_layout_checks_names_shapes_and_values():
    layout = Layout((5,))
    good = {"W1": np.ones((2, 5)), "b1": np.zeros(5), "W2": np.ones((5, 1)), "b2": np.zeros(1)}
    assert np.array_equal(layout.to_weights(layout.from_weights(good))["W1"], good["W1"])
    cases = [
        (
            {**good, "W1": np.ones((5, 2))},
            r"W1 has shape \(5, 2\), but the network 2-5-1 needs \(2, 5\)",
        ),
        (
            {**good, "b1": np.zeros((1, 5))},
            r"b1 has shape \(1, 5\), but the network 2-5-1 needs \(5,\)",
        ),
        ({**good, "W2": np.ones(5)}, r"W2 has shape \(5,\), but the network 2-5-1 needs \(5, 1\)"),
        ({k: v for k, v in good.items() if k != "b2"}, r"2-5-1: missing \['b2'\], unexpected none"),
        ({**good, "W3": np.ones((1, 1))}, r"missing none, unexpected \['W3'\]"),
        ({**good, "W1": np.full((2, 5), np.nan)}, "W1 must hold finite numbers"),
        ({**good, "b2": np.array(["x"])}, "b2 must hold finite numbers"),
    ]
    for weights, message in cases:
        with pytest.raises(ValueError, match=message):
            layout.from_weights(weights)


def test_set_weights_refuses_a_wrong_shape_and_keeps_the_old_weights():
    trainer = Trainer(Config(hidden=(8, 4)))
    trainer.step(3)
    before = trainer.weights()
    wrong = {**before, "W2": np.ones((4, 8))}
    with pytest.raises(
        ValueError, match=r"W2 has shape \(4, 8\), but the network 2-8-4-1 needs \(8, 4\)"
    ):
        trainer.set_weights(wrong)
    after = trainer.weights()
    for name in before:
        assert np.array_equal(after[name], before[name])
    assert trainer.iteration == 3


def test_set_weights_continues_from_the_given_weights():
    trainer = Trainer(Config())
    trainer.step(10)
    other = Trainer(Config(weight_seed=7))
    snapshot = trainer.set_weights(other.weights())
    assert snapshot.iteration == 10
    for name, array in other.weights().items():
        assert np.array_equal(snapshot.weights[name], array)


def test_init_weights_of_the_wrong_network_is_a_config_error(tmp_path):
    save_weights(tmp_path / "five.npz", Trainer(Config()).weights())
    config = Config(hidden=(8, 4), init_weights=str(tmp_path / "five.npz"))
    with pytest.raises(ConfigError) as caught:
        Trainer(config)
    assert caught.value.field == "init_weights"
    assert "five.npz" in str(caught.value) and "2-8-4-1" in str(caught.value)


# -- atomic writes -------------------------------------------------------------------------------


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.bin"

    def half_then_fail(handle):
        handle.write(b"partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []

    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_write_turns_an_os_error_into_a_file_format_error(tmp_path):
    def fails(handle):
        handle.write(b"x")
        raise OSError(28, "No space left on device")

    with pytest.raises(FileFormatError, match=r"cannot write .*out\.bin: No space left on device"):
        atomic_write(tmp_path / "out.bin", fails)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_bytes(b"a much longer old content")
    atomic_write(target, lambda handle: handle.write(b"new"))
    assert target.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_unwritable_path_raises_file_format_error(tmp_path, trained):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(FileFormatError, match="cannot write"):
        atomic_write(blocker / "sub" / "out.bin", lambda handle: handle.write(b"x"))
    with pytest.raises(FileFormatError, match="cannot write"):
        save_weights(blocker / "w.npz", trained.weights())
    folder = tmp_path / "taken.npz"
    folder.mkdir()
    with pytest.raises(FileFormatError, match="cannot write"):
        save_weights(folder, trained.weights())
    assert leftovers(tmp_path) == [] and folder.is_dir() and list(folder.iterdir()) == []


def test_atomic_write_writes_through_a_symlink(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "w.json"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert atomic_write(link, lambda handle: handle.write(b"new")) == link
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "real") == []
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "new.json")
    atomic_write(dangling, lambda handle: handle.write(b"made"))
    assert dangling.is_symlink() and (tmp_path / "real" / "new.json").read_text() == "made"


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (os.mkfifo, "a pipe"),
        (lambda path: socket.socket(socket.AF_UNIX).bind(str(path)), "a socket"),
    ],
    ids=["fifo", "socket"],
)
def test_atomic_write_refuses_to_replace_what_is_not_a_regular_file(tmp_path, make, kind):
    make(tmp_path / "special")
    (tmp_path / "link").symlink_to(tmp_path / "special")
    for path in (tmp_path / "special", tmp_path / "link"):
        with pytest.raises(FileFormatError, match=f"cannot write .*: it is {kind}"):
            atomic_write(path, lambda handle: handle.write(b"x"))
    assert not (tmp_path / "special").is_file() and (tmp_path / "link").is_symlink()
    assert leftovers(tmp_path) == []


def test_atomic_write_refuses_a_symlink_loop(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(FileFormatError, match=r"cannot write .*: Too many levels of symbolic"):
        atomic_write(tmp_path / "a", lambda handle: handle.write(b"x"))
    assert (tmp_path / "a").is_symlink() and leftovers(tmp_path) == []


# -- the run folder ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, trained):
    out = tmp_path_factory.mktemp("run") / "nested" / "out"
    written = write_run(out, trained, trained.evaluate())
    return out, written


def test_write_run_writes_every_file(run_folder):
    out, written = run_folder
    assert [p.name for p in written] == RUN_FILES
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)


def test_data_csv_reads_back_exactly(run_folder, trained):
    out, _ = run_folder
    with (out / "data.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["x1", "x2", "label", "split"]
    data = trained.data
    n_train = len(data.x_train)
    body = rows[1:]
    assert len(body) == n_train + len(data.x_test)
    x = np.array([[float(r[0]), float(r[1])] for r in body])
    labels = np.array([float(r[2]) for r in body])
    splits = [r[3] for r in body]
    assert splits == ["train"] * n_train + ["test"] * len(data.x_test)
    assert x[:n_train].tobytes() == np.asarray(data.x_train).tobytes()
    assert x[n_train:].tobytes() == np.asarray(data.x_test).tobytes()
    assert np.array_equal(labels[:n_train], data.y_train)
    assert np.array_equal(labels[n_train:], data.y_test)
    # and it is a valid points file for --dataset csv
    points, point_labels = load_points_csv(out / "data.csv")
    assert points.tobytes() == x.tobytes() and np.array_equal(point_labels, labels)


def test_run_weights_config_and_history_read_back(run_folder, trained):
    out, _ = run_folder
    assert_identical(load_weights(out / "weights.npz"), trained.weights())
    assert_identical(load_weights(out / "weights.json"), trained.weights())
    assert_identical(load_weights(out / "initial_weights.npz"), trained.initial_weights())
    assert Config.from_dict(json.loads((out / "config.json").read_text())) == trained.config
    table = load_history_csv((out / "history.csv").read_text())
    history = trained.snapshot().history
    assert table[0, 0] == 0 and table[-1, 0] == trained.iteration
    assert np.array_equal(table[:, 0], history.iteration)
    assert table[:, 1].tobytes() == history.train_loss.tobytes()
    assert table[:, 4].tobytes() == history.test_accuracy.tobytes()


def test_run_metrics_and_report(run_folder, trained):
    out, _ = run_folder
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == trained.iteration == 200
    assert metrics["seconds"] > 0
    expected = trained.evaluate()
    for split in ("train", "test"):
        assert metrics[split]["auc"] == getattr(expected, split).auc
        assert metrics[split]["report"]["weighted avg"]["support"] == len(
            getattr(trained.data, f"y_{split}")
        )
    report = (out / "report.txt").read_text()
    assert report.startswith("train\n") and "\ntest\n" in report
    assert report.count("weighted avg") == 2


def test_history_csv_refuses_bad_text():
    with pytest.raises(FileFormatError, match="expected the header"):
        load_history_csv("a,b\n1,2\n")
    with pytest.raises(FileFormatError, match="every value must be a number"):
        load_history_csv("iteration,train_loss,test_loss,train_accuracy,test_accuracy\n0,x,1,1,1\n")


HEADER = "iteration,train_loss,test_loss,train_accuracy,test_accuracy\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("0,-inf,1,1,1", "train_loss -inf must be a finite number >= 0"),
        ("0,1,inf,1,1", "test_loss inf must be a finite number >= 0"),
        ("0,-0.5,1,1,1", "train_loss -0.5 must be a finite number >= 0"),
        ("0,1,1,7.5,1", "train_accuracy 7.5 must be from 0 to 1"),
        ("0,1,1,1,-0.1", "test_accuracy -0.1 must be from 0 to 1"),
        ("2.5,1,1,1,1", "iteration 2.5 must be a whole number from 0 to 2\\*\\*53"),
        ("1e300,1,1,1,1", "iteration 1e\\+300 must be a whole number"),
        ("0,1,1,1", "every row needs 5 values"),
    ],
)
def test_history_csv_refuses_values_no_run_has(row, message):
    with pytest.raises(FileFormatError, match=f"h.csv line 3: {message}"):
        load_history_csv(HEADER + "0,1,1,1,1\n" + row + "\n", "h.csv")


def test_history_csv_has_a_row_cap(monkeypatch):
    monkeypatch.setattr(files_module, "MAX_HISTORY_ROWS", 3)
    assert load_history_csv(HEADER + "0,1,1,1,1\n" * 3).shape == (3, 5)
    with pytest.raises(FileFormatError, match="more than 4 lines"):
        load_history_csv(HEADER + "0,1,1,1,1\n" * 4)
