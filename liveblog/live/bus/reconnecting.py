"""What the network buses share: a listener that reconnects with backoff, logging each outage
once, and sends that never block or fail the write that rang.

An outage lasts until a connection has held for stable_after seconds: one that drops sooner
(a reset just after a restarted server took the subscription, say) is the same outage, so
it is logged once and counted as one reconnect."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from abc import abstractmethod
from contextlib import suppress

from liveblog.live.bus.base import Bus, Doorbell
from liveblog.settings import redact_url

log = logging.getLogger("liveblog.bus")
MIN_BACKOFF, MAX_BACKOFF = 0.5, 10.0
SEND_TIMEOUT = 2.0
STABLE_AFTER = 10.0


class ReconnectingBus(Bus):
    """A bus over a network connection that may drop; subclasses say how to listen and send."""

    name = "bus"
    # Class attributes, so a test double can run an outage in milliseconds.
    min_backoff, max_backoff, stable_after = MIN_BACKOFF, MAX_BACKOFF, STABLE_AFTER

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.sender = secrets.token_hex(6)
        self.connected = None
        self._listener: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._outage = False  # an outage has been logged and has not yet ended
        self._back = False  # a connection was made during it (logged and counted)
        self._connected_at = 0.0

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
        backoff = self.min_backoff
        while True:
            try:
                await self._listen(self._on_connected)
                raise ConnectionError("listener stopped")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # every failure means: reconnect
                if self.connected:  # a connection that worked: retry soon
                    backoff = self.min_backoff
                self._on_failed(error)
                await self._disconnect()
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, self.max_backoff)

    def _on_failed(self, error: Exception) -> None:
        held = self.connected and time.monotonic() - self._connected_at >= self.stable_after
        if self._outage and not held:  # log an outage once, not every retry or flap
            log.debug("%s: still unavailable (%s)", self.name, error)
        else:
            log.warning(
                "%s: unavailable (%s); retrying with backoff",
                self.name,
                error,
                extra={"bus": self.name},
            )
            self._outage, self._back = True, False
        self.connected = False

    def _on_connected(self) -> None:
        self._connected_at = time.monotonic()
        if self._back:  # it dropped again soon after coming back: still the same outage
            log.debug("%s: connected again to %s", self.name, redact_url(self.url))
        else:
            if self.connected is False:
                self.reconnects += 1
            log.info(
                "%s: connected to %s", self.name, redact_url(self.url), extra={"bus": self.name}
            )
            self._back = self._outage
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
