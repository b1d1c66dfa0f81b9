"""The PostgreSQL bus: doorbells by LISTEN/NOTIFY, for operators who run no Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress

import asyncpg

from liveblog.live.bus.reconnecting import ReconnectingBus

CHANNEL = "liveblog_doorbells"
HEALTH_INTERVAL = 5.0


class PostgresBus(ReconnectingBus):
    """One connection LISTENs; NOTIFY goes out on a second, so sends never wait on reads."""

    name = "postgresql bus"

    def __init__(self, url: str) -> None:
        super().__init__(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        self._listening: asyncpg.Connection | None = None
        self._sending: asyncpg.Connection | None = None
        self._send_lock = asyncio.Lock()

    async def _listen(self, on_connected: Callable[[], None]) -> None:
        lost = asyncio.Event()
        self._listening = await asyncpg.connect(self.url, timeout=5)
        self._listening.add_termination_listener(lambda _conn: lost.set())
        await self._listening.add_listener(CHANNEL, lambda *args: self._heard(args[3]))
        on_connected()
        # A dead server is not always noticed by a silent LISTEN: ask it something now and then.
        while not lost.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), HEALTH_INTERVAL)
            await self._listening.fetchval("SELECT 1", timeout=5)
        raise ConnectionError("the LISTEN connection closed")

    async def _send(self, message: str) -> None:
        async with self._send_lock:
            if self._sending is None or self._sending.is_closed():
                self._sending = await asyncpg.connect(self.url, timeout=2)
            try:
                await self._sending.execute("SELECT pg_notify($1, $2)", CHANNEL, message)
            except Exception:
                await _close(self._sending)
                self._sending = None
                raise

    async def _disconnect(self) -> None:
        await _close(self._listening)
        self._listening = None

    async def close(self) -> None:
        await super().close()
        await _close(self._sending)


async def _close(connection: asyncpg.Connection | None) -> None:
    if connection is not None and not connection.is_closed():
        with suppress(Exception):
            await asyncio.wait_for(connection.close(), 2)
