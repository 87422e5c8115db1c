"""The control panel is built from the Config's field descriptions and shows every value it takes."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel

from nnviz import Config, ConfigError
from nnviz.core import PRESETS
from nnviz.core.config import FIELDS, GROUPS, LAYERS_MAX
from nnviz.gui.control_panel import CUSTOM, ControlPanel, MultiEditor, NumberBox

NUMBERS = [name for name, spec in FIELDS.items() if spec.kind in {"int", "float"}]

#: Every field away from its default, seeds beyond a 32-bit signed int.
EVERYTHING = Config(
    dataset="csv",
    csv_path="/data/points.csv",
    classes=8,
    samples=1_000_000,
    noise=0.1 + 0.2,
    data_seed=2**32 - 1,
    test_size=1e-9,
    split_seed=2**31,
    hidden=(4096, 1, 7, 8, 9, 10, 11, 12),
    features=("sinx2", "x1", "x1x2"),
    activation="relu",
    loss="mse",
    init="he",
    init_range=100.0,
    weight_seed=4_000_000_000,
    optimizer="momentum",
    learning_rate=1e6,
    batch_size=1_000_000,
    momentum=math.nextafter(1.0, 0.0),
    l1=1000.0,
    l2=1e-12,
    iterations=0,
    threshold=1.0,
    seeds=64,
    init_weights="/tmp/start.npz",
)


@pytest.fixture
def panel(qtbot):
    built = ControlPanel()
    qtbot.addWidget(built)
    return built


def extremes(name: str) -> list[float]:
    """The range's ends as Config takes them (inside an open bound) and an awkward middle."""
    spec = FIELDS[name]
    if spec.kind == "int":
        return [int(spec.low), int(spec.high), int(spec.low + spec.high) // 3]
    low = math.nextafter(spec.low, math.inf) if spec.open_low else spec.low
    high = math.nextafter(spec.high, -math.inf) if spec.open_high else spec.high
    return [low, high, spec.low + (spec.high - spec.low) / 3]


def test_every_field_round_trips_at_once(panel):
    assert all(getattr(EVERYTHING, n) != getattr(Config(), n) for n in FIELDS)
    panel.set_config(EVERYTHING)
    assert panel.config() == EVERYTHING
    assert panel.values() == {n: getattr(EVERYTHING, n) for n in FIELDS}


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_round_trip(panel, name):
    panel.set_config(Config.preset(name))
    assert panel.config() == Config.preset(name)


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name in NUMBERS for value in extremes(name)]
)
def test_every_number_config_takes_round_trips(panel, name, value):
    config = Config(**{name: value})
    panel.set_config(config)
    assert panel.config() == config
    assert type(panel.values()[name]) is type(getattr(config, name))


def test_seed_4000000000_is_shown_and_typed(panel, qtbot):
    config = Config(weight_seed=4_000_000_000, data_seed=2**32 - 1)
    panel.set_config(config)  # a QSpinBox raised OverflowError here
    box = panel.editor("weight_seed")
    assert box.text() == "4000000000"
    assert panel.config() == config
    box.lineEdit().selectAll()
    with qtbot.waitSignal(panel.field_edited) as edited:
        qtbot.keyClicks(box, "4294967295")
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert edited.args == ["weight_seed"]
    assert panel.values()["weight_seed"] == 2**32 - 1


def test_typed_floats_keep_every_digit(panel, qtbot):
    box = panel.editor("learning_rate")
    box.lineEdit().selectAll()
    with qtbot.waitSignal(panel.field_edited):
        qtbot.keyClicks(box, "1.2345678901234567e-05")
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert panel.values()["learning_rate"] == 1.2345678901234567e-05


