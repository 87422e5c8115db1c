"""The replay store: bounded memory over long runs, log spacing, nearest look-ups and rewinds."""

from __future__ import annotations

import dataclasses
import gc
import pickle
import tracemalloc
from types import MappingProxyType

import numpy as np
import pytest

from nnviz import Config, Trainer
from nnviz.core.history import COLUMNS, HistoryArrays
from nnviz.core.replay import (
    ReplayPoint,
    ReplayRecorder,
    ReplayStore,
    next_replay_iteration,
    resume_state,
)
from nnviz.core.trainer import MAX_HISTORY, Snapshot

#: Bytes of the newest history at most: MAX_HISTORY + 1 rows of five 8-byte columns.
HISTORY_BOUND = (MAX_HISTORY + 1) * len(COLUMNS) * 8
#: Python objects around one kept point (ReplayPoint, mapping proxy, dict, array headers), as the
#: module docstring states it.
POINT_OVERHEAD = 1024

_EMPTY = HistoryArrays(*(np.zeros(0, dtype=np.int64 if i == 0 else float) for i in range(5)))


def _snapshot(iteration: int, weights=None, history: HistoryArrays = _EMPTY) -> Snapshot:
    """A light snapshot of the seed network's shape, with fresh read-only weights."""
    if weights is None:
        weights = {
            "W1": np.full((2, 5), float(iteration)),
            "b1": np.zeros(5),
            "W2": np.zeros((5, 1)),
            "b2": np.zeros(1),
        }
    for array in weights.values():
        array.flags.writeable = False
    return Snapshot(
        iteration=iteration,
        target=10**9,
        train_loss=1.0 / (iteration + 1),
        test_loss=2.0 / (iteration + 1),
        train_accuracy=0.5,
        test_accuracy=0.5,
        weights=MappingProxyType(weights),
        history=history,
        seconds=0.0,
    )


def _log_gaps(iterations: np.ndarray) -> np.ndarray:
    return np.diff(np.log1p(iterations.astype(float)))


def _check_invariants(store: ReplayStore, first: int, latest: int) -> None:
    iterations = store.iterations()
    assert len(store) <= store.capacity
    assert np.all(np.diff(iterations) > 0)
    assert iterations[0] == first and iterations[-1] == latest


# -- a real run ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_run() -> tuple[ReplayStore, list[int], list[int], Trainer]:
    """The seed network trained for 200,000 iterations in 400 chunks of 500, every snapshot kept
    in a store; also the store's length and nbytes after each add."""
    trainer = Trainer(Config.preset("seed", iterations=200_000))
    store = ReplayStore()
    lengths, sizes = [], []
    store.add(trainer.snapshot())
    for _ in range(400):
        store.add(trainer.step(500))
        lengths.append(len(store))
        sizes.append(store.nbytes)
    return store, lengths, sizes, trainer


@pytest.mark.slow
def test_a_200k_run_stays_within_the_stated_bound(long_run):
    store, lengths, sizes, trainer = long_run
    assert trainer.iteration == 200_000
    assert store.capacity == 256  # 192 log-spaced + 64 recent for the seed network's 168 bytes
    weights = sum(a.nbytes for a in trainer.snapshot().weights.values())
    assert weights == 21 * 8
    bound = store.capacity * weights + HISTORY_BOUND
    assert max(lengths) == store.capacity and lengths[-1] == store.capacity
    assert max(sizes) <= bound
    # the arrays are the snapshots' own: nothing was copied into the store
    assert store.nbytes == len(store) * weights + sum(
        getattr(store.snapshot().history, name).nbytes for name in COLUMNS
    )
    _check_invariants(store, 0, 200_000)


def test_a_200k_run_keeps_old_states_log_spaced_and_recent_ones_dense(long_run):
    store = long_run[0]
    iterations = store.iterations()
    recent = iterations[-store.recent_points :]
    np.testing.assert_array_equal(np.diff(recent), 500)  # the last 64 snapshots, all of them
    old = iterations[: -store.recent_points]
    assert old[0] == 0 and old[1] == 500
    # 400 snapshots for 256 places: early chunks are far apart in log scale and all kept; from
    # the first dropped chunk on, consecutive kept iterations have a nearly constant ratio.
    thinned = old[int(np.argmax(np.diff(old) > 500)) :]
    assert 50_000 < thinned[0] < 60_000 and len(thinned) > 60
    gaps = _log_gaps(thinned)
    assert gaps.max() / gaps.min() < 3
    # and nowhere past the first 5000 iterations are two kept states more than 10% apart
    assert np.exp(_log_gaps(old[old >= 5000]).max()) < 1.1


