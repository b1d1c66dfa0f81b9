"""Many processes, one story: separate servers (and `--workers N` on one port) share PostgreSQL
and a bus (Redis, or PostgreSQL LISTEN/NOTIFY); every reader gets every entry, whichever
process it was posted to, and concurrent writers on different processes never make a gap or a
duplicate seq."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from liveblog.live.bus.postgres import CHANNEL as POSTGRES_CHANNEL
from liveblog.live.bus.redis import CHANNEL as REDIS_CHANNEL
from tests.scale.support import (
    DEADLINE,
    Cluster,
    Processes,
    StayingReader,
    child_pids,
    eventually,
    get_json,
    listen_notify,
    log_lines,
    new_cluster,
    new_live_story,
    until_subscribed,
)
from tests.support import LiveServer

WRITERS, POSTS_EACH = 4, 25


@pytest.fixture(scope="module")
def redis_cluster(
    tmp_path_factory: pytest.TempPathFactory, module_processes: Processes
) -> Iterator[Cluster]:
    """Four processes on a new PostgreSQL database and Redis, all started at the same moment
    (so they race to apply the migrations)."""
    with new_cluster(module_processes, tmp_path_factory.mktemp("redis-cluster"), 4) as cluster:
        yield cluster


@asynccontextmanager
async def redis_doorbells(url: str) -> AsyncIterator[list[str]]:
    """Every doorbell rung on the Redis bus while inside."""
    heard: list[str] = []
    client = aioredis.Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(REDIS_CHANNEL)

    async def listen() -> None:
        async for message in pubsub.listen():
            heard.append(message["data"].decode())

    listening = asyncio.create_task(listen())
    try:
        yield heard
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await pubsub.aclose()
        await client.aclose()


@asynccontextmanager
async def postgres_doorbells(url: str) -> AsyncIterator[list[str]]:
    """Every doorbell NOTIFYed on the PostgreSQL bus while inside."""
    heard: list[str] = []
    connection = await asyncpg.connect(url, timeout=10)
    await connection.add_listener(POSTGRES_CHANNEL, lambda *args: heard.append(args[3]))
    try:
        yield heard
    finally:
        await connection.close()


async def story_id_of(database_url: str, slug: str) -> int:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        return await connection.fetchval("SELECT id FROM stories WHERE slug = $1", slug)
    finally:
        await connection.close()


async def post_entry(base: str, headers: dict[str, str], slug: str, body: str) -> dict:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=DEADLINE) as client:
        response = await client.post(f"/api/stories/{slug}/entries", json={"body": body})
    assert response.status_code == 201, response.text
    return response.json()


async def assert_crosses_processes(cluster: Cluster, heard: list[str]) -> None:
    """An entry posted to either of two processes reaches readers of both, and each process
    rang the bus for the entry it committed."""
    a, b = cluster.servers[:2]
    slug, base = await new_live_story(a.url, cluster.headers)
    async with (
        StayingReader(a.url, slug, base) as on_a,
        StayingReader(b.url, slug, base) as on_b,
    ):
        await until_subscribed(on_a, on_b)
        first = await post_entry(a.url, cluster.headers, slug, "Posted to the first process")
        for reader in (on_a, on_b):
            await reader.wait_for(base + 1)
        second = await post_entry(b.url, cluster.headers, slug, "Posted to the second process")
        for reader in (on_a, on_b):
            await reader.wait_for(base + 2)
            assert reader.seqs == [base + 1, base + 2]
            assert [m["entry"]["id"] for m in reader.messages] == [first["id"], second["id"]]

    story_id = await story_id_of(cluster.deployment.env["LIVEBLOG_DATABASE_URL"], slug)

    def rung(seq: int) -> set[str]:
        """The processes that rang for this story's seq (the wire form is sender:story:seq)."""
        return {
            sender
            for sender, _, bell in (message.partition(":") for message in heard)
            if bell == f"{story_id}:{seq}"
        }

    await eventually(lambda: rung(base + 1) and rung(base + 2), "both doorbells on the bus")
    assert rung(base + 1) != rung(base + 2), "each process rings for its own commits"


