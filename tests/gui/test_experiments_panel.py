"""The Experiments panel: a sweep run through the panel, its table, plot, clipboard and cancel."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6)
from nnviz import Config
from nnviz.core.sweep import (
    ALL_METRICS,
    COLUMNS,
    RunResult,
    Sweep,
    SweepResult,
    SweepRow,
    run_sweep,
)
from nnviz.gui import style
from nnviz.gui.controllers.experiments import _LIVE_THREADS
from nnviz.gui.experiments_panel import ExperimentsPanel

BASE = Config.preset("seed", iterations=200)
#: A sweep long enough that it is surely still running when the test cancels it.
LONG = Config.preset("seed", iterations=2_000_000)


def csv_rows(text: str) -> list[list[str]]:
    """The rows of CSV text, as a spreadsheet pasting the clipboard would read them."""
    return list(csv.reader(io.StringIO(text)))


def _without_seconds(rows):
    return [
        (row.value, [dataclasses.replace(run, seconds=0.0) for run in row.runs]) for row in rows
    ]


@pytest.fixture
def panel(qtbot):
    panel = ExperimentsPanel()
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    qtbot.waitExposed(panel)
    yield panel
    panel.shutdown()


def _run(qtbot, panel, timeout=60_000):
    with qtbot.waitSignal(panel.results_ready, timeout=timeout) as blocker:
        assert panel.run()
    return blocker.args[0]


@pytest.fixture
def finished(qtbot, panel):
    """The panel after a small parallel sweep: hidden 1, 2 and 5 at 200 iterations."""
    panel.set_base_config(BASE)
    panel.set_custom_sweep("hidden", "1,2,5")
    results = _run(qtbot, panel)
    return panel, results


def test_panel_rows_equal_run_sweep(finished):
    panel, results = finished
    expected = run_sweep("hidden", [1, 2, 5], BASE, n_jobs=1)
    assert len(results) == 1
    assert _without_seconds(results[0].rows) == _without_seconds(expected.rows)
    # the table shows them, in the sweep's order, with the values and AUCs as text
    model = panel.proxy
    assert model.rowCount() == 3
    shown = [model.index(r, 0).data() for r in range(3)]
    assert shown == ["1", "2", "5"]
    aucs = [float(model.index(r, 4).data()) for r in range(3)]
    assert aucs == pytest.approx([row.test_auc for row in expected.rows], abs=5e-5)
    assert not panel.is_running()
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.progress_bar.value() == panel.progress_bar.maximum()


def test_panel_plot_shows_the_result(finished):
    panel, results = finished
    data = panel.view.plotted_data("auc")
    assert list(data["x"]) == [1.0, 2.0, 5.0]
    assert list(data["test"]) == [row.test_auc for row in results[0].rows]
    assert not data["log_x"]  # 1..5 does not span a decade


def test_sorting_by_a_metric_column(finished, qtbot):
    panel, results = finished
    column = 4  # test AUC
    panel.table_view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    shown = [row.test_auc for row in panel.displayed_rows()]
    assert shown == sorted((row.test_auc for row in results[0].rows), reverse=True)
    panel.table_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert [row.value for row in panel.displayed_rows()] == [5, 2, 1]


def test_copy_puts_csv_on_the_clipboard(finished, qtbot):
    panel, results = finished
    QtWidgets.QApplication.clipboard().clear()
    panel.copy_button.click()
    rows = csv_rows(QtWidgets.QApplication.clipboard().text())
    assert tuple(rows[0]) == COLUMNS
    assert [r[1] for r in rows[1:]] == ["1", "2", "5"]
    assert [float(r[5]) for r in rows[1:]] == [row.test_auc for row in results[0].rows]

    # Ctrl+C on the table copies the selected rows only, in the displayed order
    panel.table_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    panel.table_view.selectRow(0)
    QtWidgets.QApplication.clipboard().clear()
    panel.table_view.setFocus()
    qtbot.keyClick(panel.table_view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    rows = csv_rows(QtWidgets.QApplication.clipboard().text())
    assert [r[1] for r in rows[1:]] == ["5"]


def test_double_click_emits_the_rows_config(finished, qtbot):
    panel, results = finished
    panel.table_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # row 0 is now hidden 5
    index = panel.proxy.index(0, 2)
    rect = panel.table_view.visualRect(index)
    viewport = panel.table_view.viewport()
    with qtbot.waitSignal(panel.config_chosen, timeout=2000) as blocker:
        # a press and release first, as a real double-click has: QTest's double-click alone
        # does not reach an item view's doubleClicked
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args[0] == BASE.replace(hidden=(5,))
    assert blocker.args[0] == results[0].rows[2].config


def test_export_table_and_plot(finished, tmp_path):
    panel, results = finished
    table = panel.export_table(tmp_path / "t.csv")
    assert table.read_text() == results[0].csv_text()
    png = panel.export_plot(tmp_path / "p.png")
    image = QtGui.QImage(str(png))
    assert not image.isNull() and image.width() > 100
    pixels = np.frombuffer(
        image.convertToFormat(QtGui.QImage.Format.Format_Grayscale8).constBits(), np.uint8
    )
    assert pixels.min() < 100  # curves and text, not a blank picture
    svg = panel.export_plot(tmp_path / "p.svg")
    root = ET.parse(svg).getroot()
    assert any(element.tag.endswith(("path", "polyline")) for element in root.iter())


def test_invalid_values_are_reported_not_run(panel):
    panel.set_custom_sweep("hidden", "1,zero")
    assert not panel.run()
    assert "hidden" in panel.status_label.text()
    assert not panel.is_running()


def test_cancel_stops_within_a_second(qtbot, panel):
    panel.set_base_config(LONG)
    panel.set_custom_sweep("hidden", "3,4,5,6")
    panel.run()
    # wait until the workers really train, so the cancel interrupts training, not start-up
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=30_000)
    assert panel.is_running()
    started = time.perf_counter()
    with qtbot.waitSignal(panel.sweep_cancelled, timeout=3000):
        panel.cancel_button.click()
    assert time.perf_counter() - started < 1.0
    assert not panel.is_running()
    assert panel.progress_bar.format() == "cancelled"
    assert not _LIVE_THREADS


def test_window_stays_responsive_while_a_sweep_runs(qtbot, panel):
    """The GUI thread only waits for signals: a timer keeps firing on time during a sweep."""
    panel.set_base_config(LONG)
    panel.set_custom_sweep("learning_rate", "0.1,0.2")
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    panel.run()
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 50, timeout=5000)
    timer.stop()
    assert panel.is_running()
    assert max(np.diff(ticks)) < 0.25  # no long stall of the event loop
    panel.shutdown()


def test_shutdown_and_destroy_mid_run_join_the_thread(qtbot):
    panel = ExperimentsPanel()
    panel.set_base_config(LONG)
    panel.set_custom_sweep("hidden", "3,4")
    panel.run()
    thread = panel.controller._thread
    assert thread is not None and thread.isRunning()
    qtbot.waitUntil(lambda: panel.progress_bar.value() > 0, timeout=30_000)  # training now
    started = time.perf_counter()
    panel.close()  # closeEvent -> shutdown(): stop and join
    assert not thread.isRunning()
    assert time.perf_counter() - started < 2.0

    # deleting a panel that is running, without shutdown(), still stops and joins its thread
    other = ExperimentsPanel()
    other.set_base_config(LONG)
    other.set_custom_sweep("hidden", "3,4")
    other.run()
    running = other.controller._thread
    qtbot.waitUntil(lambda: other.progress_bar.value() > 0, timeout=30_000)
    assert running.isRunning()
    other.deleteLater()
    qtbot.waitUntil(lambda: not running.isRunning(), timeout=3000)
    assert not _LIVE_THREADS


def test_article_mode_builds_the_three_tables(panel):
    panel.set_article_sweep(repeats=2)
    sweeps = panel.sweeps()
    assert [s.param for s in sweeps] == ["iterations", "hidden", "learning_rate"]
    assert all(s.repeats == 2 and s.base == Config.preset("seed", iterations=10000) for s in sweeps)
    assert not panel.field_combo.isEnabled()


def test_sweep_view_axes_and_error_bars(qtbot):
    from nnviz.gui.views.sweep_view import SweepView

    view = SweepView()
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    decades = run_sweep("iterations", [1, 10, 100], BASE, n_jobs=1)
    view.show_result(decades)
    data = view.plotted_data("accuracy")
    assert data["log_x"]
    assert list(data["test"]) == [row.test_accuracy for row in decades.rows]
    assert not view.plots["auc"].train_bars.isVisible()  # one seed: no bars

    names = run_sweep("activation", ["tanh", "relu"], BASE, repeats=2, n_jobs=1)
    view.set_metric("all")
    view.show_result(names)
    data = view.plotted_data("misclassification")
    assert not data["log_x"] and list(data["x"]) == [0.0, 1.0]  # categories, by index
    assert view.value_ticks() == ["tanh", "relu"]
    bars = view.plots["auc"].test_bars
    assert bars.isVisible()
    top = np.array([row.max("test_auc") - row.mean("test_auc") for row in names.rows])
    assert np.array_equal(bars.opts["top"], top)
    assert "2 weight seeds" in view.caption_text()
    view.show_result(None)
    assert len(view.plotted_data("auc")["x"] or []) == 0


def test_a_given_controller_runs_the_panels_sweeps(qtbot):
    """A panel given a controller builds none of its own, and shows sweeps started on it."""
    from nnviz.core.sweep import Sweep
    from nnviz.gui.controllers.experiments import ExperimentsController

    controller = ExperimentsController()
    panel = ExperimentsPanel(controller=controller)
    qtbot.addWidget(panel)
    assert panel.controller is controller
    with qtbot.waitSignal(panel.results_ready, timeout=60_000):
        assert controller.start([Sweep("hidden", [(2,), (3,)], BASE)], n_jobs=1)
        assert panel.is_running() and not panel.run_button.isEnabled()
    assert [row.value for row in panel.displayed_rows()] == [(2,), (3,)]
    assert panel.progress_bar.format() == "done" and panel.run_button.isEnabled()
    panel.shutdown()
    assert not controller.is_running()


@pytest.mark.parametrize(
    ("typed", "sent"), [("", None), ("local", None), (" tcp://h:8786 ", "tcp://h:8786")]
)
def test_the_cluster_field_reaches_run_sweeps(qtbot, panel, monkeypatch, typed, sent):
    import nnviz.gui.controllers.experiments as experiments

    calls = []
    monkeypatch.setattr(experiments, "run_sweeps", lambda sweeps, **kw: calls.append(kw) or [])
    panel.set_base_config(BASE)
    panel.set_custom_sweep("hidden", "1,2")
    panel.set_cluster(typed)
    with qtbot.waitSignal(panel.results_ready, timeout=10_000):
        assert panel.run()
    assert calls[0]["cluster"] == sent


def test_a_regression_sweep_shows_r2_columns_and_plot(qtbot, panel):
    base = Config(
        dataset="gauss-reg", loss="mse", hidden=8, activation="tanh", init="xavier", iterations=300
    )
    panel.set_base_config(base)
    panel.set_custom_sweep("learning_rate", "0.01,0.1")
    results = _run(qtbot, panel)
    model = panel.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["learning rate", "train R²", "test R²", "final loss", "seconds", "diverged"]
    expected = [row.test_r2 for row in results[0].rows]
    assert all(np.isfinite(expected))
    shown = [float(panel.proxy.index(r, 2).data()) for r in range(2)]
    assert shown == pytest.approx(expected, abs=5e-5)
    assert csv_rows(panel.table_csv())[0][2:4] == ["train_r2", "test_r2"]
    data = panel.view.plotted_data("r2")
    assert list(data["test"]) == expected
    assert panel.view.plots["r2"].item.titleLabel.text == "R²"
    assert panel.view.metric_combo.itemText(0) == "R²"
    # a classification sweep afterwards has today's columns and AUC plot again
    panel.set_base_config(BASE)
    panel.set_custom_sweep("hidden", "1,2")
    _run(qtbot, panel)
    assert model.columnCount() == len(COLUMNS) - 1
    assert model.headerData(4, Qt.Orientation.Horizontal) == "test AUC"
    assert panel.view.plots["auc"].item.titleLabel.text == "AUC"


# -- the Metric menu follows the result's task -----------------------------------------------

REGRESSION = Config(
    dataset="gauss-reg", loss="mse", hidden=8, activation="tanh", init="xavier", iterations=50
)


def _made_result(base: Config, param: str, values: list, **columns: list[float]) -> SweepResult:
    """A SweepResult built by hand, with no training: `columns` gives a metric's value per row
    (the other task's metrics are NaN, as a trained run's are)."""
    sweep = Sweep(param, values, base)
    task = "regression" if base.task[0] == "regression" else "binary"
    rows = []
    for i, (value, seeds) in enumerate(zip(sweep.values, sweep.configs())):
        numbers = dict.fromkeys(ALL_METRICS, math.nan) | {"final_loss": 0.1, "seconds": 0.2}
        numbers |= {metric: column[i] for metric, column in columns.items()}
        run = RunResult(seeds[0], base.iterations, None, task=task, **numbers)
        rows.append(SweepRow(param, value, (run,)))
    return SweepResult(sweep, tuple(rows))


R2_RESULT = _made_result(
    REGRESSION, "learning_rate", [0.01, 0.1, 1.0], train_r2=[0.9, 0.8, 0.7], test_r2=[0.2, 0.3, 0.4]
)
AUC_RESULT = _made_result(
    BASE,
    "hidden",
    [1, 2, 5],
    **{
        f"{split}_{m}": v
        for split in ("train", "test")
        for m, v in (
            ("auc", [0.6, 0.7, 0.8] if split == "train" else [0.55, 0.65, 0.75]),
            ("accuracy", [0.9, 0.8, 0.7] if split == "train" else [0.3, 0.4, 0.5]),
            ("misclassification", [0.1, 0.2, 0.3] if split == "train" else [0.7, 0.6, 0.5]),
        )
    },
)
CLASSIFICATION_MENU = ["AUC", "accuracy", "misclassification", "all three"]


def _menu_texts(view) -> list[str]:
    return [view.metric_combo.itemText(i) for i in range(view.metric_combo.count())]


def _marker_colours(view, key: str, split: str) -> list[list[tuple[int, int, int]]]:
    """The on-screen colours inside each of a plot's train or test markers: the pixels up to
    2 px off its centre, leaving out the centre's row and column, where the value's grid lines
    cross."""
    QtWidgets.QApplication.processEvents()
    view.plot_widget.grab()  # a paint applies the view box's pending auto-range
    image = view.plot_widget.grab().toImage()
    data = view.plotted_data(key)
    box = view.plots[key].item.vb
    markers = []
    for x, y in zip(data["x"], data[split]):
        centre = view.plot_widget.mapFromScene(box.mapViewToScene(QtCore.QPointF(x, y)))
        pixels = [
            image.pixelColor(centre + QtCore.QPoint(dx, dy))
            for dx in (-2, -1, 1, 2)
            for dy in (-2, -1, 1, 2)
        ]
        markers.append([(pixel.red(), pixel.green(), pixel.blue()) for pixel in pixels])
    return markers


def _drawn_in(markers, rgb) -> bool:
    """Every marker has a pixel of colour `rgb` (within antialiasing)."""
    return all(
        any(max(abs(a - b) for a, b in zip(colour, rgb)) < 25 for colour in marker)
        for marker in markers
    )


def test_a_regression_result_turns_the_accuracy_menu_into_r2_and_back(panel):
    view = panel.view
    view.set_metric("accuracy")
    panel.show_results([R2_RESULT])
    assert _menu_texts(view) == ["R²"] and view.current_metric() == "r2"
    assert view.shown_metrics() == ["r2"]
    data = view.plotted_data("r2")
    assert list(data["train"]) == [0.9, 0.8, 0.7]
    assert list(data["test"]) == [0.2, 0.3, 0.4]
    assert view.plotted_data("accuracy")["x"] is None  # no stale all-NaN curves behind the menu
    # the curves are on screen: each marker's centre has its split's colour
    assert _drawn_in(_marker_colours(view, "r2", "train"), style.TRAIN_CURVE)
    assert _drawn_in(_marker_colours(view, "r2", "test"), style.TEST_CURVE)

    # a classification result brings back its metrics, on the user's choice (accuracy)
    panel.show_results([AUC_RESULT])
    assert _menu_texts(view) == CLASSIFICATION_MENU and view.current_metric() == "accuracy"
    assert view.shown_metrics() == ["accuracy"]
    assert list(view.plotted_data("accuracy")["test"]) == [0.3, 0.4, 0.5]
    assert view.plotted_data("r2")["x"] is None
    assert _drawn_in(_marker_colours(view, "accuracy", "test"), style.TEST_CURVE)
    assert _drawn_in(_marker_colours(view, "accuracy", "train"), style.TRAIN_CURVE)


def test_a_classification_result_on_r2_shows_the_first_metric(qtbot):
    """With no classification metric chosen before, R² gives way to AUC; "all three" survives a
    regression result in between."""
    from nnviz.gui.views.sweep_view import SweepView

    view = SweepView()
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    qtbot.waitExposed(view)
    view.show_result(R2_RESULT)
    assert view.menu_metrics() == ["r2"]
    view.show_result(AUC_RESULT)
    assert view.menu_metrics() == ["auc", "accuracy", "misclassification", "all"]
    assert view.current_metric() == "auc" and view.shown_metrics() == ["auc"]
    assert list(view.plotted_data("auc")["test"]) == [0.55, 0.65, 0.75]
    assert _drawn_in(_marker_colours(view, "auc", "test"), style.TEST_CURVE)

    view.metric_combo.setCurrentIndex(view.metric_combo.findData("all"))  # as the user picks it
    assert view.shown_metrics() == ["auc", "accuracy", "misclassification"]
    view.show_result(R2_RESULT)
    assert view.shown_metrics() == ["r2"] and _menu_texts(view) == ["R²"]
    view.show_result(AUC_RESULT)
    assert view.current_metric() == "all"
    assert view.shown_metrics() == ["auc", "accuracy", "misclassification"]
    with pytest.raises(ValueError, match="unknown metric"):
        view.set_metric("f1")


def test_a_dataset_sweep_mixing_tasks_gives_one_table_per_task(qtbot, panel):
    """From a regression setup, a dataset sweep over gauss-reg and moons trains both, in two
    tables whose cells are all numbers (one table would read n/a on the other task's rows)."""
    panel.set_base_config(REGRESSION)
    panel.set_custom_sweep("dataset", "gauss-reg,moons,circles")
    panel.jobs_spin.setValue(1)
    assert [(s.name, s.values) for s in panel.sweeps()] == [
        ("sweep-regression", ("gauss-reg",)),
        ("sweep-classification", ("moons", "circles")),
    ]
    results = _run(qtbot, panel)
    assert [r.task for r in results] == ["regression", "binary"]
    assert panel.table_combo.isVisible() and panel.table_combo.count() == 2

    def cells() -> list[str]:
        model = panel.proxy
        return [
            model.index(r, c).data()
            for r in range(model.rowCount())
            for c in range(1, model.columnCount() - 1)
        ]

    assert "n/a" not in cells() and panel.view.menu_metrics() == ["r2"]
    assert np.isfinite(panel.view.plotted_data("r2")["test"]).all()
    panel.table_combo.setCurrentIndex(1)
    assert panel.model.headerData(4, Qt.Orientation.Horizontal) == "test AUC"
    assert "n/a" not in cells() and _menu_texts(panel.view) == CLASSIFICATION_MENU
    assert list(panel.view.plotted_data("auc")["test"]) == [row.test_auc for row in results[1].rows]
