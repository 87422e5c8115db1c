"""The history slider: following training, scrubbing, resuming, and exporting PNGs and GIFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from stubs import RecordingClient

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6)
from nnviz import Config, Trainer
from nnviz.core.replay import ReplayPoint, ReplayRecorder, ReplayStore
from nnviz.gui import replay_bar, style
from nnviz.gui.controllers.replay import ReplayController
from nnviz.gui.frame import make_frame
from nnviz.gui.replay_bar import ReplayBar, ReplayExportDialog, export_points, image_to_rgb
from nnviz.gui.state import AppState
from nnviz.gui.views.metrics_view import MetricsView
from nnviz.service.protocol import Resume

FRAME_SIZE = (160, 100)


def _colour(point: ReplayPoint) -> tuple[int, int, int]:
    """A colour that tells iterations apart, for a renderer whose pictures are easy to check."""
    return (point.iteration // 10 % 256, 255 - point.iteration // 10 % 256, 90)


def _flat_renderer(point: ReplayPoint) -> QtGui.QImage:
    image = QtGui.QImage(*FRAME_SIZE, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor(*_colour(point)))
    return image


def _bar_width(point: ReplayPoint) -> int:
    return 10 + point.iteration // 25


def _progress_renderer(point: ReplayPoint) -> QtGui.QImage:
    """A picture like a view's: a few flat colours, a bar as long as the iteration is far."""
    image = QtGui.QImage(*FRAME_SIZE, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor(255, 255, 255))
    painter = QtGui.QPainter(image)
    painter.fillRect(0, 0, FRAME_SIZE[0], 20, QtGui.QColor(*style.ORANGE))
    painter.fillRect(0, 40, _bar_width(point), 20, QtGui.QColor(*style.BLUE))
    painter.end()
    return image


@pytest.fixture
def trainer() -> Trainer:
    return Trainer(Config.preset("seed"))


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


def _make_bar(qtbot, trainer, client, store: ReplayStore | None = None) -> ReplayBar:
    state = AppState(trainer.config, trainer.data)
    if store is not None:
        state.replay = store
    widget = ReplayBar(state, ReplayController(state, client))
    qtbot.addWidget(widget)
    widget.resize(900, 40)
    return widget


def feed(bar: ReplayBar, snapshot, points=()) -> bool:
    """Hand the bar's state a snapshot from training; True if it was drawn."""
    bar.state.receive(snapshot, False, "", tuple(points))
    return bar.state.shown is snapshot


def selected(bar: ReplayBar) -> ReplayPoint | None:
    """The point on screen: the replayed one, or the newest while live."""
    return bar.state.replayed or bar.state.replay.latest


@pytest.fixture
def bar(qtbot, trainer, client) -> ReplayBar:
    """A shown bar whose state holds 31 snapshots: iterations 0, 100, ..., 3000."""
    widget = _make_bar(qtbot, trainer, client)
    widget.show()
    qtbot.waitExposed(widget)
    widget.state.start_run(trainer.config, trainer.data, trainer.snapshot())
    for _ in range(30):
        assert feed(widget, trainer.step(100))
    return widget


def _read_gif(path: Path) -> list[np.ndarray]:
    reader = QtGui.QImageReader(str(path))
    frames = []
    while not (image := reader.read()).isNull():
        frames.append(image_to_rgb(image))
    return frames


# -- following and scrubbing --------------------------------------------------------------------


def test_live_mode_follows_new_snapshots(bar, trainer):
    assert bar.state.is_live and bar.live_button.isChecked()
    assert bar.slider.maximum() == 30 and bar.slider.value() == 30
    assert selected(bar).iteration == 3000
    assert "3,000" in bar.label.text()
    assert not bar.resume_button.isEnabled()
    assert feed(bar, trainer.step(100))
    assert bar.slider.value() == bar.slider.maximum() == 31
    assert selected(bar).iteration == 3100 and "3,100" in bar.label.text()


def test_one_state_puts_the_handle_at_the_live_end(qtbot, trainer, client):
    widget = _make_bar(qtbot, trainer, client)
    trainer.step(500)  # as a reopened session: one state, well past iteration 0
    widget.state.start_run(trainer.config, trainer.data, trainer.snapshot())
    assert widget.slider.value() == widget.slider.maximum() > widget.slider.minimum()
    assert not widget.slider.isEnabled() and "live" in widget.label.text()


