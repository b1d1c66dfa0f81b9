"""Real live readers for tests: WebSocket and server-sent-event clients that record seqs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import websockets

DEADLINE = 20.0


def silent_websocket(port: int, path: str) -> socket.socket:
    """Open a WebSocket by hand, then never read or answer anything (a vanished phone)."""
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    assert b" 101 " in sock.recv(4096).split(b"\r\n", 1)[0] + b" "
    return sock


def ws_url(base: str, slug: str, after: int = 0, fmt: str = "json") -> str:
    return f"{base.replace('http://', 'ws://')}/stories/{slug}/live?after={after}&format={fmt}"


@dataclass
class WsReader:
    """Reads a story's WebSocket, keeping every message it gets."""

    base: str
    slug: str
    fmt: str = "json"
    messages: list[dict] = field(default_factory=list)
    close_code: int | None = None

    @property
    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.messages if "seq" in m and m.get("type") != "reload"]

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    async def read_until(self, seq: int, after: int | None = None) -> None:
        """Connect (from `after`, default our last seq) and read until seq arrives."""
        start = self.last_seq if after is None else after
        async with websockets.connect(ws_url(self.base, self.slug, start, self.fmt)) as ws:
            while self.last_seq < seq:
                self.messages.append(json.loads(await asyncio.wait_for(ws.recv(), DEADLINE)))

    async def read_until_closed(self, after: int | None = None) -> None:
        """Connect and read until the server closes the socket; record its close code."""
        start = self.last_seq if after is None else after
        async with websockets.connect(ws_url(self.base, self.slug, start, self.fmt)) as ws:
            try:
                while True:
                    self.messages.append(json.loads(await asyncio.wait_for(ws.recv(), DEADLINE)))
            except websockets.ConnectionClosed as closed:
                self.close_code = closed.rcvd.code if closed.rcvd else None


async def read_sse(
    base: str, slug: str, until_seq: int, last_event_id: int | None = None
) -> list[dict]:
    """Read the story's event stream until until_seq; returns [{"id", "event", "data"}]."""
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    events: list[dict] = []
    url = f"{base}/stories/{slug}/stream"
    async with (
        httpx.AsyncClient(timeout=DEADLINE) as client,
        client.stream("GET", url, headers=headers) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        async for event in sse_messages(resp):
            if isinstance(event, dict):
                events.append(event)
                if event.get("id") and int(event["id"]) >= until_seq:
                    return events
    return events


async def sse_messages(response: httpx.Response) -> AsyncIterator[dict | str]:
    """An event stream's events ({"id", "event", "data"} as sent) and comments (their text,
    e.g. "keep-alive"), in the order they come."""
    current: dict = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield line[1:].lstrip(" ")
        elif line:
            name, _, value = line.partition(":")
            current[name] = value.lstrip(" ")
        else:
            if "data" in current:
                yield current
            current = {}


def post(client: httpx.Client, slug: str, body: str, **fields: object) -> dict:
    response = client.post(f"/api/stories/{slug}/entries", json={"body": body, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def story_seq(client: httpx.Client, slug: str) -> int:
    return client.get(f"/api/stories/{slug}").json()["seq"]


async def metric(base: str, name: str) -> float:
    """One value from the server's /metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{base}/metrics")).text
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))
