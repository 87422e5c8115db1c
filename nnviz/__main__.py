import sys

from .cli import main

if __name__ == "__main__":  # guarded: the training subprocess re-imports the main module
    sys.exit(main())
