"""The File menu's actions in the real window: sessions, imports, exports and drops."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from window_helpers import TIMEOUT, step_to

from nnviz import Config, Trainer
from nnviz.core.files import load_weights, save_weights
from nnviz.core.session import save_session


def test_a_reopened_session_trains_on_bit_identically(qtbot, window, tmp_path):
    config = Config.preset("seed", optimizer="adam", batch_size=32, learning_rate=0.01)
    trainer = Trainer(config)
    trainer.step(300)
    save_session(tmp_path / "run.nnviz", trainer)
    window.files.open_session(tmp_path / "run.nnviz")  # read off the GUI thread
    qtbot.waitUntil(lambda: window.state.newest.iteration == 300, timeout=TIMEOUT)
    assert window.config == config
    step_to(qtbot, window, 310, 10)
    trainer.step(10)
    for name, array in trainer.weights().items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)
    assert str((tmp_path / "run.nnviz").resolve()) in window.files.recent


def test_saving_a_session_from_the_window_round_trips(qtbot, window, tmp_path):
    step_to(qtbot, window, 25, 25)
    window.files.save_session(tmp_path / "saved")
    qtbot.waitUntil(lambda: (tmp_path / "saved.nnviz").exists(), timeout=TIMEOUT)
    qtbot.waitUntil(
        lambda: str((tmp_path / "saved.nnviz").resolve()) in window.files.recent, timeout=TIMEOUT
    )
    from nnviz.core.session import load_session

    reopened = load_session(tmp_path / "saved.nnviz")
    assert reopened.iteration == 25
    for name, array in reopened.weights().items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04truncated"])
def test_a_broken_session_is_refused_and_changes_nothing(qtbot, window, tmp_path, content):
    step_to(qtbot, window, 5, 5)
    bad = tmp_path / "bad.nnviz"
    bad.write_bytes(content)
    window.files.open_session(bad)
    qtbot.waitUntil(lambda: "bad.nnviz" in window.banner.text(), timeout=TIMEOUT)
    assert window.state.newest.iteration == 5 and window.config == Config.preset("seed")


def test_importing_weights_checks_the_architecture(qtbot, window, tmp_path):
    other = Trainer(Config(hidden=(8,)))
    save_weights(tmp_path / "wide.npz", other.weights())
    window.weights.import_weights(tmp_path / "wide.npz")
    qtbot.waitUntil(lambda: "2-8-1" in window.banner.text(), timeout=TIMEOUT)
    assert "2-5-1" in window.banner.text()
    fitting = Trainer(Config(weight_seed=7))
    save_weights(tmp_path / "fits.json", fitting.weights())
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        window.weights.import_weights(tmp_path / "fits.json")
    for name, array in fitting.weights().items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)


def test_view_exports_have_the_asked_size_and_content(qtbot, window, tmp_path):
    step_to(qtbot, window, 500, 500)
    for name in ("network", "loss", "boundary", "roc"):
        area = window.files.views[name]()
        one = QImage(str(window.files.export_view(name, tmp_path / f"{name}.png")))
        two = QImage(str(window.files.export_view(name, tmp_path / f"{name}2.png", scale=2)))
        assert (one.width(), one.height()) == (area.width(), area.height())
        assert (two.width(), two.height()) == (2 * area.width(), 2 * area.height())
        assert (
            len(
                {
                    one.pixel(x, y)
                    for x in range(0, one.width(), 7)
                    for y in range(0, one.height(), 7)
                }
            )
            > 20
        )
        svg = ET.parse(window.files.export_view(name, tmp_path / f"{name}.svg")).getroot()
        assert svg.tag.endswith("svg")
        assert any(element.tag.endswith(("path", "polyline")) for element in svg.iter())
    roc_text = (tmp_path / "roc.svg").read_text()
    assert f"{window.roc_view.legend_texts()[1].split()[-1]}" in roc_text  # the test AUC


def test_data_exports_reopen_equal(qtbot, window, tmp_path):
    step_to(qtbot, window, 40, 40)
    files = window.files
    assert files.guarded(files.export_weights, tmp_path / "w.npz")
    assert files.guarded(files.export_weights, tmp_path / "w.json")
    for path in (tmp_path / "w.npz", tmp_path / "w.json"):
        for name, array in load_weights(path).items():
            np.testing.assert_array_equal(window.state.newest.weights[name], array)
    report = files.export_report(tmp_path / "report.txt").read_text()
    assert "weighted avg" in report and "iteration 40" in report


def test_export_all_matches_the_cli_layout(qtbot, window, tmp_path):
    step_to(qtbot, window, 30, 30)
    with qtbot.waitSignal(  # the training process reports the run files written
        window.files.status, timeout=TIMEOUT, check_params_cb=lambda text: "wrote" in text
    ) as report:
        window.files.export_all(tmp_path / "all")
    names = {p.name for p in (tmp_path / "all").iterdir()}
    expected = {
        "config.json",
        "metrics.json",
        "report.txt",
        "history.csv",
        "data.csv",
        "initial_weights.npz",
        "weights.npz",
        "weights.json",
    }
    expected |= {
        f"{view}.{kind}"
        for view in ("network", "loss", "boundary", "roc")
        for kind in ("png", "svg")
    }
    assert expected <= names
    assert report.args[0] == f"wrote {len(names)} files to {tmp_path / 'all'}"
    assert json.loads((tmp_path / "all" / "metrics.json").read_text())["iterations"] == 30


def test_an_unwritable_export_shows_a_message_and_leaves_nothing(qtbot, window, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert not window.files.guarded(window.files.export_view, "roc", blocker / "roc.png")
    assert "cannot write" in window.banner.text()
    assert not any(p.name.endswith(".part") for p in tmp_path.rglob("*"))


def test_dropping_a_csv_trains_on_its_points(qtbot, window, tmp_path):
    points = tmp_path / "points.csv"
    rows = "\n".join(f"{i % 9 / 3},{i % 7 / 2},{i % 2}" for i in range(60))
    points.write_text("x1,x2,label\n" + rows + "\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(points))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)  # what Qt calls when a file is dropped on the window
    qtbot.waitUntil(lambda: window.config.dataset == "csv", timeout=TIMEOUT)  # read off-thread
    assert window.config.csv_path == str(points)
    assert len(window.state.dataset.x_train) + len(window.state.dataset.x_test) == 60


@pytest.mark.slow
def test_nnviz_opens_a_session_given_on_the_command_line(tmp_path):
    trainer = Trainer(Config.preset("seed"))
    trainer.step(300)
    save_session(tmp_path / "mine.nnviz", trainer)
    result = subprocess.run(
        [sys.executable, "-m", "nnviz", str(tmp_path / "mine.nnviz"), "--train", "400", "--quit"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert "trained 400 iterations" in result.stdout


def test_a_failed_save_is_not_added_to_recent_files(qtbot, window, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    window.files.save_session(blocker / "run")
    qtbot.waitUntil(lambda: "cannot write" in window.banner.text(), timeout=TIMEOUT)
    assert not any("run.nnviz" in path for path in window.files.recent)
