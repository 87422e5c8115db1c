"""nnviz's model: pure NumPy and scikit-learn, importable and testable with no Qt installed."""

from .config import PRESETS, Config, ConfigError
from .datasets import DataError, Dataset, load_dataset
from .files import FileFormatError, load_weights, save_weights
from .metrics import Metrics, evaluate_weights
from .network import predict_proba
from .trainer import Snapshot, StepTrace, Trainer, TrainingDiverged

__all__ = [
    "PRESETS",
    "Config",
    "ConfigError",
    "DataError",
    "Dataset",
    "FileFormatError",
    "Metrics",
    "Snapshot",
    "StepTrace",
    "Trainer",
    "TrainingDiverged",
    "evaluate_weights",
    "load_dataset",
    "load_weights",
    "predict_proba",
    "save_weights",
]
