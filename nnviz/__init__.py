"""nnviz: watch a from-scratch NumPy neural network learn."""

from .core import Config, ConfigError, Trainer

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "Trainer", "__version__"]
