"""Points you draw in the real window: the mouse on the boundary view, the pixels it draws, undo,
training on, and the drawn points in a session and data.csv."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from window_helpers import TIMEOUT, step_to

from nnviz.core import load_session
from nnviz.core.datasets import drawn_to_test
from nnviz.core.files import read_data_csv
from nnviz.core.metrics import evaluate_setup
from nnviz.gui import style


def viewport_point(window, x: float, y: float) -> QPoint:
    """The boundary plot's viewport pixel of data point (x, y)."""
    plot = window.boundary_view.plot_widget
    scene = plot.getPlotItem().getViewBox().mapViewToScene(QPointF(x, y))
    return plot.mapFromScene(scene)


def empty_spot(window, margin_pixels: float = 25.0) -> tuple[float, float]:
    """A data point in the plot with no point (train or test) within `margin_pixels`."""
    data = window.state.dataset
    points = np.vstack([data.x_train, data.x_test])
    xmin, xmax, ymin, ymax = window.state.frame.extent
    width, height = window.boundary_view.painter.pixel_size()
    for x in np.linspace(xmin, xmax, 23)[3:-3]:
        for y in np.linspace(ymin, ymax, 17)[3:-3]:
            distance = np.hypot((points[:, 0] - x) / width, (points[:, 1] - y) / height)
            if distance.min() > margin_pixels:
                return float(x), float(y)
    raise AssertionError("no empty spot in the plot")


def pixel(window, at: QPoint) -> tuple[int, int, int]:
    image = window.boundary_view.plot_widget.viewport().grab().toImage()
    scale = image.devicePixelRatio()
    color = image.pixelColor(int(at.x() * scale), int(at.y() * scale))
    return color.red(), color.green(), color.blue()


def near(color, target, tolerance=30) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(color, target))


def test_click_shift_click_drag_and_undo_draw_where_the_mouse_is(qtbot, window):
    state, viewport = window.state, window.boundary_view.plot_widget.viewport()
    original = state.dataset
    n, m = len(original.x_train), len(original.x_test)
    assert not drawn_to_test(original, 1)  # the click below is a training point
    clicked = []
    window.boundary_view.point_clicked.connect(clicked.append)
    qtbot.keyClick(window, Qt.Key.Key_D)  # draw mode
    assert window.draw_action.isChecked() and window.draw_bar.tools.isVisible()
    window.draw_bar.classes.button(1).click()
    x, y = empty_spot(window)
    at = viewport_point(window, x, y)
    assert not near(pixel(window, at), style.BLUE)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at)
    assert len(state.dataset.x_train) == n + 1 and state.dataset.y_train[-1] == 1
    width, height = window.boundary_view.painter.pixel_size()
    added = state.dataset.x_train[-1]
    assert abs(added[0] - x) <= 1.5 * width and abs(added[1] - y) <= 1.5 * height
    qtbot.waitUntil(lambda: near(pixel(window, at), style.BLUE), timeout=TIMEOUT)

    # shift-click on it takes it away again (and never opens Explain for it)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, at)
    assert len(state.dataset.x_train) == n and not clicked
    qtbot.waitUntil(lambda: not near(pixel(window, at), style.BLUE), timeout=TIMEOUT)

    # a drag of class 0 paints a row of points along the way
    window.draw_bar.classes.button(0).click()
    start = viewport_point(window, x, y)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for dx in range(4, 101, 4):
        qtbot.mouseMove(viewport, start + QPoint(dx, 0))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(100, 0))
    painted = len(state.dataset.x_train) - n
    tested = len(state.dataset.x_test) - m  # every 4th point of class 0 is a test point
    assert painted + tested == 9 and tested in (2, 3) and set(state.dataset.y_train[n:]) == {0}
    qtbot.waitUntil(
        lambda: near(pixel(window, start + QPoint(48, 0)), style.ORANGE), timeout=TIMEOUT
    )
    assert "class 0: " in window.draw_bar.counts.text()

    # training goes on with the new points: the process measures them
    step_to(qtbot, window, 20, 20)
    frame = state.frame
    assert len(frame.data.x_train) == n + painted
    expected = evaluate_setup(frame.snapshot.weights, state.dataset, state.config, full=False)
    assert frame.snapshot.train_loss == expected.train.loss

    # Ctrl+Z takes the whole stroke back, then the shift-click's removal, then the click
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(state.dataset.x_train) == n and len(state.dataset.x_test) == m
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert state.dataset is original and not window.undo_action.isEnabled()
    qtbot.waitUntil(lambda: not near(pixel(window, start + QPoint(48, 0)), style.ORANGE))
    step_to(qtbot, window, 30, 10)
    expected = evaluate_setup(state.frame.snapshot.weights, original, state.config, full=False)
    assert state.frame.snapshot.train_loss == expected.train.loss
    qtbot.keyClick(
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert len(state.dataset.x_train) == n + 1  # redo


def test_in_draw_mode_the_plot_never_sees_a_click_and_after_it_does_again(qtbot, window):
    """Drawing takes the clicks from the plot's scene (a point's Explain, a seed's boundary);
    Explain turns drawing off, and the clicks reach the scene again."""
    viewport = window.boundary_view.plot_widget.viewport()
    seen = []
    window.boundary_view.plot_widget.scene().sigMouseClicked.connect(seen.append)
    window.draw_action.trigger()
    spot = empty_spot(window)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport_point(window, *spot))
    assert seen == [] and window.undo_action.isEnabled()
    window.explain_action.trigger()  # Explain takes the clicks: drawing stops
    assert not window.draw_action.isChecked() and not window.boundary_view.painter.active
    assert not window.draw_bar.tools.isVisible()
    qtbot.wait(50)  # Explain moved the boundary view: let it settle
    n = len(window.state.dataset.x_train)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport_point(window, *spot))
    assert len(window.state.dataset.x_train) == n and len(seen) == 1
    window.draw_action.trigger()  # and drawing turns Explain off
    assert not window.explain_action.isChecked()


