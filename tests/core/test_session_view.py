"""The window's view of a run in a session file (which plane of data with more inputs it showed):
kept as written in format 2; files of format 1, written before views, open with none."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnviz.core import Config, Trainer, load_dataset
from nnviz.core.session import (
    SessionError,
    load_session,
    read_session_file,
    save_seeds_session,
    seeds_session_bytes,
    session_bytes,
)

#: Written by nnviz before views (commit d7dc01b): iris 4-3-3 at iteration 20 of
#: Trainer(IRIS), and two seeds of a moons run.
SESSIONS = Path(__file__).parent / "sessions"
IRIS = Config.preset("iris", hidden=(3,), iterations=100)
VIEW = {"plane": {"mode": "slice", "axes": [2, 3], "sample": 7}}


def two_seeds() -> list[Trainer]:
    """The networks of a run of two seeds (Config.seeds)."""
    config = Config(hidden=(3,), samples=40, iterations=100, seeds=2)
    data = load_dataset(config)
    return [Trainer(config.replace(weight_seed=config.weight_seed + k), data) for k in range(2)]


def manifest(data: bytes, member: str = "session.json") -> dict:
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read(member))


def test_a_view_is_kept_as_written_and_the_run_goes_on_as_without(tmp_path):
    trainer, straight = Trainer(IRIS), Trainer(IRIS)
    trainer.advance(20)
    path = save_seeds_session(tmp_path / "iris.nnviz", [trainer], VIEW)
    assert manifest(path.read_bytes())["version"] == 2
    opened = read_session_file(path)
    assert opened.view == VIEW
    (again,) = opened.trainers
    assert load_session(path).iteration == 20  # the Trainer API reads past the view
    again.advance(10)
    straight.advance(30)
    for name, array in straight.weights().items():
        np.testing.assert_array_equal(again.weights()[name], array)


def test_a_session_without_a_view_is_format_1_as_before(tmp_path):
    trainer = Trainer(IRIS)
    data = session_bytes(trainer)
    assert manifest(data)["version"] == 1 and "view" not in manifest(data)
    assert seeds_session_bytes([trainer]) == data
    path = tmp_path / "plain.nnviz"
    path.write_bytes(data)
    assert read_session_file(path).view is None


def test_a_session_written_before_views_opens_and_trains_on_exactly():
    opened = read_session_file(SESSIONS / "iris-format1.nnviz")
    assert manifest((SESSIONS / "iris-format1.nnviz").read_bytes())["version"] == 1
    assert opened.view is None
    (again,) = opened.trainers
    assert again.config == IRIS and again.iteration == 20
    straight = Trainer(IRIS)
    straight.advance(30)
    again.advance(10)
    for name, array in straight.weights().items():
        np.testing.assert_array_equal(again.weights()[name], array)


def test_several_seeds_keep_the_view_and_those_written_before_open(tmp_path):
    old = read_session_file(SESSIONS / "moons-2-seeds-format1.nnviz")
    assert old.view is None and [t.config.weight_seed for t in old.trainers] == [4242, 4243]
    trainers = two_seeds()
    path = save_seeds_session(tmp_path / "seeds.nnviz", trainers, VIEW)
    assert manifest(path.read_bytes(), "seeds.json")["view"] == VIEW
    opened = read_session_file(path)
    assert opened.view == VIEW and len(opened.trainers) == 2


def test_a_view_that_is_not_an_object_is_refused(tmp_path):
    trainers = two_seeds()
    data = seeds_session_bytes(trainers, VIEW)
    members = {
        info.filename: zipfile.ZipFile(io.BytesIO(data)).read(info)
        for info in zipfile.ZipFile(io.BytesIO(data)).infolist()
    }
    members["seeds.json"] = json.dumps({**manifest(data, "seeds.json"), "view": "slice"}).encode()
    path = tmp_path / "bad.nnviz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    with pytest.raises(SessionError, match=r"seeds.json in bad.nnviz: view must be an object"):
        read_session_file(path)
