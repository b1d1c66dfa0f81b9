"""The in-process bus: the embedded default, and the test double for the others."""

from __future__ import annotations

from liveblog.live.bus.base import Bus, Doorbell


class MemoryBus(Bus):
    """Delivers each doorbell straight to this process's listeners."""

    async def ring(self, doorbell: Doorbell) -> None:
        self._deliver(doorbell)
