"""Points you draw: the draw controller against a stub view and a recording training client (no
window, no process), then in the real boundary view with the mouse."""

from __future__ import annotations

import numpy as np
import pytest
from stubs import RecordingClient

from nnviz.core import Config, load_dataset
from nnviz.core.datasets import TEST_EVERY, drawn_to_test
from nnviz.gui.controllers.draw_points import (
    SPACING_PIXELS,
    DrawPointsController,
    counts_text,
    waiting_for,
)
from nnviz.gui.controllers.explain import ExplainController
from nnviz.gui.controllers.files import FileController
from nnviz.gui.controllers.training import TrainingController
from nnviz.gui.state import AppState
from nnviz.service.protocol import Explain, Pause, Play, Restore, SaveSession, SetData, Step

CONFIG = Config(hidden=(4,), samples=200, iterations=50)
#: The stub view's scale: 0.01 data units a pixel, so points SPACING_PIXELS apart are 0.12 apart.
PIXEL = 0.01


class StubPlane:
    def pixel_size(self) -> tuple[float, float]:
        return PIXEL, PIXEL


def make(qtbot, config=CONFIG):
    state = AppState(config, load_dataset(config))
    client = RecordingClient()
    training = TrainingController(state, client)
    training.start_run(config, state.dataset)
    drawing = DrawPointsController(state, client, StubPlane(), training)
    client.commands.clear()
    return state, client, training, drawing


@pytest.fixture
def setup(qtbot):
    return make(qtbot)


def click(drawing, x, y, erase=False):
    drawing.begin_stroke(x, y, erase)
    drawing.end_stroke()


def test_a_click_adds_a_point_of_the_chosen_class_shown_at_once_and_sent(setup):
    state, client, _, drawing = setup
    before = state.dataset
    assert not drawn_to_test(before, 1)  # not a 4th point of its class: it trains
    drawing.set_active(True)
    drawing.set_label(1)
    drawing.begin_stroke(0.25, -0.5, False)
    assert len(state.dataset.x_train) == len(before.x_train) + 1  # drawn before the release
    assert state.frame.data is state.dataset  # the views got a frame with the point
    assert client.sent(SetData) == []  # the process hears of it when the stroke ends
    drawing.end_stroke()
    np.testing.assert_array_equal(state.dataset.x_train[-1], [0.25, -0.5])
    assert state.dataset.y_train[-1] == 1
    np.testing.assert_array_equal(state.dataset.x_test, before.x_test)  # a training point
    assert client.sent(SetData) == [SetData(state.dataset)]
    assert drawing.can_undo and not drawing.can_redo
    assert state.hold == ""


def test_without_draw_mode_strokes_do_nothing(setup):
    state, client, _, drawing = setup
    before = state.dataset
    click(drawing, 0.0, 0.0)
    assert state.dataset is before and client.commands == [] and not drawing.can_undo