def test_scrubbing_shows_the_chosen_points(qtbot, bar, trainer):
    shown = []
    bar.state.frame_changed.connect(lambda frame: shown.append(frame.snapshot.iteration))
    bar.slider.setValue(5)  # as a drag or a click on the groove does
    assert bar.state.replayed is bar.state.replay[5] and bar.state.replayed.iteration == 500
    assert not bar.state.is_live and not bar.live_button.isChecked()
    assert "replay" in bar.label.text() and "500" in bar.label.text()
    assert bar.resume_button.isEnabled()
    bar.slider.setFocus()
    qtbot.keyClick(bar.slider, QtCore.Qt.Key.Key_Left)
    qtbot.keyClick(bar.slider, QtCore.Qt.Key.Key_Left)
    assert shown == [500, 400, 300]
    # new snapshots are kept but not drawn, and the replayed point stays put
    assert not feed(bar, trainer.step(100))
    assert selected(bar).iteration == 300 and bar.state.shown.iteration == 300
    assert bar.state.replay[bar.slider.value()].iteration == 300
    assert bar.state.replay.latest.iteration == 3100


def test_the_selection_survives_thinning(qtbot, trainer, client):
    bar = _make_bar(qtbot, trainer, client, ReplayStore(log_points=8, recent_points=4))
    bar.state.start_run(trainer.config, trainer.data, trainer.snapshot())
    for _ in range(11):
        feed(bar, trainer.step(10))
    bar.replay.select_iteration(60)
    for _ in range(50):
        assert not feed(bar, trainer.step(10))
        store = bar.state.replay
        assert len(store) <= 12
        assert selected(bar).iteration == 60  # still shown, even if the store has dropped it
        kept = store.iterations()
        assert kept[bar.slider.value()] == kept[np.abs(kept - 60).argmin()]


def test_live_button_returns_to_training(qtbot, bar, trainer):
    bar.replay.select_index(3)
    bar.live_button.click()
    assert bar.state.is_live and bar.slider.value() == bar.slider.maximum()
    assert feed(bar, trainer.step(100))
    bar.live_button.click()  # unchecking Live holds the newest state
    assert bar.state.replayed is bar.state.replay.latest and not bar.state.is_live
    assert not feed(bar, trainer.step(100))
    bar.slider.setFocus()
    qtbot.keyClick(bar.slider, QtCore.Qt.Key.Key_End)  # End goes live again
    assert bar.state.is_live and bar.state.shown.iteration == 3200


def test_resume_from_here_sends_the_point_and_forgets_later_ones(bar, client):
    bar.replay.select_iteration(1200)
    point = bar.state.replayed
    bar.resume_button.click()
    assert client.commands == [Resume(point)]
    store = bar.state.replay
    assert store.latest is point and len(store) == 13
    assert bar.state.is_live and bar.live_button.isChecked()
    assert store.snapshot().history.iteration[-1] == 1200


def test_a_reset_while_replaying_returns_to_live(bar):
    bar.replay.select_index(4)
    fresh = Trainer(Config.preset("seed")).snapshot()
    assert feed(bar, fresh)  # iteration 0 again: draw it
    assert bar.state.is_live and len(bar.state.replay) == 1
    assert not bar.slider.isEnabled()


def test_points_recorded_between_snapshots_fill_the_slider(qtbot, trainer, client):
    bar = _make_bar(qtbot, trainer, client)
    recorder = ReplayRecorder(trainer)
    recorder.advance(0)
    assert feed(bar, trainer.snapshot(), recorder.take())
    recorder.advance(1000)  # one report for a thousand iterations
    assert feed(bar, trainer.snapshot(), recorder.take())
    store = bar.state.replay
    assert list(store.iterations()[:4]) == [0, 1, 2, 3]
    assert bar.slider.maximum() == len(store) - 1 > 50
    bar.slider.setValue(5)
    assert bar.state.replayed.iteration == 5 and bar.state.shown.iteration == 5


def test_a_reset_with_points_while_replaying_returns_to_live(bar):
    bar.replay.select_index(1)  # iteration 100
    fresh = Trainer(Config.preset("seed"))
    recorder = ReplayRecorder(fresh)
    recorder.advance(64)  # a new run reports at 64 with its points 0, 1, 2, ...
    assert feed(bar, fresh.snapshot(), recorder.take())
    store = bar.state.replay
    assert bar.state.is_live and store[0].iteration == 0 and store.latest.iteration == 64
    assert store[1].iteration == 1


def test_an_empty_bar_is_inert(qtbot, trainer, client):
    bar = _make_bar(qtbot, trainer, client)
    bar.replay.select_index(3)
    bar.replay.resume()
    assert bar.state.is_live and bar.state.replay.latest is None and client.commands == []
    assert not bar.export_button.isEnabled() and bar.label.text() == "no states yet"
    bar.set_frame_renderer(_flat_renderer)
    assert not bar.export_button.isEnabled()


# -- export -------------------------------------------------------------------------------------


def test_export_points_spread_over_the_store(bar):
    points = export_points(bar.state.replay, 7)
    assert [p.iteration for p in points] == [0, 500, 1000, 1500, 2000, 2500, 3000]
    assert len(export_points(bar.state.replay, 1000)) == 31
    assert export_points(bar.state.replay, 0) == []


