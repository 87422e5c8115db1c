"""SetData: the running networks go on with other points (drawn by hand), over a real pipe,
without Qt. Weights, iteration, history and optimizer state are kept; only the points change."""

from __future__ import annotations

import dataclasses
import multiprocessing

import numpy as np
import pytest

from nnviz.core import Config, Trainer, load_dataset, load_session
from nnviz.core.datasets import with_points
from nnviz.service.data_change import continued_on
from nnviz.service.protocol import (
    Configure,
    Failed,
    Pause,
    Play,
    Reset,
    Saved,
    SaveSession,
    SetData,
    SnapshotReply,
    Step,
)
from nnviz.service.server import TrainingServer

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


def drawn(data, points=((0.3, 0.4), (1.5, -0.2), (0.0, 0.9)), labels=(1, 0, 1), remove=(0, 5)):
    return with_points(data, add=np.array(points), labels=np.array(labels), remove=list(remove))


def test_set_data_keeps_the_weights_and_gd_continues_as_a_fresh_trainer_on_the_points(server):
    data = load_dataset(CONFIG)
    server.handle(Configure(1, CONFIG, data))
    server.read()
    server.handle(Step(40))
    before = server.read()
    new = drawn(data)
    server.handle(SetData(new))
    reply = server.read()
    assert isinstance(reply, SnapshotReply) and reply.run == 1
    assert reply.snapshot.iteration == 40
    for name, array in before.snapshot.weights.items():
        np.testing.assert_array_equal(reply.snapshot.weights[name], array)
    assert server.group.data is new
    # the loss is measured on the new points at once
    reference = Trainer(CONFIG, new, initial_weights=before.snapshot.weights)
    assert reply.snapshot.train_loss == reference.snapshot().train_loss
    # gradient descent has no state: 25 more iterations are those of a Trainer started there
    server.handle(Step(25))
    after = server.read()
    reference.step(25)
    for name, array in reference.weights().items():
        np.testing.assert_array_equal(after.snapshot.weights[name], array)
    assert after.snapshot.iteration == 65
    history = after.snapshot.history.iteration
    assert history[0] == 0 and history[-1] == 65  # the history goes on, not again from 0


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_set_data_keeps_the_optimizer_state(optimizer):
    config = dataclasses.replace(CONFIG, optimizer=optimizer, learning_rate=0.05)
    trainer = Trainer(config)
    trainer.step(30)
    new = drawn(trainer.data)
    carried = continued_on(trainer, new)
    kept, had = carried.optimizer.state(), trainer.optimizer.state()
    assert set(kept) == set(had)
    for key in had:
        np.testing.assert_array_equal(kept[key], had[key])
    assert np.any([np.any(had[key] != 0) for key in had])  # there was state to keep
    # and it matters: a fresh optimizer from the same weights takes another step
    fresh = Trainer(config, new, initial_weights=trainer.weights())
    carried.step(1)
    fresh.step(1)
    assert not np.array_equal(carried.params, fresh.params)
    np.testing.assert_array_equal(carried.initial_weights()["W1"], trainer.initial_weights()["W1"])


def test_mini_batches_draw_from_the_new_training_points():
    config = dataclasses.replace(CONFIG, batch_size=16)
    trainer = Trainer(config)
    trainer.step(20)
    new = drawn(
        trainer.data, points=[(0.1 * i, 0.2) for i in range(7)], labels=[i % 2 for i in range(7)]
    )
    carried = continued_on(trainer, new)
    assert len(new.x_train) == len(trainer.data.x_train) + 5
    assert sorted(carried.sampler.state()["order"]) == list(range(len(new.x_train)))
    carried.step(50)
    assert carried.iteration == 70 and carried.diverged_at is None


def test_playing_goes_on_through_set_data(server):
    data = load_dataset(CONFIG)
    server.handle(Configure(1, CONFIG, data))
    server.read()
    server.handle(Play())
    assert server.read().playing
    server.handle(SetData(drawn(data)))
    reply = server.read()
    assert reply.playing and server.playing
    server.train_for_a_while()
    assert server.group.iteration > reply.snapshot.iteration
    server.handle(Pause())


def test_reset_goes_back_to_the_initial_weights_on_the_new_points(server):
    data = load_dataset(CONFIG)
    first = (server.handle(Configure(1, CONFIG, data)), server.read())[1]
    server.handle(Step(30))
    server.read()
    new = drawn(data)
    server.handle(SetData(new))
    server.read()
    server.handle(Reset())
    reply = server.read()
    assert reply.snapshot.iteration == 0 and server.group.data is new
    for name, array in first.snapshot.weights.items():
        np.testing.assert_array_equal(reply.snapshot.weights[name], array)


def test_a_session_after_set_data_keeps_the_drawn_points_and_continues_bit_for_bit(
    server, tmp_path
):
    data = load_dataset(CONFIG)
    server.handle(Configure(1, CONFIG, data))
    server.read()
    server.handle(Step(20))
    server.read()
    new = drawn(data)
    server.handle(SetData(new))
    server.read()
    server.handle(Step(10))
    server.read()
    server.handle(SaveSession(str(tmp_path / "drawn.nnviz")))
    saved = server.read()
    assert isinstance(saved, Saved)
    loaded = load_session(saved.path)
    np.testing.assert_array_equal(loaded.data.x_train, new.x_train)
    np.testing.assert_array_equal(loaded.data.y_train, new.y_train)
    loaded.step(15)
    server.handle(Step(15))
    server.read()
    np.testing.assert_array_equal(loaded.params, server.group.trainer().params)


def test_several_seeds_each_keep_their_weights(server):
    config = dataclasses.replace(CONFIG, seeds=3)
    data = load_dataset(config)
    server.handle(Configure(1, config, data))
    server.read()
    server.handle(Step(15))
    before = server.read()
    server.handle(SetData(drawn(data)))
    reply = server.read()
    assert reply.seeds.count == 3
    np.testing.assert_array_equal(reply.seeds.params, before.seeds.params)
    server.handle(Step(5))
    assert server.read().seeds.iteration == 20


def test_points_of_another_task_are_refused_and_training_keeps_its_points(server):
    data = load_dataset(CONFIG)
    server.handle(Configure(1, CONFIG, data))
    server.read()
    other = load_dataset(Config(dataset="blobs", classes=3, loss="ce"))
    server.handle(SetData(other))
    failed = server.read()
    assert isinstance(failed, Failed) and failed.command == "SetData"
    assert "3 classes on 2 inputs" in failed.message and "2 classes" in failed.message
    assert isinstance(server.read(), SnapshotReply)
    assert server.group.data is data
