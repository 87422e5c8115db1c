"""A thousand seeded random actions on the real window: no slot may raise, nothing may linger.

Every control, shortcut, explain phase, replay move, weight edit, architecture change, session
open and sweep is fair game, in any order and at any time, as a user clicking about would do
(and as an earlier version failed: stale indices into a previous network raised in slots).
Dialogs answer at once with a path in the test's folder or a cancel, so nothing blocks.
"""

from __future__ import annotations

import os
import random
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDialog,
    QFileDialog,
    QInputDialog,
    QPushButton,
)
from window_helpers import TIMEOUT, child_processes

from nnviz.core import Config, Trainer
from nnviz.core.config import FIELDS
from nnviz.core.files import save_weights
from nnviz.core.session import save_session
from nnviz.gui.control_panel import HiddenLayersEditor, NumberBox, PathEditor

ACTIONS = int(os.environ.get("NNVIZ_RANDOM_ACTIONS", "1000"))
SEED = int(os.environ.get("NNVIZ_RANDOM_SEED", "20261203"))
KEYS = [
    Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_R, Qt.Key.Key_N, Qt.Key.Key_E, Qt.Key.Key_M,
    Qt.Key.Key_X, Qt.Key.Key_Escape, Qt.Key.Key_End, Qt.Key.Key_Left, Qt.Key.Key_Home,
    Qt.Key.Key_7, Qt.Key.Key_Tab,
]  # fmt: skip
#: Actions that end the session rather than exercise it.
SPARED = ("Quit", "Close")
#: Small settings: the point is the interleaving, not heavy training.
SMALL = Config(hidden=(4,), samples=300, iterations=3000)


@pytest.fixture
def files(tmp_path) -> dict[str, list[Path]]:
    """Sessions of three architectures, CSV points, weights, and broken files to open."""
    opened = []
    for number, hidden in enumerate([(3,), (6, 2), (2, 2, 2)]):
        trainer = Trainer(SMALL.replace(hidden=hidden))
        trainer.step(50 * number)
        opened.append(save_session(tmp_path / f"run{number}.nnviz", trainer))
    points = tmp_path / "points.csv"
    points.write_text("x1,x2,label\n" + "\n".join(f"{i % 9},{i % 7},{i % 2}" for i in range(90)))
    weights = tmp_path / "weights.npz"
    save_weights(weights, Trainer(SMALL).weights())
    broken = tmp_path / "broken.nnviz"
    broken.write_bytes(b"PK\x03\x04 not a session")
    return {"open": [*opened, points, weights, broken, tmp_path / "missing.nnviz"]}


@pytest.fixture
def answering_dialogs(monkeypatch, tmp_path, files):
    """Every dialog answers at once: a random path (or cancel) for files, accept or reject."""
    rng = random.Random(SEED + 1)
    out = tmp_path / "out"
    out.mkdir()

    def save_name(*args, **kwargs):
        if rng.random() < 0.2:
            return "", ""
        suffix = rng.choice([".png", ".svg", ".nnviz", ".csv", ".npz", ".json", ".txt", ".gif"])
        return str(out / f"file{rng.randrange(10)}{suffix}"), ""

    def open_name(*args, **kwargs):
        return (str(rng.choice(files["open"])) if rng.random() < 0.8 else ""), ""

    def folder(*args, **kwargs):
        return str(out / f"folder{rng.randrange(3)}") if rng.random() < 0.8 else ""

    def answer(dialog, *args):
        return rng.choice([QDialog.DialogCode.Accepted, QDialog.DialogCode.Rejected])

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_name)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", folder)
    monkeypatch.setattr(QDialog, "exec", answer)
    monkeypatch.setattr(QInputDialog, "exec", answer)


def close_popups() -> None:
    popup = QApplication.activePopupWidget()
    if popup is not None:
        popup.close()