def test_workers_starting_together_apply_migrations_once(redis_cluster: Cluster) -> None:
    # The fixture started all four at the same moment on an empty database.
    for server in redis_cluster.servers:
        assert server.process is not None and server.process.poll() is None, server.log()
        response = httpx.get(f"{server.url}/readyz", timeout=DEADLINE)
        assert response.status_code == 200, response.text
        assert "Traceback" not in server.log()
    upgrades = [log_lines(s, "Running upgrade") for s in redis_cluster.servers]
    [ran] = [lines for lines in upgrades if lines]  # one process migrated; the others waited
    steps = [line.partition("Running upgrade")[2] for line in ran]
    assert len(steps) == len(set(steps)), steps  # each migration once
    assert redis_cluster.deployment.count_rows("alembic_version") == {"alembic_version": 1}


async def test_entry_reaches_readers_of_two_processes_over_redis(redis_cluster: Cluster) -> None:
    async with redis_doorbells(redis_cluster.deployment.env["LIVEBLOG_BUS_URL"]) as heard:
        await assert_crosses_processes(redis_cluster, heard)


async def test_concurrent_writers_on_four_processes_make_seqs_one_to_n(
    redis_cluster: Cluster,
) -> None:
    servers, headers = redis_cluster.servers, redis_cluster.headers
    slug, base = await new_live_story(servers[0].url, headers)
    total = WRITERS * POSTS_EACH

    async def write(server: LiveServer, writer: int) -> list[int]:
        ids = []
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
            for n in range(POSTS_EACH):
                body = {"body": f"writer {writer} entry {n}"}
                response = await client.post(f"/api/stories/{slug}/entries", json=body)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
        return ids

    async with (
        StayingReader(servers[0].url, slug, base) as r0,
        StayingReader(servers[1].url, slug, base) as r1,
        StayingReader(servers[2].url, slug, base) as r2,
        StayingReader(servers[3].url, slug, base) as r3,
    ):
        await until_subscribed(r0, r1, r2, r3)
        written = await asyncio.gather(*(write(s, w) for w, s in enumerate(servers)))
        for reader in (r0, r1, r2, r3):
            await reader.wait_for(base + total)
    expected = list(range(base + 1, base + total + 1))
    ids = {entry_id for writer in written for entry_id in writer}
    assert len(ids) == total
    for reader in (r0, r1, r2, r3):
        assert reader.seqs == expected
        assert {m["entry"]["id"] for m in reader.messages} == ids
    status, story = await get_json(f"{servers[1].url}/api/stories/{slug}")
    assert status == 200 and story["seq"] == base + total
    status, events = await get_json(f"{servers[2].url}/api/stories/{slug}/events?after=0&limit=500")
    assert status == 200
    assert [e["seq"] for e in events["items"]] == list(range(1, base + total + 1))


@pytest.fixture
def listen_notify_cluster(tmp_path: Path, processes: Processes) -> Iterator[Cluster]:
    """Two processes on a new PostgreSQL database that is also their bus."""
    with new_cluster(processes, tmp_path, bus=listen_notify) as cluster:
        yield cluster


async def test_entry_reaches_readers_of_two_processes_over_listen_notify(
    listen_notify_cluster: Cluster,
) -> None:
    url = listen_notify_cluster.deployment.env["LIVEBLOG_DATABASE_URL"]
    async with postgres_doorbells(url) as heard:
        await assert_crosses_processes(listen_notify_cluster, heard)


async def test_workers_flag_serves_one_port_from_several_processes(two_workers: Cluster) -> None:
    (server,), headers = two_workers.servers, two_workers.headers
    await eventually(lambda: len(log_lines(server, "ready: database")) == 2, "both workers ready")
    assert len(child_pids(server, "spawn_main")) == 2  # the workers
    slug, base = await new_live_story(server.url, headers)
    async with AsyncExitStack() as stack:
        readers = [
            await stack.enter_async_context(StayingReader(server.url, slug, base)) for _ in range(6)
        ]
        # Each worker counts only its own readers, and one port hides which answers: a first
        # entry every reader has received shows they all subscribed, so the rest come live.
        ids = [(await post_entry(server.url, headers, slug, "entry 0"))["id"]]
        for reader in readers:
            await reader.wait_for(base + 1)
        ids += [
            (await post_entry(server.url, headers, slug, f"entry {n}"))["id"] for n in range(1, 6)
        ]
        for reader in readers:
            await reader.wait_for(base + 6)
    for reader in readers:
        assert reader.seqs == list(range(base + 1, base + 7))
        assert [m["entry"]["id"] for m in reader.messages] == ids
