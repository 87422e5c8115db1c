"""Run Python in a child interpreter where Qt is blocked, as if it were not installed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

BLOCKED = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")

# Installed first in the child interpreter: any import of a blocked package fails, as if it were
# not installed at all.
BLOCKER = textwrap.dedent(
    f"""
    import sys

    BLOCKED = {BLOCKED!r}

    class BlockQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockQt())

    def leaked():
        return sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    """
)


def run_python(code, timeout=120, **env):
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **env}
    environment.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )
