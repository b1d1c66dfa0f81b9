"""The Redis bus: doorbells over one pub/sub channel."""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio as aioredis

from liveblog.live.bus.reconnecting import ReconnectingBus

CHANNEL = "liveblog:doorbells"


class RedisBus(ReconnectingBus):
    """Publishes doorbells to a Redis channel every process subscribes to."""

    name = "redis bus"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._client = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=10
        )

    async def _listen(self, on_connected: Callable[[], None]) -> None:
        async with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(CHANNEL)
            on_connected()
            async for message in pubsub.listen():
                if message["type"] == "message":
                    self._heard(message["data"].decode())

    async def _send(self, message: str) -> None:
        await self._client.publish(CHANNEL, message)

    async def _disconnect(self) -> None:
        return None  # the pubsub context and the client's pool clean up after themselves

    async def close(self) -> None:
        await super().close()
        await self._client.aclose()