class Monkey:
    """Picks and performs random actions on `window` with its own seeded generator."""

    def __init__(self, qtbot, window, files: dict[str, list[Path]], seed: int) -> None:
        self.qtbot, self.window, self.files = qtbot, window, files
        self.rng = random.Random(seed)
        self.actions: list[QAction] = [
            action
            for action in window.findChildren(QAction)
            if action.associatedObjects()  # in a menu, a toolbar or the window: reachable
            and action.text()
            and not any(word in action.text() for word in SPARED)
        ]
        self.moves: list[Callable[[], str]] = [
            self.trigger_action, self.trigger_action, self.press_key, self.press_key,
            self.edit_control, self.edit_control, self.click_panel_button,
            self.change_architecture, self.explain_phase, self.replay, self.replay,
            self.edit_weight, self.hover_or_click_network, self.hover_unit,
            self.click_point, self.open_file, self.run_or_cancel_sweep, self.change_speed,
            self.resize, self.wait, self.wait,
        ]  # fmt: skip

    def act(self) -> str:
        return self.rng.choice(self.moves)()

    # -- moves: each returns a short description for the failure message ------------------

    def trigger_action(self) -> str:
        action = self.rng.choice(self.actions)
        action.trigger()
        return f"trigger {action.text()!r}"

    def press_key(self) -> str:
        key = self.rng.choice(KEYS)
        modifier = self.rng.choice([Qt.KeyboardModifier.NoModifier] * 3 + [Qt.ShiftModifier])
        target = QApplication.focusWidget() or self.window
        # Space or Return on a focused ⋯ button opens its menu in a nested event loop that
        # nobody here would leave: close whatever pops up, as a user pressing Escape would
        QTimer.singleShot(0, close_popups)
        self.qtbot.keyClick(target, key, modifier)
        return f"key {key.name} {modifier.name} on {type(target).__name__}"

    def edit_control(self) -> str:
        rng, panel = self.rng, self.window.controls
        name = rng.choice(list(FIELDS))
        editor = panel.editor(name)
        if not editor.isEnabled():
            return f"{name} is greyed out"
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(rng.randrange(editor.count()))
            editor.activated.emit(editor.currentIndex())
        elif isinstance(editor, NumberBox):
            editor.setValue(self.number(name))
        elif isinstance(editor, HiddenLayersEditor):
            move = rng.choice(["layers", "width", "button"])
            if move == "layers":
                editor.set_layers(tuple(rng.randint(1, 9) for _ in range(rng.randint(1, 3))))
                editor.changed.emit()
            elif move == "width":
                box = editor.width_box(rng.randrange(len(editor.layers())))
                box.setValue(rng.randint(1, 12))
            else:
                buttons = [b for b in editor.findChildren(QAbstractButton) if b.isEnabled()]
                if buttons:
                    rng.choice(buttons).click()
        elif isinstance(editor, PathEditor):
            editor.set_path(rng.choice([*map(str, self.files["open"]), None, "nowhere.csv"]))
            editor.changed.emit()
        return f"edit {name}"

    def number(self, name: str) -> float:
        """A value for a number field: its ends, or a modest one (not a million samples: that
        tests the machine's memory, which the resource budget guards, not the slots)."""
        spec, rng = FIELDS[name], self.rng
        if name == "samples":
            return rng.choice([8, 40, 300, 1500])
        value = rng.choice(
            [spec.low, spec.high, rng.uniform(spec.low, min(spec.high, spec.low + 5))]
        )
        return int(value) if spec.kind == "int" else value

    def click_panel_button(self) -> str:
        buttons = [b for b in self.window.controls.findChildren(QPushButton) if b.isEnabled()]
        if not buttons:
            return "no panel button"
        button = self.rng.choice(buttons)
        button.click()
        return f"click {button.text()!r}"

    def change_architecture(self) -> str:
        rng, config = self.rng, self.window.state.config
        hidden = tuple(rng.randint(1, 8) for _ in range(rng.randint(1, 3)))
        activation = rng.choice(["sigmoid", "tanh", "relu", config.activation])
        new = config.replace(hidden=hidden, activation=activation, iterations=SMALL.iterations)
        self.window.config_edits.load(new)
        return f"architecture {hidden} {activation}"

    def explain_phase(self) -> str:
        panel, rng = self.window.explain_panel, self.rng
        move = rng.choice(["next", "previous", "step", "toggle", "sample", "phase"])
        if move == "next":
            panel.next_action.trigger()
        elif move == "previous":
            panel.previous_action.trigger()
        elif move == "step":
            panel.step_requested.emit()
        elif move == "toggle":
            self.window.explain_action.toggle()
        elif move == "sample":
            panel.set_sample(rng.choice([None, 0, 5, 10**6]))
        else:
            panel.set_phase(rng.randrange(-2, 12))
        return f"explain {move}"

    def replay(self) -> str:
        rng, window = self.rng, self.window
        move = rng.choice(["slider", "index", "live", "resume", "hold"])
        if move == "slider":
            slider = window.replay_bar.slider
            slider.setValue(rng.randint(slider.minimum(), max(slider.maximum(), 0)))
        elif move == "index":
            window.replay.select_index(rng.randrange(-3, 400))
        elif move == "live":
            window.replay.go_live()
        elif move == "resume":
            window.replay.resume()
        else:
            window.replay.hold_newest()
        return f"replay {move}"

    def edit_weight(self) -> str:
        rng = self.rng
        name = rng.choice(["W1", "W2", "W3", "W4", "b1", "b2", "b3", "b9"])
        index = tuple(rng.randrange(-1, 9) for _ in range(rng.choice([1, 2, 2, 3])))
        value = rng.choice([0.0, 2.5, -7.0, 1e6, float("nan"), float("inf")])
        self.window.weights.set_weight(name, index, value)
        return f"set weight {name}{index} = {value}"

    def hover_or_click_network(self) -> str:
        view = self.window.network_view
        target = view.plot_widget.viewport()
        point = QPoint(
            self.rng.randrange(max(target.width(), 1)), self.rng.randrange(max(target.height(), 1))
        )
        if self.rng.random() < 0.5:
            self.qtbot.mouseMove(target, point)
            return f"hover network at {point.x()},{point.y()}"
        self.qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=point)
        return f"click network at {point.x()},{point.y()}"

    def hover_unit(self) -> str:
        node = self.rng.choice([None, (0, 1), (1, 0), (1, 7), (2, 3), (3, 1), (9, 9), (-1, 0)])
        self.window.network_view.node_hovered.emit(node)
        return f"hover unit {node}"

    def click_point(self) -> str:
        index = self.rng.choice([-1, 0, 17, 224, 10**6])
        self.window.boundary_view.point_clicked.emit(index)
        return f"click point {index}"

    def open_file(self) -> str:
        path = self.rng.choice(self.files["open"])
        self.window.files.open_path(path)
        return f"open {path.name}"

    def run_or_cancel_sweep(self) -> str:
        panel = self.window.experiments_panel
        if panel.is_running():
            panel.cancel()
            return "cancel sweep"
        panel.set_base_config(SMALL.replace(iterations=300))
        panel.set_custom_sweep("learning_rate", "0.1, 0.5", repeats=1)
        panel.run()
        return "run sweep"

    def change_speed(self) -> str:
        speed = self.window.speed
        speed.setCurrentIndex(self.rng.randrange(speed.count()))
        return f"speed {speed.currentText()}"

    def resize(self) -> str:
        width, height = self.rng.choice([(1024, 700), (1280, 720), (1440, 900), (1920, 1080)])
        self.window.resize(width, height)
        return f"resize {width}x{height}"

    def wait(self) -> str:
        ms = self.rng.choice([1, 10, 50])
        self.qtbot.wait(ms)
        return f"wait {ms} ms"


@pytest.mark.slow
def test_a_thousand_random_actions_raise_nothing_and_leave_nothing(
    qtbot, window, files, answering_dialogs
):
    window.config_edits.load(SMALL)
    monkey = Monkey(qtbot, window, files, SEED)
    done: list[str] = []
    with qtbot.captureExceptions() as exceptions:
        for _ in range(ACTIONS):
            started = time.perf_counter()
            done.append(monkey.act())
            QApplication.processEvents()
            if os.environ.get("NNVIZ_RANDOM_TRACE"):
                print(f"{time.perf_counter() - started:7.3f} s  {done[-1]}", flush=True)
            if exceptions:
                break
        window.play_action.trigger()  # still alive and training after all that
        qtbot.waitUntil(lambda: window.state.newest is not None, timeout=TIMEOUT)
    if exceptions:
        last = "\n".join(done[-15:])
        trace = "".join(traceback.format_exception(*exceptions[0]))
        pytest.fail(f"a slot raised after {len(done)} actions (seed {SEED}):\n{last}\n\n{trace}")

    window.close()
    assert not window.training_thread.isRunning()
    qtbot.waitUntil(lambda: not child_processes(), timeout=10_000)
