"""Event streams under `liveblog serve`: caught-up readers are written to directly (chunks
the hub encodes once), quiet streams get keep-alives, readers leave without a trace, and a
client gone before its stream starts leaves no subscriber behind."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.live.readers import DEADLINE, metric, post, read_sse, sse_messages, story_seq
from tests.reader_counts import until_story_readers
from tests.support import own_live_story


async def until_metric(base: str, name: str, value: float) -> None:
    """Wait until /metrics shows name at value."""
    end = asyncio.get_running_loop().time() + DEADLINE
    while (seen := await metric(base, name)) != value:
        assert asyncio.get_running_loop().time() < end, f"{name} is {seen}, not {value}"
        await asyncio.sleep(0.05)


async def test_caught_up_stream_is_written_directly_and_reads_every_event(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug, base = live_story["slug"], live_story["seq"]
    reading = asyncio.create_task(read_sse(server.url, slug, base + 5, last_event_id=base))
    await until_story_readers([server.url], slug, 1)
    await until_metric(server.url, "liveblog_readers_direct", 1)
    sent = [await asyncio.to_thread(post, editor, slug, f"direct {n}") for n in range(5)]
    events = await asyncio.wait_for(reading, DEADLINE)
    assert [int(e["id"]) for e in events] == list(range(base + 1, base + 6))
    assert [json.loads(e["data"])["entry"]["id"] for e in events] == [e["id"] for e in sent]
    await until_story_readers([server.url], slug, 0)  # it left: unsubscribed at once


async def test_a_reader_that_leaves_is_unsubscribed_without_waiting_for_a_write(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    url = f"{server.url}/stories/{slug}/stream?after={story_seq(editor, slug)}"
    async with (
        httpx.AsyncClient(timeout=DEADLINE) as client,
        client.stream("GET", url) as response,
    ):
        assert response.status_code == 200
        await until_metric(server.url, "liveblog_readers_direct", 1)
    # Nothing is posted: only the server noticing the closed connection unsubscribes it.
    await until_story_readers([server.url], slug, 0)


async def test_clients_gone_before_their_stream_starts_leave_no_reader_behind(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    address = urlsplit(server.url)
    request = f"GET /stories/{slug}/stream HTTP/1.1\r\nHost: {address.netloc}\r\n\r\n".encode()
    for _ in range(20):  # each sends its request and hangs up without reading a byte
        with socket.create_connection((address.hostname, address.port)) as raw:
            raw.sendall(request)
    post(editor, slug, "after the hang-ups")
    await until_story_readers([server.url], slug, 0)
    assert await metric(server.url, "liveblog_readers_direct") == 0


@pytest.mark.parametrize("standard", [False, True], ids=["direct", "standard-protocol"])
async def test_a_quiet_stream_gets_keep_alives_between_its_events(
    tmp_path: Path, standard: bool
) -> None:
    """Caught up, a reader's keep-alives come from the server's sweep, written between the
    hub's chunks; under uvicorn's standard protocol, from the reader's own task. Either way
    one per interval, and the events around them arrive whole."""
    interval = {"LIVEBLOG_SSE_KEEPALIVE_INTERVAL": "1"}
    with own_live_story(tmp_path, interval, standard) as (server, editor, slug):
        start = await asyncio.to_thread(story_seq, editor, slug)
        quiet = QuietStream(server.url, slug, start)
        reading = asyncio.create_task(quiet.read(events=2))
        await until_story_readers([server.url], slug, 1)
        direct = await metric(server.url, "liveblog_readers_direct")
        await asyncio.to_thread(post, editor, slug, "before the quiet")
        await asyncio.wait_for(quiet.keep_alives_after_first_event(3), DEADLINE)
        await asyncio.to_thread(post, editor, slug, "after it")
        await asyncio.wait_for(reading, DEADLINE)
    assert direct == (0 if standard else 1)
    assert [int(e["id"]) for e in quiet.events] == [start + 1, start + 2]
    bodies = [json.loads(e["data"])["entry"]["body"] for e in quiet.events]
    assert bodies == ["before the quiet", "after it"]
    # One per interval (1 s): three of them span two intervals, not one burst.
    assert quiet.keep_alives[2] - quiet.keep_alives[0] >= 1.0


class QuietStream:
    """A reader of one story's stream that notes when each keep-alive comes."""

    def __init__(self, base: str, slug: str, after: int) -> None:
        self.url = f"{base}/stories/{slug}/stream?after={after}"
        self.events: list[dict] = []
        self.keep_alives: list[float] = []  # time.monotonic() of those after the first event
        self._changed = asyncio.Event()

    async def read(self, events: int) -> None:
        """Read until this many events came."""
        async with (
            httpx.AsyncClient(timeout=DEADLINE) as client,
            client.stream("GET", self.url) as response,
        ):
            assert response.status_code == 200
            async for message in sse_messages(response):
                if isinstance(message, str):
                    assert message == "keep-alive"
                    if self.events:
                        self.keep_alives.append(time.monotonic())
                        self._changed.set()
                    continue
                self.events.append(message)
                if len(self.events) == events:
                    return

    async def keep_alives_after_first_event(self, count: int) -> None:
        while len(self.keep_alives) < count:
            self._changed.clear()
            await self._changed.wait()
