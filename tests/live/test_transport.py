"""The direct-writing protocol is used only on a uvicorn whose private class fits it."""

from __future__ import annotations

import logging

import pytest
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from liveblog.live.transport import LiveWebSocketProtocol, live_protocol, misfit


def test_the_installed_uvicorn_fits(caplog: pytest.LogCaptureFixture) -> None:
    # Fails on a uvicorn (inside our pinned range) that would quietly lose direct writes.
    assert misfit(WebSocketsSansIOProtocol) is None
    with caplog.at_level(logging.WARNING):
        assert live_protocol() is LiveWebSocketProtocol
    assert caplog.records == []


class Fits:
    """What LiveWebSocketProtocol relies on, in the shape uvicorn's class has it."""

    def __init__(self) -> None:
        self.conn = self.queue = self.transport = self.loop = self.ping_interval = None
        self.close_sent = False
        self.pending_ping_payload = None
        self.ping_sent_at = 0.0

    def handle_connect(self, event: object) -> None:
        self.scope: dict = {"extensions": {}}

    def data_received(self, data: bytes) -> None:
        pass

    async def send(self, message: dict) -> None:
        self.queue.put_nowait(message)  # type: ignore[attr-defined]

    def start_keepalive(self) -> None:
        pass

    def stop_keepalive(self) -> None:
        pass

    def keepalive_timeout(self) -> None:
        pass


class SendIsPlain(Fits):
    """send() is no longer a coroutine."""

    def send(self, message: dict) -> None:  # type: ignore[override]
        pass


class NoScope:
    """Keeps the scope somewhere else."""

    def __init__(self) -> None:
        self.conn = self.queue = self.transport = self.loop = self.ping_interval = None
        self.close_sent = False
        self.pending_ping_payload = None
        self.ping_sent_at = 0.0

    def handle_connect(self, event: object) -> None:
        self.request = event

    send = Fits.send
    data_received = Fits.data_received
    start_keepalive = stop_keepalive = keepalive_timeout = Fits.keepalive_timeout


class NoPingTimeout(Fits):
    """Has no keepalive_timeout for the sweep to call."""

    keepalive_timeout = None  # type: ignore[assignment]


class QueueSize(Fits):
    """Asks its receive queue for more than LeanReceiveQueue offers."""

    async def send(self, message: dict) -> None:
        if self.queue.qsize() > 1:  # type: ignore[attr-defined]
            return


@pytest.mark.parametrize(
    ("base", "problem"),
    [
        (Fits, None),
        (None, "this uvicorn has no sans-I/O WebSocket protocol"),
        (SendIsPlain, "SendIsPlain.send is not the coroutine method we use"),
        (NoScope, "NoScope does not set scope"),
        (NoPingTimeout, "NoPingTimeout.keepalive_timeout is not the plain method we use"),
        (QueueSize, "QueueSize calls queue.qsize, which LeanReceiveQueue lacks"),
    ],
)
def test_a_misfit_is_named(base: type | None, problem: str | None) -> None:
    assert misfit(base) == problem
