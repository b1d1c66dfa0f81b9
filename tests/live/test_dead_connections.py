"""Readers that vanish without closing are found by ping/pong and dropped."""

from __future__ import annotations

import os
import socket
import time
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tests.live.readers import post, silent_websocket
from tests.support import LiveServer, own_live_story


def _live_story(
    folder: Path, standard_ws: bool
) -> AbstractContextManager[tuple[LiveServer, httpx.Client, str]]:
    """A server pinging every second, an editor's client and a live story."""
    return own_live_story(folder, {"LIVEBLOG_WS_PING_INTERVAL": "1"}, standard_ws)


# standard-ws: under uvicorn's standard WebSocket protocol, serve's fallback (no direct writes)
@pytest.mark.parametrize("standard_ws", [False, True], ids=["serve", "standard-ws"])
def test_unanswered_pings_drop_the_reader(tmp_path: Path, standard_ws: bool) -> None:
    with _live_story(tmp_path, standard_ws) as (server, editor, slug):
        silent = silent_websocket(server.port, f"/stories/{slug}/live?after=1")
        assert _readers(editor, slug, lambda n: n == 1) == 1
        post(editor, slug, "nobody is reading this one")
        assert _readers(editor, slug, lambda n: n == 0) == 0  # dropped after a missed pong
        silent.close()


def _readers(client: httpx.Client, slug: str, wanted, deadline: float = 20.0) -> int:  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline
    while True:
        count = client.get(f"/api/stories/{slug}").json()["readers"]
        if wanted(count) or time.monotonic() > end:
            return count
        time.sleep(0.2)


def _answer_pings(sock: socket.socket, seconds: float) -> int:
    """Answer every ping for seconds, as a browser does; returns how many came."""
    sock.settimeout(0.2)
    pings = 0
    buffer = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            buffer += sock.recv(65536)
        except TimeoutError:
            continue
        while len(buffer) >= 2 and len(buffer) >= 2 + (buffer[1] & 0x7F):
            opcode, size = buffer[0] & 0x0F, buffer[1] & 0x7F
            assert size < 126, "only short frames are expected here"
            payload, buffer = buffer[2 : 2 + size], buffer[2 + size :]
            if opcode == 0x9:
                pings += 1
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                sock.sendall(bytes([0x8A, 0x80 | size]) + mask + masked)
    return pings


@pytest.mark.parametrize("standard_ws", [False, True], ids=["serve", "standard-ws"])
def test_answered_pings_keep_the_reader(tmp_path: Path, standard_ws: bool) -> None:
    with _live_story(tmp_path, standard_ws) as (server, editor, slug):
        reader = silent_websocket(server.port, f"/stories/{slug}/live?after=1")
        pings = _answer_pings(reader, 4.5)
        assert 3 <= pings <= 6  # one a second, the first after about a second
        assert _readers(editor, slug, lambda n: n == 1, deadline=0) == 1
        assert _readers(editor, slug, lambda n: n == 0) == 0  # then silent: dropped
        reader.close()
