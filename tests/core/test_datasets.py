"""Datasets: sizes, classes, seeds, noise, the article's split, and CSV files good and bad."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import textbook

from nnviz import Config, Trainer
from nnviz.core import DataError, load_dataset
from nnviz.core import datasets as datasets_module
from nnviz.core.datasets import load_points_csv, make_points

GENERATED = ["moons", "circles", "xor", "gauss", "spiral"]


def all_points(data):
    return np.vstack([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])


def sorted_rows(x, y):
    table = np.column_stack([x, y])
    return table[np.lexsort(table.T[::-1])]


@pytest.mark.parametrize("samples", [40, 301])
@pytest.mark.parametrize("dataset", GENERATED)
def test_dataset_has_the_requested_size_and_both_classes(dataset, samples):
    data = load_dataset(Config(dataset=dataset, samples=samples))
    x, y = all_points(data)
    assert x.shape == (samples, 2) and y.shape == (samples,)
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert np.all(np.isfinite(x))
    assert set(np.unique(y)) == {0.0, 1.0}
    for labels in (data.y_train, data.y_test):
        assert set(np.unique(labels)) == {0.0, 1.0}
    if dataset != "xor":  # xor labels come from random points; the others alternate classes
        assert abs(np.sum(y) - samples / 2) <= 0.5


@pytest.mark.parametrize("dataset", GENERATED)
def test_dataset_is_a_deterministic_function_of_the_data_seed(dataset):
    first = make_points(Config(dataset=dataset, samples=200, data_seed=5))
    again = make_points(Config(dataset=dataset, samples=200, data_seed=5))
    other = make_points(Config(dataset=dataset, samples=200, data_seed=6))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("dataset", GENERATED)
def test_noise_changes_the_points(dataset):
    quiet = make_points(Config(dataset=dataset, samples=200, noise=0.05))
    noisy = make_points(Config(dataset=dataset, samples=200, noise=0.4))
    assert not np.allclose(quiet[0], noisy[0])
    assert np.std(noisy[0]) > np.std(quiet[0]) or dataset == "circles"


def test_zero_noise_moons_lie_on_the_two_half_circles():
    x, y = make_points(Config(noise=0.0, samples=200))
    upper = x[y == 0]
    lower = x[y == 1] - np.array([1.0, 0.5])
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(*lower.T), 1.0, atol=1e-12)


def test_moons_and_split_are_the_articles():
    data = load_dataset(Config())
    x_train, x_test, y_train, y_test = textbook.article_data()
    assert np.array_equal(data.x_train, x_train) and np.array_equal(data.x_test, x_test)
    assert np.array_equal(data.y_train, y_train[:, 0]) and np.array_equal(data.y_test, y_test[:, 0])
    assert len(data.x_train) == 750 and len(data.x_test) == 250


@pytest.mark.parametrize(
    ("samples", "test_size"), [(1000, 0.25), (200, 0.3), (101, 0.5), (40, 0.1), (20, 0.8)]
)
def test_split_sizes_follow_test_size(samples, test_size):
    data = load_dataset(Config(samples=samples, test_size=test_size, dataset="gauss"))
    n_test = math.ceil(samples * test_size)  # train_test_split rounds the test share up
    assert len(data.x_test) == len(data.y_test) == n_test
    assert len(data.x_train) == len(data.y_train) == samples - n_test


def test_split_seed_reshuffles_the_same_points():
    a = load_dataset(Config(samples=200, split_seed=1))
    b = load_dataset(Config(samples=200, split_seed=2))
    assert not np.array_equal(a.x_test, b.x_test)
    assert np.array_equal(sorted_rows(*all_points(a)), sorted_rows(*all_points(b)))
    again = load_dataset(Config(samples=200, split_seed=1))
    assert np.array_equal(a.x_test, again.x_test) and np.array_equal(a.y_train, again.y_train)


def test_dataset_arrays_are_read_only():
    data = load_dataset(Config(samples=50))
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        with pytest.raises(ValueError):
            array[0] = 0.0


def test_bounds_cover_every_point():
    data = load_dataset(Config(dataset="spiral", samples=200))
    xmin, xmax, ymin, ymax = data.bounds
    x, _ = all_points(data)
    assert xmin < x[:, 0].min() and x[:, 0].max() < xmax
    assert ymin < x[:, 1].min() and x[:, 1].max() < ymax


# -- CSV -----------------------------------------------------------------------------------------


def write_points(path, x, y, header="x1,x2,label"):
    lines = [header] + [f"{float(a)!r},{float(b)!r},{int(label)}" for (a, b), label in zip(x, y)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def points():
    rng = np.random.RandomState(3)
    x = rng.normal(size=(40, 2)) * np.array([1e-3, 1e5])  # values that must survive exactly
    y = np.arange(40) % 2
    return x, y


def test_csv_loads_exactly(tmp_path, points):
    x, y = points
    path = write_points(tmp_path / "mine.csv", x, y)
    loaded_x, loaded_y = load_points_csv(path)
    assert np.array_equal(loaded_x, x) and np.array_equal(loaded_y, y)

    data = load_dataset(Config(dataset="csv", csv_path=str(path), test_size=0.25))
    assert len(data.x_test) == 10 and len(data.x_train) == 30
    assert np.array_equal(sorted_rows(*all_points(data)), sorted_rows(x, y))
    trainer = Trainer(Config(dataset="csv", csv_path=str(path), iterations=5))
    assert trainer.step(5).iteration == 5


def test_csv_tolerates_header_case_spaces_extra_columns_and_blank_lines(tmp_path):
    rows = [f"{i / 10}, {i % 3}, {float(i % 2)}, extra" for i in range(10)]
    text = " X1 , x2 ,LABEL,split\n" + "\n".join(rows[:5]) + "\n\n" + "\n".join(rows[5:]) + "\n"
    path = tmp_path / "loose.csv"
    path.write_text(text, encoding="utf-8")
    x, y = load_points_csv(path)
    assert x.shape == (10, 2)
    assert y.tolist() == [i % 2 for i in range(10)]
    assert x[3].tolist() == [0.3, 0.0]


def good_rows(n=10):
    return [f"{i * 0.1},{1 - i * 0.1},{i % 2}" for i in range(n)]


BAD_CSV = [
    pytest.param(
        "\n".join(good_rows()) + "\n", r"first line must be the header x1,x2,label", id="no-header"
    ),
    pytest.param(
        "a,b,c\n" + "\n".join(good_rows()) + "\n",
        r"header x1,x2,label \(found a,b,c\)",
        id="wrong-header",
    ),
    pytest.param(
        "x1,x2,label\n" + "\n".join(good_rows(3)) + "\n0.5,0.5,2.5\n" + "\n".join(good_rows()),
        r"line 5: label '2.5' must be a whole number from 0 to 15",
        id="label-2.5",
    ),
    pytest.param(
        "x1,x2,label\n" + "\n".join(good_rows()) + "\n0.5,0.5,-1\n",
        r"line 12: label '-1' must be a whole number from 0 to 15",
        id="label-minus-1",
    ),
    pytest.param(
        "x1,x2,label\n" + "\n".join(good_rows()) + "\n0.5,0.5,16\n",
        r"line 12: label '16' must be a whole number from 0 to 15",
        id="label-16",
    ),
    pytest.param(
        "x1,x2,target\n" + "\n".join(good_rows()) + "\n0.5,0.5,inf\n",
        r"line 12: the target must be a finite number",
        id="infinite-target",
    ),
    pytest.param(
        "x1,x2,label\n0.1,abc,1\n" + "\n".join(good_rows()),
        r"line 2: '0.1,abc,1' is not 3 numbers",
        id="not-a-number",
    ),
    pytest.param(
        "x1,x2,label\n" + "\n".join(good_rows(2)) + "\nnan,0.3,1\n" + "\n".join(good_rows()),
        r"line 4: coordinates must be finite numbers",
        id="nan-coordinate",
    ),
    pytest.param(
        "x1,x2,label\n0.2,inf,0\n" + "\n".join(good_rows()),
        r"line 2: coordinates must be finite numbers",
        id="inf-coordinate",
    ),
    pytest.param(
        "x1,x2,label\n" + "\n".join(f"{i},{i},0" for i in range(20)) + "\n",
        r"has only label 0; at least two classes are needed",
        id="one-class",
    ),
    pytest.param(
        "x1,x2,label\n" + "\n".join(good_rows(5)) + "\n",
        r"has 5 data rows; nnviz needs at least 8",
        id="too-few-rows",
    ),
    pytest.param("x1,x2,label\n", r"has 0 data rows", id="header-only"),
    pytest.param("", r"is empty; expected a header x1,x2,label", id="empty"),
    pytest.param(
        "x1,x2,label\n0.1,0.2\n" + "\n".join(good_rows()),
        r"line 2: expected 3 columns x1,x2,label, found 2",
        id="two-columns",
    ),
    pytest.param(
        b"x1,x2,label\n0.1,0.2,1\n\xff\xfe0.3,0.4,0\n" + "\n".join(good_rows()).encode(),
        r"bad\.csv is not UTF-8 text \(invalid start byte\); save it as UTF-8",
        id="not-utf8",
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_CSV)
def test_bad_csv_raises_a_clear_data_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        load_points_csv(path)
    assert "bad.csv" in str(caught.value)
    assert "Traceback" not in str(caught.value)
    with pytest.raises(DataError, match=message):
        Trainer(Config(dataset="csv", csv_path=str(path)))


def test_missing_csv_file(tmp_path):
    with pytest.raises(DataError, match=r"cannot read .*nowhere\.csv"):
        load_points_csv(tmp_path / "nowhere.csv")
    with pytest.raises(DataError, match="no CSV file"):
        load_points_csv(None)


def test_oversize_csv_is_refused_before_reading(tmp_path, points, monkeypatch):
    path = write_points(tmp_path / "big.csv", *points)
    monkeypatch.setattr(datasets_module, "MAX_CSV_BYTES", 100)
    with pytest.raises(
        DataError, match=r"big\.csv is 1,758 bytes; nnviz reads CSV files up to 100"
    ):
        load_points_csv(path)


def test_csv_too_small_for_the_split(tmp_path):
    rows = [f"{i},{i},{i % 2}" for i in range(8)]
    path = tmp_path / "eight.csv"
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="leaves no test or training points out of 8"):
        load_dataset(Config(dataset="csv", csv_path=str(path), test_size=0.9))
    assert len(load_dataset(Config(dataset="csv", csv_path=str(path), test_size=0.1)).x_test) == 1


def test_special_files_are_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")  # a plain open() would wait for a writer for ever
    (tmp_path / "folder.csv").mkdir()
    for path, kind in (
        (Path("/dev/zero"), "a device"),
        (tmp_path / "pipe.csv", r"a pipe \(FIFO\)"),
        (tmp_path / "folder.csv", "a folder"),
    ):
        with pytest.raises(DataError, match=f"cannot read .*: it is {kind}, not a regular file"):
            load_points_csv(path)
        with pytest.raises(DataError, match="not a regular file"):
            Trainer(Config(dataset="csv", csv_path=str(path)))


def test_rows_past_samples_max_are_refused_while_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets_module, "SAMPLES_MAX", 20)
    rows = [f"{i},{i},{i % 2}" for i in range(20)]
    path = tmp_path / "rows.csv"
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    assert load_points_csv(path)[0].shape == (20, 2)
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n\n")  # blank lines count too
    with pytest.raises(
        DataError, match=r"rows\.csv has more than 21 lines; nnviz reads at most 20"
    ):
        load_points_csv(path)


def test_a_line_too_long_for_a_csv_file_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(b"x1,x2,label\n" + b"1" * 10**6)
    with pytest.raises(DataError, match=r"long\.csv line 2 is longer than 65,536 characters"):
        load_points_csv(path)