def test_png_series_reopens(qtbot, bar, tmp_path):
    bar.set_frame_renderer(_flat_renderer)
    assert bar.export_button.isEnabled()
    points = export_points(bar.state.replay, 6)
    paths = bar.export_pngs(tmp_path / "frames", points)
    assert bar.state.shown is bar.state.newest  # the live state is drawn again
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [p.name for p in paths]
    assert len(paths) == 6 and paths[0].name == "replay_0001_iteration_0.png"
    for path, point in zip(paths, points):
        image = QtGui.QImage(str(path))
        assert (image.width(), image.height()) == FRAME_SIZE
        assert image.pixelColor(10, 10).getRgb()[:3] == _colour(point)


def test_gif_reopens_with_every_frame(qtbot, bar, tmp_path):
    bar.set_frame_renderer(_progress_renderer)
    bar.replay.select_index(2)
    points = export_points(bar.state.replay, 20)
    path = bar.export_gif(tmp_path / "replay.gif", points, delay_ms=50)
    assert bar.state.shown.iteration == 200 == bar.state.replayed.iteration  # drawn again
    reader = QtGui.QImageReader(str(path))
    assert reader.imageCount() == 20 and reader.loopCount() == -1
    frames = _read_gif(path)
    assert len(frames) == 20
    for frame, point in zip(frames, points):
        source = image_to_rgb(_progress_renderer(point))
        assert frame.shape == source.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3)
        assert np.array_equal(frame, source)  # every colour is in the palette: lossless
        blue = np.all(frame[50] == style.BLUE, axis=1)
        assert blue.sum() == _bar_width(point) and blue[: _bar_width(point)].all()


def test_gif_of_real_views_shows_training(qtbot, bar, trainer, tmp_path):
    """The window's kind of renderer: draw a view at the point, grab it."""
    view = MetricsView()
    qtbot.addWidget(view)
    view.resize(450, 350)
    view.show()
    qtbot.waitExposed(view)

    def render(point: ReplayPoint) -> QtGui.QImage:
        view.show_frame(make_frame(bar.state.replay.snapshot(point), trainer.config, trainer.data))
        return view.grab().toImage()

    bar.set_frame_renderer(render)
    points = export_points(bar.state.replay, 5)
    path = bar.export_gif(tmp_path / "metrics.gif", points, max_width=300)
    frames = _read_gif(path)
    assert len(frames) == 5
    assert frames[0].shape[1] == 300  # scaled down to the largest width
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 0.5  # the matrices changed


def test_a_live_snapshot_never_lands_in_an_export(bar, trainer, tmp_path):
    answers = []

    def render(point: ReplayPoint) -> QtGui.QImage:
        answers.append(feed(bar, trainer.step(1)))  # training goes on meanwhile
        return _flat_renderer(point)

    bar.set_frame_renderer(render)
    bar.export_gif(tmp_path / "during.gif", export_points(bar.state.replay, 4))
    assert answers == [False] * 4
    assert feed(bar, trainer.step(1))  # live again afterwards


def test_cancelling_keeps_no_partial_gif(bar, tmp_path):
    bar.set_frame_renderer(_flat_renderer)
    points = export_points(bar.state.replay, 8)
    with pytest.raises(replay_bar.ExportCancelled):
        bar.export_gif(tmp_path / "cancelled.gif", points, progress=lambda done: done < 3)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(replay_bar.ExportCancelled):
        bar.export_pngs(tmp_path / "pngs", points, progress=lambda done: done < 3)
    assert len(list((tmp_path / "pngs").iterdir())) == 3


def test_export_button_writes_a_gif_or_pngs(qtbot, bar, tmp_path, monkeypatch):
    bar.set_frame_renderer(_flat_renderer)
    choices = {"png": False, "frames": 5}

    def run_dialog(dialog: ReplayExportDialog) -> int:
        dialog.png_button.setChecked(choices["png"])
        dialog.frames.setValue(choices["frames"])
        return QtWidgets.QDialog.DialogCode.Accepted

    monkeypatch.setattr(ReplayExportDialog, "exec", run_dialog)
    gif_path = tmp_path / "button.gif"
    monkeypatch.setattr(
        QtWidgets.QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(gif_path), "")
    )
    monkeypatch.setattr(
        QtWidgets.QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path)
    )
    bar.export_button.click()
    assert QtGui.QImageReader(str(gif_path)).imageCount() == 5
    choices.update(png=True, frames=3)
    bar.export_button.click()
    assert len(list(tmp_path.glob("replay_*.png"))) == 3


def test_export_dialog_offers_the_kept_states(qtbot):
    dialog = ReplayExportDialog(40)
    qtbot.addWidget(dialog)
    assert dialog.frames.maximum() == 40 and dialog.frames.value() == 40
    assert dialog.is_gif() and dialog.delay.isEnabled()
    dialog.png_button.setChecked(True)
    assert not dialog.is_gif() and not dialog.delay.isEnabled()
