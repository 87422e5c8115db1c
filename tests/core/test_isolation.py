"""`nnviz.core` works with Qt absent, and the PySide6 none_dealloc crash stays fixed."""

from __future__ import annotations

import sys
import textwrap

import pytest
from qt_blocker import BLOCKER, run_python


def test_core_imports_and_trains_without_qt():
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
    assert result.returncode == 0, result.stderr
    assert "trained without Qt" in result.stdout


@pytest.mark.parametrize("module", ["PySide6.QtCore", "pyqtgraph", "PyQt6"])
def test_the_blocker_really_blocks(module):
    """The harness above must be able to fail: a Qt import under it is an ImportError."""
    code = BLOCKER + f"import {module}\n"
    result = run_python(code)
    assert result.returncode != 0
    assert f"{module.split('.')[0]} is blocked in this test" in result.stderr


def test_pyside6_survives_200k_calls_that_return_none():
    """PySide6 6.12.0 on Python 3.11 aborts ("Fatal Python error: none_dealloc") at ~100k."""
    code = textwrap.dedent(
        """
        import sys
        import PySide6
        from PySide6.QtCore import QObject

        thing = QObject()
        for _ in range(200_000):
            thing.setObjectName("x")
        assert thing.objectName() == "x"
        print("survived", PySide6.__version__, sys.version_info[:2])
        """
    )
    result = run_python(code, QT_QPA_PLATFORM="offscreen")
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert "survived" in result.stdout
    assert "none_dealloc" not in result.stderr


def test_installed_pyside6_respects_the_pin():
    """pyproject pins PySide6-Essentials below 6.12 on Python < 3.12."""
    pyside6 = pytest.importorskip("PySide6")
    major, minor = (int(part) for part in pyside6.__version__.split(".")[:2])
    if sys.version_info < (3, 12):
        assert (major, minor) < (6, 12), pyside6.__version__
