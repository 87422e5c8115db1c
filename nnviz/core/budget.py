"""The memory a configuration needs, estimated before anything is allocated, and its budget.

Every Config field is bounded on its own, but the bounds multiply: eight hidden layers of 4096
units hold 117 million parameters (0.9 GiB a copy, and the trainer keeps a dozen copies), and a
million samples through a 512-unit layer need 16 KiB a sample in every pass. NumPy would fail
half-way, or the machine would swap. `estimate(config)` adds up what nnviz allocates for a run,
term by term, from the sizes alone; `check_budget` refuses a run over the budget with a
`BudgetError` that says how much, why, and how to change the budget.

The budget is half the memory this machine has available now (MemAvailable), or
`NNVIZ_MEMORY_BUDGET` (such as 2G, 500M or a number of bytes; the CLI's `--memory-budget` sets it).

The terms count what the code allocates (NumPy arrays it asks for, touched or not, which is what
an address-space limit sees), so the estimate errs high: benchmarks/bench_budget.py compares it
with the peak resident memory of real runs (measured: 1.06 to 1.45 times it). Constants that mirror
other modules (trainer, replay, the window's grid) are checked against them by
tests/core/test_budget.py; this module cannot import them, because the trainer imports it.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from .config import RAW_FEATURES, Config
from .datasets import MAX_CSV_BYTES, Dataset
from .network import Layout

MiB = 2**20
GiB = 2**30
ENV_VAR = "NNVIZ_MEMORY_BUDGET"
#: Available memory assumed when the machine does not say.
FALLBACK_AVAILABLE = 4 * GiB
#: Python with NumPy and scikit-learn imported (121 MiB resident, measured by bench_budget).
BASELINE_BYTES = 128 * MiB
#: Qt and the drawn views, on top of the baseline (80 MiB measured for the CLI's pictures).
QT_BYTES = 128 * MiB
FLOAT = 8
#: Parameter-sized float64 vectors the trainer holds: initial weights, weights and gradient,
#: their backup, the summing vector (2), the weight mask, a scratch and the optimizer's update.
TRAINER_VECTORS = 9
#: More vectors per optimizer: momentum's velocity, Adam's two moments and scratch, each with
#: the copy kept in the divergence checkpoint.
OPTIMIZER_VECTORS = {"gd": 0, "momentum": 2, "adam": 5}
#: Weight copies alive at once: the newest snapshot, the one before it, and the metrics' own.
SNAPSHOT_VECTORS = 3
#: History rows at most (trainer.MAX_HISTORY + 1) and columns; the buffer doubles from 1024 rows.
HISTORY_ROWS = 2049
HISTORY_COLUMNS = 5
#: The window's replay: at most 256 points, fewer when their weights pass 64 MiB (core.replay).
REPLAY_POINTS = 256
REPLAY_BYTES = 64 * MiB
REPLAY_POINT_OVERHEAD = 1024
#: The boundary grid is GRID_SIZE x GRID_SIZE points (gui.frame.GRID_SIZE).
GRID_SIZE = 150
#: A run of several seeds also evaluates every seed on a SEED_GRID x SEED_GRID grid and on both
#: splits each redraw (gui.seeds.SEED_GRID).
SEED_GRID = 48
#: weights.json in a run folder: a Python float and its decimal text per parameter (151 measured).
JSON_BYTES_PER_PARAMETER = 160
_CHUNK = MiB
_FEWER_PARAMETERS = "Use fewer or narrower hidden layers"
_FEWER_SAMPLES = "Use fewer samples, or fewer or narrower hidden layers"
_TOO_SMALL = "The budget is smaller than what nnviz itself needs"
#: What to change when a term is the largest (else the budget is too small for nnviz itself).
ADVICE = {
    "weights and gradients": _FEWER_PARAMETERS,
    "optimizer state": f"{_FEWER_PARAMETERS} or plain gd",
    "snapshots": _FEWER_PARAMETERS,
    "replay": _FEWER_PARAMETERS,
    "run folder": f"{_FEWER_PARAMETERS}, or leave out --out",
    "boundary grid": f"{_FEWER_PARAMETERS}, or skip the pictures (--no-plots)",
    "seed views": "Train fewer seeds at once",
    "training batch": "Use a smaller --batch-size, fewer samples, or narrower hidden layers",
    "evaluation passes": _FEWER_SAMPLES,
    "metrics": _FEWER_SAMPLES,
    "data": _FEWER_SAMPLES,
}


class BudgetError(ValueError):
    """A run needs more memory than the budget allows, or the budget itself is malformed."""


@dataclass(frozen=True)
class Budget:
    """How many bytes a run may use, and where that number came from (for messages)."""

    bytes: int
    source: str

    def __str__(self) -> str:
        return f"{format_bytes(self.bytes)} ({self.source})"


@dataclass(frozen=True)
class Estimate:
    """The bytes a run needs, by term (name -> bytes), with a short explanation of each term."""

    terms: Mapping[str, int]
    details: Mapping[str, str]
    parameters: int
    samples: int

    @property
    def total(self) -> int:
        return sum(self.terms.values())

    @property
    def largest(self) -> str:
        """The name of the largest term: what to shrink first."""
        return max(self.terms, key=self.terms.__getitem__)

    def table(self) -> str:
        """One line per term, largest first, then the total (for `--dry-run`)."""
        width = max(len(name) for name in self.terms)
        lines = [
            f"  {name:<{width}}  {format_bytes(size):>10}  {self.details[name]}"
            for name, size in sorted(self.terms.items(), key=lambda item: -item[1])
        ]
        lines.append(f"  {'total':<{width}}  {format_bytes(self.total):>10}")
        return "\n".join(lines)


def format_bytes(size: int) -> str:
    """1536 MiB as '1.5 GiB': GiB from 1 GiB up, else MiB."""
    if size >= GiB:
        return f"{size / GiB:.1f} GiB"
    return f"{size / MiB:.1f} MiB"


def estimate(
    config: Config,
    *,
    data: Dataset | None = None,
    views: bool = True,
    replay: bool = True,
    run_folder: bool = False,
) -> Estimate:
    """The memory one run of `config` needs, from its sizes alone (nothing is allocated).

    `data` gives the exact split sizes when the points are already loaded; otherwise they follow
    from `samples` and `test_size` (or the line count of a CSV file). `views` adds Qt and the
    boundary grid (the window, or the CLI's pictures), `replay` the window's replay store, and
    `run_folder` writing weights.json and the other files of `--out`.

    A run of `config.seeds` networks (a BatchedTrainer) holds every per-network term K times
    (parameters, optimizer, passes, history, replay); the window draws the selected one's
    grid and metrics, and every seed's coarse grid and splits ("seed views").
    """
    n_train, n_test = _split(config, data)
    samples = n_train + n_test
    layout = Layout(config.hidden, *_ends(config, data))
    p, sizes = layout.size, layout.sizes
    units = sum(sizes[1:])
    vector = p * FLOAT
    n_big = max(n_train, n_test)
    k = config.seeds
    seeds = f" x {k} seeds" if k > 1 else ""
    terms: dict[str, int] = {"Python and libraries": BASELINE_BYTES}
    details = {"Python and libraries": "the interpreter, NumPy and scikit-learn"}

    def add(name: str, size: int, detail: str) -> None:
        terms[name], details[name] = size, detail

    add("data", samples * 7 * FLOAT, f"{samples:,} points, their split and labels")
    add(
        "weights and gradients",
        k * TRAINER_VECTORS * vector,
        f"{p:,} parameters x {TRAINER_VECTORS} vectors in the trainer{seeds}",
    )
    optimizer_vectors = OPTIMIZER_VECTORS[config.optimizer]
    add(
        "optimizer state",
        k * optimizer_vectors * vector,
        f"{config.optimizer}: {optimizer_vectors} parameter vectors{seeds}",
    )
    add("snapshots", k * SNAPSHOT_VECTORS * vector, f"{SNAPSHOT_VECTORS} weight copies{seeds}")
    batch = config.batch_size if 0 < config.batch_size < n_train else n_train
    batch_bytes = _pass_bytes(sizes, batch)
    if batch < n_train:  # the epoch's short last batch has buffers of its own
        batch_bytes += _pass_bytes(sizes, n_train % batch) + batch * 3 * FLOAT
    add(
        "training batch",
        k * batch_bytes,
        f"activations, error terms and scratch of {batch:,} samples x {units:,} units{seeds}",
    )
    add(
        "evaluation passes",
        k * (_pass_bytes(sizes, n_train) + _pass_bytes(sizes, n_test)),
        f"every layer's buffers for the {n_train:,} training and {n_test:,} test points{seeds}",
    )
    add(
        "metrics",
        n_big * (2 * units * FLOAT + 8 * FLOAT),
        f"every layer of {n_big:,} points at once, then ROC and report",
    )
    rows = min(config.iterations + 1, HISTORY_ROWS)
    capacity = 1024
    while capacity < rows:
        capacity *= 2
    add(
        "history",
        k * (capacity + 2 * rows) * HISTORY_COLUMNS * FLOAT,
        f"{rows:,} rows of {HISTORY_COLUMNS} metrics{seeds}",
    )
    if replay:
        points = max(2, min(REPLAY_POINTS, REPLAY_BYTES // vector))
        add(
            "replay",
            (points + 2) * (k * vector + REPLAY_POINT_OVERHEAD),
            f"{points} past weight sets{seeds}, and two in flight",
        )
    if views:
        add("Qt", QT_BYTES, "the window or the pictures")
        cells = GRID_SIZE * GRID_SIZE
        add(
            "boundary grid",
            cells * (units * (2 * FLOAT + 4) + 3 * FLOAT),
            f"{GRID_SIZE}x{GRID_SIZE} points through every layer, and a node map",
        )
        if k > 1:
            add(
                "seed views",
                k * (_pass_bytes(sizes, SEED_GRID**2 + n_train + n_test)),
                f"every seed on a {SEED_GRID}x{SEED_GRID} grid and both splits{seeds}",
            )
    if run_folder:
        add(
            "run folder",
            p * JSON_BYTES_PER_PARAMETER + 2 * vector,
            f"weights.json: about {JSON_BYTES_PER_PARAMETER} bytes a parameter",
        )
    return Estimate(MappingProxyType(terms), MappingProxyType(details), p, samples)


def _ends(config: Config, data: Dataset | None) -> tuple[int, int]:
    """(network inputs, outputs): crosses or the raw inputs (2 unless the data or the table
    says), and K outputs for K >= 3 classes."""
    raw = data.n_inputs if data is not None else {"iris": 4, "wine": 13}.get(config.dataset, 2)
    inputs = raw if config.features == RAW_FEATURES else len(config.features)
    task = (data.task, data.n_classes) if data is not None else config.task
    return inputs, task[1] if task is not None and task[0] == "multiclass" else 1


def _pass_bytes(sizes: tuple[int, ...], n: int) -> int:
    """What `network.Pass` allocates for `n` samples: every layer's input (with a row of ones),
    aggregation, error term and scratch, the output, labels and two boolean rows."""
    rows = sum(size + 1 for size in sizes[:-1]) + 3 * sum(sizes[1:]) + 3
    return n * (rows * FLOAT + 2)


def _split(config: Config, data: Dataset | None) -> tuple[int, int]:
    """(training points, test points) as `load_dataset` will make them."""
    if data is not None:
        return len(data.x_train), len(data.x_test)
    samples = config.samples if config.dataset != "csv" else _csv_rows(config.csv_path)
    n_test = math.ceil(samples * config.test_size)
    return max(samples - n_test, 0), n_test


def _csv_rows(path: str | None) -> int:
    """The line count of a regular CSV file small enough to be read (an upper bound on its
    points); 8 otherwise, since such a file is refused when it is loaded."""
    try:
        info = os.stat(path) if path else None
    except (OSError, ValueError):
        info = None
    if info is None or not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CSV_BYTES:
        return 8
    lines = 1
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                lines += chunk.count(b"\n")
    except OSError:
        return 8
    return max(lines, 8)


# -- the budget --------------------------------------------------------------------------------

_SIZE = re.compile(r"([0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})\s*(?:([kmgt])i?)?b?", re.I)
_UNITS = {None: 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str) -> int:
    """'2G', '500M', '1.5GiB' or '750000000' as bytes; K, M, G and T are powers of 1024."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise BudgetError(f"{text!r} is not a size such as 2G, 500M or 1000000 (bytes)")
    number, unit = match.groups()
    size = int(Decimal(number) * _UNITS[unit and unit.lower()])
    if size < 1:
        raise BudgetError(f"{text!r} is not a size above 0")
    return size


def available_memory() -> int:
    """Memory this machine can give without swapping: MemAvailable, else free pages."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return FALLBACK_AVAILABLE


def memory_budget(budget: Budget | int | str | None = None) -> Budget:
    """`budget` (bytes, or text such as '2G'), else NNVIZ_MEMORY_BUDGET, else half the available
    memory. Raises BudgetError for a malformed value."""
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, int) and not isinstance(budget, bool):
        if budget < 1:
            raise BudgetError(f"a memory budget of {budget} bytes is not above 0")
        return Budget(budget, "given")
    if isinstance(budget, str):
        return Budget(parse_size(budget), "given")
    if budget is not None:
        raise BudgetError(f"a memory budget must be bytes or text such as 2G, not {budget!r}")
    text = os.environ.get(ENV_VAR, "").strip()
    if text:
        try:
            return Budget(parse_size(text), f"{ENV_VAR}={text}")
        except BudgetError as error:
            raise BudgetError(f"{ENV_VAR}: {error}") from None
    available = available_memory()
    return Budget(available // 2, f"half the available {format_bytes(available)}")


def check_budget(
    config: Config,
    jobs: int = 1,
    budget: Budget | int | str | None = None,
    *,
    data: Dataset | None = None,
    views: bool = True,
    replay: bool = True,
    run_folder: bool = False,
) -> Estimate:
    """`estimate(config, ...)` after checking that `jobs` such runs at once fit the budget
    (`memory_budget(budget)`); raises BudgetError naming the estimate, its largest term, what to
    change and how to change the budget."""
    result = estimate(config, data=data, views=views, replay=replay, run_folder=run_folder)
    allowed = memory_budget(budget)
    needed = result.total * jobs
    if needed > allowed.bytes:
        largest = result.largest
        each = f"{jobs} jobs x {format_bytes(result.total)} = " if jobs > 1 else ""
        raise BudgetError(
            f"this run needs about {each}{format_bytes(needed)}, more than the memory budget of "
            f"{allowed}; the largest part is {largest}, {format_bytes(result.terms[largest])} "
            f"({result.details[largest]}). {ADVICE.get(largest, _TOO_SMALL)}; the budget is set "
            f"with --memory-budget or {ENV_VAR} (such as 16G)"
        )
    return result


def largest_run(configs: Iterable[Config]) -> Config:
    """The one of `configs` that needs the most memory as a sweep's worker trains it (no views,
    no replay); the sizes depend on a few fields only, so each kind is estimated once."""
    kinds: dict[tuple, Config] = {}
    for config in configs:
        key = (
            config.dataset,
            config.csv_path,
            config.samples,
            config.test_size,
            config.hidden,
            config.optimizer,
            config.batch_size,
            min(config.iterations, HISTORY_ROWS),
        )
        kinds.setdefault(key, config)
    if not kinds:
        raise BudgetError("there are no runs to estimate")
    return max(kinds.values(), key=lambda c: estimate(c, views=False, replay=False).total)


def check_runs(
    configs: Iterable[Config], jobs: int = 1, budget: Budget | int | str | None = None
) -> Estimate:
    """The estimate of the largest of `configs` (`largest_run`), after checking that `jobs` such
    runs at once fit the budget."""
    return check_budget(largest_run(configs), jobs, budget, views=False, replay=False)


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
