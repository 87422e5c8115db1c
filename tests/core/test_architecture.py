"""nnviz's layers, enforced: no import cycles, the GUI never reaches back into the CLI, and the
model and the service need no Qt, neither in their source nor when they are imported.

The import graph is read from the source with `ast`, so every import counts: at module level, inside
a function, and under `if TYPE_CHECKING:`, relative or absolute. The no-Qt checks run each module in
a child interpreter where Qt is blocked (tests/qt_blocker.py), and CI runs this whole folder again in
a venv that has no Qt installed at all (.ci/run).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from qt_blocker import BLOCKER, run_python

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "nnviz"
QT = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")


@dataclass(frozen=True)
class Import:
    """One import statement's dependency: `source` imports `target` at `path:line`."""

    source: str
    target: str
    path: Path
    line: int
    where: str  # "module", "function" or "TYPE_CHECKING"

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.path.name}:{self.line}, {self.where})"


def module_files(package_dir: Path) -> dict[str, Path]:
    """Every module of the package at `package_dir`, by dotted name (a package by its __init__)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _ImportCollector(ast.NodeVisitor):
    """Collects every import in one module, resolved to absolute dotted names."""

    def __init__(self, module: str, path: Path, is_package: bool, modules: set[str]) -> None:
        self.module = module
        self.path = path
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules = modules
        self.context = ["module"]
        self.imports: list[Import] = []

    def _add(self, target: str, node: ast.stmt) -> None:
        self.imports.append(Import(self.module, target, self.path, node.lineno, self.context[-1]))

    def _nested(self, node: ast.AST, where: str) -> None:
        self.context.append(where)
        self.generic_visit(node)
        self.context.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        # Imports inside a function under TYPE_CHECKING stay TYPE_CHECKING.
        self._nested(node, "function" if self.context[-1] == "module" else self.context[-1])

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.context.append("TYPE_CHECKING")
        for statement in node.body:
            self.visit(statement)
        self.context.pop()
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            if node.level > 1:
                base = base[: -(node.level - 1)]
            origin = ".".join([*base, node.module] if node.module else base)
        else:
            origin = node.module or ""
        for alias in node.names:
            submodule = f"{origin}.{alias.name}"
            # `from . import x` names the submodule x when there is one, else a name in `origin`.
            self._add(submodule if submodule in self.modules else origin, node)


def imports_of(package_dir: Path) -> list[Import]:
    """Every import in every module of the package at `package_dir`, internal and external."""
    modules = module_files(package_dir)
    found = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _ImportCollector(module, path, path.name == "__init__.py", set(modules))
        collector.visit(tree)
        found.extend(collector.imports)
    return found


def import_graph(package_dir: Path) -> dict[str, dict[str, Import]]:
    """Module -> {imported module of the same package -> the first import statement naming it}."""
    modules = module_files(package_dir)
    graph: dict[str, dict[str, Import]] = {module: {} for module in modules}
    for found in imports_of(package_dir):
        if found.target in modules and found.target != found.source:
            graph[found.source].setdefault(found.target, found)
    return graph


def tangles(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): each module of one
    can reach every other, so each holds at least one import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(module: str) -> None:  # recursion depth is bounded by the number of modules
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                connect(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return sorted(components)


def find_cycles(graph: dict[str, dict[str, Import]]) -> list[list[Import]]:
    """One shortest cycle per tangle, as the imports that close it, from its first module."""
    return [_cycle_through(graph, set(component)) for component in tangles(graph)]


def _cycle_through(graph: dict[str, dict[str, Import]], component: set[str]) -> list[Import]:
    """The shortest cycle from the component's first module back to itself."""
    start = min(component)
    came_from = _breadth_first(graph, start, within=component)
    if start not in came_from:  # pragma: no cover
        raise AssertionError(f"no cycle through {sorted(component)}")
    return _path(came_from, start, start)


