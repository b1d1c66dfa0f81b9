"""A network bus's outages, in-process: each is logged once and counted as one reconnect, a
drop right after coming back included; only a connection that held makes the next drop a new
outage. The network is a script of connections (refused, or held a while, then reset)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from liveblog.live.bus.reconnecting import ReconnectingBus

REFUSED = None  # a script step: the connection is refused
FOREVER = 3600.0
STABLE = 0.3


class ScriptedBus(ReconnectingBus):
    """Connects as its script says: each step refuses, or connects and resets after a while."""

    name = "scripted bus"
    min_backoff, max_backoff, stable_after = 0.005, 0.01, STABLE

    def __init__(self, script: list[float | None]) -> None:
        super().__init__("redis://127.0.0.1:1/0")
        self.script = script

    async def _listen(self, on_connected: Callable[[], None]) -> None:
        step = self.script.pop(0) if self.script else FOREVER
        if step is REFUSED:
            raise ConnectionRefusedError("connection refused")
        on_connected()
        await asyncio.sleep(step)
        raise ConnectionResetError("connection reset by peer")

    async def _send(self, message: str) -> None:
        return None

    async def _disconnect(self) -> None:
        return None


async def run(script: list[float | None], caplog: pytest.LogCaptureFixture) -> ScriptedBus:
    """Start a bus on script and wait until the script has run and the bus is connected."""
    bus = ScriptedBus(script)
    caplog.set_level(logging.INFO, logger="liveblog.bus")
    await bus.start()
    deadline = time.monotonic() + 5
    while bus.script or not bus.connected:
        assert time.monotonic() < deadline, f"script left: {bus.script}"
        await asyncio.sleep(0.005)
    await bus.close()
    return bus


def lines(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if needle in r.getMessage()]


async def test_an_outage_is_logged_once_however_often_it_is_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = await run([STABLE * 2, REFUSED, REFUSED, REFUSED], caplog)
    assert lines(caplog, "unavailable") == [
        "scripted bus: unavailable (connection reset by peer); retrying with backoff"
    ]
    assert len(lines(caplog, "connected to")) == 2  # at start, and after
    assert bus.reconnects == 1


async def test_a_drop_right_after_coming_back_is_the_same_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Reset, refused while it is down, back, and reset again at once (a restarted server).
    bus = await run([STABLE * 2, REFUSED, REFUSED, 0.0, REFUSED, 0.0], caplog)
    assert len(lines(caplog, "unavailable")) == 1
    assert len(lines(caplog, "connected to")) == 2
    assert bus.reconnects == 1


async def test_a_drop_after_the_connection_held_is_a_new_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = await run([STABLE * 2, REFUSED, 0.0, REFUSED, STABLE * 2, REFUSED], caplog)
    assert len(lines(caplog, "unavailable")) == 2
    assert len(lines(caplog, "connected to")) == 3
    assert bus.reconnects == 2


async def test_a_bus_down_at_start_logs_it_once(caplog: pytest.LogCaptureFixture) -> None:
    bus = await run([REFUSED, REFUSED, 0.0, REFUSED], caplog)
    assert lines(caplog, "unavailable") == [
        "scripted bus: unavailable (connection refused); retrying with backoff"
    ]
    assert len(lines(caplog, "connected to")) == 1
    assert bus.reconnects == 1
