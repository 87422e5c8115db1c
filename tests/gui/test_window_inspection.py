"""Explain mode, replay, weight edits, node maps, live metrics and experiments in the real window."""

from __future__ import annotations

import numpy as np
from window_helpers import TIMEOUT, step_to

from nnviz import Config, Trainer
from nnviz.core.explain import node_output_grid
from nnviz.gui.frame import GRID_SIZE


def test_explain_mode_steps_through_the_next_iteration(qtbot, window):
    step_to(qtbot, window, 7, 7)
    panel = window.explain_panel
    window.explain_action.setChecked(True)
    qtbot.waitUntil(lambda: panel.step is not None, timeout=TIMEOUT)
    assert panel.step.iteration == 7
    assert window.explain_dock.isVisible()
    panel.next_action.trigger()
    assert panel.current_view is not None
    first = panel.step
    with qtbot.waitSignal(
        window.frame_drawn, timeout=TIMEOUT, check_params_cb=lambda drawn: drawn == 8
    ):
        panel.step_requested.emit()
    qtbot.waitUntil(lambda: panel.step is not first, timeout=TIMEOUT)
    assert panel.step.iteration == 8
    reference = Trainer(Config.preset("seed"))
    reference.step(8)
    for name, array in reference.weights().items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)
    window.explain_action.setChecked(False)
    assert not window.explain_dock.isVisible()


def test_replay_shows_a_past_state_and_resumes_from_it(qtbot, window):
    step_to(qtbot, window, 2000, 2000)
    live_image = np.array(window.boundary_view.image.image, copy=True)
    window.replay.select_iteration(10)
    point = window.state.replayed
    assert point is not None and point.iteration == 10
    assert window.state.shown.iteration == 10 and window.state.newest.iteration == 2000
    assert np.abs(window.boundary_view.image.image - live_image).max() > 0.2
    with qtbot.waitSignal(
        window.frame_drawn, timeout=TIMEOUT, check_params_cb=lambda drawn: drawn == 10
    ):
        window.replay.resume()
    reference = Trainer(Config.preset("seed"))
    reference.step(10)
    for name, array in reference.weights().items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)


def test_an_edited_weight_is_where_training_continues(qtbot, window):
    step_to(qtbot, window, 3, 3)
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        assert window.weights.set_weight("W2", (1, 0), 2.5)
    assert window.state.newest.weights["W2"][1, 0] == 2.5
    step_to(qtbot, window, 4, 1)
    assert window.state.newest.weights["W2"][1, 0] != 2.5  # and training moved it on


def test_hovering_a_node_shows_its_map_in_the_boundary_view(qtbot, window):
    step_to(qtbot, window, 500, 500)
    frame = window.state.frame
    window.node_maps.on_node_hovered((1, 2))
    expected = node_output_grid(frame.snapshot.weights, "sigmoid", 1, 2, frame.extent, GRID_SIZE)
    np.testing.assert_allclose(window.boundary_view.image.image, expected, rtol=1e-6)
    window.node_maps.on_node_hovered(None)
    np.testing.assert_array_equal(window.boundary_view.image.image, frame.probabilities)


def test_metrics_follow_the_threshold(qtbot, window):
    step_to(qtbot, window, 1000, 1000)
    window.metrics_action.trigger()
    assert window.metrics_dock.isVisible()
    metrics = window.metrics_view
    before = metrics.counts("test").copy()
    assert before.sum() == 250
    window.controls.editor("threshold").setValue(0.9)
    after = metrics.counts("test")
    assert after[0, 1] < before[0, 1] or after[1, 1] < before[1, 1]  # fewer predicted class 1


def test_an_experiments_row_loads_into_the_main_view(qtbot, window):
    panel = window.experiments_panel
    window.experiments_action.trigger()
    assert window.experiments_dock.isVisible()
    chosen = Config.preset("seed", hidden=(3,), iterations=500)
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        panel.config_chosen.emit(chosen)
    assert window.config == chosen
    assert window.controls.editor("hidden").layers() == (3,)
    assert window.network_view.layer_sizes == (2, 3, 1)