def _breadth_first(
    graph: dict[str, dict[str, Import]], start: str, within: set[str] | None = None
) -> dict[str, Import]:
    """For each module reachable from `start` (only through `within`, if given; `start` itself if
    a cycle returns to it), the import that reached it first: a shortest path leads back."""
    came_from: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for target, found in sorted(graph[module].items()):
                if target in came_from or (within is not None and target not in within):
                    continue
                came_from[target] = found
                following.append(target)
        frontier = following
    return came_from


def _path(came_from: dict[str, Import], start: str, target: str) -> list[Import]:
    """The imports from `start` to `target`, following `_breadth_first`'s answer back."""
    path = [came_from[target]]
    while path[0].source != start:
        path.insert(0, came_from[path[0].source])
    return path


def describe(cycle: list[Import]) -> str:
    path = " -> ".join([cycle[0].source, *(found.target for found in cycle)])
    steps = "".join(f"\n    {found}" for found in cycle)
    return f"{path}{steps}"


def _in(module: str, *packages: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


# -- the rules, on nnviz itself ------------------------------------------------------------------


def test_nnviz_has_no_import_cycles():
    graph = import_graph(PACKAGE_DIR)
    found = tangles(graph)
    if found:
        report = []
        for component in found:
            cycle = _cycle_through(graph, set(component))
            inside = [
                str(edge)
                for module in component
                for target, edge in sorted(graph[module].items())
                if target in component and edge not in cycle
            ]
            report.append(describe(cycle))
            if inside:  # the tangle is more than this one cycle: all of it must be cut
                report.append(f"  other imports inside {component}:")
                report.extend(f"    {edge}" for edge in inside)
        pytest.fail(f"{len(found)} import cycle(s) in nnviz/:\n" + "\n".join(report), False)


def test_the_gui_never_imports_the_cli():
    wrong = [
        found
        for found in imports_of(PACKAGE_DIR)
        if _in(found.source, "nnviz.gui") and _in(found.target, "nnviz.cli", "nnviz.__main__")
    ]
    if wrong:
        pytest.fail("nnviz.gui imports the CLI:\n" + "\n".join(map(str, wrong)), False)


def test_core_and_service_never_import_qt_or_the_gui():
    imports = imports_of(PACKAGE_DIR)
    direct = [
        found
        for found in imports
        if _in(found.source, "nnviz.core", "nnviz.service")
        and (_in(found.target, *QT, "nnviz.gui"))
    ]
    if direct:
        message = "nnviz.core/nnviz.service import Qt or the GUI:\n" + "\n".join(map(str, direct))
        pytest.fail(message, False)


def test_core_and_service_never_reach_the_gui_through_other_modules():
    """Also through any chain of nnviz modules, at any level: core -> cli -> gui is a dependency
    on the GUI all the same."""
    graph = import_graph(PACKAGE_DIR)
    wrong = []
    for start in sorted(module for module in graph if _in(module, "nnviz.core", "nnviz.service")):
        came_from = _breadth_first(graph, start)
        reached = sorted(module for module in came_from if _in(module, "nnviz.gui"))
        if reached:
            chain = _path(came_from, start, reached[0])
            wrong.append(describe(chain))
    if wrong:
        pytest.fail("nnviz.core/nnviz.service depend on the GUI:\n" + "\n".join(wrong), False)


# Everything but the GUI, and the entry points that hand over to it, imports with no Qt installed.
QT_FREE_MODULES = sorted(
    module
    for module in module_files(PACKAGE_DIR)
    if not _in(module, "nnviz.gui", "nnviz.cli", "nnviz.__main__")
)


def test_the_no_qt_list_holds_the_model_and_the_service():
    """Guards the list above against a typo in the exclusions that would leave it near empty."""
    assert {"nnviz", "nnviz.core", "nnviz.core.trainer", "nnviz.service.server"} <= set(
        QT_FREE_MODULES
    )
    assert not [module for module in QT_FREE_MODULES if _in(module, "nnviz.gui", "nnviz.cli")]


@pytest.mark.parametrize("module", QT_FREE_MODULES)
def test_module_imports_without_qt(module):
    code = BLOCKER + textwrap.dedent(
        f"""
        import importlib
        importlib.import_module({module!r})
        assert not leaked(), leaked()
        print("imported without Qt")
        """
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported without Qt" in result.stdout


def test_core_trains_and_the_cli_trains_without_qt():
    code = BLOCKER + textwrap.dedent(
        """
        assert not leaked(), leaked()
        import nnviz.core
        import nnviz
        from nnviz import Config, Trainer
        from nnviz.core import evaluate_weights, load_dataset, save_weights
        from nnviz.cli import main

        trainer = Trainer(Config(iterations=10))
        snapshot = trainer.step(10)
        assert snapshot.iteration == 10, snapshot.iteration
        assert trainer.evaluate().test.auc > 0.5
        assert main(["train", "--iterations", "10"]) == 0
        assert not leaked(), leaked()
        print("trained without Qt")
        """
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trained without Qt" in result.stdout


@pytest.mark.parametrize("module", ["PySide6.QtCore", "shiboken6", "pyqtgraph", "PyQt6"])
def test_the_blocker_really_blocks(module):
    """The harness above must be able to fail: a Qt import under it is an ImportError."""
    result = run_python(BLOCKER + f"import {module}\n")
    assert result.returncode != 0
    assert f"{module.split('.')[0]} is blocked in this test" in result.stderr


# -- the detector must be able to fail ------------------------------------------------------------


def _write_package(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root / "pkg"


def test_the_detector_finds_function_level_and_type_checking_cycles(tmp_path):
    package = _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            # a -> b at module level, b -> a inside a function through `from . import a`.
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": """
                def late():
                    from . import a
                    return a
                """,
            # sub.c -> sub.d under TYPE_CHECKING (absolute), sub.d -> sub.c (relative, level 2).
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from pkg.sub.d import D
                """,
            "pkg/sub/d.py": """
                from ..sub.c import TYPE_CHECKING

                class D:
                    pass
                """,
            # Not a cycle: e names a name of the package, and the package imports nothing.
            "pkg/e.py": "from . import something\n",
        },
    )

    cycles = find_cycles(import_graph(package))

    assert len(cycles) == 2, [describe(cycle) for cycle in cycles]
    by_start = {cycle[0].source: cycle for cycle in cycles}
    assert [(found.source, found.target, found.where) for found in by_start["pkg.a"]] == [
        ("pkg.a", "pkg.b", "module"),
        ("pkg.b", "pkg.a", "function"),
    ]
    assert [(found.source, found.target, found.where) for found in by_start["pkg.sub.c"]] == [
        ("pkg.sub.c", "pkg.sub.d", "TYPE_CHECKING"),
        ("pkg.sub.d", "pkg.sub.c", "module"),
    ]
    assert describe(by_start["pkg.a"]).startswith("pkg.a -> pkg.b -> pkg.a\n")


def test_the_detector_passes_a_package_without_cycles(tmp_path):
    package = _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from .a import A\n",
            "pkg/a.py": "A = 1\n",
            "pkg/b.py": """
                import os
                from . import a

                def late():
                    from .a import A
                    return A, os
                """,
        },
    )
    graph = import_graph(package)
    assert set(graph["pkg.b"]) == {"pkg.a"}
    assert set(graph["pkg"]) == {"pkg.a"}
    assert find_cycles(graph) == []


def test_the_forbidden_import_checks_see_imports_inside_functions(tmp_path):
    package = _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/core.py": """
                def draw():
                    import pyqtgraph as pg
                    from PySide6 import QtCore
                    return pg, QtCore
                """,
        },
    )
    targets = {(found.target, found.where) for found in imports_of(package)}
    assert targets == {("pyqtgraph", "function"), ("PySide6", "function")}