def test_steps_are_decimal_and_stop_at_open_bounds(panel):
    noise = panel.editor("noise")
    noise.setValue(0.25)
    noise.stepBy(1)
    assert noise.text() == "0.3" and noise.value() == 0.3
    test_size = panel.editor("test_size")
    test_size.setValue(0.05)
    test_size.stepBy(-1)  # 0 is not a test size: stay
    assert test_size.value() == 0.05
    rate = panel.editor("learning_rate")
    rate.setValue(0.1)
    rate.stepBy(-1)
    assert rate.value() == 0.099  # a tenth of the order of magnitude, as Qt's adaptive step


@pytest.mark.parametrize("name", NUMBERS)
def test_number_ranges_are_the_descriptions(panel, name):
    spec, box = FIELDS[name], panel.editor(name)
    assert isinstance(box, NumberBox)
    assert (box.minimum(), box.maximum()) == (spec.low, spec.high)
    state = QValidator.State
    for text, bound_open in (
        (box.textFromValue(spec.low), spec.open_low),
        (box.textFromValue(spec.high), spec.open_high),
    ):
        if not box.specialValueText():
            assert box.validate(text, 0)[0] == (
                state.Intermediate if bound_open else state.Acceptable
            )
    assert box.validate("x", 0)[0] == state.Invalid
    beyond = box.textFromValue(spec.high + (1 if spec.kind == "int" else spec.high))
    assert box.validate(beyond, 0)[0] == state.Intermediate
    if spec.kind == "int":
        assert box.validate("1.5", 0)[0] == state.Invalid
    else:
        assert box.validate("nan", 0)[0] == box.validate("inf", 0)[0] == state.Invalid


def test_batch_size_zero_reads_full_batch(panel):
    box = panel.editor("batch_size")
    panel.set_config(Config(batch_size=0))
    assert box.text() == "full batch"
    assert box.validate("full batch", 0)[0] == QValidator.State.Acceptable
    box.stepBy(1)
    assert panel.values()["batch_size"] == 1


def test_hidden_layers_follow_the_description(panel):
    spec = FIELDS["hidden"]
    panel.set_config(Config(hidden=(3,) * LAYERS_MAX))
    assert panel.hidden.layers() == (3,) * LAYERS_MAX
    assert not panel.hidden._add.isEnabled()
    box = panel.hidden.width_box(0)
    assert (box.minimum(), box.maximum()) == (spec.low, spec.high)


def test_choices_labels_tooltips_and_groups_come_from_the_descriptions(panel):
    boxes = {box.title(): box for box in panel.findChildren(QGroupBox)}
    assert list(boxes) == list(GROUPS)
    for name, spec in FIELDS.items():
        editor = panel.editor(name)
        assert spec.help in editor.toolTip() and spec.allowed() in editor.toolTip(), name
        labels = [label.text() for label in boxes[spec.group].findChildren(QLabel)]
        assert spec.label in labels, name
        if spec.kind == "choice":
            assert isinstance(editor, QComboBox)
            assert [editor.itemText(i) for i in range(editor.count())] == list(spec.choices)


@pytest.mark.parametrize(
    ("field", "other", "used", "unused"),
    [
        ("momentum", "optimizer", ["momentum"], ["gd", "adam"]),
        ("init_range", "init", ["uniform"], ["xavier", "he"]),
        ("samples", "dataset", ["moons", "spiral"], ["csv"]),
        ("csv_path", "dataset", ["csv"], ["moons", "xor"]),
        ("features", "dataset", ["moons", "spiral", "gauss-reg", "csv"], ["iris", "wine"]),
        ("classes", "dataset", ["spiral", "blobs"], ["moons", "iris"]),
    ],
)
def test_a_field_is_enabled_only_where_it_is_used(panel, field, other, used, unused):
    combo = panel.editor(other)
    for value, enabled in [*((v, True) for v in used), *((v, False) for v in unused)]:
        combo.setCurrentText(value)
        assert panel.editor(field).isEnabled() is enabled, value
    panel.set_config(Config(optimizer="adam"))
    assert not panel.editor("momentum").isEnabled()
    panel.set_config(Config(optimizer="momentum"))
    assert panel.editor("momentum").isEnabled()


