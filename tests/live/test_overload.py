"""Overload never takes the desk down: readers beyond LIVEBLOG_MAX_READERS are turned away at
once (WebSocket close 1013, event stream 503 with Retry-After) and counted, while reporters'
writes, the desk's socket, /healthz and the admitted readers carry on; a reader who leaves
makes room for the next."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from contextlib import AsyncExitStack

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.sync.client import connect

from liveblog.live.admission import readers_allowed
from tests.live.readers import metric, post, story_seq, ws_url
from tests.support import Deployment, LiveServer
from tests.web.desk_sessions import signed_in

LIMIT = 5
DEADLINE = 20.0


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """A SQLite deployment whose server takes LIMIT readers."""
    folder = tmp_path_factory.mktemp("overload")
    env = {"LIVEBLOG_DATABASE_URL": f"sqlite:///{folder}/lb.db", "LIVEBLOG_MAX_READERS": str(LIMIT)}
    return Deployment(folder=folder, env=env)


async def until_readers(base: str, count: int) -> None:
    """Wait until the server counts count live readers (each has subscribed)."""
    end = time.monotonic() + DEADLINE
    while (seen := await metric(base, "liveblog_readers")) != count:
        assert time.monotonic() < end, f"{seen} readers, not {count}, after {DEADLINE}s"
        await asyncio.sleep(0.05)


async def refused(base: str) -> dict[str, float]:
    """liveblog_readers_refused_total by transport."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{base}/metrics")).text
    pattern = r'^liveblog_readers_refused_total\{transport="(\w+)"\} ([0-9.e+]+)$'
    return {t: float(v) for t, v in re.findall(pattern, text, re.MULTILINE)}


async def next_entry(socket: ClientConnection) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), DEADLINE))["entry"]


async def close_code(socket: ClientConnection) -> tuple[int, str]:
    """The code and reason the server closes socket with, before sending anything."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), DEADLINE)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def open_readers(stack: AsyncExitStack, url: str, count: int) -> list[ClientConnection]:
    return [await stack.enter_async_context(websockets.connect(url)) for _ in range(count)]


def desk_gets_entry(server: LiveServer, slug: str, reporter: httpx.Client) -> int:
    """A signed-in desk page's socket opens and follows the story; returns the posted id."""
    name, _ = server.deployment.add_user("editor")
    with signed_in(server, name) as desk:
        cookie = "; ".join(f"{k}={v}" for k, v in desk.cookies.items())
        after = story_seq(reporter, slug)
        url = f"{server.url.replace('http://', 'ws://')}/desk/stories/{slug}/live?after={after}"
        with connect(url, origin=server.url, additional_headers={"Cookie": cookie}) as socket:
            posted = post(reporter, slug, "From the desk's side")
            event = json.loads(socket.recv(timeout=DEADLINE))
            assert event["entry"]["id"] == posted["id"]
            return posted["id"]


async def test_readers_beyond_the_limit_are_turned_away_and_the_desk_carries_on(
    server: LiveServer, reporter: httpx.Client, live_story: dict
) -> None:
    slug, seq, base = live_story["slug"], live_story["seq"], server.url
    url = ws_url(base, slug, after=seq)
    async with AsyncExitStack() as stack:
        readers = await open_readers(stack, url, LIMIT)
        await until_readers(base, LIMIT)

        async with websockets.connect(url) as sixth:
            assert await close_code(sixth) == (1013, "too many readers: try again later")
        async with httpx.AsyncClient(timeout=DEADLINE) as client:
            busy = await client.get(f"{base}/stories/{slug}/stream?after={seq}")
            assert busy.status_code == 503
            assert 3 <= int(busy.headers["retry-after"]) <= 10
            assert busy.text.count("\n") == 1 and "try again" in busy.text
            assert (await client.get(f"{base}/healthz")).status_code == 200
        assert await refused(base) == {"websocket": 1.0, "sse": 1.0}

        # Writes go through, and every admitted reader gets them.
        entry = await asyncio.to_thread(post, reporter, slug, "Still publishing")
        for reader in readers:
            assert (await next_entry(reader))["id"] == entry["id"]
        # The desk is not a reader: its socket opens, and does not count.
        desk_entry = await asyncio.to_thread(desk_gets_entry, server, slug, reporter)
        for reader in readers:
            assert (await next_entry(reader))["id"] == desk_entry
        assert await metric(base, "liveblog_readers") == LIMIT

        # One leaves: the next WebSocket reader gets the room, and then the next one is refused.
        await readers.pop().close()
        await until_readers(base, LIMIT - 1)
        newcomer = await stack.enter_async_context(websockets.connect(url))
        await until_readers(base, LIMIT)
        later = await asyncio.to_thread(post, reporter, slug, "For the newcomer too")
        entries = [await next_entry(newcomer) for _ in range(3)]  # the two it missed, then live
        assert [e["id"] for e in entries] == [entry["id"], desk_entry, later["id"]]
        async with websockets.connect(url) as another:
            assert (await close_code(another))[0] == 1013

        # Another leaves: an event-stream reader is let in.
        await readers.pop().close()
        await until_readers(base, LIMIT - 1)
        async with (
            httpx.AsyncClient(timeout=DEADLINE) as client,
            client.stream("GET", f"{base}/stories/{slug}/stream?after={seq}") as stream,
        ):
            assert stream.status_code == 200
            await until_readers(base, LIMIT)
        assert await refused(base) == {"websocket": 2.0, "sse": 1.0}


# A process started with a low soft open-file limit (as many systems give, 1024), as serve
# starts its app: the limit goes up to the hard one, and the readers it takes follow.
RAISED = """
import resource
from liveblog.live.admission import with_reader_limit
from liveblog.settings import Settings
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
settings = with_reader_limit(Settings())
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard, settings.max_readers)
print(with_reader_limit(Settings(max_readers=7)).max_readers)
"""


def test_the_default_limit_comes_from_the_raised_open_file_limit() -> None:
    result = subprocess.run(
        [sys.executable, "-c", RAISED], capture_output=True, text=True, timeout=60, check=True
    )
    (soft, hard, readers), (configured,) = (
        map(int, line.split()) for line in result.stdout.splitlines()
    )
    assert soft == hard
    assert readers == hard - max(hard // 10, 256)  # a reserve for the database, bus, desk, API
    assert configured == 7
    assert (readers_allowed(20_000), readers_allowed(1024), readers_allowed(300)) == (
        18_000,
        768,
        150,
    )
