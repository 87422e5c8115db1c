"""Helpers for tests that drive the real window."""

from __future__ import annotations

#: ms; the first command waits for the training process to start
TIMEOUT = 20_000


def step_to(qtbot, window, iteration: int, count: int) -> None:
    """Step `count` iterations in the training process and wait until `iteration` is drawn."""
    with qtbot.waitSignal(
        window.frame_drawn, timeout=TIMEOUT, check_params_cb=lambda drawn: drawn == iteration
    ):
        window.training.step(count)
