"""The installed PySide6 is one that survives a live window: the none_dealloc crash stays fixed.

Moved from tests/core/test_isolation.py: these need Qt, and tests/core runs with no Qt installed.
"""

from __future__ import annotations

import sys
import textwrap

import pytest
from qt_blocker import run_python


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
