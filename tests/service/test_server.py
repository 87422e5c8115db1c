"""The training server answers each typed command over a real pipe, without Qt."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

from nnviz.core import Config, Trainer, load_dataset, load_session
from nnviz.core.explain import StepThrough
from nnviz.service.protocol import (
    Configure,
    Explain,
    Explained,
    Failed,
    OpenSession,
    Pause,
    Play,
    Quit,
    Reset,
    Restore,
    Resume,
    RunWritten,
    Saved,
    SaveSession,
    SetSpeed,
    SetWeight,
    SetWeights,
    SnapshotReply,
    Step,
    UpdateConfig,
    WriteRun,
)
from nnviz.service.server import TrainingServer, serve

CONFIG = Config(hidden=(4,), iterations=300, samples=200)


@pytest.fixture
def server():
    """A server whose replies are read back from the far end of a real pipe."""
    commands_in, commands = multiprocessing.Pipe(duplex=False)
    replies, replies_out = multiprocessing.Pipe(duplex=False)
    server = TrainingServer(commands_in, replies_out)
    server.read = lambda: replies.recv() if replies.poll(5) else None
    yield server
    for end in (commands_in, commands, replies, replies_out):
        end.close()


def configured(server, config=CONFIG, run=1):
    server.handle(Configure(run, config, load_dataset(config)))
    return server.read()


def test_configure_replies_with_a_paused_snapshot_of_its_run(server):
    reply = configured(server, run=7)
    assert isinstance(reply, SnapshotReply)
    assert (reply.run, reply.playing, reply.snapshot.iteration) == (7, False, 0)


def test_steps_match_a_trainer_bit_for_bit(server):
    configured(server)
    server.handle(Step(25))
    reply = server.read()
    trainer = Trainer(CONFIG, load_dataset(CONFIG))
    trainer.step(25)
    assert reply.snapshot.iteration == 25
    for name, value in trainer.weights().items():
        np.testing.assert_array_equal(reply.snapshot.weights[name], value)
    assert reply.points, "the replay points recorded while stepping come with the snapshot"


def test_a_network_command_before_any_run_fails_and_the_server_keeps_serving(server):
    server.handle(Step(3))
    reply = server.read()
    assert isinstance(reply, Failed) and reply.command == "Step"
    assert "no network" in reply.message
    assert isinstance(configured(server), SnapshotReply)


def test_a_negative_step_is_refused_with_a_message(server):
    configured(server)
    server.handle(Step(-1))
    reply = server.read()
    assert isinstance(reply, Failed) and ">= 0" in reply.message


def test_reset_returns_to_the_initial_weights(server):
    first = configured(server).snapshot
    server.handle(Step(40))
    server.read()
    server.handle(Reset())
    reset = server.read().snapshot
    assert reset.iteration == 0
    for name, value in first.weights.items():
        np.testing.assert_array_equal(reset.weights[name], value)


def test_set_weight_changes_one_entry_of_the_current_weights(server):
    configured(server)
    server.handle(SetWeight("W1", (0, 1), 0.75))
    weights = server.read().snapshot.weights
    assert weights["W1"][0, 1] == 0.75


def test_set_weights_of_the_wrong_shape_fail_with_a_message(server):
    configured(server)
    server.handle(SetWeights(({"W1": np.zeros((9, 9))},)))
    reply = server.read()
    assert isinstance(reply, Failed) and reply.command == "SetWeights"


def test_update_config_changes_a_live_field(server):
    configured(server)
    server.handle(UpdateConfig(CONFIG.replace(learning_rate=0.25)))
    assert isinstance(server.read(), SnapshotReply)
    assert server.group.config.learning_rate == 0.25


def test_resume_continues_from_a_replay_point(server):
    configured(server)
    server.handle(Step(30))
    points = server.read().points
    early = next(point for point in points if point.iteration == 10)
    server.handle(Resume(early))
    assert server.read().snapshot.iteration == 10


def test_restore_continues_a_new_run_from_a_snapshot_with_its_history(server):
    config = CONFIG.replace(iterations=100)
    data = load_dataset(config)
    kept = Trainer(config, data)
    kept.step(60)
    snapshot = kept.snapshot()
    server.handle(Restore(4, config, data, snapshot))
    reply = server.read()
    assert (reply.run, reply.snapshot.iteration, reply.playing) == (4, 60, False)
    np.testing.assert_array_equal(reply.snapshot.history.train_loss, snapshot.history.train_loss)
    server.handle(Step(40))
    kept.step(40)  # plain gradient descent: the fresh optimizer changes nothing
    restored = server.read().snapshot
    for name, array in kept.weights().items():
        np.testing.assert_array_equal(restored.weights[name], array)
    assert restored.iteration == 100


def test_explain_replies_with_a_step_through(server):
    configured(server)
    server.handle(Explain())
    reply = server.read()
    assert isinstance(reply, Explained) and isinstance(reply.step, StepThrough)


def test_save_session_confirms_with_the_path_and_the_file_reopens(server, tmp_path):
    configured(server)
    server.handle(Step(12))
    server.read()
    path = tmp_path / "run.nnviz"
    server.handle(SaveSession(str(path)))
    reply = server.read()
    assert isinstance(reply, Saved) and reply.path == str(path)
    assert load_session(path).iteration == 12

    server.handle(OpenSession(2, path.read_bytes(), path.name))
    reopened = server.read()
    assert (reopened.run, reopened.snapshot.iteration) == (2, 12)


def test_a_session_that_cannot_be_written_fails_and_training_goes_on(server, tmp_path):
    configured(server)
    server.handle(Play())
    assert server.read().playing
    (tmp_path / "a file").write_text("not a folder")
    server.handle(SaveSession(str(tmp_path / "a file" / "run.nnviz")))
    reply = server.read()
    assert isinstance(reply, Failed) and reply.command == "SaveSession"
    after = server.read()  # the state after the failure, for the window
    assert isinstance(after, SnapshotReply) and after.playing


def test_write_run_lists_the_files_it_wrote(server, tmp_path):
    configured(server)
    server.handle(WriteRun(str(tmp_path / "out")))
    reply = server.read()
    assert isinstance(reply, RunWritten)
    assert len(reply.paths) >= 5
    for path in reply.paths:
        assert (tmp_path / "out").joinpath(path).is_file()


@pytest.fixture
def serving():
    """`serve` in a thread, with the window's ends of both pipes."""
    commands_in, commands = multiprocessing.Pipe(duplex=False)
    replies, replies_out = multiprocessing.Pipe(duplex=False)
    worker = threading.Thread(target=serve, args=(commands_in, replies_out))
    worker.start()
    yield commands, replies
    commands.send(Quit())
    worker.join(10)
    assert not worker.is_alive()


