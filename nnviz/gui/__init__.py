"""The Qt side of nnviz: views, the training thread and the main window.

PySide6 is imported before pyqtgraph so that pyqtgraph binds to it even when PyQt is installed.
"""

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import PySide6  # noqa: F401