def test_the_preset_box_names_the_preset_or_says_custom(panel, qtbot):
    panel.set_config(Config.preset("spiral"))
    assert panel.preset.currentText() == "spiral"
    panel.set_config(Config(learning_rate=0.3))
    assert panel.preset.currentText() == CUSTOM
    panel.set_config(Config(), "seed")
    with qtbot.waitSignal(panel.field_edited):
        panel.editor("learning_rate").setValue(0.3)  # a live edit: no new network, no set_config
    assert panel.preset.currentText() == CUSTOM
    panel.editor("learning_rate").setValue(0.1)
    assert panel.preset.currentText() == "seed"
    item = panel.preset.model().item(panel.preset.findText(CUSTOM))
    assert not item.isEnabled()  # shown, never chosen


def test_choosing_a_preset_is_reported(panel, qtbot):
    with qtbot.waitSignal(panel.preset_chosen) as chosen:
        panel.preset.activated.emit(panel.preset.findText("xor"))
    assert chosen.args == ["xor"]


def test_a_path_can_be_cleared(panel, qtbot):
    panel.set_config(Config(init_weights="start.npz"))
    row = panel.editor("init_weights")
    with qtbot.waitSignal(panel.field_edited) as edited:
        row.clear_button.click()
    assert edited.args == ["init_weights"]
    assert panel.values()["init_weights"] is None
    assert not row.clear_button.isEnabled()


def test_set_config_emits_no_edits(panel, qtbot):
    with qtbot.assertNotEmitted(panel.field_edited):
        panel.set_config(EVERYTHING)
        panel.set_config(Config())


def test_tab_walks_every_control_top_to_bottom(qtbot):
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    panel = ControlPanel()
    qtbot.addWidget(panel)
    panel.set_config(Config.preset("seed", hidden=(4, 3)))
    panel.resize(320, 1100)
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    panel.preset.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.preset)
    visited = [panel.preset]
    for _ in range(60):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        widget = QApplication.focusWidget()
        if widget is panel.preset:
            break
        visited.append(widget)
    rows = [widget.mapTo(panel, QPoint(0, 0)).y() for widget in visited]
    assert rows == sorted(rows)  # never jumps back up
    for name in FIELDS:
        editor = panel.editor(name)
        if editor.isEnabled() and editor.focusPolicy() & Qt.FocusPolicy.TabFocus:
            assert editor in visited, name
    assert panel.hidden.width_box(1) in visited  # a layer box added after construction


def test_the_features_are_toggled_and_keep_their_order(panel, qtbot):
    """Playground's input column: a button per feature; the value keeps the order it was set
    in (another order is another network), a new one joins at the end."""
    editor = panel.editor("features")
    assert isinstance(editor, MultiEditor)
    assert [b.text() for b in editor.buttons.values()] == [
        "x1", "x2", "x1²", "x2²", "x1·x2", "sin x1", "sin x2"
    ]  # fmt: skip
    panel.set_config(Config.preset("spiral3"))
    assert panel.config() == Config.preset("spiral3")
    panel.set_config(Config(features=("x2", "x1")))
    assert [b.isChecked() for b in editor.buttons.values()] == [True, True] + [False] * 5
    with qtbot.waitSignal(panel.field_edited) as edited:
        editor.buttons["x1x2"].click()
    assert edited.args == ["features"]
    assert panel.config().features == ("x2", "x1", "x1x2")
    editor.buttons["x2"].click()
    editor.buttons["sinx1"].click()
    assert panel.values()["features"] == ("x1", "x1x2", "sinx1")
    for name in ("x1", "x1x2", "sinx1"):
        editor.buttons[name].click()
    assert panel.values()["features"] == ()
    with pytest.raises(ConfigError, match="features"):
        panel.config()
