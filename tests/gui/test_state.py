"""The application state alone: what it draws, keeps and says for a sequence of events."""

from __future__ import annotations

import pytest

from nnviz.core import Config, Trainer, load_dataset
from nnviz.gui.plane import PlaneChoice
from nnviz.gui.state import AppState

CONFIG = Config(hidden=(3,), samples=200, iterations=100)


@pytest.fixture
def trainer() -> Trainer:
    return Trainer(CONFIG, load_dataset(CONFIG))


@pytest.fixture
def state(qtbot, trainer) -> AppState:
    state = AppState(CONFIG, trainer.data)
    state.start_run(CONFIG, trainer.data, trainer.snapshot())
    return state


def test_replaying_holds_the_past_while_training_goes_on(state, trainer):
    state.receive(trainer.step(10), True)
    state.replay_at(state.replay[0])
    state.receive(trainer.step(10), True)
    assert state.shown.iteration == 0 and state.newest.iteration == 20 and not state.is_live
    state.go_live()
    assert state.shown.iteration == 20


def test_resuming_shows_the_point_and_play_is_allowed_again(state, trainer):
    for _ in range(10):
        state.receive(trainer.step(10), False)
    assert state.finished
    point = state.replay[3]
    state.replay_at(point)
    state.forget_after(point)
    assert state.is_live and state.newest.iteration == point.iteration
    assert state.shown.iteration == point.iteration  # not the forgotten iteration 100
    assert not state.finished


def test_a_divergence_message_goes_once_the_run_is_past_it(state, trainer):
    state.receive(trainer.step(5), False, "training diverged at iteration 5")
    assert "diverged" in state.message
    state.receive(trainer.step(1), False, "")  # resumed from before the divergence
    assert state.message == ""
    state.set_message("cannot write /x")  # a command's error stays until replaced
    state.receive(trainer.step(1), False, "")
    assert state.message == "cannot write /x"


def test_a_new_run_forgets_everything_of_the_old_one(qtbot, state, trainer):
    state.receive(trainer.step(30), True)
    state.set_message("cannot write /x")
    other = CONFIG.replace(hidden=(2, 2))
    with qtbot.waitSignal(state.network_changed):
        state.start_run(other, trainer.data, Trainer(other, trainer.data).snapshot())
    assert len(state.replay) == 1 and state.newest.iteration == 0 and not state.playing
    assert state.message == "" and state.shown.weights["W1"].shape == (2, 2)


def test_a_notice_hides_itself_and_an_error_stays(qtbot, trainer, monkeypatch):
    import nnviz.gui.state as state_module

    monkeypatch.setattr(state_module, "NOTICE_MS", 30)
    state = AppState(trainer.config, trainer.data)
    state.show_notice("Reached the target")
    assert state.message == "Reached the target"
    qtbot.waitUntil(lambda: state.message == "", timeout=2000)
    state.set_message("the file is broken")
    qtbot.wait(100)
    assert state.message == "the file is broken"


# -- the plane of data with more than two inputs -------------------------------------------------

IRIS = Config.preset("iris", hidden=(3,), iterations=100)
WINE = Config(dataset="wine", loss="ce", hidden=(3,), iterations=100)


def test_the_plane_chosen_for_a_dataset_comes_back_with_its_next_run(qtbot, trainer):
    iris, wine = Trainer(IRIS), Trainer(WINE)
    state = AppState(IRIS, iris.data)
    state.start_run(IRIS, iris.data, iris.snapshot())
    assert state.frame.plane.kind == "pca"
    state.set_plane_choice(PlaneChoice("slice", (2, 3), 5))
    state.start_run(WINE, wine.data, wine.snapshot())
    assert state.frame.plane.kind == "pca"  # another dataset: its own choice (none yet)
    state.start_run(CONFIG, trainer.data, trainer.snapshot())  # 2-D: nothing to remember
    other = IRIS.replace(hidden=(2,))
    state.start_run(other, iris.data, Trainer(other, iris.data).snapshot())
    assert state.frame.plane.choice == PlaneChoice("slice", (2, 3), 5)
    assert state.frame.plane.origin[0] == iris.data.x_train[5, 0]
    assert list(state.plane_choices.items()) == [
        ("wine", PlaneChoice()),
        ("iris", PlaneChoice("slice", (2, 3), 5)),
    ]


def test_a_sessions_plane_wins_and_a_kept_one_the_data_cannot_show_is_pca(qtbot):
    iris, wine = Trainer(IRIS), Trainer(WINE)
    state = AppState(IRIS, iris.data)
    state.remember_plane_choices(
        {"iris": PlaneChoice("slice", (1, 7)), "wine": PlaneChoice("slice", (0, 12), 3)}
    )
    state.start_run(IRIS, iris.data, iris.snapshot())
    assert state.frame.plane.kind == "pca" and state.message == ""  # iris has 4 inputs
    assert state.plane_choices["iris"] == PlaneChoice()
    state.start_run(WINE, wine.data, wine.snapshot())
    assert state.frame.plane.choice == PlaneChoice("slice", (0, 12), 3)
    state.start_run(IRIS, iris.data, iris.snapshot(), plane=PlaneChoice("slice", (0, 2)))
    assert state.frame.plane.choice == PlaneChoice("slice", (0, 2))
    assert state.plane_choices["iris"] == PlaneChoice("slice", (0, 2))  # the last one shown
