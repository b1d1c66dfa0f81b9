"""Event streams under `liveblog serve`: caught-up readers are written to directly (chunks
the hub encodes once), they leave without a trace, and a client gone before its stream
starts leaves no subscriber behind."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlsplit

import httpx

from tests.live.readers import DEADLINE, metric, post, read_sse, story_seq
from tests.reader_counts import until_story_readers


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