def test_nearest_finds_the_closest_kept_state(long_run):
    store = long_run[0]
    iterations = store.iterations()
    for index in (0, 1, len(store) // 2, len(store) - 1):
        assert store.nearest(int(iterations[index])).iteration == iterations[index]
        assert store.index_of(int(iterations[index])) == index
    a, b = int(iterations[100]), int(iterations[101])
    assert store.nearest(a + (b - a) // 3).iteration == a
    assert store.nearest(b - (b - a) // 3).iteration == b
    assert store.nearest(-5).iteration == 0
    assert store.nearest(10**9).iteration == 200_000


def test_an_old_state_comes_back_as_a_snapshot_with_its_history_cut(long_run):
    store, *_ = long_run
    latest = store.snapshot()
    assert latest.iteration == 200_000 and store.snapshot(store.latest) is latest
    point = store.nearest(20_000)
    snapshot = store.snapshot(point)
    assert snapshot.iteration == point.iteration
    assert snapshot.weights is point.weights  # shared, not copied
    history = snapshot.history
    assert history.iteration[-1] == point.iteration
    assert np.all(history.iteration <= point.iteration)
    assert np.all(np.diff(history.iteration) > 0)
    assert history.train_loss[-1] == point.train_loss
    assert history.test_accuracy[-1] == point.test_accuracy
    kept = latest.history.iteration[latest.history.iteration < point.iteration]
    np.testing.assert_array_equal(history.iteration[: len(kept)], kept)
    for name in COLUMNS:
        assert not getattr(history, name).flags.writeable
    # the weights of that point predict like the trainer did at the time
    assert point.train_loss == pytest.approx(float(history.train_loss[-1]))


# -- a long synthetic stream ---------------------------------------------------------------------


@pytest.mark.slow
def test_100k_snapshots_keep_memory_bounded():
    """100,000 snapshots; Python's own allocations are traced over the last 10,000 (tracing all
    of them takes 20 s): what stays allocated is within the stated per-point bound, so nothing
    grows with the number of snapshots."""
    store = ReplayStore()
    shared = _snapshot(0).weights  # untraced part: one weights mapping for speed
    peak_length = 0
    for iteration in range(0, 630_000, 7):
        store.add(dataclasses.replace(_snapshot(0, {}), iteration=iteration, weights=shared))
        peak_length = max(peak_length, len(store))
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for iteration in range(630_000, 700_000, 7):
            store.add(_snapshot(iteration))
            peak_length = max(peak_length, len(store))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    weights = 21 * 8
    assert peak_length == store.capacity == 256
    assert store.nbytes == 256 * weights
    new_points = int(np.count_nonzero(store.iterations() >= 630_000))
    assert new_points >= store.recent_points
    assert held <= new_points * (weights + POINT_OVERHEAD)
    _check_invariants(store, 0, 699_993)
    old = store.iterations()[: -store.recent_points]
    gaps = _log_gaps(old[old >= 2000])
    assert gaps.max() / gaps.min() < 4


def test_snapshots_in_bursts_and_pauses_keep_first_and_latest():
    store = ReplayStore(log_points=16, recent_points=4)
    rng = np.random.default_rng(0)
    iteration = 0
    store.add(_snapshot(0))
    for _ in range(3000):
        iteration += int(rng.choice([1, 3, 50, 2000]))
        store.add(_snapshot(iteration))
        assert len(store) <= 20
    _check_invariants(store, 0, iteration)


# -- rewinds, budget, edges ----------------------------------------------------------------------


def test_an_earlier_snapshot_drops_the_later_states():
    store = ReplayStore()
    for iteration in range(0, 1000, 10):
        store.add(_snapshot(iteration))
    store.add(_snapshot(500))  # "Resume from here" at 500: the trainer went back
    assert store.iterations()[-1] == 500 and store.iterations()[-2] == 490
    store.add(_snapshot(500))  # an edited weight: the same iteration, new weights
    assert list(store.iterations()[-2:]) == [490, 500]
    store.add(_snapshot(0))  # a reset
    assert len(store) == 1 and store.latest.iteration == 0


def test_truncate_after_keeps_the_newest_history_up_to_that_point():
    trainer = Trainer(Config.preset("seed"))
    store = ReplayStore()
    for _ in range(10):
        store.add(trainer.step(100))
    store.truncate_after(650)
    assert store.latest.iteration == 600
    snapshot = store.snapshot()
    assert snapshot.iteration == 600 and snapshot.history.iteration[-1] == 600
    assert snapshot.history.iteration[0] == 0
    store.truncate_after(-1)
    assert len(store) == 0 and store.latest is None
    with pytest.raises(LookupError):
        store.nearest(0)
    with pytest.raises(LookupError):
        store.snapshot()


def test_clear_forgets_everything():
    store = ReplayStore()
    for iteration in range(5):
        store.add(_snapshot(iteration))
    store.clear()
    assert len(store) == 0 and store.nbytes == 0 and store.iterations().size == 0


def test_large_weights_keep_fewer_states_within_the_byte_budget():
    store = ReplayStore(budget_bytes=8 * 2**20)
    big = 2**20  # one MiB of weights per state
    for iteration in range(0, 100):
        store.add(_snapshot(iteration, {"W1": np.zeros(big // 8)}))
    assert store.capacity == 8
    assert len(store) == 8 and store.nbytes == 8 * big
    _check_invariants(store, 0, 99)
    huge = ReplayStore(budget_bytes=2**20)
    for iteration in range(10):
        huge.add(_snapshot(iteration, {"W1": np.zeros(2**20)}))  # 8 MiB each: the first and latest
    assert list(huge.iterations()) == [0, 9]


def test_a_point_shares_the_snapshots_read_only_weights():
    snapshot = _snapshot(3)
    point = ReplayPoint.from_snapshot(snapshot)
    assert point.weights is snapshot.weights
    assert not point.weights["W1"].flags.writeable
    with pytest.raises(AttributeError):
        point.iteration = 4  # frozen


def test_a_store_without_history_still_gives_a_one_row_history():
    store = ReplayStore()
    store.add(_snapshot(0))
    store.add(_snapshot(10))
    snapshot = store.snapshot(store[0])
    assert list(snapshot.history.iteration) == [0]
    assert snapshot.history.train_loss[0] == 1.0


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        ReplayStore(log_points=0)


# -- points recorded between snapshots -------------------------------------------------------------


def test_the_schedule_is_dense_early_and_geometric_later():
    grid = [0]
    while grid[-1] < 200_000:
        grid.append(next_replay_iteration(grid[-1]))
    grid = np.array(grid)
    assert list(grid[:21]) == list(range(21))
    assert np.all(np.diff(grid) >= 1)
    later = grid[grid >= 200]  # rounding up moves a small iteration by more than 5%
    ratios = later[1:] / later[:-1]
    assert np.all((ratios > 1.05 - 1e-12) & (ratios < 1.05 + 1 / 200))
    assert 150 < np.count_nonzero(grid <= 20_000) < 170
    assert 200 < len(grid) < 220


def test_a_recorder_keeps_the_start_of_a_run_that_reports_rarely():
    """The training process reports every few hundred iterations; the recorder fills in."""
    trainer = Trainer(Config.preset("seed"))
    plain = Trainer(Config.preset("seed"))
    recorder = ReplayRecorder(trainer)
    store = ReplayStore()
    store.add(trainer.snapshot())
    for _ in range(40):
        recorder.advance(500)  # the process's chunk
        plain.advance(500)
        store.add(trainer.snapshot(), recorder.take())
    # the weights are the plain loop's, bit for bit
    for name, array in plain.weights().items():
        np.testing.assert_array_equal(trainer.weights()[name], array)
    iterations = store.iterations()
    assert list(iterations[:21]) == list(range(21))
    assert iterations[-1] == 20_000 and len(store) <= store.capacity
    assert np.all(np.diff(iterations) > 0)
    # each point holds the weights the trainer had at its iteration
    replayed = Trainer(Config.preset("seed"))
    for iteration in (7, 100, 3000):
        point = store.nearest(iteration)
        assert abs(point.iteration - iteration) <= 0.05 * iteration
        replayed.advance(point.iteration - replayed.iteration)
        for name, array in replayed.weights().items():
            np.testing.assert_array_equal(point.weights[name], array)
        assert point.train_loss == replayed.snapshot().train_loss
    assert recorder.take() == []


def test_a_recorder_restarts_after_a_reset():
    trainer = Trainer(Config.preset("seed"))
    recorder = ReplayRecorder(trainer)
    recorder.advance(30)
    assert [p.iteration for p in recorder.take()][:3] == [0, 1, 2]
    trainer.reset()
    recorder.restart()
    recorder.advance(3)
    assert [p.iteration for p in recorder.take()] == [0, 1, 2, 3]


def test_a_recorder_stops_at_divergence():
    trainer = Trainer(
        Config(hidden=(8, 4), activation="linear", loss="bce", learning_rate=50.0)
    )  # diverges within 200 iterations
    recorder = ReplayRecorder(trainer)
    recorder.advance(2000)
    assert trainer.diverged_at is not None
    points = recorder.take()
    assert points and all(p.iteration <= trainer.iteration for p in points)
    assert all(np.all(np.isfinite(a)) for p in points for a in p.weights.values())


def test_points_arrive_before_their_snapshot():
    store = ReplayStore()
    store.add(_snapshot(0))
    points = [ReplayPoint.from_snapshot(_snapshot(i)) for i in (1, 2, 5, 9)]
    latest = _snapshot(9, history=_EMPTY)
    store.add(latest, points)  # the point at 9 is the snapshot itself
    assert list(store.iterations()) == [0, 1, 2, 5, 9]
    assert store.snapshot() is latest
    assert store.snapshot(store[2]).iteration == 2
    store.add_point(ReplayPoint.from_snapshot(_snapshot(12)))
    assert store.snapshot().iteration == 12  # a point without its own history
    store.add(_snapshot(3), [ReplayPoint.from_snapshot(_snapshot(1))])  # went back to 1
    assert list(store.iterations()) == [0, 1, 3]


def test_a_point_pickles_for_the_pipe():
    point = ReplayPoint.from_snapshot(_snapshot(42))
    copy = pickle.loads(pickle.dumps(point))
    assert copy.iteration == 42 and copy.train_loss == point.train_loss
    assert isinstance(copy.weights, MappingProxyType)
    np.testing.assert_array_equal(copy.weights["W1"], point.weights["W1"])
    assert not copy.weights["W1"].flags.writeable
    assert len(pickle.dumps(point)) < 2000


# -- resuming from a past state --------------------------------------------------------------------


def _weights_equal(a, b) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[name], b[name]) for name in a)


def test_resuming_full_batch_gradient_descent_repeats_the_run_exactly():
    trainer = Trainer(Config.preset("seed"))
    recorder = ReplayRecorder(trainer)
    store = ReplayStore()
    recorder.advance(0)
    store.add(trainer.snapshot(), recorder.take())
    for _ in range(4):
        recorder.advance(500)
        store.add(trainer.snapshot(), recorder.take())
    reference = trainer.weights()
    point = pickle.loads(pickle.dumps(store.nearest(700)))  # as it crosses the pipe
    snapshot = trainer.restore_training_state(resume_state(trainer, point))
    assert snapshot.iteration == point.iteration and trainer.diverged_at is None
    assert _weights_equal(snapshot.weights, point.weights)
    assert snapshot.history.iteration[-1] == point.iteration
    assert snapshot.seconds == point.seconds
    trainer.advance(2000 - point.iteration)
    assert trainer.iteration == 2000
    assert _weights_equal(trainer.weights(), reference)


@pytest.mark.parametrize(
    "overrides",
    [{"optimizer": "momentum"}, {"optimizer": "adam", "learning_rate": 0.01}, {"batch_size": 32}],
)
def test_resuming_other_optimizers_and_mini_batches_continues(overrides):
    trainer = Trainer(Config.preset("seed", **overrides))
    store = ReplayStore()
    store.add(trainer.snapshot())
    for _ in range(5):
        store.add(trainer.step(100))
    point = store.nearest(200)
    snapshot = trainer.restore_training_state(resume_state(trainer, point))
    assert snapshot.iteration == 200 and _weights_equal(snapshot.weights, point.weights)
    after = trainer.step(100)
    assert after.iteration == 300 and np.isfinite(after.train_loss)
    assert after.history.iteration[-1] == 300


def test_resuming_refuses_a_future_or_foreign_state():
    trainer = Trainer(Config.preset("seed"))
    ahead = Trainer(Config.preset("seed"))
    future = ReplayPoint.from_snapshot(ahead.step(50))
    trainer.step(10)
    with pytest.raises(ValueError, match="iteration 50"):
        resume_state(trainer, future)
    other = Trainer(Config.preset("seed", hidden=(3,)))
    with pytest.raises(ValueError):
        resume_state(trainer, ReplayPoint.from_snapshot(other.snapshot()))