def test_a_drag_paints_points_spaced_in_pixels_as_one_undo_step(setup):
    state, client, _, drawing = setup
    before = state.dataset
    drawing.set_active(True)
    drawing.begin_stroke(0.0, 0.0, False)
    for x in np.arange(1, 101) * PIXEL:  # 100 pixels to the right, one pixel a move
        drawing.extend_stroke(float(x), 0.0)
    drawing.end_stroke()
    data = state.dataset
    trained, tested = data.x_train[len(before.x_train) :], data.x_test[len(before.x_test) :]
    added = np.sort(np.concatenate([trained, tested])[:, 0])
    assert len(added) == 1 + int(100 // SPACING_PIXELS)
    # every 4th point of class 0, counted over both splits, went to the test split
    start = int(np.sum(before.y_train == 0) + np.sum(before.y_test == 0))
    counts = start + 1 + np.arange(len(added))
    np.testing.assert_array_equal(tested[:, 0], added[counts % TEST_EVERY == 0])
    assert len(tested) in (2, 3) and set(data.y_test[len(before.y_test) :]) == {0}
    gaps = np.diff(added) / PIXEL
    assert np.all(gaps >= SPACING_PIXELS - 1e-9) and np.all(gaps < SPACING_PIXELS + 1)
    assert len(client.sent(SetData)) == 1  # one stroke, one SetData
    drawing.undo()
    assert state.dataset is before  # the whole stroke at once


def test_shift_click_removes_the_training_point_under_the_pointer(setup):
    state, client, _, drawing = setup
    before = state.dataset
    drawing.set_active(True)
    x, y = before.x_train[7]
    click(drawing, x + 3 * PIXEL, y, erase=True)  # 3 px away: within reach
    assert len(state.dataset.x_train) == len(before.x_train) - 1
    np.testing.assert_array_equal(state.dataset.x_train, np.delete(before.x_train, 7, axis=0))
    assert client.sent(SetData) == [SetData(state.dataset)]
    client.commands.clear()
    click(drawing, 50.0, 50.0, erase=True)  # nothing there: no change, nothing sent, no step
    assert client.commands == []
    x, y = before.x_test[3]
    click(drawing, x, y - 2 * PIXEL, erase=True)  # a test point (a triangle) goes too
    np.testing.assert_array_equal(state.dataset.x_test, np.delete(before.x_test, 3, axis=0))
    assert len(state.dataset.x_train) == len(before.x_train) - 1
    drawing.undo()
    drawing.undo()
    assert state.dataset is before


def test_a_shift_drag_erases_along_its_path(setup):
    state, _, _, drawing = setup
    before = state.dataset
    drawing.set_active(True)
    path = before.x_train[:3]
    drawing.begin_stroke(*path[0], True)
    for point in path[1:]:
        drawing.extend_stroke(*point)
    drawing.end_stroke()
    assert len(state.dataset.x_train) == len(before.x_train) - 3
    drawing.undo()
    assert state.dataset is before


def test_undo_and_redo_walk_the_strokes_and_send_each_state(setup):
    state, client, _, drawing = setup
    first = state.dataset
    drawing.set_active(True)
    click(drawing, 0.1, 0.1)
    second = state.dataset
    click(drawing, 0.5, 0.5)
    third = state.dataset
    drawing.undo()
    assert state.dataset is second and client.sent(SetData)[-1] == SetData(second)
    drawing.undo()
    assert state.dataset is first and client.sent(SetData)[-1] == SetData(first)
    assert not drawing.can_undo and drawing.can_redo
    drawing.undo()  # nothing left: nothing happens
    assert state.dataset is first
    drawing.redo()
    drawing.redo()
    assert state.dataset is third and not drawing.can_redo
    drawing.undo()
    click(drawing, -0.3, 0.2)  # a new stroke forgets what could be redone
    assert not drawing.can_redo


def test_start_from_empty_empties_both_splits_and_holds_until_every_class_has_a_point(setup):
    state, client, training, drawing = setup
    trained_on = state.dataset
    drawing.start_from_empty()
    assert drawing.active and len(state.dataset.x_train) == len(state.dataset.x_test) == 0
    assert state.frame.data is state.dataset
    assert np.isnan(state.frame.metrics.test.accuracy)  # no test point: no test figures
    assert state.hold.endswith("each of classes 0 and 1.")
    training.play()
    training.step(5)
    assert not state.playing and client.sent(Play) == [] and client.sent(Step) == []
    assert state.message == state.hold  # Play said why
    drawing.set_label(0)
    click(drawing, -0.5, 0.5)
    assert client.sent(SetData) == []  # one point: the process keeps points it can train on
    click(drawing, -0.6, 0.4)
    assert client.sent(SetData) == [SetData(state.dataset)]
    assert state.hold == "Training waits for points: draw a point of class 1."
    drawing.set_label(1)
    click(drawing, 0.5, -0.5)
    assert state.hold == "" and counts_text(state.dataset) == "class 0: 2  ·  class 1: 1"
    assert len(state.dataset.x_test) == 0
    training.play()
    assert state.playing and client.sent(Play) == [Play()]
    for _ in range(4):  # back to the full set, in one undo for the empty canvas
        drawing.undo()
    assert state.dataset is trained_on and client.sent(SetData)[-1] == SetData(trained_on)


def test_every_fourth_point_of_a_class_is_a_test_point_and_erasing_one_keeps_the_rule(setup):
    state, client, _, drawing = setup
    drawing.start_from_empty()
    steps = []
    for i in range(8):  # 8 points of each class, alternating: points 4 and 8 of each are tests
        for label, x in ((0, -1.0), (1, 1.0)):
            drawing.set_label(label)
            click(drawing, x, i / 10)
            steps.append(state.dataset)
    data = state.dataset
    np.testing.assert_array_equal(data.y_test, [0, 1, 0, 1])
    np.testing.assert_array_equal(data.x_test[:, 1], [0.3, 0.3, 0.7, 0.7])
    assert len(data.x_train) == 12 and counts_text(data) == "class 0: 6  ·  class 1: 6"
    assert client.sent(SetData)[-1].dataset is data  # the process measures the drawn tests
    click(drawing, -1.0, 0.3, erase=True)  # the triangle under the pointer goes
    np.testing.assert_array_equal(state.dataset.y_test, [1, 0, 1])
    assert len(state.dataset.x_train) == 12
    drawing.set_label(0)
    click(drawing, -1.0, 0.8)  # class 0 has 7 points again: the 8th is a test point
    np.testing.assert_array_equal(state.dataset.y_test, [1, 0, 1, 0])
    drawing.undo()
    drawing.undo()
    assert state.dataset is data  # undo restores exactly, the split included
    for expected in reversed(steps[:-1]):
        drawing.undo()
        assert state.dataset is expected


def test_removing_the_last_point_of_a_class_pauses_training_and_says_why(setup):
    state, client, training, drawing = setup
    drawing.start_from_empty()
    for label, x in ((0, -0.5), (0, -0.4), (1, 0.5)):
        drawing.set_label(label)
        click(drawing, x, 0.0)
    training.play()
    assert state.playing
    click(drawing, 0.5, 0.0, erase=True)
    assert not state.playing and client.commands[-1] == Pause()
    assert state.hold.endswith("class 1.")


def test_a_new_run_on_the_drawn_points_keeps_undo_and_other_data_drops_it(qtbot, setup):
    state, client, training, drawing = setup
    drawing.set_active(True)
    click(drawing, 0.2, 0.2)
    training.apply(state.config.replace(hidden=(3,)))  # a new network on the same points
    assert client.commands[-2].dataset is state.dataset  # Configure carried the drawn points
    assert drawing.can_undo
    training.apply(state.config.replace(noise=0.05))  # new data
    assert not drawing.can_undo and state.hold == ""


def test_data_with_more_than_two_inputs_cannot_be_drawn_on(qtbot):
    config = Config.preset("iris", iterations=10)
    state, _, _, drawing = make(qtbot, config)
    before = state.dataset
    drawing.set_active(True)
    assert not drawing.active and "this data has 4" in state.message
    drawing.start_from_empty()
    assert state.dataset is before and not drawing.active


def test_regression_points_take_the_chosen_value_and_need_two_points(qtbot):
    config = Config.preset("regression", iterations=10)
    state, client, _, drawing = make(qtbot, config)
    drawing.start_from_empty()
    drawing.set_label(0.75)
    click(drawing, 0.1, 0.2)
    assert state.hold == "Training waits for points: draw at least 2."
    click(drawing, 0.4, 0.2)
    assert state.hold == "" and list(state.dataset.y_train) == [0.75, 0.75]
    assert client.sent(SetData)[-1].dataset is state.dataset
    assert counts_text(state.dataset) == "2 training points"
    click(drawing, 0.6, 0.2)
    click(drawing, 0.8, 0.2)  # the 4th value drawn is a test point
    assert len(state.dataset.x_train) == 3 and list(state.dataset.x_test[:, 0]) == [0.8]


def test_several_classes_need_a_point_each():
    data = load_dataset(Config(dataset="blobs", classes=4, loss="ce", samples=40))
    assert waiting_for(data) == ""
    keep = data.y_train != 2
    from dataclasses import replace

    missing = replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep])
    assert waiting_for(missing) == "Training waits for points: draw a point of class 2."


