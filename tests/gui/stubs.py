"""Stand-ins for the training thread, so controllers and widgets are tested without a process."""

from __future__ import annotations

from nnviz.core import Config, Dataset
from nnviz.service.protocol import Command, Configure, OpenSession, SnapshotReply


class RecordingClient:
    """Records every command; `take()` hands out replies a test queued with `deliver`."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.run = 0
        self._mailbox: SnapshotReply | None = None

    def send(self, command: Command) -> None:
        self.commands.append(command)

    def configure(self, config: Config, dataset: Dataset) -> None:
        self.run, self._mailbox = self.run + 1, None
        self.send(Configure(self.run, config, dataset))

    def open_session(self, data: bytes, name: str) -> None:
        self.run, self._mailbox = self.run + 1, None
        self.send(OpenSession(self.run, data, name))

    def take(self) -> SnapshotReply | None:
        reply, self._mailbox = self._mailbox, None
        return reply

    def deliver(self, reply: SnapshotReply) -> None:
        self._mailbox = reply

    def sent(self, kind: type) -> list[Command]:
        """The commands of one type, in the order they were sent."""
        return [command for command in self.commands if isinstance(command, kind)]
