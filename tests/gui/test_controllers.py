"""Each controller against stub views and a recording training client: no window, no process."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from stubs import RecordingClient

from nnviz.core import Config, Trainer, load_dataset
from nnviz.core.explain import explain_step
from nnviz.core.files import save_weights
from nnviz.gui.controllers.config_edits import ConfigEditController
from nnviz.gui.controllers.explain import ExplainController
from nnviz.gui.controllers.files import VIEW_NAMES, FileController
from nnviz.gui.controllers.node_maps import NodeMapController
from nnviz.gui.controllers.training import REFUSALS, TrainingController
from nnviz.gui.controllers.weights import WeightEditController
from nnviz.gui.state import AppState
from nnviz.gui.style import light_plot_widget
from nnviz.service.protocol import (
    Configure,
    Explain,
    Pause,
    Play,
    Restore,
    RunWritten,
    SaveSession,
    SetSpeed,
    SetWeight,
    SetWeights,
    SnapshotReply,
    Step,
    UpdateConfig,
    WriteRun,
)

CONFIG = Config(hidden=(4,), samples=200, iterations=50)


class StubPanel:
    """The control panel as ConfigEditController sees it: values in, config and errors out."""

    def __init__(self, config: Config) -> None:
        self.shown: list[tuple[Config, str | None]] = []
        self.errors: dict[str, str] = {}
        self.edited: dict[str, Any] = {}
        self.config = config

    def values(self) -> dict[str, Any]:
        return {**self.config.to_dict(), **self.edited}

    def set_config(self, config: Config, preset: str | None = None) -> None:
        self.config, self.edited = config, {}
        self.shown.append((config, preset))

    def show_error(self, field: str, message: str) -> None:
        self.errors[field] = message

    def clear_errors(self) -> None:
        self.errors.clear()


class StubExplainViews:
    """Both explain views: the panel's step and sample, and the diagram's clearing."""

    def __init__(self) -> None:
        self.steps: list = []
        self.samples: list = []
        self.clears = 0

    def set_step(self, step) -> None:
        self.steps.append(step)

    def set_sample(self, sample: int | None) -> None:
        self.samples.append(sample)

    def clear_explain(self) -> None:
        self.clears += 1


class StubNodeMapView:
    def __init__(self) -> None:
        self.maps: list[tuple[np.ndarray, tuple[float, float], str]] = []
        self.cleared = 0

    def show_node_map(self, grid: np.ndarray, levels: tuple[float, float], title: str) -> None:
        self.maps.append((grid, levels, title))

    def clear_node_map(self) -> None:
        self.cleared += 1


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def state(qtbot) -> AppState:
    return AppState(CONFIG, load_dataset(CONFIG))


@pytest.fixture
def training(state, client) -> TrainingController:
    controller = TrainingController(state, client)
    controller.start_run(CONFIG, state.dataset)
    client.commands.clear()
    return controller


def deliver(qtbot, training, client, snapshot, playing=False, message="", points=()):
    """What the training thread does: fill the mailbox and say so; wait until it is drawn."""
    client.deliver(SnapshotReply(client.run, snapshot, playing, message, tuple(points)))
    training.on_snapshot_ready()
    qtbot.waitUntil(lambda: training.state.newest is snapshot, timeout=2000)


# -- training ----------------------------------------------------------------------------------


def test_a_new_run_configures_the_process_and_draws_the_untrained_network(state, client):
    training = TrainingController(state, client)
    training.set_speed(300.0)
    training.start_run(CONFIG, state.dataset)
    configure, speed = client.commands[1:]
    assert isinstance(configure, Configure) and configure.config == CONFIG
    assert speed == SetSpeed(300.0)  # a new process run keeps the chosen speed
    assert state.newest.iteration == 0 and state.frame.snapshot is state.newest


def test_play_and_pause_show_at_once_and_send_commands(state, client, training):
    training.toggle_play()
    assert state.playing and client.commands == [Play()]
    training.toggle_play()
    assert not state.playing and client.commands == [Play(), Pause()]


def test_play_at_the_target_says_why_and_sends_nothing(qtbot, state, client, training):
    trainer = Trainer(CONFIG, state.dataset)
    deliver(qtbot, training, client, trainer.step(CONFIG.iterations))
    client.commands.clear()
    training.play()
    assert client.commands == [] and not state.playing
    assert "Reached the target of 50 iterations" in state.message


def test_snapshots_are_drawn_once_the_mailbox_fills(qtbot, state, client, training):
    trainer = Trainer(CONFIG, state.dataset)
    with qtbot.waitSignal(training.ready):
        deliver(qtbot, training, client, trainer.step(7), playing=True)
    assert state.playing and state.frame.snapshot.iteration == 7
    training.step(3)
    assert client.commands[-1] == Step(3)


def test_a_live_change_updates_the_running_network(state, client, training):
    changed = []
    state.network_changed.connect(lambda: changed.append(True))
    training.apply(CONFIG.replace(learning_rate=0.5))
    assert client.commands == [UpdateConfig(CONFIG.replace(learning_rate=0.5))]
    assert state.config.learning_rate == 0.5 and changed == []


def test_a_network_change_starts_a_run_on_the_same_data(state, client, training):
    dataset = state.dataset
    training.apply(CONFIG.replace(hidden=(3, 2)))
    assert isinstance(client.commands[0], Configure)
    assert state.dataset is dataset and state.newest.weights["W1"].shape == (2, 3)


def test_a_data_change_loads_new_data(state, client, training):
    training.apply(CONFIG.replace(noise=0.3))
    assert state.dataset is not None and state.config.noise == 0.3
    np.testing.assert_array_equal(state.dataset.x_train, load_dataset(state.config).x_train)


def test_a_refused_config_changes_nothing(state, client, training, tmp_path):
    with pytest.raises(REFUSALS) as refused:
        training.apply(CONFIG.replace(dataset="csv", csv_path=str(tmp_path / "missing.csv")))
    assert "missing.csv" in str(refused.value)
    assert client.commands == [] and state.config == CONFIG


# -- config edits ------------------------------------------------------------------------------


@pytest.fixture
def panel() -> StubPanel:
    return StubPanel(CONFIG)


@pytest.fixture
def edits(state, training, panel) -> ConfigEditController:
    return ConfigEditController(state, training, panel)


def test_an_edit_changes_only_its_field(client, panel, edits, state):
    panel.edited = {"learning_rate": 0.25, "noise": 0.9}  # noise shown, not edited
    assert edits.edit("learning_rate")
    assert state.config == CONFIG.replace(learning_rate=0.25)
    assert client.commands == [UpdateConfig(state.config)]


def test_a_network_over_the_memory_budget_is_refused_under_its_control(
    client, panel, edits, state, monkeypatch
):
    monkeypatch.setenv("NNVIZ_MEMORY_BUDGET", "300M")
    panel.edited = {"hidden": (2048, 2048, 2048)}
    assert not edits.edit("hidden")
    message = panel.errors["hidden"]
    assert "300" in message and "NNVIZ_MEMORY_BUDGET" in message
    assert client.commands == [] and state.config == CONFIG


def test_a_refused_edit_is_shown_under_its_control_and_kept(client, panel, edits, state, tmp_path):
    panel.edited = {"dataset": "csv"}
    assert not edits.edit("dataset")
    assert "csv_path" in panel.errors and client.commands == []
    points = tmp_path / "points.csv"
    points.write_text("x1,x2,label\n" + "\n".join(f"{i % 7},{i % 5},{i % 2}" for i in range(40)))
    panel.edited["csv_path"] = str(points)
    assert edits.edit("csv_path")  # the refused dataset edit comes along
    assert state.config.dataset == "csv" and panel.errors == {}


def test_an_out_of_range_value_names_the_field(panel, edits, state):
    panel.edited = {"learning_rate": -1.0}
    assert not edits.edit("learning_rate")
    assert "learning_rate" in panel.errors and state.config == CONFIG


def test_a_preset_shows_its_name_and_new_weights_change_only_the_seed(panel, edits, state):
    assert edits.load_preset("seed")
    assert panel.shown[-1] == (Config.preset("seed"), "seed")
    assert state.config == Config.preset("seed")
    before = state.config
    assert edits.new_weights()
    assert state.config.replace(weight_seed=before.weight_seed) == before
    assert 0 <= state.config.weight_seed < 2**32


# -- explain -----------------------------------------------------------------------------------


@pytest.fixture
def explain_views() -> StubExplainViews:
    return StubExplainViews()


@pytest.fixture
def explain(state, client, training, explain_views) -> ExplainController:
    return ExplainController(state, client, training, explain_views, explain_views)


def test_explain_pauses_and_asks_for_a_step_through(state, client, training, explain):
    training.play()
    client.commands.clear()
    explain.set_active(True)
    assert client.commands == [Pause(), Explain()]
    explain.next_iteration()
    assert client.commands[-2:] == [Step(1), Explain()]


def test_step_throughs_reach_the_panel_only_in_explain_mode(state, explain, explain_views):
    step = explain_step(Trainer(CONFIG, state.dataset))
    explain.on_explained(step)
    assert explain_views.steps == []
    explain.set_active(True)
    explain.on_explained(step)
    assert explain_views.steps == [step]


def test_play_leaves_explain_mode(state, client, training, explain, explain_views, qtbot):
    explain.set_active(True)
    with qtbot.waitSignal(explain.active_changed) as left:
        training.play()
    assert left.args == [False] and explain_views.clears == 1


def test_a_new_network_is_explained_again(state, client, training, explain, explain_views):
    explain.set_active(True)
    client.commands.clear()
    training.apply(CONFIG.replace(hidden=(2,)))
    assert client.commands[-1] == Explain() and explain_views.clears == 1


def test_only_existing_samples_are_selected(state, explain, explain_views):
    explain.set_active(True)
    count = len(state.dataset.y_train)
    for index in (-1, count, 10**9, 3):
        explain.select_sample(index)
    assert explain_views.samples == [3]


# -- weight edits ------------------------------------------------------------------------------


@pytest.fixture
def asked() -> list:
    return []


@pytest.fixture
def weights(state, client, asked) -> WeightEditController:
    def ask(name, index, value):
        asked.append((name, index, value))
        return 0.5

    return WeightEditController(state, client, ask)


def test_a_clicked_weight_is_asked_for_and_sent(state, client, training, weights, asked):
    current = float(state.newest.weights["W1"][1, 3])
    client.commands.clear()
    weights.on_edit_requested("W1", (1, 3), current)
    assert asked == [("W1", (1, 3), current)]
    assert client.commands == [SetWeight("W1", (1, 3), 0.5)]


def test_a_weight_of_an_old_network_is_ignored(state, client, training, weights, asked):
    training.apply(CONFIG.replace(hidden=(2,)))
    client.commands.clear()
    weights.on_edit_requested("W1", (1, 3), 0.0)  # unit 3 existed in the 4-unit network
    assert not weights.set_weight("W3", (0, 0), 1.0)
    assert not weights.set_weight("W1", (0, 0, 0), 1.0)
    assert asked == [] and client.commands == []


def test_weights_are_not_edited_while_replaying(qtbot, state, client, training, weights, asked):
    trainer = Trainer(CONFIG, state.dataset)
    deliver(qtbot, training, client, trainer.step(5))
    state.replay_at(state.replay[0])
    weights.on_edit_requested("W1", (0, 0), 0.0)
    assert asked == [] and "live" in state.message


def test_imported_weights_must_fit_the_network(state, client, training, weights, tmp_path):
    client.commands.clear()
    save_weights(tmp_path / "wide.npz", Trainer(CONFIG.replace(hidden=(8,))).weights())
    weights.import_weights(tmp_path / "wide.npz")
    assert "2-8-1" in state.message and "2-4-1" in state.message and client.commands == []
    fitting = Trainer(CONFIG.replace(weight_seed=9)).weights()
    save_weights(tmp_path / "fits.json", fitting)
    weights.import_weights(tmp_path / "fits.json")
    (sent,) = client.commands
    assert isinstance(sent, SetWeights)
    for name, array in fitting.items():
        np.testing.assert_array_equal(sent.weights[0][name], array)


# -- node maps ---------------------------------------------------------------------------------


def test_a_hovered_unit_shows_its_map_and_follows_training(qtbot, state, client, training):
    view = StubNodeMapView()
    maps = NodeMapController(state, view)
    maps.on_node_hovered((1, 2))
    grid, levels, title = view.maps[-1]
    assert title.startswith("hidden 1 unit 3") and grid.ndim == 2 and levels[0] < levels[1]
    deliver(qtbot, training, client, Trainer(CONFIG, state.dataset).step(20))
    assert len(view.maps) == 2 and not np.array_equal(view.maps[-1][0], grid)


def test_a_unit_that_does_not_exist_clears_the_map(state, training):
    view = StubNodeMapView()
    maps = NodeMapController(state, view)
    maps.on_node_hovered((1, 3))
    training.apply(CONFIG.replace(hidden=(2,)))  # the hovered unit is gone
    assert maps.hovered is None and view.cleared == 1
    for node in ((1, 3), (5, 0), (0, 2), (-1, 0), None):
        maps.on_node_hovered(node)
    assert len(view.maps) == 1 and view.cleared == 6


def test_a_reply_sent_before_pause_does_not_undo_it(qtbot, state, client, training):
    trainer = Trainer(CONFIG, state.dataset)
    training.play()
    training.pause()
    deliver(qtbot, training, client, trainer.step(3), playing=True)  # on its way before Pause
    assert not state.playing
    deliver(qtbot, training, client, trainer.step(1), playing=False)  # the process paused
    training.play()
    deliver(qtbot, training, client, trainer.step(1), playing=True)
    assert state.playing


def test_a_dead_process_is_restarted_from_the_newest_state(qtbot, state, client, training):
    trainer = Trainer(CONFIG, state.dataset)
    training.play()
    deliver(qtbot, training, client, trainer.step(40), playing=True)
    client.process_alive = False
    training.on_process_died("the training process stopped unexpectedly (exit code -9)")
    assert not state.playing and client.restarts == 1
    (restore,) = client.sent(Restore)
    assert restore.snapshot is state.newest and restore.snapshot.iteration == 40
    assert restore.config == state.config and restore.run == client.run
    assert "exit code -9" in state.message and "iteration 40" in state.message


def test_a_late_death_report_after_a_restart_changes_nothing(state, client, training):
    training.on_process_died("the training process stopped unexpectedly (exit code -9)")
    assert client.restarts == 0 and not client.sent(Restore)  # the process is alive


def test_a_process_that_keeps_dying_is_given_up(state, client, training):
    for _ in range(4):
        client.process_alive = False
        training.on_process_died("the training process stopped unexpectedly (exit code -9)")
    assert client.restarts == 3 and "Restart nnviz" in state.message


# -- files -------------------------------------------------------------------------------------


@pytest.fixture
def files(qtbot, state, client, training, edits, weights, tmp_path) -> FileController:
    from PySide6.QtCore import QSettings

    plot = light_plot_widget("x", "y")
    qtbot.addWidget(plot)
    plot.resize(200, 150)
    views = {name: (lambda: plot) for name in VIEW_NAMES}
    settings = QSettings(str(tmp_path / "nnviz.ini"), QSettings.Format.IniFormat)
    return FileController(state, client, training, edits, weights, views, settings)


def test_a_session_is_remembered_once_the_process_wrote_it(files, client, tmp_path):
    path = files.save_session(tmp_path / "run")
    assert path.name == "run.nnviz" and client.commands[-1] == SaveSession(str(path))
    assert files.recent == []  # not yet written
    files.on_session_saved(str(tmp_path / "elsewhere.nnviz"))  # not asked for here
    files.on_session_saved(str(path))
    assert files.recent == [str(path.resolve())]


def test_export_all_counts_the_pictures_and_the_run_files(qtbot, files, client, tmp_path):
    folder = tmp_path / "all"
    pictures = files.export_all(folder)
    assert len(pictures) == 2 * len(VIEW_NAMES) and all(p.exists() for p in pictures)
    assert client.commands[-1] == WriteRun(str(folder))
    with qtbot.waitSignal(files.status) as report:
        files.on_run_written(RunWritten(str(folder), ("config.json", "weights.npz")))
    assert report.args == [f"wrote {len(pictures) + 2} files to {folder}"]


def test_a_file_of_another_kind_is_refused_by_name(files, state, tmp_path):
    assert not files.open_path(tmp_path / "notes.txt")
    assert "notes.txt" in state.message
