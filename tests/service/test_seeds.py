"""Runs of several weight seeds in the training server: every seed bit for bit its own Trainer,
selection, the loss band, replay, resume, sessions, run folders and weights (no Qt)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import queue
import threading

import numpy as np
import pytest

from nnviz.core import Config, Trainer, load_dataset
from nnviz.core.config import seed_configs
from nnviz.core.files import load_weights, save_weights, split_seed_weights, stack_seed_weights
from nnviz.core.network import Layout
from nnviz.core.session import load_seeds_session
from nnviz.core.spread import spread
from nnviz.core.sweep import SweepRow, measure
from nnviz.service.protocol import (
    Configure,
    Failed,
    OpenSession,
    Restore,
    Resume,
    RunWritten,
    Saved,
    SaveSession,
    SelectSeed,
    SetWeight,
    SetWeights,
    SnapshotReply,
    Step,
    UpdateConfig,
    WriteRun,
)
from nnviz.service.seeds import HIGH, LOW, MEDIAN, LossBand, SeedGroup, write_seeds_run
from nnviz.service.server import TrainingServer

CONFIG = Config(hidden=(4,), iterations=300, samples=200, seeds=4, learning_rate=0.5)
DATA = load_dataset(CONFIG)
LAYOUT = Layout(CONFIG.hidden, 2)
END = "end of the replies"


@pytest.fixture
def server():
    """A server whose replies a thread reads from the far end of a real pipe, as the window's
    training thread does (a reply with several seeds' states can outgrow the pipe's buffer)."""
    commands_in, commands = multiprocessing.Pipe(duplex=False)
    replies, replies_out = multiprocessing.Pipe(duplex=False)
    received: queue.Queue = queue.Queue()

    def read_replies() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                received.put(replies.recv())

    reader = threading.Thread(target=read_replies, daemon=True)
    reader.start()
    server = TrainingServer(commands_in, replies_out)

    def answers(command) -> list:
        """Every reply to `command`, in order (a long Step sends several)."""
        server.handle(command)
        replies_out.send(END)
        seen = []
        while (reply := received.get(timeout=10)) != END:
            seen.append(reply)
        return seen

    server.answers = answers
    server.answer = lambda command: answers(command)[-1]
    yield server
    replies_out.close()
    reader.join(5)
    for end in (commands_in, commands, replies):
        end.close()


def configured(server, config=CONFIG):
    return server.answer(Configure(1, config, DATA))


def merged(server, command) -> SnapshotReply:
    """The replies to `command` merged as the window's mailbox merges them: the newest state
    with every replay point on the way."""
    replies = server.answers(command)
    points = tuple(p for r in replies for p in r.points)
    states = tuple(s for r in replies for s in r.seed_points)
    return dataclasses.replace(replies[-1], points=points, seed_points=states)


def trainers(steps: int, config: Config = CONFIG) -> list[Trainer]:
    """Each seed trained on its own, as the reference."""
    own = [Trainer(c, DATA) for c in seed_configs(config)]
    for trainer in own:
        trainer.advance(steps)
    return own


def assert_same_weights(params: np.ndarray, reference: list[Trainer]) -> None:
    for k, trainer in enumerate(reference):
        np.testing.assert_array_equal(params[k], LAYOUT.from_weights(trainer.weights()))


def test_several_seeds_train_together_each_as_its_own_trainer(server):
    first = configured(server)
    assert first.seeds.count == 4 and first.seeds.selected == 0
    assert first.seeds.weight_seed == CONFIG.weight_seed
    reply = server.answer(Step(50))
    reference = trainers(50)
    assert reply.seeds.iteration == 50
    assert_same_weights(reply.seeds.params, reference)
    for name, array in reference[0].weights().items():
        np.testing.assert_array_equal(reply.snapshot.weights[name], array)
    np.testing.assert_array_equal(
        reply.seeds.scores[:, 1], [t.snapshot().test_loss for t in reference]
    )


def test_one_seed_sends_no_seed_states(server):
    reply = configured(server, CONFIG.replace(seeds=1))
    assert reply.seeds is None and reply.seed_points == ()


def test_select_seed_sends_that_seeds_snapshot_and_history(server):
    configured(server)
    server.answer(Step(40))
    reply = server.answer(SelectSeed(2))
    reference = trainers(40)[2]
    assert reply.seeds.selected == 2
    for name, array in reference.weights().items():
        np.testing.assert_array_equal(reply.snapshot.weights[name], array)
    np.testing.assert_array_equal(
        reply.snapshot.history.train_loss, reference.history.arrays().train_loss
    )
    failed = server.answers(SelectSeed(4))[0]
    assert isinstance(failed, Failed) and "no seed 4" in failed.message


def test_the_loss_band_is_the_median_min_and_max_of_the_seeds_histories(server):
    configured(server)
    band = server.answer(Step(120)).seeds.band
    histories = [t.history.arrays() for t in server.group.trainers()]
    np.testing.assert_array_equal(band.iteration, histories[0].iteration)
    losses = np.array([h.test_loss for h in histories])
    np.testing.assert_array_equal(band.test[MEDIAN], np.median(losses, 0))
    np.testing.assert_array_equal(band.test[LOW], losses.min(0))
    np.testing.assert_array_equal(band.test[HIGH], losses.max(0))
    cut = band.cut(50)
    assert cut.iteration[-1] == 50 and cut.train.shape == (3, len(cut.iteration))


def test_a_band_counts_a_stopped_seed_only_where_its_history_reaches():
    long = Trainer(CONFIG, DATA)
    long.advance(80)
    short = Trainer(CONFIG.replace(weight_seed=1), DATA)
    short.advance(30)
    band = LossBand.of([long.history.arrays(), short.history.arrays()])
    np.testing.assert_array_equal(band.iteration, long.history.arrays().iteration)
    late = band.iteration > 30
    np.testing.assert_array_equal(band.train[MEDIAN, late], long.history.arrays().train_loss[late])


def test_every_replay_point_comes_with_every_seeds_state(server):
    configured(server)
    reply = merged(server, Step(30))
    assert len(reply.seed_points) == len(reply.points) > 0
    for point, states in zip(reply.points, reply.seed_points):
        assert states.iteration == point.iteration and states.band is None
    at_ten = next(s for s in reply.seed_points if s.iteration == 10)
    assert_same_weights(at_ten.params, trainers(10))


def test_resume_takes_every_seed_back_to_the_point(server):
    configured(server)
    reply = merged(server, Step(30))
    index = next(i for i, p in enumerate(reply.points) if p.iteration == 10)
    resumed = server.answer(Resume(reply.points[index], reply.seed_points[index]))
    assert resumed.snapshot.iteration == 10 == resumed.seeds.iteration
    assert_same_weights(server.answer(Step(20)).seeds.params, trainers(30))  # gd: exact


def test_update_config_reaches_every_seed(server):
    configured(server)
    server.answer(UpdateConfig(CONFIG.replace(learning_rate=0.05)))
    params = server.answer(Step(20)).seeds.params
    assert_same_weights(params, trainers(20, CONFIG.replace(learning_rate=0.05)))


def test_set_weight_changes_the_selected_seed_only(server):
    before = configured(server).seeds.params
    server.answer(SelectSeed(1))
    reply = server.answer(SetWeight("W1", (0, 1), 0.75))
    assert reply.snapshot.weights["W1"][0, 1] == 0.75
    changed = np.flatnonzero((reply.seeds.params != before).any(axis=1))
    assert list(changed) == [1]


def test_set_weights_for_every_seed_or_a_refusal(server):
    configured(server)
    weights = [{name: a + k for name, a in t.weights().items()} for k, t in enumerate(trainers(0))]
    params = server.answer(SetWeights(tuple(weights))).seeds.params
    for k in range(4):
        np.testing.assert_array_equal(params[k], LAYOUT.from_weights(weights[k]))
    reply = server.answers(SetWeights(tuple(weights[:3])))[0]
    assert isinstance(reply, Failed) and "3 seeds" in reply.message


def test_a_session_of_several_seeds_reopens_with_all_of_them(server, tmp_path):
    configured(server)
    server.answer(Step(25))
    path = tmp_path / "seeds.nnviz"
    assert isinstance(server.answer(SaveSession(str(path))), Saved)
    reopened = load_seeds_session(path)
    assert [t.config.weight_seed for t in reopened] == [CONFIG.weight_seed + k for k in range(4)]
    reply = server.answer(OpenSession(2, path.read_bytes(), path.name))
    assert (reply.run, reply.seeds.count, reply.seeds.iteration) == (2, 4, 25)
    assert_same_weights(server.answer(Step(15)).seeds.params, trainers(40))


def test_the_run_folder_of_several_seeds(server, tmp_path):
    configured(server)
    server.answer(Step(60))
    out = tmp_path / "run"
    reply = server.answer(WriteRun(str(out)))
    assert isinstance(reply, RunWritten)
    reference = trainers(60)
    for k in range(4):
        assert (out / f"seed{k}" / "weights.npz").is_file()
        config = json.loads((out / f"seed{k}" / "config.json").read_text())
        assert config["weight_seed"] == CONFIG.weight_seed + k
    rows = (out / "seeds.csv").read_text().splitlines()
    assert rows[0].startswith("seed,weight_seed,iteration") and len(rows) == 5
    aucs = [t.evaluate().test.auc for t in reference]
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["test_auc"]["mean"] == pytest.approx(np.mean(aucs), abs=1e-15)
    assert summary["test_auc"]["sd"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-15)
    weights = split_seed_weights(load_weights(out / "weights.npz"))
    assert_same_weights(np.array([LAYOUT.from_weights(w) for w in weights]), reference)
    assert list(load_weights(out / "weights.npz")["seeds"]) == [
        CONFIG.weight_seed + k for k in range(4)
    ]


def test_a_run_folder_from_the_callers_fast_metrics_equals_one_evaluated_in_full(tmp_path):
    """`nnviz train --seeds` hands write_seeds_run the fast metrics it printed, each seed
    evaluated once; every file is byte for byte the one a full evaluation writes."""
    group = SeedGroup.start(CONFIG, DATA)
    group.advance(50)
    own = write_seeds_run(tmp_path / "own", group)
    evaluated = [(trainer, trainer.evaluate(full=False)) for trainer in group.trainers()]
    given = write_seeds_run(tmp_path / "given", group, evaluated)
    assert [p.relative_to(tmp_path / "given") for p in given] == [
        p.relative_to(tmp_path / "own") for p in own
    ]
    for mine, theirs in zip(given, own):
        assert mine.read_bytes() == theirs.read_bytes(), mine.name


def test_restore_continues_every_seed_from_the_windows_newest_state(server):
    first = configured(server)
    newest = server.answer(Step(30))
    reply = server.answer(Restore(5, CONFIG, DATA, newest.snapshot, newest.seeds))
    assert (reply.run, reply.seeds.iteration) == (5, 30)
    np.testing.assert_array_equal(reply.seeds.params, newest.seeds.params)
    assert first.seeds.count == reply.seeds.count


def test_a_diverging_seed_stops_alone(server, tmp_path):
    start = [t.weights() for t in trainers(0)]
    huge = {"W1": np.full((2, 4), 1e200), "W2": np.full((4, 1), 1e200)}  # logits of +-inf
    start[1] = {**start[1], **huge}
    path = save_weights(
        tmp_path / "start.npz",
        stack_seed_weights(start, [CONFIG.weight_seed + k for k in range(4)]),
    )
    config = CONFIG.replace(init_weights=str(path), activation="linear", loss="bce")
    configured(server, config)
    reply = server.answer(Step(40))
    assert isinstance(reply, SnapshotReply)
    assert reply.seeds.diverged_at[1] is not None
    assert [reply.seeds.diverged_at[k] for k in (0, 2, 3)] == [None] * 3
    assert reply.seeds.iteration == 40 and "1 of 4 seeds diverged" in reply.message


def test_an_initial_weights_file_of_the_wrong_seed_count_is_refused(tmp_path):
    start = [t.weights() for t in trainers(0)][:3]
    path = save_weights(tmp_path / "three.npz", stack_seed_weights(start, [1, 2, 3]))
    with pytest.raises(ValueError, match="3 seeds, not 4"):
        SeedGroup.start(CONFIG.replace(init_weights=str(path)), DATA)


def test_the_spread_over_seeds_leaves_undefined_values_out():
    """A seed whose AUC is undefined (one class in a split) counts in neither the mean nor the
    spread; `nnviz train --seeds`, metrics.json, the window and sweeps all use this."""
    summary = spread([0.9, float("nan"), 0.7])
    assert summary.mean == pytest.approx(0.8) and summary.sd == pytest.approx(2**0.5 / 10)
    assert (summary.min, summary.max, summary.count) == (0.7, 0.9, 2)
    assert list(summary.to_dict()) == ["mean", "sd", "min", "max"]
    assert (spread([0.75]).sd, spread([0.75]).count) == (0.0, 1)
    nothing = spread(np.array([float("nan")]))
    assert nothing.count == 0 and all(np.isnan(value) for value in nothing.to_dict().values())


def test_a_sweep_rows_statistics_are_the_spread_of_its_runs():
    """A sweep's repeats and a run of several seeds share one spread: the same numbers, bit for
    bit, and a run whose AUC is undefined left out of both."""
    runs = [measure(trainer) for trainer in trainers(40)[:3]]
    aucs = [run.test_auc for run in runs]
    row = SweepRow("learning_rate", 0.5, tuple(runs))
    expected = spread(aucs)
    assert (row.mean("test_auc"), row.std("test_auc")) == (expected.mean, expected.sd)
    assert (row.min("test_auc"), row.max("test_auc")) == (expected.min, expected.max)
    assert row.std("test_auc") == float(np.std(aucs, ddof=1))
    undefined = dataclasses.replace(runs[1], test_auc=float("nan"))
    row = SweepRow("learning_rate", 0.5, (runs[0], undefined, runs[2]))
    assert row.test_auc == float(np.mean([aucs[0], aucs[2]]))
    assert row.std("test_auc") == float(np.std([aucs[0], aucs[2]], ddof=1))
