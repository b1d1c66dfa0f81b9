"""The in-process bus: the embedded default, and the test double for the others."""

from __future__ import annotations

from liveblog.live.bus.base import Bus, Doorbell


class MemoryBus(Bus):
    """One process: ring() delivers to this process's hub, and there is nobody else."""

    async def _broadcast(self, doorbell: Doorbell) -> None:
        return None
