"""Stand-ins for the training thread, so controllers and widgets are tested without a process."""

from __future__ import annotations

from nnviz.core import Config, Dataset, Snapshot
from nnviz.service.protocol import Command, Configure, OpenSession, Restore, SnapshotReply
from nnviz.service.seeds import SeedStates


class RecordingClient:
    """Records every command; `take()` hands out replies a test queued with `deliver`."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.run = 0
        self._mailbox: SnapshotReply | None = None
        self.process_alive = True
        self.restarts = 0

    def send(self, command: Command) -> None:
        self.commands.append(command)

    def configure(self, config: Config, dataset: Dataset) -> None:
        self.run, self._mailbox = self.run + 1, None
        self.send(Configure(self.run, config, dataset))

    def open_session(self, data: bytes, name: str) -> None:
        self.run, self._mailbox = self.run + 1, None
        self.send(OpenSession(self.run, data, name))

    def restore(
        self, config: Config, dataset: Dataset, snapshot: Snapshot, seeds: SeedStates | None
    ) -> None:
        self.run, self._mailbox = self.run + 1, None
        self.send(Restore(self.run, config, dataset, snapshot, seeds))

    def restart(self) -> None:
        """As the thread's restart: a live process again."""
        self.restarts += 1
        self.process_alive = True

    def take(self) -> SnapshotReply | None:
        reply, self._mailbox = self._mailbox, None
        return reply

    def deliver(self, reply: SnapshotReply) -> None:
        self._mailbox = reply

    def sent(self, kind: type) -> list[Command]:
        """The commands of one type, in the order they were sent."""
        return [command for command in self.commands if isinstance(command, kind)]