def test_explain_asks_again_after_an_undo_changed_the_points(setup):
    state, client, training, drawing = setup

    class Views:
        def set_step(self, step) -> None: ...
        def set_sample(self, sample) -> None: ...
        def clear_explain(self) -> None: ...

    explain = ExplainController(state, client, training, Views(), Views())
    drawing.set_active(True)
    click(drawing, 0.3, 0.3)
    explain.set_active(True)
    client.commands.clear()
    drawing.undo()
    kinds = [type(command) for command in client.commands]
    assert kinds == [SetData, Explain]  # the step-through is of the points now trained on


def test_a_process_dead_while_the_drawing_cannot_train_restarts_on_the_last_trained_points(setup):
    state, client, training, drawing = setup
    trained_on = state.dataset
    drawing.start_from_empty()
    drawing.set_label(0)
    click(drawing, -0.5, 0.5)
    canvas = state.dataset  # one point: never sent
    client.process_alive = False
    training.on_process_died("the training process stopped unexpectedly (exit code -9)")
    (restore,) = client.sent(Restore)
    assert restore.dataset is trained_on and restore.snapshot is state.newest
    assert state.dataset is canvas and state.trained_data is trained_on  # still drawn, held
    assert "draw a point of class 1" in state.hold
    drawing.set_label(1)
    click(drawing, 0.5, -0.5)  # now it can train: the new process gets it, after the Restore
    assert client.commands[-1] == SetData(state.dataset)
    assert client.commands.index(restore) < len(client.commands) - 1
    assert state.trained_data is state.dataset and state.hold == ""