def replies_until(replies, done):
    """Replies read until `done(reply)`; fails if the server stops answering."""
    seen = []
    while not seen or not done(seen[-1]):
        assert replies.poll(10), "the server stopped answering"
        seen.append(replies.recv())
    return seen


def test_a_long_step_ends_early_on_pause(serving):
    commands, replies = serving
    config = CONFIG.replace(iterations=10**8)
    commands.send(Configure(1, config, load_dataset(config)))
    commands.send(Step(10**8))  # hours of training
    commands.send(Pause())
    seen = replies_until(replies, lambda r: isinstance(r, SnapshotReply) and r.snapshot.iteration)
    assert 0 < seen[-1].snapshot.iteration < 10**8 and not seen[-1].playing


def test_commands_after_a_step_see_its_end(serving):
    """Explain after Step explains the iteration after the step, however long it is."""
    commands, replies = serving
    commands.send(Configure(1, CONFIG, load_dataset(CONFIG)))
    commands.send(Step(5000))
    commands.send(Explain())
    seen = replies_until(replies, lambda r: isinstance(r, Explained))
    assert seen[-1].step.iteration == 5000
    assert [r.snapshot.iteration for r in seen if isinstance(r, SnapshotReply)][-1] == 5000


def test_the_loop_plays_to_the_target(serving):
    """`serve` trains while playing and sends the final snapshot, paused."""
    commands, replies = serving
    config = CONFIG.replace(iterations=500)
    commands.send(Configure(1, config, load_dataset(config)))
    commands.send(SetSpeed(None))
    commands.send(Play())
    seen = replies_until(replies, lambda r: r.snapshot.iteration == 500)
    assert seen[-1].playing is False
