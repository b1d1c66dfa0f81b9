"""The Redis bus: doorbells over one pub/sub channel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import redis.asyncio as aioredis

from liveblog.live.bus.reconnecting import ReconnectingBus

CHANNEL = "liveblog:doorbells"
HEALTH_INTERVAL = 5.0


class RedisBus(ReconnectingBus):
    """Publishes doorbells to a Redis channel every process subscribes to."""

    name = "redis bus"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        # The timeout bounds connecting and commands; pub/sub reads wait as long as they ask.
        self._client = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=HEALTH_INTERVAL
        )

    async def _listen(self, on_connected: Callable[[], None]) -> None:
        async with self._client.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            # Connected once Redis confirms the subscription, not when the command is sent.
            confirmation = await pubsub.get_message(timeout=HEALTH_INTERVAL)
            if confirmation is None or confirmation["type"] != "subscribe":
                raise ConnectionError("Redis did not confirm the subscription")
            on_connected()
            # A vanished server is not noticed by a silent subscription (no reset ever comes):
            # ping it when all is quiet, and give up on it when not even the pong comes back.
            loop = asyncio.get_running_loop()
            pinged_at: float | None = None
            while True:
                message = await pubsub.get_message(timeout=HEALTH_INTERVAL)
                if message is not None:
                    pinged_at = None
                    if message["type"] == "message":
                        self._heard(message["data"].decode())
                elif pinged_at is None:
                    await pubsub.ping()
                    pinged_at = loop.time()
                elif loop.time() - pinged_at >= HEALTH_INTERVAL:
                    raise ConnectionError(f"no answer from Redis in {HEALTH_INTERVAL:.0f}s")

    async def _send(self, message: str) -> None:
        await self._client.publish(CHANNEL, message)

    async def _disconnect(self) -> None:
        return None  # the pubsub context and the client's pool clean up after themselves

    async def close(self) -> None:
        await super().close()
        await self._client.aclose()
