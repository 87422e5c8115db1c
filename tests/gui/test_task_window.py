"""The real window on data beyond two moons (issue 14): iris's plane chosen in the boundary view
reaches the state, the frames and the node maps; regression's scores in the status bar."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from window_helpers import TIMEOUT, step_to

from nnviz import Config, Trainer
from nnviz.core.explain import node_output_grids
from nnviz.gui.frame import GRID_SIZE
from nnviz.gui.plane import PlaneChoice


def open_window(qtbot, tmp_path, preset: str):
    from nnviz.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "nnviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Config.preset(preset), settings, preset=preset)
    window.resize(1440, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.process_ready, timeout=TIMEOUT)
    return window


@pytest.fixture
def iris_window(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, "iris")
    yield window
    window.close()


def test_iris_shows_its_principal_plane_then_the_chosen_slice(qtbot, iris_window):
    window = iris_window
    step_to(qtbot, window, 300, 300)
    view, state = window.boundary_view, window.state
    assert view.caption() == "PCA: PC1 × PC2, 95% of variance"
    assert "macro AUC" in window.status.text()
    selector = view.plane_selector
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        selector.mode.setCurrentIndex(selector.mode.findData("slice"))
        selector.mode.activated.emit(selector.mode.currentIndex())
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        selector.x_axis.setCurrentIndex(2)
        selector.x_axis.activated.emit(2)
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        selector.y_axis.setCurrentIndex(3)
        selector.y_axis.activated.emit(3)
    assert state.plane_choice == PlaneChoice("slice", (2, 3), None)
    frame = state.frame
    assert frame.plane.axes == (2, 3) and frame.snapshot.iteration == 300
    assert view.caption() == "slice: petal length × petal width, others at their mean"
    reference = Trainer(Config.preset("iris"))
    reference.step(300)
    expected = reference.task.outputs(reference.weights(), "tanh", frame.plane.grid(GRID_SIZE))
    np.testing.assert_allclose(frame.probabilities.reshape(-1, 3), expected, rtol=1e-5)
    # A hidden unit's map covers the same slice.
    window.node_maps.on_node_hovered((1, 3))
    grids = node_output_grids(
        frame.snapshot.weights,
        "tanh",
        frame.extent,
        GRID_SIZE,
        frame.plane.grid(GRID_SIZE),
        task=frame.task,
    )
    np.testing.assert_allclose(view.image.image, grids[1][3], rtol=1e-6)
    assert "slice: petal length × petal width" in view.plot_widget.getPlotItem().titleLabel.text
    window.node_maps.on_node_hovered(None)
    # The slice stays chosen for the next run on the same data (Reset starts one).
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        window.config_edits.new_weights()
    assert window.state.frame.plane.axes == (2, 3)


def test_regression_reports_r2_where_the_roc_was(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path, "regression")
    try:
        step_to(qtbot, window, 400, 400)
        frame = window.state.frame
        r2 = frame.metrics.test.r2
        assert f"R² train {frame.metrics.train.r2:.4f}  test {r2:.4f}" in window.status.text()
        assert "AUC" not in window.status.text()
        assert window.roc_title.text() == "<b>Predicted vs true</b>"
        assert window.roc_view.plot_title().endswith(f"test {r2:.4f}")
    finally:
        window.close()


def test_iris_replays_the_past_and_resumes_from_it_like_a_trainer(qtbot, iris_window):
    """Replay of a three-class run shows the past network's K regions, and training resumed
    from it goes on exactly as a Trainer started from the past weights (Adam starts its
    averages again on Resume, as README says)."""
    window = iris_window
    step_to(qtbot, window, 300, 300)
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        window.replay.select_iteration(100)
    frame = window.state.frame
    past = frame.snapshot.iteration
    assert 0 < past < 300
    reference = Trainer(Config.preset("iris"))
    reference.step(past)
    expected = reference.task.outputs(reference.weights(), "tanh", frame.plane.grid(GRID_SIZE))
    np.testing.assert_allclose(frame.probabilities.reshape(-1, 3), expected, rtol=1e-5)

    window.replay.resume()
    step_to(qtbot, window, past + 50, 50)
    fresh = Trainer(Config.preset("iris"), initial_weights=reference.weights())
    fresh.step(50)
    resumed = window.state.frame.snapshot.weights
    for name, value in fresh.weights().items():
        np.testing.assert_array_equal(resumed[name], value)


def test_iris_weights_exported_from_the_window_import_back(qtbot, iris_window, tmp_path):
    """A three-class network's weights (4 inputs, 3 outputs) pass the import's shape check: the
    layout comes from the task, not from the raw inputs and one output."""
    from nnviz.core.files import save_weights

    window = iris_window
    other = Trainer(Config.preset("iris", weight_seed=7))
    save_weights(tmp_path / "iris.npz", other.weights())
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        window.weights.import_weights(tmp_path / "iris.npz")
    for name, array in other.weights().items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)
    assert window.state.network_layout().sizes == (4, 8, 3)
