"""What the network buses share: a listener that reconnects with backoff, logging each outage
once, and sends that never block or fail the write that rang."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from abc import abstractmethod
from contextlib import suppress

from liveblog.live.bus.base import Bus, Doorbell
from liveblog.settings import redact_url

log = logging.getLogger("liveblog.bus")
MIN_BACKOFF, MAX_BACKOFF = 0.5, 10.0
SEND_TIMEOUT = 2.0


class ReconnectingBus(Bus):
    """A bus over a network connection that may drop; subclasses say how to listen and send."""

    name = "bus"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.sender = secrets.token_hex(6)
        self.connected = None
        self._listener: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen_forever())

    async def close(self) -> None:
        for task in [self._listener, *self._sends]:
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await task
        await self._disconnect()

    async def _broadcast(self, doorbell: Doorbell) -> None:
        # In the background: a slow or absent bus must not hold up the write that rang.
        task = asyncio.create_task(self._send_quietly(doorbell.encode(self.sender)))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send_quietly(self, message: str) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await self._send(message)
        except Exception as error:  # any failure only delays readers
            log.debug("%s: doorbell not sent (%s)", self.name, error)

    def _heard(self, message: str) -> None:
        try:
            sender, doorbell = Doorbell.decode(message)
        except ValueError:
            log.warning("%s: ignoring malformed doorbell %r", self.name, message[:80])
            return
        if sender != self.sender:
            self._deliver(doorbell)

    async def _listen_forever(self) -> None:
        backoff = MIN_BACKOFF
        while True:
            try:
                await self._listen(self._on_connected)
                raise ConnectionError("listener stopped")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # every failure means: reconnect
                if self.connected is not False:  # log an outage once, not every retry
                    log.warning(
                        "%s: unavailable (%s); retrying with backoff",
                        self.name,
                        error,
                        extra={"bus": self.name},
                    )
                    backoff = MIN_BACKOFF
                self.connected = False
                await self._disconnect()
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _on_connected(self) -> None:
        if self.connected is False:
            self.reconnects += 1
        log.info("%s: connected to %s", self.name, redact_url(self.url), extra={"bus": self.name})
        self.connected = True

    @abstractmethod
    async def _listen(self, on_connected) -> None:  # type: ignore[no-untyped-def]
        """Connect, call on_connected(), then hand each message to self._heard until the
        connection fails (raise)."""

    @abstractmethod
    async def _send(self, message: str) -> None:
        """Publish one message to every process."""

    @abstractmethod
    async def _disconnect(self) -> None:
        """Drop any connection, ignoring errors."""
