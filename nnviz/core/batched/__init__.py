"""Many networks of one architecture trained as one set of stacked NumPy calls, each network bit
for bit as its own `Trainer` (see `trainer`); sweeps and the window's multi-seed views use it."""

from .trainer import BATCHABLE, BatchedTrainer, Network, batch_key

__all__ = ["BATCHABLE", "BatchedTrainer", "Network", "batch_key"]
