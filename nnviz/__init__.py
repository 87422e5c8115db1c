"""nnviz: watch a from-scratch NumPy neural network learn."""

from .core import Config, ConfigError, Trainer
from .version import __version__

__all__ = ["Config", "ConfigError", "Trainer", "__version__"]
