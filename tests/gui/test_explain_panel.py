"""ExplainPanel: phases, keys, the sample chooser, selection, formulas and what it emits."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import nnviz.gui  # noqa: F401  (binds pyqtgraph to PySide6 before it is imported)
from nnviz import Config, Trainer
from nnviz.core.explain import BACKWARD, FORWARD, LOSS, UPDATE, Item, PhaseView, explain_step
from nnviz.gui.explain_panel import BATCH, ExplainPanel, formula_html


@functools.cache
def step_of(iterations: int = 500, **overrides):
    trainer = Trainer(Config.preset("seed", **overrides))
    trainer.step(iterations)
    return explain_step(trainer)


@pytest.fixture
def panel(qtbot) -> ExplainPanel:
    widget = ExplainPanel()
    qtbot.addWidget(widget)
    widget.resize(380, 560)
    return widget


def test_loading_a_step_lists_its_phases_and_emits_the_first(panel, qtbot):
    step = step_of()
    with qtbot.waitSignal(panel.phase_changed) as emitted:
        panel.set_step(step)
    view = emitted.args[0]
    assert isinstance(view, PhaseView)
    assert view.phase == step.phases[0] and view.columns == (1,)
    titles = [panel.phase_list.item(row).text() for row in range(panel.phase_list.count())]
    assert titles == [phase.title for phase in step.phases]
    assert panel.phase_list.currentRow() == 0
    assert "1 forward: hidden 1" in panel.phase_label.text()
    assert f"Iteration {step.iteration:,}" in panel.header.text()
    assert panel.current_view is view
    assert not panel.previous_action.isEnabled() and panel.next_action.isEnabled()


def test_next_and_previous_walk_the_phases_and_the_end_asks_for_a_step(panel, qtbot):
    step = step_of()
    panel.set_step(step)
    seen = []
    panel.phase_changed.connect(lambda view: seen.append(view.phase.kind))
    for _ in range(len(step.phases) - 1):
        panel.next_action.trigger()
    assert seen == [FORWARD, LOSS, BACKWARD, BACKWARD, UPDATE]
    assert panel.phase_index == len(step.phases) - 1
    assert panel.next_action.text() == "Next iteration"
    with qtbot.waitSignal(panel.step_requested):
        panel.next_action.trigger()
    assert panel.phase_index == len(step.phases) - 1  # the window loads the next step
    panel.previous_action.trigger()
    assert panel.phase_index == len(step.phases) - 2 and seen[-1] == BACKWARD
    panel.phase_list.setCurrentRow(2)  # clicking a phase jumps to it
    assert panel.phase_index == 2 and seen[-1] == LOSS
    panel.set_step(step_of(10, hidden=(4, 3)))  # a new step starts at its first phase
    assert panel.phase_index == 0 and panel.phase_list.count() == 8


def test_keys_step_through_the_phases(panel, qtbot):
    from PySide6.QtCore import Qt

    panel.set_step(step_of())
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.phase_list.setFocus()
    qtbot.keyClick(panel.phase_list, Qt.Key.Key_BracketRight)
    assert panel.phase_index == 1
    qtbot.keyClick(panel.phase_list, Qt.Key.Key_PageDown)
    assert panel.phase_index == 2
    qtbot.keyClick(panel.phase_list, Qt.Key.Key_BracketLeft)
    assert panel.phase_index == 1
    qtbot.keyClick(panel.formula_view, Qt.Key.Key_PageUp)
    assert panel.phase_index == 0


def test_the_sample_chooser_switches_between_a_sample_and_the_batch(panel, qtbot):
    step = step_of()
    panel.set_step(step)
    assert panel.sample_box.maximum() == len(step.x_train) - 1
    with qtbot.waitSignal(panel.sample_changed) as changed:
        panel.sample_box.setValue(BATCH)
    assert changed.args == [BATCH] and panel.sample is None
    assert panel.sample_box.text() == "batch"
    assert panel.current_view.sample is None
    assert "means and sums" in panel.sample_info.text()
    with qtbot.waitSignal(panel.phase_changed) as emitted:
        panel.set_sample(17)
    assert emitted.args[0].sample == 17 and panel.sample_box.value() == 17
    x = step.x_train[17]
    assert f"x = ({x[0]:.3g}, {x[1]:.3g})" in panel.sample_info.text()


def test_the_formula_shows_the_selection_with_live_numbers(panel, qtbot):
    step = step_of()
    panel.set_step(step)
    panel.set_sample(5)
    backward_output = next(p.index for p in step.phases if p.title == "3 backward: output")
    panel.set_phase(backward_output)
    formula = panel.formula()
    assert formula.lines[0].startswith("delta_k = (p - y) * p * (1 - p) = ")
    delta = step.values(5).delta[2][0]
    text = panel.formula_view.toPlainText()
    assert "δk =" in text and f"{delta:.4g}" in text
    assert "(p - y) · p · (1 - p)" in text
    html = panel.formula_view.toHtml()
    assert "vertical-align:sub" in html  # subscripts are rich text

    with qtbot.waitSignal(panel.phase_changed) as emitted:
        panel.select_edge(2, 3, 0)
    assert emitted.args[0].selection == Item("edge", 2, 0, 3)
    assert panel.formula().title.startswith("W2[4→1]")
    grad = step.layers[1].grad_w[3, 0]
    assert f"{grad:.4g}" in panel.formula_view.toPlainText()

    panel.select_node(1, 2)
    assert panel.selection == Item("node", 1, 2)
    assert panel.formula().title == "hidden 1 unit 3 · backward"
    panel.select_bias(2, 0)
    assert panel.selection == Item("bias", 2, 0)
    with pytest.raises(ValueError, match="not in the network"):
        panel.select_node(1, 7)
    panel.clear_selection()  # back to following the phase
    assert panel.selection == step.default_item(backward_output)


def test_a_network_view_hit_selects_what_was_clicked(panel):
    from nnviz.gui.views.network_view import Hit

    panel.set_step(step_of())
    panel.select_hit(Hit("edge", 1, 4, 1))
    assert panel.selection == Item("edge", 1, 4, 1)
    assert panel.formula().title.startswith("W1[2→5]")
    panel.select_hit(Hit("bias", 1, 2))
    assert panel.selection == Item("bias", 1, 2)
    panel.select_hit(None)
    assert panel.selection == Item("bias", 1, 2)
    panel.select_hit(Hit("edge", 2, 0, 7))  # from a diagram of a wider network: ignored
    panel.select_hit(Hit("node", 1, 9))
    assert panel.selection == Item("bias", 1, 2)


def test_the_update_phase_of_adam_says_whose_update_it_is(panel):
    step = step_of(30, optimizer="adam", learning_rate=0.01, hidden=(4, 3), activation="tanh")
    panel.set_step(step)
    panel.set_phase(len(step.phases) - 1)
    text = panel.formula_view.toPlainText()
    assert "Optimizer adam" in text and "m ← 0.9 · m" in text
    assert "adam" in panel.header.text()
    change = step.layers[-1].update_w[0, 0]
    assert f"{change:.4g}" in text


def test_formula_html_breaks_equations_at_each_equals_sign():
    from nnviz.core.explain import Formula

    formula = Formula("t", ("delta_k = (p - y) * p * (1 - p) = (0.5 - 1) * 0.5 * 0.5 = -0.125",))
    html = formula_html(formula)
    assert html.count("<p") == 1 + 4  # the title, then one row per side of each "="
    assert "<i>δ</i><sub>k</sub> =" in html and "(0.5 - 1) · 0.5 · 0.5 =" in html
    assert html.rstrip().endswith("-0.125</p>")


def test_a_smaller_training_set_keeps_a_valid_sample(panel):
    panel.set_step(step_of())
    panel.set_sample(700)
    small = step_of(5, samples=100)
    panel.set_step(small)
    assert panel.sample is not None and panel.sample < len(small.x_train)
    assert np.isfinite(panel.current_view.edge_values[(1, 0, 0)])


def test_the_panel_drives_the_network_view_and_a_click_selects_back(panel, qtbot):
    """The wiring the window uses: phase_changed -> show_explain, item_clicked -> select_hit."""
    from PySide6.QtCore import QPointF, Qt

    from nnviz.gui.frame import make_frame
    from nnviz.gui.views.network_view import NetworkView

    trainer = Trainer(Config.preset("seed"))
    frame = make_frame(trainer.step(200), trainer.config, trainer.data)
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(450, 350)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(frame)
    panel.phase_changed.connect(view.show_explain)
    view.item_clicked.connect(panel.select_hit)
    panel.set_step(explain_step(trainer))
    assert view.explain_view is panel.current_view
    panel.next_action.trigger()
    assert view.explain_view.phase.title == "1 forward: output"
    assert set(view.explain_labels()) >= {(2, 0)}

    (x0, y0), (x1, y1) = view.node_position(1, 3), view.node_position(2, 0)
    scene = view.view_box.mapViewToScene(QPointF((x0 + x1) / 2, (y0 + y1) / 2))
    with qtbot.waitSignal(panel.phase_changed):
        qtbot.mouseClick(
            view.plot_widget.viewport(),
            Qt.MouseButton.LeftButton,
            pos=view.plot_widget.mapFromScene(scene),
        )
    assert panel.selection == Item("edge", 2, 0, 3)
    assert view.explain_view.selection == Item("edge", 2, 0, 3)
    assert panel.formula().title.startswith("W2[4→1]")
    assert view.explain_labels()[(2, 3, 0)] == panel.current_view.edge_labels[(2, 3, 0)]