def test_a_drawn_canvas_trains_is_tested_on_its_own_points_and_files_keep_it(
    qtbot, window, tmp_path
):
    state = window.state
    window.empty_action.trigger()
    assert len(state.dataset.x_train) == len(state.dataset.x_test) == 0
    assert window.draw_action.isChecked()
    assert "test —" in window.status.text()  # no test point: no test figures, no warning
    qtbot.keyClick(window, Qt.Key.Key_Space)  # held: nothing to train on yet
    assert not state.playing and "each of classes 0 and 1" in window.statusBar().currentMessage()
    viewport = window.boundary_view.plot_widget.viewport()

    def draw(points):
        for label, (x, y) in points:
            window.draw_bar.classes.button(label).click()
            at = viewport_point(window, x, y)
            qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=at)

    draw([(0, (-0.8, 0.6)), (0, (-0.6, 0.8)), (1, (1.2, -0.3)), (1, (1.4, -0.1))])
    drawn = state.dataset
    assert len(drawn.x_train) == 4 and len(drawn.x_test) == 0 and state.hold == ""
    assert window.statusBar().currentMessage() == ""
    step_to(qtbot, window, 200, 200)
    assert state.frame.metrics.train.accuracy == 1.0  # four points, two clusters: learnt
    assert "accuracy train 1.000  test —" in window.status.text()
    window.files.export_dataset(tmp_path / "train_only.csv")  # no test row yet: it saves
    with open(tmp_path / "train_only.csv", "rb") as stream:
        assert len(read_data_csv(stream).x_test) == 0

    # the 4th point of each class is a test point: the test figures are about them
    draw([(0, (-0.7, 0.7)), (0, (-0.75, 0.65)), (1, (1.3, -0.2)), (1, (1.35, -0.15))])
    drawn = state.dataset
    assert len(drawn.x_train) == 6 and list(drawn.y_test) == [0, 1]
    np.testing.assert_allclose(drawn.x_test, [[-0.75, 0.65], [1.35, -0.15]], atol=0.01)
    step_to(qtbot, window, 260, 60)
    metrics = state.frame.metrics
    assert state.frame.data is drawn and metrics.test.accuracy == 1.0
    assert state.frame.snapshot.test_loss == metrics.test.loss  # the process tests on them too
    assert "accuracy train 1.000  test 1.000" in window.status.text()

    window.files.save_session(tmp_path / "drawn")
    qtbot.waitUntil(lambda: (tmp_path / "drawn.nnviz").exists(), timeout=TIMEOUT)
    window.files.export_dataset(tmp_path / "data.csv")
    with open(tmp_path / "data.csv", "rb") as stream:
        exported = read_data_csv(stream)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(exported, name), getattr(drawn, name))

    window.config_edits.load(window.config.replace(noise=0.05))  # other data: the canvas goes
    qtbot.waitUntil(lambda: len(state.dataset.x_train) > 6, timeout=TIMEOUT)
    assert not window.undo_action.isEnabled()
    window.files.open_session(tmp_path / "drawn.nnviz")
    qtbot.waitUntil(lambda: len(state.dataset.x_train) == 6, timeout=TIMEOUT)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(state.dataset, name), getattr(drawn, name))
    assert state.newest.iteration == 260


