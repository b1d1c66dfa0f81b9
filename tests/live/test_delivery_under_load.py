"""Gap-free delivery under load, slow readers dropped without hurting others, render once."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time

import httpx
import websockets

from tests.live.readers import DEADLINE, WsReader, metric, post, story_seq, ws_url
from tests.reader_counts import until_story_readers

WRITERS, ENTRIES, READERS = 5, 200, 20


async def _write(client: httpx.AsyncClient, slug: str, numbers: list[int]) -> None:
    for n in numbers:
        response = await client.post(f"/api/stories/{slug}/entries", json={"body": f"entry {n}"})
        assert response.status_code == 201, response.text


async def _restless_reader(reader: WsReader, done: asyncio.Event, rng: random.Random) -> None:
    """Connects, reads a while, drops the connection, reconnects from its last seq; repeat."""
    while not done.is_set() or reader.last_seq < reader_target[reader.slug]:
        url = ws_url(reader.base, reader.slug, reader.last_seq)
        async with websockets.connect(url) as ws:
            stay = time.monotonic() + rng.uniform(0.05, 0.6)
            while time.monotonic() < stay or (
                done.is_set() and reader.last_seq < reader_target[reader.slug]
            ):
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.2)
                except TimeoutError:
                    continue
                reader.messages.append(json.loads(raw))


reader_target: dict[str, int] = {}


async def test_every_reader_gets_every_seq_once_in_order(server, editor, live_story) -> None:
    slug, base = live_story["slug"], live_story["seq"]
    reader_target[slug] = base + ENTRIES
    rng = random.Random(7)
    readers = [WsReader(server.url, slug) for _ in range(READERS)]
    for reader in readers:
        reader.messages.append({"seq": base, "type": "start"})  # resume from the story's seq
    done = asyncio.Event()
    tasks = [asyncio.create_task(_restless_reader(r, done, rng)) for r in readers]
    headers = dict(editor.headers)
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
        numbers = list(range(ENTRIES))
        await asyncio.gather(*(_write(client, slug, numbers[w::WRITERS]) for w in range(WRITERS)))
    done.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    for reader in readers:
        assert reader.seqs == list(range(base, base + ENTRIES + 1))


async def test_slow_reader_is_dropped_and_others_keep_up(server, editor, live_story) -> None:
    slug = live_story["slug"]
    start = story_seq(editor, slug)
    # A reader whose socket buffers are tiny and who never reads.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", server.port))
    stalled = await websockets.connect(
        ws_url(server.url, slug, start), sock=raw, max_queue=1, max_size=2**20
    )
    fast = WsReader(server.url, slug)
    # ~9 MB in all: more than the kernel's socket buffers can hide (tcp_wmem tops at 4 MB).
    big = "Lorem ipsum dolor sit amet. " * 2200  # ~60 KB per entry
    count = 150
    reading = asyncio.create_task(fast.read_until(start + count, after=start))
    await until_story_readers([server.url], slug, 2)  # both subscribed before the posts
    began = time.monotonic()
    for n in range(count):
        await asyncio.to_thread(post, editor, slug, f"{n} {big}")
    await asyncio.wait_for(reading, DEADLINE)
    assert fast.seqs == list(range(start + 1, start + count + 1))
    assert time.monotonic() - began < 60  # generous: the stalled reader held nobody up
    # The server gave up on the stalled reader: after the data it could buffer, a 4000 close.
    code = None
    async with asyncio.timeout(DEADLINE):
        try:
            while True:
                await stalled.recv()
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
    assert code == 4000
    assert await metric(server.url, "liveblog_slow_readers_dropped_total") >= 1


async def test_one_publish_renders_once_for_fifty_readers(server, editor, live_story) -> None:
    slug = live_story["slug"]
    start = story_seq(editor, slug)
    urls = [ws_url(server.url, slug, start, fmt) for fmt in ["json", "html"] * 25]
    sockets = [await websockets.connect(url) for url in urls]
    try:
        before = await metric(server.url, "liveblog_frames_rendered_total")
        assert await metric(server.url, "liveblog_readers") >= 50
        post(editor, slug, "one entry, fifty readers")
        received = await asyncio.gather(*(asyncio.wait_for(ws.recv(), DEADLINE) for ws in sockets))
        assert {json.loads(m)["seq"] for m in received} == {start + 1}
        after = await metric(server.url, "liveblog_frames_rendered_total")
        assert after - before == 1  # one render gives both formats' bytes
        story = editor.get(f"/api/stories/{slug}").json()
        assert story["readers"] == 50
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
