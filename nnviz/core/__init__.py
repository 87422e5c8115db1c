"""nnviz's model: pure NumPy and scikit-learn, importable and testable with no Qt installed."""

from .budget import BudgetError, Estimate, check_budget, estimate
from .config import PRESETS, Config, ConfigError
from .datasets import DataError, Dataset, load_dataset
from .files import FileFormatError, load_weights, save_weights
from .metrics import Metrics, evaluate_weights
from .network import Layout, predict_proba
from .session import SessionError, load_session, save_session
from .trainer import Snapshot, StepTrace, Trainer, TrainingDiverged

__all__ = [
    "PRESETS",
    "BudgetError",
    "Config",
    "ConfigError",
    "DataError",
    "Dataset",
    "Estimate",
    "FileFormatError",
    "Layout",
    "Metrics",
    "SessionError",
    "Snapshot",
    "StepTrace",
    "Trainer",
    "TrainingDiverged",
    "check_budget",
    "estimate",
    "evaluate_weights",
    "load_dataset",
    "load_session",
    "load_weights",
    "predict_proba",
    "save_session",
    "save_weights",
]
