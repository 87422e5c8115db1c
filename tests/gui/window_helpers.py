"""Helpers for tests that drive the real window."""

from __future__ import annotations

import os
from pathlib import Path

#: ms; the first command waits for the training process to start
TIMEOUT = 20_000


def step_to(qtbot, window, iteration: int, count: int) -> None:
    """Step `count` iterations in the training process and wait until `iteration` is drawn."""
    with qtbot.waitSignal(
        window.frame_drawn, timeout=TIMEOUT, check_params_cb=lambda drawn: drawn == iteration
    ):
        window.training.step(count)


def child_processes() -> list[str]:
    """The command lines of live processes whose parent is this one, except the resource
    trackers of multiprocessing and loky: they end with this process, whatever the window does."""
    me, children = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z" and "resource_tracker" not in command:
            children.append(command)
    return children
