"""The run folder the CLI's `--out` (and the window's Export all) writes: config, metrics, report,
history, weights and data of one trained `Trainer`.

It sits above both the file formats (`files`) and the trainer and metrics, which never import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import json_text, save_data_csv, save_history_csv, save_weights, write_text
from .metrics import Metrics
from .trainer import Trainer


def metrics_document(trainer: Trainer, metrics: Metrics) -> dict[str, Any]:
    """metrics.json: iterations, seconds, and loss/auc/accuracy/misclassification/report per split."""
    document: dict[str, Any] = {"iterations": trainer.iteration, "seconds": trainer.seconds}
    document.update(metrics.full().to_dict())
    if trainer.diverged_at is not None:
        document["diverged_at"] = trainer.diverged_at
    return document


def write_run(out: str | Path, trainer: Trainer, metrics: Metrics) -> list[Path]:
    """Write the run folder the CLI's `--out` promises; returns the files written.

    `metrics` is `trainer.evaluate()`; a fast result is completed to full mode for the report.
    """
    out = Path(out)
    snapshot = trainer.snapshot()
    metrics = metrics.full()
    return [
        write_text(out / "config.json", trainer.config.to_json()),
        write_text(out / "metrics.json", json_text(metrics_document(trainer, metrics))),
        write_text(out / "report.txt", metrics.report_text()),
        save_history_csv(out / "history.csv", snapshot.history),
        save_weights(out / "initial_weights.npz", trainer.initial_weights()),
        save_weights(out / "weights.npz", trainer.weights()),
        save_weights(out / "weights.json", trainer.weights()),
        save_data_csv(out / "data.csv", trainer.data),
    ]
