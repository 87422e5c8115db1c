"""The plane the boundary view shows of data with more than two inputs: PCA and slices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA

from nnviz import Config
from nnviz.core import Dataset, load_dataset
from nnviz.core.session import read_session_file
from nnviz.gui.frame import grid_points
from nnviz.gui.plane import (
    MAX_REMEMBERED,
    Plane,
    PlaneChoice,
    choices_from_text,
    choices_text,
    plane_key,
)


@pytest.fixture(scope="module")
def iris():
    return load_dataset(Config.preset("iris"))


def test_two_inputs_are_the_plane_itself():
    data = load_dataset(Config.preset("seed"))
    plane = Plane.of(data, PlaneChoice("slice", (1, 0), 3))  # a choice means nothing in 2-D
    assert plane.kind == "plane" and plane.caption == ""
    assert plane.extent == data.bounds and plane.axis_labels == ("x1", "x2")
    np.testing.assert_array_equal(plane.grid(150), grid_points(data.bounds))
    assert plane.project(data.x_train) is data.x_train


def test_pca_is_sklearns_pca_with_fixed_signs(iris):
    plane = Plane.of(iris, PlaneChoice("pca"))
    reference = PCA(2).fit(iris.x_train)
    assert plane.explained == pytest.approx(reference.explained_variance_ratio_.sum())
    assert plane.caption == "PCA: PC1 × PC2, 95% of variance"
    signs = np.sign(np.sum(plane.basis * reference.components_, axis=1))
    np.testing.assert_allclose(plane.basis, reference.components_ * signs[:, None], atol=1e-12)
    np.testing.assert_allclose(
        plane.project(iris.x_test), reference.transform(iris.x_test) * signs, atol=1e-12
    )
    largest = np.abs(plane.basis).argmax(axis=1)
    assert np.all(plane.basis[[0, 1], largest] > 0)
    uv = np.array([[0.5, -1.0], [2.0, 0.25]])
    np.testing.assert_allclose(plane.project(plane.to_raw(uv)), uv, atol=1e-12)


def test_a_slice_holds_the_other_inputs_at_their_mean_or_a_sample(iris):
    plane = Plane.of(iris, PlaneChoice("slice", (2, 3)))
    assert plane.caption == "slice: petal length × petal width, others at their mean"
    assert plane.axis_labels == ("petal length", "petal width")
    grid = plane.grid(5)
    np.testing.assert_allclose(grid[:, :2], np.tile(iris.x_train[:, :2].mean(axis=0), (25, 1)))
    points = np.vstack([iris.x_train, iris.x_test])[:, 2:]
    assert grid[0, 2:] == pytest.approx([points[:, 0].min() - 0.1 * np.ptp(points[:, 0]),
                                         points[:, 1].min() - 0.1 * np.ptp(points[:, 1])])  # fmt: skip
    at = Plane.of(iris, PlaneChoice("slice", (0, 2), 7))
    assert at.caption == "slice: sepal length × petal length, others at training sample 7"
    np.testing.assert_array_equal(at.grid(3)[:, [1, 3]], np.tile(iris.x_train[7, [1, 3]], (9, 1)))
    np.testing.assert_array_equal(at.project(iris.x_test), iris.x_test[:, [0, 2]])


def test_an_impossible_choice_falls_back(iris):
    plane = Plane.of(iris, PlaneChoice("slice", (3, 3), 10_000))
    assert (plane.axes, plane.sample) == ((0, 1), None)


def test_a_slices_extent_is_the_bounds_of_the_data_on_its_two_inputs(iris):
    plane = Plane.of(iris, PlaneChoice("slice", (3, 1)))
    two = Dataset(iris.x_train[:, [3, 1]], iris.y_train, iris.x_test[:, [3, 1]], iris.y_test,
                  iris.task, iris.n_classes)  # fmt: skip
    assert plane.extent == two.bounds


# -- the choice kept in settings and sessions ---------------------------------------------------


def test_a_choice_reads_back_as_written_and_anything_else_as_pca(iris):
    for choice in (PlaneChoice(), PlaneChoice("slice", (2, 3)), PlaneChoice("slice", (3, 0), 7)):
        assert PlaneChoice.from_json(json.loads(json.dumps(choice.to_json()))) == choice
        assert choice.fits(iris)
    for damaged in (
        None,
        "slice",
        {"mode": "cube", "axes": [0, 1], "sample": None},
        {"mode": "slice", "axes": [1, 1], "sample": None},
        {"mode": "slice", "axes": [0, True], "sample": None},
        {"mode": "slice", "axes": [0, -1], "sample": None},
        {"mode": "slice", "axes": [0, 1, 2], "sample": None},
        {"mode": "slice", "axes": [0, 1], "sample": 2.5},
        {"mode": "slice"},
    ):
        assert PlaneChoice.from_json(damaged) == PlaneChoice(), damaged
    assert not PlaneChoice("slice", (2, 4)).fits(iris)  # iris has 4 inputs
    assert not PlaneChoice("slice", (0, 1), len(iris.x_train)).fits(iris)
    assert Plane.of(iris, PlaneChoice("slice", (3, 0), 7)).choice == PlaneChoice("slice", (3, 0), 7)
    assert Plane.of(iris, PlaneChoice("pca", (2, 3))).choice == PlaneChoice()


def test_the_settings_text_of_each_datasets_choice_reads_back_and_damage_is_quiet():
    choices = {"iris": PlaneChoice("slice", (2, 3)), "csv:/data/a.csv": PlaneChoice()}
    assert choices_from_text(choices_text(choices)) == choices
    assert plane_key(Config(dataset="wine", loss="ce")) == "wine"
    assert plane_key(Config(dataset="csv", csv_path="/data/a.csv")) == "csv:/data/a.csv"
    for damaged in (None, 3, "", "{not json", "[1]", "[" * 100_000):
        assert choices_from_text(damaged) == {}
    text = json.dumps({"iris": {"mode": "cube"}, "wine": {"mode": "slice", "axes": [4, 5]}})
    assert choices_from_text(text) == {"iris": PlaneChoice(), "wine": PlaneChoice("slice", (4, 5))}
    many = json.dumps({f"csv:{k}": PlaneChoice().to_json() for k in range(MAX_REMEMBERED + 5)})
    kept = list(choices_from_text(many))
    assert len(kept) == MAX_REMEMBERED and kept[0] == "csv:5"  # the newest


# -- in the window ------------------------------------------------------------------------------

SESSIONS = Path(__file__).parents[1] / "core" / "sessions"


def open_iris(qtbot, ini: Path):
    from PySide6.QtCore import QSettings
    from window_helpers import TIMEOUT

    from nnviz.gui.main_window import MainWindow

    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    window = MainWindow(Config.preset("iris", hidden=(3,), iterations=100), settings, preset=None)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.process_ready, timeout=TIMEOUT)
    return window


def choose(qtbot, window, box: str, index: int) -> None:
    """Pick entry `index` of one of the plane selector's boxes, as a click does."""
    from window_helpers import TIMEOUT

    combo = getattr(window.boundary_view.plane_selector, box)
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        combo.setCurrentIndex(index)
        combo.activated.emit(index)