def test_a_process_killed_while_the_drawing_cannot_train_and_a_session_of_that_drawing(
    qtbot, window, tmp_path
):
    """The restarted process trains on the points the dead one did until the drawing can
    train; a session saved then holds the drawing on screen and reopens waiting for points."""
    import os
    import signal

    state = window.state
    step_to(qtbot, window, 50, 50)
    trained_on = state.dataset
    window.empty_action.trigger()
    viewport = window.boundary_view.plot_widget.viewport()
    window.draw_bar.classes.button(0).click()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport_point(window, -0.5, 0.5))
    canvas = state.dataset
    assert len(canvas.x_train) == 1 and "class 1" in state.hold
    kept = state.newest
    old = window.training_thread.process_id
    os.kill(old, signal.SIGKILL)
    qtbot.waitUntil(lambda: "new one at iteration 50" in window.banner.text(), timeout=TIMEOUT)
    assert window.training_thread.process_id != old and window.training_thread.process_alive
    qtbot.waitUntil(lambda: state.newest is not kept, timeout=TIMEOUT)  # the new one answered
    # it starts from the newest weights on the points the dead one trained on
    restarted = evaluate_setup(kept.weights, trained_on, state.config, full=False)
    assert state.newest.train_loss == restarted.train.loss and state.dataset is canvas

    path = tmp_path / "one point.nnviz"
    with qtbot.waitSignal(window.files.status, timeout=TIMEOUT) as report:
        window.files.save_session(path)
    assert report.args == [
        f"saved {path} as drawn. Training waits for points: draw a point of class 1."
    ]
    saved = load_session(path)
    np.testing.assert_array_equal(saved.data.x_train, canvas.x_train)
    np.testing.assert_array_equal(saved.weights()["W1"], kept.weights["W1"])

    window.draw_bar.classes.button(1).click()  # now it can train: the new process gets it
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport_point(window, 1.2, -0.3))
    assert state.hold == ""
    step_to(qtbot, window, 60, 10)
    expected = evaluate_setup(state.frame.snapshot.weights, state.dataset, state.config)
    assert state.frame.snapshot.train_loss == expected.train.loss

    window.files.open_session(path)  # the one-point drawing again, waiting as it was
    qtbot.waitUntil(lambda: len(state.dataset.x_train) == 1, timeout=TIMEOUT)
    assert state.newest.iteration == 50 and "class 1" in state.hold
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not state.playing and state.message == state.hold  # Play says why it waits
