"""The window end to end, offscreen: real training process, real views, no fixed sleeps."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from nnviz import Config, Trainer
from nnviz.gui.main_window import MainWindow, stored_config
from nnviz.service.protocol import SaveSession

TIMEOUT = 20_000  # ms; the first command waits for the training process to start


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "nnviz.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(Config.preset("seed"), settings)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    assert not win.training_thread.isRunning()


def drawn_at(iteration: int):
    return lambda drawn: drawn == iteration


def run_command(qtbot, window, action, iteration: int) -> None:
    with qtbot.waitSignal(window.frame_drawn, timeout=TIMEOUT, check_params_cb=drawn_at(iteration)):
        action()


def image_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    data = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    pixels = data.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width(), :3]
    return pixels.copy()  # the QImage owns the buffer; copy before it is freed


def test_opens_with_the_seed_preset_drawn_untrained(window):
    assert window.state.newest.iteration == 0
    assert window.config == Config.preset("seed")
    assert window.windowTitle() == "Watch a neural network learn"  # Qt appends " — nnviz"
    assert "iteration 0 / 20,000" in window.status.text()


def test_step_adds_one_iteration_with_the_cores_weights(qtbot, window):
    run_command(qtbot, window, window.step_action.trigger, 1)
    reference = Trainer(Config.preset("seed"))
    reference.step(1)
    for name, array in reference.weights().items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)


def test_reset_restores_bit_identical_initial_weights(qtbot, window):
    initial = {k: v.copy() for k, v in window.state.newest.weights.items()}
    window.step_count.setValue(50)
    run_command(qtbot, window, window.step_n_action.trigger, 50)
    run_command(qtbot, window, window.reset_action.trigger, 0)
    for name, array in initial.items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)


def test_after_a_reset_the_loss_axis_starts_over_then_follows_training(qtbot, window):
    plot = window.loss_view.plot_widget.getPlotItem()
    window.step_count.setValue(2000)
    run_command(qtbot, window, window.step_n_action.trigger, 2000)
    qtbot.waitUntil(lambda: plot.viewRange()[0][1] > 1900)  # auto range settles on a repaint
    run_command(qtbot, window, window.reset_action.trigger, 0)
    assert plot.viewRange()[0] == [0.0, 1.0]
    window.step_count.setValue(300)
    run_command(qtbot, window, window.step_n_action.trigger, 300)
    qtbot.waitUntil(lambda: 250 < plot.viewRange()[0][1] < 400)


def test_a_data_change_resets_training(qtbot, window):
    run_command(qtbot, window, window.step_action.trigger, 1)
    run_command(qtbot, window, lambda: window.controls.editor("noise").setValue(0.1), 0)
    assert window.config.noise == 0.1
    assert window.state.newest.iteration == 0
    run_command(qtbot, window, window.step_action.trigger, 1)  # the new run trains
    assert window.state.dataset.x_train.shape == (750, 2)


def test_a_learning_rate_change_applies_live(qtbot, window):
    window.step_count.setValue(100)
    run_command(qtbot, window, window.step_n_action.trigger, 100)
    window.controls.editor("learning_rate").setValue(0.5)
    assert window.config.learning_rate == 0.5
    run_command(qtbot, window, window.step_action.trigger, 101)  # no reset happened
    reference = Trainer(Config.preset("seed"))
    reference.step(100)
    reference.update_config(reference.config.replace(learning_rate=0.5))
    reference.step(1)
    for name, array in reference.weights().items():
        np.testing.assert_array_equal(window.state.newest.weights[name], array)


def test_boundary_and_roc_change_with_training(qtbot, window):
    before_image = np.array(window.boundary_view.image.image, copy=True)
    before_roc = np.array(window.roc_view.test_curve.getData()[1], copy=True)
    window.step_count.setValue(2000)
    run_command(qtbot, window, window.step_n_action.trigger, 2000)
    after_image = window.boundary_view.image.image
    after_roc = window.roc_view.test_curve.getData()[1]
    assert np.abs(after_image - before_image).max() > 0.3
    assert before_roc.shape != after_roc.shape or not np.allclose(before_roc, after_roc)


def test_the_grabbed_window_is_not_blank(qtbot, window):
    window.step_count.setValue(500)
    run_command(qtbot, window, window.step_n_action.trigger, 500)
    pixels = image_array(window.grab().toImage())
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 200
    assert pixels.std() > 20


def test_an_invalid_entry_shows_the_cores_message(qtbot, window):
    combo = window.controls.editor("dataset")
    combo.setCurrentText("csv")
    combo.activated.emit(combo.currentIndex())
    message = window.controls.error_text("csv_path")
    assert "csv_path" in message and "CSV file path" in message
    assert window.config.dataset == "moons"  # the running setup is untouched


def test_a_broken_csv_shows_the_data_error(qtbot, window, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n" + "0,0,0\n1,1,1\n" * 5 + "0,0,-1\n")
    window.controls.csv_path.setText(str(bad))
    window.controls.field_edited.emit("csv_path")  # what Browse… does
    combo = window.controls.editor("dataset")
    combo.setCurrentText("csv")
    combo.activated.emit(combo.currentIndex())
    qtbot.waitUntil(lambda: "must be a whole number" in window.controls.error_text("dataset"))


def test_divergence_stops_with_a_visible_message(qtbot, settings):
    config = Config(
        hidden=(8, 4), activation="linear", loss="bce", learning_rate=50.0, iterations=500
    )
    win = MainWindow(config, settings, preset=None)
    win.show()
    try:
        with qtbot.waitSignal(
            win.frame_drawn,
            timeout=TIMEOUT,
            check_params_cb=lambda _: win.state.newest.diverged_at is not None,
        ):
            win.play()
        assert win.banner.isVisible()
        assert "diverged" in win.banner.text() and "learning rate" in win.banner.text()
        assert all(np.all(np.isfinite(w)) for w in win.state.newest.weights.values())
    finally:
        win.close()


def test_closing_mid_training_stops_the_thread(qtbot, settings):
    win = MainWindow(Config.preset("seed", iterations=10_000_000), settings)
    win.show()
    with qtbot.waitSignal(
        win.frame_drawn, timeout=TIMEOUT, check_params_cb=lambda it: it > 0 and win.state.playing
    ):
        win.play()
    win.close()
    assert not win.training_thread.isRunning()
    assert not win.training_thread._process.is_alive()


def test_rapid_play_pause_step_reset_cycles(qtbot, window):
    from PySide6.QtWidgets import QApplication

    actions = [
        window.play_action,
        window.step_action,
        window.play_action,
        window.reset_action,
        window.step_n_action,
    ]
    for cycle in range(200):
        actions[cycle % len(actions)].trigger()
        QApplication.processEvents()
    run_command(qtbot, window, window.reset_action.trigger, 0)
    assert window.training_thread.isRunning()


def test_settings_remember_the_configuration(qtbot, settings):
    win = MainWindow(Config.preset("seed"), settings)
    win.controls.editor("learning_rate").setValue(0.25)
    win.close()
    assert stored_config(settings).learning_rate == 0.25


@pytest.mark.slow
def test_scripted_run_trains_and_saves_a_screenshot(tmp_path):
    shot = tmp_path / "window.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnviz",
            "gui",
            "--train",
            "3000",
            "--screenshot",
            str(shot),
            "--quit",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    pattern = (
        r"trained 3000 iterations in [\d.]+ s \([\d,]+ it/s\), \d+ redraws "
        r"\([\d.]+ Hz\), max event-loop stall \d+ ms"
    )
    assert re.fullmatch(pattern, line), line
    image = QImage(str(shot))
    assert image.width() > 800 and image.height() > 500


def test_a_stored_config_whose_csv_is_gone_is_ignored(settings, tmp_path):
    points = tmp_path / "points.csv"
    rows = "\n".join(f"{i % 7},{i % 5},{i % 2}" for i in range(40))
    points.write_text("x1,x2,label\n" + rows + "\n")
    config = Config(dataset="csv", csv_path=str(points))
    settings.setValue("config", config.to_json())
    assert stored_config(settings) == config
    points.unlink()
    assert stored_config(settings) is None


def test_a_window_that_loads_after_show_draws_its_first_frame_once_shown(qtbot, settings):
    win = MainWindow(Config.preset("seed"), settings, load_after_show=True)
    assert win.state.frame is None and "Loading" in win.status.text()
    with qtbot.waitSignal(win.frame_drawn, timeout=TIMEOUT, check_params_cb=drawn_at(0)):
        win.show()
    expected = Trainer(Config.preset("seed"))
    np.testing.assert_array_equal(win.state.dataset.x_train, expected.data.x_train)
    np.testing.assert_array_equal(win.state.shown.weights["W1"], expected.weights()["W1"])
    assert "iteration 0" in win.status.text()
    win.close()


def test_data_that_fails_after_show_opens_the_seed_setup_with_a_message(qtbot, settings, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("x1,x2,label\n1,2,0\n")  # too few rows: refused by the loader
    win = MainWindow(Config(dataset="csv", csv_path=str(points)), settings, load_after_show=True)
    with qtbot.waitSignal(win.frame_drawn, timeout=TIMEOUT):
        win.show()
    assert win.state.config == Config.preset("seed")
    assert "could not be loaded" in win.state.message and "at least 8" in win.state.message
    assert win.banner.isVisible()
    win.close()


def test_a_training_process_killed_mid_training_is_restarted_where_the_window_was(
    qtbot, window, tmp_path
):
    import os
    import signal

    qtbot.waitUntil(lambda: window.process_ready, timeout=TIMEOUT)
    window.config_edits.load(Config.preset("seed", iterations=10_000_000))
    window.play()
    qtbot.waitUntil(lambda: window.state.newest.iteration > 2000, timeout=TIMEOUT)
    old = window.training_thread.process_id
    for _ in range(50):  # commands on their way to a dying process neither block nor raise
        window.step_action.trigger()
    os.kill(old, signal.SIGKILL)
    qtbot.waitUntil(lambda: "started a new one" in window.banner.text(), timeout=TIMEOUT)
    assert "exit code -9" in window.banner.text() and not window.state.playing
    assert window.training_thread.process_id != old and window.training_thread.process_alive
    kept = window.state.newest
    np.testing.assert_array_equal(window.state.shown.weights["W1"], kept.weights["W1"])
    run_command(qtbot, window, window.step_action.trigger, kept.iteration + 1)
    reference = Trainer(window.config, window.state.dataset)
    reference.set_weights({name: array.copy() for name, array in kept.weights.items()})
    reference.step(1)  # plain gradient descent: one step from the kept weights is exact
    np.testing.assert_array_equal(window.state.newest.weights["W2"], reference.weights()["W2"])
    saved = tmp_path / "after.nnviz"
    window.training_thread.send(SaveSession(str(saved)))
    qtbot.waitUntil(saved.exists, timeout=TIMEOUT)  # Save works again


def test_editing_one_control_changes_only_that_field(qtbot, settings):
    config = Config.preset("seed", test_size=0.333, noise=0.1234, learning_rate=2e-6)
    win = MainWindow(config, settings, preset=None)
    win.show()
    try:
        run_command(qtbot, win, win.step_action.trigger, 1)
        win.controls.editor("threshold").setValue(0.6)
        assert win.config == config.replace(threshold=0.6)  # nothing rounded by the widgets
        run_command(qtbot, win, win.step_action.trigger, 2)  # a live change: no reset
    finally:
        win.close()


def test_a_refused_edit_is_kept_for_the_next_one(qtbot, window, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("x1,x2,label\n" + "\n".join(f"{i % 7},{i % 5},{i % 2}" for i in range(40)))
    combo = window.controls.editor("dataset")
    combo.setCurrentText("csv")
    combo.activated.emit(combo.currentIndex())  # refused: no file yet
    assert window.config.dataset == "moons"
    window.controls.csv_path.setText(str(points))
    window.controls.field_edited.emit("csv_path")  # what Browse… does
    qtbot.waitUntil(lambda: window.config.dataset == "csv")  # the points are read off-thread
    assert window.config.csv_path == str(points)


@pytest.mark.parametrize("docks", [(), ("metrics", "experiments"), ("explain",)])
def test_the_window_fits_a_1280_px_screen_with_any_dock_open(qtbot, window, docks):
    """Docks scroll rather than widen the window (it was 1504 px wide with Metrics open)."""
    for name in docks:
        getattr(window, f"{name}_action").trigger()
    qtbot.waitUntil(lambda: all(getattr(window, f"{n}_dock").isVisible() for n in docks))
    assert window.minimumSizeHint().width() <= 1270  # and a few pixels of window frame
    assert window.minimumSizeHint().height() <= 680


def mean_brightness(widget) -> float:
    return float(image_array(widget.grab().toImage()).mean())


def test_dark_colours_darken_the_chrome_keep_the_plots_white_and_are_remembered(
    qtbot, window, settings
):
    light_panel = mean_brightness(window.controls)
    window.set_color_scheme("dark")
    try:
        qtbot.waitUntil(lambda: mean_brightness(window.controls) < 90)  # palettes propagate
        assert light_panel > 200
        assert mean_brightness(window.loss_view.plot_widget) > 200  # a figure stays paper-white
        icon = image_array(window.play_action.icon().pixmap(32).toImage())
        assert icon.max() > 200  # the toolbar's icons are drawn light on the dark toolbar
        window.experiments_panel.set_cluster("tcp://scheduler:8786")
        window.save_settings()
        assert settings.value("view/color_scheme") == "dark"
        again = MainWindow(Config.preset("seed"), settings)
        assert again.scheme_actions["dark"].isChecked()
        assert again.experiments_panel.cluster() == "tcp://scheduler:8786"  # remembered too
        again.close()
    finally:
        window.set_color_scheme("auto")
    qtbot.waitUntil(lambda: mean_brightness(window.controls) > 200)


def test_restore_defaults_brings_back_the_seed_setup_and_layout(qtbot, window):
    window.config_edits.load(Config.preset("seed", learning_rate=0.5, hidden=(4, 3)))
    window.metrics_action.trigger()
    window.speed.setCurrentIndex(3)
    assert window.metrics_dock.isVisible() and window.controls.preset.currentText() == "custom"
    window.restore_defaults()
    assert window.config == Config.preset("seed")
    assert window.controls.preset.currentText() == "seed"
    assert not window.metrics_dock.isVisible() and window.speed.currentIndex() == 0
    assert window.settings.value("config") == Config.preset("seed").to_json()


def test_explain_gives_the_network_the_top_row_and_puts_every_view_back(qtbot, window):
    qtbot.waitUntil(lambda: window.process_ready, timeout=TIMEOUT)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() == 1280)
    network = window.network_view
    before = (network.width(), network.height(), window.views_area.sizes())
    window.explain_action.trigger()
    qtbot.waitUntil(lambda: network.width() > 1.5 * before[0])
    assert network.height() > before[1]
    assert network.width() >= window.views_area.width() - 20  # the whole row
    assert not window.roc_view.isVisible() and window.boundary_view.isVisible()
    qtbot.waitUntil(lambda: window.explain_dock.width() >= 300)  # room for the formulas
    window.explain_action.trigger()
    qtbot.waitUntil(lambda: window.roc_view.isVisible())
    assert window.views_area.sizes() == before[2]
    assert abs(network.width() - before[0]) <= 2


def test_the_banner_floats_over_the_views_and_a_notice_goes_with_the_next_action(qtbot, window):
    qtbot.waitUntil(lambda: window.process_ready, timeout=TIMEOUT)
    window.config_edits.load(Config.preset("seed", iterations=5))
    run_command(qtbot, window, window.play_action.trigger, 5)
    qtbot.waitUntil(lambda: not window.state.playing, timeout=TIMEOUT)
    views = window.views_area.geometry()
    window.play_action.trigger()  # at the target: Play says so
    assert window.banner.isVisible() and "Reached the target" in window.banner.text()
    assert window.views_area.geometry() == views  # nothing moved
    assert window.banner.geometry().top() < views.top() + 20
    window.explain_action.trigger()
    assert not window.banner.isVisible()
    window.state.set_message("an error stays")
    window.explain_action.trigger()
    window.explain_action.trigger()
    assert window.banner.text() == "an error stays" and window.banner.isVisible()


def test_the_first_frame_settles_the_heap_once(qtbot, window):
    """After the first frame, start-up's objects are out of the collector's reach (gc.freeze),
    so a full collection mid-training cannot stall the event loop; later frames leave it be."""
    import gc

    from nnviz.gui.app import settle_heap_after_first_frame

    settle_heap_after_first_frame(window)
    try:
        run_command(qtbot, window, window.step_action.trigger, 1)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()  # the other tests' windows must stay collectable
    run_command(qtbot, window, window.step_action.trigger, 2)
    assert gc.get_freeze_count() == 0