def test_the_window_keeps_the_plane_in_sessions_and_in_its_settings(qtbot, tmp_path):
    from window_helpers import TIMEOUT

    ini = tmp_path / "nnviz.ini"
    window = open_iris(qtbot, ini)
    choose(qtbot, window, "mode", 1)  # slice
    choose(qtbot, window, "x_axis", 2)
    choose(qtbot, window, "y_axis", 3)
    slice_23 = PlaneChoice("slice", (2, 3))
    assert window.state.frame.plane.choice == slice_23
    path = tmp_path / "iris slice.nnviz"
    with qtbot.waitSignal(window.files.status, timeout=TIMEOUT):
        window.files.save_session(path)
    assert read_session_file(path).view == {"plane": slice_23.to_json()}
    window.close()  # the settings keep iris's plane

    window = open_iris(qtbot, ini)
    state, selector = window.state, window.boundary_view.plane_selector
    assert state.frame.plane.choice == slice_23
    assert selector.mode.currentData() == "slice" and selector.x_axis.currentIndex() == 2
    assert window.boundary_view.caption().startswith("slice: petal length × petal width")
    choose(qtbot, window, "mode", 0)  # PCA: the session brings its slice back
    window.files.open_session(path)
    qtbot.waitUntil(lambda: state.frame.plane.choice == slice_23, timeout=TIMEOUT)
    assert selector.mode.currentData() == "slice"
    choose(qtbot, window, "mode", 0)
    # a session written before planes were kept opens in the plane kept for its data
    window.files.open_session(SESSIONS / "iris-format1.nnviz")
    qtbot.waitUntil(lambda: state.newest.iteration == 20, timeout=TIMEOUT)
    assert state.frame.plane.kind == "pca" and state.message == ""
    window.close()

    from PySide6.QtCore import QSettings

    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    settings.setValue("view/planes", '{"iris": {"mode": "slice", "axes": [2, 9]}}')
    settings.sync()
    window = open_iris(qtbot, ini)  # a kept choice iris cannot show: PCA, quietly
    assert window.state.frame.plane.kind == "pca" and window.state.message == ""
    window.close()


def test_save_session_while_the_first_data_loads_sends_no_view(qtbot, tmp_path):
    from stubs import RecordingClient

    from nnviz.gui.controllers.files import FileController
    from nnviz.gui.controllers.training import TrainingController
    from nnviz.gui.state import AppState
    from nnviz.service.protocol import SaveSession

    state, client = AppState(Config.preset("iris"), None), RecordingClient()
    files = FileController(state, client, TrainingController(state, client), None, None, {})
    path = files.save_session(tmp_path / "early")  # the process answers that it has no run
    assert client.commands == [SaveSession(str(path))]
