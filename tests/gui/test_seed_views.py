"""A run of several seeds in the window: controllers against stubs, the views' pixels and clicks,
and the real window (its training process, a session with every seed)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore
from sklearn.metrics import roc_auc_score
from stubs import RecordingClient
from window_helpers import TIMEOUT, step_to

from nnviz.core import Config, Trainer, load_dataset
from nnviz.core.config import seed_configs
from nnviz.core.files import load_weights, save_weights, split_seed_weights, stack_seed_weights
from nnviz.core.network import Layout
from nnviz.gui.controllers.files import VIEW_NAMES, FileController
from nnviz.gui.controllers.replay import ReplayController
from nnviz.gui.controllers.training import TrainingController
from nnviz.gui.controllers.weights import WeightEditController
from nnviz.gui.seeds import aucs
from nnviz.gui.state import AppState
from nnviz.gui.style import TEST_CURVE, light_plot_widget
from nnviz.gui.views.boundary_view import BoundaryView
from nnviz.gui.views.loss_view import BAND_ALPHA, LossView
from nnviz.gui.views.roc_view import RocView
from nnviz.service.protocol import Restore, Resume, SelectSeed, SetWeights, SnapshotReply
from nnviz.service.seeds import SeedGroup

CONFIG = Config(hidden=(4,), samples=300, iterations=400, seeds=4, learning_rate=0.5)
DATA = load_dataset(CONFIG)
LAYOUT = Layout(CONFIG.hidden, 2)


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def state(qtbot) -> AppState:
    return AppState(CONFIG, DATA)


@pytest.fixture
def group() -> SeedGroup:
    """The networks the (stub) training process trains, to make its replies from."""
    return SeedGroup.start(CONFIG, DATA)


@pytest.fixture
def training(state, client, group) -> TrainingController:
    controller = TrainingController(state, client)
    controller.start_run(CONFIG, DATA, group)
    client.commands.clear()
    return controller


def deliver(qtbot, training, client, group, steps: int) -> SnapshotReply:
    """Train `steps` iterations and hand the reply over as the training thread does."""
    group.advance(steps)
    reply = SnapshotReply(client.run, group.snapshot(), False, "", (), group.states())
    client.deliver(reply)
    training.on_snapshot_ready()
    qtbot.waitUntil(lambda: training.state.newest is reply.snapshot, timeout=2000)
    return reply


def own_trainers(steps: int) -> list[Trainer]:
    trainers = [Trainer(c, DATA) for c in seed_configs(CONFIG)]
    for trainer in trainers:
        trainer.advance(steps)
    return trainers


# -- controllers and state ---------------------------------------------------------------------


def test_the_frame_holds_every_seeds_auc_and_the_selected_seeds_network(
    qtbot, state, client, training, group
):
    deliver(qtbot, training, client, group, 300)
    seeds = state.frame.seeds
    assert (seeds.count, seeds.selected, seeds.weight_seed) == (4, 0, CONFIG.weight_seed)
    trainers = own_trainers(300)
    for k, trainer in enumerate(trainers):
        probabilities = trainer.evaluate(full=False).test.probabilities
        expected = roc_auc_score(DATA.y_test, probabilities)
        assert seeds.test_auc[k] == pytest.approx(expected, abs=1e-12)
    mean, sd = seeds.auc("test")
    assert mean == pytest.approx(np.mean(seeds.test_auc)) and sd == pytest.approx(
        np.std(seeds.test_auc, ddof=1)
    )
    assert seeds.auc_text("test") == f"{mean:.4f} ± {sd:.4f}"
    for name, array in trainers[0].weights().items():
        np.testing.assert_array_equal(state.frame.snapshot.weights[name], array)


def test_pair_count_aucs_equal_sklearns_with_ties():
    rng = np.random.default_rng(3)
    labels = rng.random(60) > 0.4
    scores = np.round(rng.random((5, 60)), 1)  # many ties
    for row, auc in zip(scores, aucs(scores, labels)):
        assert auc == pytest.approx(roc_auc_score(labels, row), abs=1e-12)
    assert np.isnan(aucs(scores, np.ones(60, dtype=bool))).all()


def test_aucs_are_the_exact_pair_counts_of_every_row():
    """Every row's AUC is its pair count, bit for bit: (2 x pairs ordered right + ties) / 2 /
    pairs, with scores saturated at exactly 0 and 1 as late training has them."""
    rng = np.random.default_rng(11)
    labels = rng.random(90) > 0.6
    scores = rng.random((64, 90))
    scores[:16] = np.round(scores[:16], 2)
    scores[16:32] = np.where(scores[16:32] > 0.8, 1.0, np.where(scores[16:32] < 0.3, 0.0, 0.5))
    positives, negatives = scores[:, labels], scores[:, ~labels]
    above = (positives[:, :, None] > negatives[:, None, :]).sum(axis=(1, 2))
    ties = (positives[:, :, None] == negatives[:, None, :]).sum(axis=(1, 2))
    pairs = positives.shape[1] * negatives.shape[1]
    np.testing.assert_array_equal(aucs(scores, labels), (2 * above + ties) / 2 / pairs)


def test_selecting_a_seed_redraws_at_once_and_asks_the_process(
    qtbot, state, client, training, group
):
    deliver(qtbot, training, client, group, 100)
    frames = []
    state.frame_changed.connect(frames.append)
    training.select_seed(2)
    assert client.sent(SelectSeed) == [SelectSeed(2)]
    assert state.selected_seed == 2 and frames[-1].seeds.selected == 2
    expected = own_trainers(100)[2].weights()
    for name, array in expected.items():
        np.testing.assert_array_equal(frames[-1].snapshot.weights[name], array)
    training.select_seed(2)  # already selected
    training.select_seed(7)  # no such seed
    assert client.sent(SelectSeed) == [SelectSeed(2)] and state.selected_seed == 2


def test_a_past_state_shows_every_seed_as_it_was(qtbot, state, client, training, group):
    group.advance(10)
    first = SnapshotReply(client.run, group.snapshot(), False, "", (), group.states())
    client.deliver(first)
    training.on_snapshot_ready()
    qtbot.waitUntil(lambda: state.newest is first.snapshot, timeout=2000)
    deliver(qtbot, training, client, group, 50)
    point = next(p for p in state.replay.points() if p.iteration == 10)
    state.replay_at(point)
    training.select_seed(3)
    expected = own_trainers(10)[3].weights()
    for name, array in expected.items():
        np.testing.assert_array_equal(state.frame.snapshot.weights[name], array)
    ReplayController(state, client).resume()
    (resume,) = client.sent(Resume)
    assert resume.point is point and resume.seeds.iteration == 10 and resume.seeds.count == 4


def test_a_dead_process_restarts_with_every_seed(qtbot, state, client, training, group):
    deliver(qtbot, training, client, group, 40)
    client.process_alive = False
    training.on_process_died("the training process stopped unexpectedly (exit code -9)")
    (restore,) = client.sent(Restore)
    assert restore.seeds.count == 4 and restore.seeds.iteration == 40


def test_weights_files_of_every_seed(qtbot, state, client, training, group, tmp_path):
    deliver(qtbot, training, client, group, 20)
    weights = WeightEditController(state, client, lambda *_: None)
    trainers = own_trainers(0)
    numbers = [t.config.weight_seed for t in trainers]
    every = save_weights(
        tmp_path / "every.npz", stack_seed_weights([t.weights() for t in trainers], numbers)
    )
    weights.import_weights(every)
    (sent,) = client.sent(SetWeights)
    assert len(sent.weights) == 4
    np.testing.assert_array_equal(sent.weights[3]["W1"], trainers[3].weights()["W1"])
    three = save_weights(
        tmp_path / "three.json",
        stack_seed_weights([t.weights() for t in trainers[:3]], numbers[:3]),
    )
    weights.import_weights(three)
    assert "3 seeds; this run trains 4" in state.message and len(client.sent(SetWeights)) == 1

    plot = light_plot_widget("x", "y")
    qtbot.addWidget(plot)
    files = FileController(
        state, client, training, None, weights, {name: (lambda: plot) for name in VIEW_NAMES}
    )
    written = files.export_weights(tmp_path / "out.npz")
    back = split_seed_weights(load_weights(written))
    assert list(load_weights(written)["seeds"]) == numbers
    for k, trainer in enumerate(own_trainers(20)):
        np.testing.assert_array_equal(back[k]["W2"], trainer.weights()["W2"])


# -- the views' pixels and clicks ----------------------------------------------------------------


@pytest.fixture
def trained(qtbot, state, client, training, group) -> AppState:
    deliver(qtbot, training, client, group, 400)
    return state


def _shown(qtbot, view, size=(520, 420)):
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def _pixels_near(image, colour, tolerance=6) -> int:
    """How many pixels of a QImage lie within `tolerance` of an RGB colour."""
    image = image.convertToFormat(image.Format.Format_RGB32)
    array = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)[..., :3]
    bgr = np.array(colour[::-1])
    return int((np.abs(array.astype(int) - bgr).max(axis=2) <= tolerance).sum())


def test_the_loss_view_draws_the_seeds_median_and_band(qtbot, trained):
    view = _shown(qtbot, LossView())
    view.set_log_scale(False)
    alpha = BAND_ALPHA / 255
    band_colour = tuple(round(255 * (1 - alpha) + c * alpha) for c in TEST_CURVE)
    view.show_frame(trained.frame)
    qtbot.wait(10)
    banded = _pixels_near(view.plot_widget.grab().toImage(), band_colour)
    assert view.bands["test"].isVisible() and not view.bands["test"].path().isEmpty()
    assert all("median and min–max of 4 seeds" in text for text in view.legend_texts())
    band = trained.frame.seeds.band
    x, y = view.test_curve.getData()
    np.testing.assert_array_equal(x, band.iteration)
    np.testing.assert_allclose(y, band.test[0] / len(DATA.y_test))
    assert banded > 500, "the test band's faint fill is on screen"

    single = Trainer(CONFIG.replace(seeds=1), DATA)
    single.advance(400)
    from nnviz.gui.frame import make_frame

    view.show_frame(make_frame(single.snapshot(), single.config, DATA))
    qtbot.wait(10)
    assert not view.bands["test"].isVisible()
    assert _pixels_near(view.plot_widget.grab().toImage(), band_colour) < 20
    assert view.legend_texts() == ["train", "test"]


def test_the_boundary_view_draws_the_other_seeds_faintly_and_a_click_selects_one(qtbot, trained):
    view = _shown(qtbot, BoundaryView())
    view.show_frame(trained.frame)
    qtbot.wait(10)
    x, _ = view.seed_contours.getData()
    assert len(x) > 20 and len(x) % 2 == 0
    drawn = set(view._segment_seeds.tolist())
    assert drawn == {1, 2, 3}, "every seed but the selected one"
    # a click on the middle of one of seed 2's segments, in the widget's pixels
    segment_x, segment_y = trained.frame.seeds.boundaries[2]
    middle = np.array([segment_x[:2].mean(), segment_y[:2].mean()])
    assert view.seed_at(*middle) == 2
    box = view.plot_widget.getPlotItem().getViewBox()
    widget_point = view.plot_widget.mapFromScene(box.mapViewToScene(QtCore.QPointF(*middle)))
    with qtbot.waitSignal(view.seed_clicked, timeout=2000) as clicked:
        qtbot.mouseClick(
            view.plot_widget.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_point
        )
    assert clicked.args == [2]
    assert view.seed_at(100.0, 100.0) is None, "far from every boundary"


def test_the_roc_view_shows_the_other_seeds_and_the_auc_mean_and_sd(qtbot, trained):
    view = _shown(qtbot, RocView())
    view.show_frame(trained.frame)
    seeds = trained.frame.seeds
    text = view.seed_auc.toPlainText()
    assert text.splitlines() == [
        "AUC of 4 seeds (mean ± sd)",
        f"train {seeds.auc_text('train')}",
        f"test  {seeds.auc_text('test')}",
        "faint: the other seeds' test curves",
    ]
    assert view.seed_auc.isVisible()
    x, _ = view.seed_curves.getData()
    assert np.isnan(x).sum() == 3, "three faint curves, one per other seed"


# -- the real window -------------------------------------------------------------------------------


def _load_seeds(qtbot, window, config: Config) -> None:
    with qtbot.waitSignal(window.state.network_changed, timeout=TIMEOUT):
        window.config_edits.load(config)
    qtbot.waitUntil(lambda: window.state.frame.seeds is not None, timeout=TIMEOUT)


def test_the_window_trains_seeds_selects_one_by_its_boundary_and_saves_them_all(
    qtbot, window, tmp_path
):
    config = CONFIG.replace(seeds=3, iterations=2000)
    _load_seeds(qtbot, window, config)
    step_to(qtbot, window, 300, 300)
    frame = window.state.frame
    assert frame.seeds.count == 3 and "AUC of 3 seeds: train" in window.status.text()
    assert frame.seeds.auc_text("test") in window.status.text()

    view = window.boundary_view
    segment_x, segment_y = frame.seeds.boundaries[1]
    middle = QtCore.QPointF(segment_x[:2].mean(), segment_y[:2].mean())
    box = view.plot_widget.getPlotItem().getViewBox()
    point = view.plot_widget.mapFromScene(box.mapViewToScene(middle))
    own = Trainer(seed_configs(config)[1], DATA)
    own.advance(300)
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT):
        qtbot.mouseClick(view.plot_widget.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=point)
    assert window.state.selected_seed == 1
    qtbot.waitUntil(lambda: window.state.newest.weights["W1"][0, 0] == own.weights()["W1"][0, 0])
    for name, array in own.weights().items():  # the diagram's network: seed 1's
        np.testing.assert_array_equal(window.state.frame.snapshot.weights[name], array)
    np.testing.assert_array_equal(
        window.state.newest.history.train_loss[-1], own.history.arrays().train_loss[-1]
    )

    path = tmp_path / "three.nnviz"
    with qtbot.waitSignal(window.training_thread.session_saved, timeout=TIMEOUT):
        window.files.save_session(path)
    saved = window.state.seed_states(300).params.copy()
    _load_seeds(qtbot, window, CONFIG.replace(seeds=2))
    assert window.state.seed_count == 2
    with qtbot.waitSignal(window.state.network_changed, timeout=TIMEOUT):
        window.files.open_path(path)
    qtbot.waitUntil(lambda: window.state.seed_count == 3, timeout=TIMEOUT)
    assert window.state.config == config and window.state.newest.iteration == 300
    np.testing.assert_array_equal(window.state.seed_states(300).params, saved)
    step_to(qtbot, window, 320, 20)  # trains on, every seed as its own Trainer
    for k, seeded in enumerate(seed_configs(config)):
        trainer = Trainer(seeded, DATA)
        trainer.advance(320)
        np.testing.assert_array_equal(
            window.state.seed_states(320).params[k], LAYOUT.from_weights(trainer.weights())
        )


def test_the_memory_estimate_counts_every_seed():
    from nnviz.core import budget
    from nnviz.gui.seeds import SEED_GRID

    assert budget.SEED_GRID == SEED_GRID
    one, many = (budget.estimate(CONFIG.replace(seeds=k)) for k in (1, 16))
    assert many.terms["evaluation passes"] == 16 * one.terms["evaluation passes"]
    assert many.terms["history"] == 16 * one.terms["history"]
    assert "seed views" in many.terms and "seed views" not in one.terms
