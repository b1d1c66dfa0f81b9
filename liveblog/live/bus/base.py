"""The bus interface. It carries doorbells only: the database stays the truth."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Doorbell:
    """Story `story_id` has events up to at least `seq`."""

    story_id: int
    seq: int

    def encode(self, sender: str) -> str:
        """The wire form, tagged with the sending process so it can skip its own."""
        return f"{sender}:{self.story_id}:{self.seq}"

    @staticmethod
    def decode(message: str) -> tuple[str, Doorbell]:
        """(sender, doorbell) from the wire form; ValueError when malformed."""
        sender, story_id, seq = message.split(":")
        return sender, Doorbell(int(story_id), int(seq))


Listener = Callable[[Doorbell], None]


class Bus(ABC):
    """Rings doorbells to every process (this one included) and hands incoming ones on."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.connected: bool | None = True  # None: not tried yet; False: down
        self.reconnects = 0

    def listen(self, listener: Listener) -> None:
        """Call listener (in the event loop, without awaiting) for every doorbell heard."""
        self._listeners.append(listener)

    def _deliver(self, doorbell: Doorbell) -> None:
        for listener in self._listeners:
            listener(doorbell)

    async def start(self) -> None:  # noqa: B027 - a backend without a connection needs none
        """Connect; called once at start-up."""

    async def close(self) -> None:  # noqa: B027
        """Disconnect; called once at shutdown."""

    async def ring(self, doorbell: Doorbell) -> None:
        """Tell this process's hub now and every other process soon; never raises: a lost
        doorbell only delays readers until the hub's periodic check."""
        self._deliver(doorbell)
        await self._broadcast(doorbell)

    @abstractmethod
    async def _broadcast(self, doorbell: Doorbell) -> None:
        """Send the doorbell to the other processes."""
