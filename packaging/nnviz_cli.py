"""The bundle's console executable `nnviz`: the CLI (`--version`, `train`, and `gui`)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # First of all: in a frozen app the training process (multiprocessing "spawn") starts this
    # same executable with --multiprocessing-fork; freeze_support runs the child and exits.
    multiprocessing.freeze_support()
    from nnviz.cli import main

    sys.exit(main())
