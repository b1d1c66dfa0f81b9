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


Listener = Callable[[Doorbell], None]


class Bus(ABC):
    """Rings doorbells to every process (this one included) and hands incoming ones on."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

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

    @abstractmethod
    async def ring(self, doorbell: Doorbell) -> None:
        """Tell every process about new events; never raises for a lost message."""