def test_a_process_dead_mid_stroke_gets_the_stroke_when_it_ends(setup):
    state, client, training, drawing = setup
    trained_on = state.dataset
    drawing.set_active(True)
    drawing.begin_stroke(0.1, 0.2, False)
    client.process_alive = False
    training.on_process_died("the training process stopped unexpectedly (exit code -9)")
    assert client.sent(Restore)[0].dataset is trained_on
    drawing.end_stroke()
    assert client.commands[-1] == SetData(state.dataset) and len(state.dataset.x_train) == (
        len(trained_on.x_train) + 1
    )


def test_saving_sends_the_drawing_on_screen_while_the_process_does_not_train_on_it(setup):
    state, client, training, drawing = setup
    files = FileController(state, client, training, None, None, {})
    path = files.save_session("/tmp/nnviz-test-unwritten")
    assert client.commands[-1] == SaveSession(str(path))  # the points trained on: none sent
    drawing.start_from_empty()
    drawing.set_label(1)
    click(drawing, 0.5, 0.5)
    files.save_session(path)
    assert client.commands[-1] == SaveSession(str(path), state.dataset)
    assert len(client.commands[-1].dataset.x_train) == 1
    reports = []
    files.status.connect(reports.append)
    files.on_session_saved(str(path))
    assert reports == [
        f"saved {path} as drawn. Training waits for points: draw a point of class 0."
    ]
    click(drawing, 0.6, 0.4)
    drawing.set_label(0)
    click(drawing, -0.5, 0.5)  # it can train now, and was sent
    files.save_session(path)
    assert client.commands[-1] == SaveSession(str(path))
