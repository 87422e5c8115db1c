"""Node maps: hovering over a unit in the diagram shows its output over the input plane,
large, in the boundary view, and keeps it current as training goes on. For data with more
inputs the map covers the boundary view's plane (its PCA or slice), through the task's crosses."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, Slot

from ...core.explain import node_levels, node_output_grids
from ...core.network import unit_name
from ..frame import GRID_SIZE, Frame
from ..state import AppState


class NodeMapView(Protocol):
    def show_node_map(self, grid: np.ndarray, levels: tuple[float, float], title: str) -> None: ...
    def clear_node_map(self) -> None: ...


class NodeMapController(QObject):
    """Shows the hovered unit's map of `state`'s shown network in `view`."""

    def __init__(self, state: AppState, view: NodeMapView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.view = state, view
        self.hovered: tuple[int, int] | None = None
        state.frame_changed.connect(self._on_state_frame_changed)
        state.network_changed.connect(self._on_state_network_changed)

    @Slot(object)
    def on_node_hovered(self, node: tuple[int, int] | None) -> None:
        frame = self.state.frame
        self.hovered = node if frame is not None and _exists(frame, node) else None
        if self.hovered is None:
            self.view.clear_node_map()
        else:
            self._show(frame)

    def _show(self, frame: Frame) -> None:
        layer, unit = self.hovered
        weights, activation = frame.snapshot.weights, frame.config.activation
        depth = len(weights) // 2
        task, plane = frame.task, frame.plane
        points = None if plane is None or plane.kind == "plane" else plane.grid(GRID_SIZE)
        grid = node_output_grids(weights, activation, frame.extent, GRID_SIZE, points, task=task)[
            layer
        ][unit]
        output = "sigmoid" if task is None else task.output
        levels = node_levels(activation, layer, depth, grid, output)
        sizes = (weights["W1"].shape[0], *(weights[f"W{k}"].shape[1] for k in range(1, depth + 1)))
        name = unit_name(sizes, layer, unit)
        if layer == 0 and task is not None:
            name = f"input {task.input_names[unit]}"
        where = "the input plane" if plane is None or not plane.caption else plane.caption
        title = f"{name}: its output over {where}"
        self.view.show_node_map(grid, levels, title)

    @Slot(object)
    def _on_state_frame_changed(self, frame: Frame) -> None:
        if self.hovered is not None:
            self._show(frame)

    @Slot()
    def _on_state_network_changed(self) -> None:
        if self.hovered is not None:
            self.hovered = None
            self.view.clear_node_map()


def _exists(frame: Frame, node: tuple[int, int] | None) -> bool:
    """Whether unit `node` = (layer, unit) exists in the frame's network (layer 0 = inputs)."""
    if node is None:
        return False
    layer, unit = node
    weights = frame.snapshot.weights
    depth = len(weights) // 2
    if not 0 <= layer <= depth:
        return False
    width = weights["W1"].shape[0] if layer == 0 else weights[f"W{layer}"].shape[1]
    return 0 <= unit < width
