"""The bundle's windowed executable `nnviz-gui`: the window, with no console on Windows/macOS."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # before anything else: see nnviz_cli.py
    from nnviz.gui.app import main

    sys.exit(main())
