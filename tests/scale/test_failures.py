"""When a part fails, nothing is lost or doubled: the bus going down (Redis killed, Redis gone
silent, or the LISTEN connection lost), the database becoming unreachable (refused, or cut in
the middle of writes), a worker killed with SIGKILL, and a restart of every worker. Real
processes throughout; outages come from a private redis-server or a TCP proxy of the test's
own, never from the machine's shared services."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from liveblog.live.hub import CHECK_INTERVAL
from tests.live.readers import metric
from tests.scale.support import (
    DEADLINE,
    Cluster,
    FollowingReader,
    PrivateRedis,
    Processes,
    StayingReader,
    TcpProxy,
    child_pids,
    eventually,
    get_json,
    log_lines,
    new_cluster,
    new_live_story,
    through,
    until_subscribed,
)
from tests.support import LiveServer

# Among the longest modules: started first, so parallel workers finish together.
pytestmark = pytest.mark.slow

# Readers of another process get entries rung while the bus is down from the hub's periodic
# check (every 5 s); this is a generous bound on "later", not a speed requirement.
CATCH_UP_DEADLINE = 20.0
# Long enough for the bus listeners to retry several times while the bus is down.
MIN_OUTAGE = 2.0
ENTRY_TABLES = ("entries", "entry_revisions", "story_events", "idempotency_keys")


async def readiness(server: LiveServer) -> tuple[int, dict]:
    return await get_json(f"{server.url}/readyz")


async def reconnects(server: LiveServer) -> float:
    return await metric(server.url, "liveblog_bus_reconnects_total")


async def publish(
    bases: list[str], headers: dict[str, str], slug: str, body: str, key: str | None = None
) -> dict:
    """Post an entry as a careful client does: with an idempotency key, retrying (on the next
    server) after a refused or dropped connection or a 503, until it is accepted."""
    key = key or secrets.token_hex(8)
    began, turn = time.monotonic(), 0
    while True:
        base = bases[turn % len(bases)]
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                response = await client.post(
                    f"/api/stories/{slug}/entries",
                    json={"body": body},
                    headers={**headers, "Idempotency-Key": key},
                )
            if response.status_code == 201:
                return response.json()
            assert response.status_code == 503, response.text
        except httpx.TransportError:
            pass
        assert time.monotonic() - began < 60, f"{body!r} was never accepted"
        turn += 1
        await asyncio.sleep(0.2)  # a careful client's pause before it retries


# --- the bus goes down ------------------------------------------------------------------------


@pytest.fixture(params=["redis", "silent-redis", "listen-notify"])
def bus_cluster(
    request: pytest.FixtureRequest, tmp_path: Path, processes: Processes
) -> Iterator[Cluster]:
    """Two processes on PostgreSQL whose bus the test can stop: a private redis-server killed
    and started again; Redis behind a proxy that goes silent (connections stay open, nothing
    answers) and comes back with those connections reset, as after a host's reboot; or
    PostgreSQL LISTEN/NOTIFY reached through a proxy (the database itself stays reachable)."""
    if request.param == "redis":
        redis: PrivateRedis = request.getfixturevalue("private_redis")
        bus, outage, recovery = (lambda _: redis.url), redis.kill, redis.start
    elif request.param == "silent-redis":
        silent: TcpProxy = request.getfixturevalue("redis_proxy")
        bus, outage = (lambda _: f"redis://127.0.0.1:{silent.port}/0"), silent.freeze

        def recovery() -> None:
            silent.cut()
            silent.restore()

    else:
        proxy: TcpProxy = request.getfixturevalue("postgres_proxy")
        bus, outage, recovery = partial(through, proxy), proxy.cut, proxy.restore
    with new_cluster(processes, tmp_path, bus=bus) as cluster:
        cluster.outage, cluster.recovery = outage, recovery
        yield cluster


async def test_bus_outage_delays_entries_and_heals_itself(bus_cluster: Cluster) -> None:
    a, b = bus_cluster.servers
    headers = bus_cluster.headers

    async def bus_state(state: str) -> bool:
        return [(await readiness(s))[1]["bus"] for s in (a, b)] == [state, state]

    await eventually(lambda: bus_state("ok"), "both processes connected to the bus")
    assert [await reconnects(s) for s in (a, b)] == [0, 0]
    slug, base = await new_live_story(a.url, headers)
    async with (
        StayingReader(a.url, slug, base) as on_a,
        StayingReader(b.url, slug, base) as on_b,
        StayingReader(b.url, slug, base) as also_on_b,
    ):
        readers = (on_a, on_b, also_on_b)
        await until_subscribed(*readers)
        await publish([a.url], headers, slug, "before the outage")
        for reader in readers:
            await reader.wait_for(base + 1)

        bus_cluster.outage()
        outage_began = time.monotonic()
        await eventually(lambda: bus_state("unavailable"), "both processes to notice")
        status, body = await readiness(a)
        assert status == 503 and body == {
            "status": "unavailable",
            "database": "ok",
            "bus": "unavailable",
        }
        async with httpx.AsyncClient(base_url=a.url, headers=headers, timeout=DEADLINE) as client:
            for n in range(3):
                response = await client.post(
                    f"/api/stories/{slug}/entries", json={"body": f"during the outage {n}"}
                )
                assert response.status_code == 201, response.text  # publishing still works
        posted = time.monotonic()
        await on_a.wait_for(base + 4)  # its own process's readers hear it at once
        for reader in (on_b, also_on_b):  # the other's, from its periodic check
            await reader.wait_for(base + 4, CATCH_UP_DEADLINE)
        waited = time.monotonic() - posted
        print(f"\nbus down: readers of the other process caught up after {waited:.1f}s")

        # The outage itself, not a wait for something: it lasts long enough for the listeners
        # to retry several times (backoff from 0.5 s), which must still log it only once.
        await asyncio.sleep(max(0.0, outage_began + MIN_OUTAGE - time.monotonic()))
        bus_cluster.recovery()
        healed = await eventually(lambda: bus_state("ok"), "both buses to reconnect", 60)
        print(f"bus back: reconnected {healed:.1f}s after it returned")
        assert [await reconnects(s) for s in (a, b)] == [1, 1]

        await publish([b.url], headers, slug, "after the outage")
        for reader in readers:
            await reader.wait_for(base + 5)
    for reader in readers:
        assert reader.seqs == list(range(base + 1, base + 6))
        assert reader.close_code is None or reader.close_code == 1000
    for server in (a, b):
        outages = log_lines(server, "bus: unavailable")
        assert len(outages) == 1, outages  # the outage is logged once, not once per retry
        assert len(log_lines(server, "bus: connected")) == 2  # at start, and after


# --- the database goes away -------------------------------------------------------------------


@pytest.fixture
def proxied_cluster(
    tmp_path: Path, processes: Processes, postgres_proxy: TcpProxy
) -> Iterator[Cluster]:
    """Two processes that reach PostgreSQL through a proxy the test cuts; Redis as the bus."""
    with new_cluster(processes, tmp_path, database=partial(through, postgres_proxy)) as cluster:
        cluster.outage, cluster.recovery = postgres_proxy.cut, postgres_proxy.restore
        yield cluster


async def test_database_outage_answers_503_and_loses_nothing(proxied_cluster: Cluster) -> None:
    a, b = proxied_cluster.servers
    headers, deployment = proxied_cluster.headers, proxied_cluster.deployment
    slug, base = await new_live_story(a.url, headers)
    await publish([a.url], headers, slug, "before the outage")
    async with (
        StayingReader(a.url, slug, base) as on_a,
        StayingReader(b.url, slug, base) as on_b,
    ):
        for reader in (on_a, on_b):
            await reader.wait_for(base + 1)
        rows = await asyncio.to_thread(deployment.count_rows, *ENTRY_TABLES)

        proxied_cluster.outage()
        key = secrets.token_hex(8)
        async with httpx.AsyncClient(headers=headers, timeout=DEADLINE) as client:
            for server in (a, b):
                response = await client.post(
                    f"{server.url}/api/stories/{slug}/entries",
                    json={"body": "during the outage"},
                    headers={"Idempotency-Key": key},
                )
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/json"
                assert response.headers["retry-after"] == "5"
                error = response.json()["error"]
                assert error["code"] == "unavailable"
                assert "database" in error["message"] and "retry" in error["message"]
                print(f"\ndatabase down: POST answered 503 {response.text}")
            status, body = await readiness(a)
            assert status == 503 and body["database"] == "unavailable" and body["bus"] == "ok"
            assert (await client.get(f"{a.url}/healthz")).status_code == 200
        # Each hub's periodic check meets the dead database, more than once; the readers stay.
        for server in (a, b):
            await eventually(
                lambda s=server: bool(log_lines(s, "periodic check for missed events failed")),
                "a failed periodic check",
            )
        # The outage itself, not a wait for something: it outlasts the next check, whose
        # failure must neither drop the readers nor be logged again.
        await asyncio.sleep(CHECK_INTERVAL + 1)
        for reader in (on_a, on_b):
            assert await reader.answers_ping()

        proxied_cluster.recovery()
        restored = time.monotonic()
        for server in (a, b):
            await eventually(lambda s=server: _ready(s), f"{server.url} ready again", deadline=60)
            await eventually(
                lambda s=server: bool(log_lines(s, "periodic check for missed events works")),
                "the periodic check to work again",
            )
            # Logged once for the whole outage, not once per check.
            assert len(log_lines(server, "periodic check for missed events failed")) == 1
        print(f"database back: checks work again {time.monotonic() - restored:.1f}s after")
        assert await asyncio.to_thread(deployment.count_rows, *ENTRY_TABLES) == rows
        status, story = await get_json(f"{a.url}/api/stories/{slug}")
        assert story["seq"] == base + 1  # the refused POSTs wrote nothing
        assert on_a.seqs == on_b.seqs == [base + 1]

        # The same request, retried with its key, now goes through, once.
        retried = await publish([a.url], headers, slug, "during the outage")
        again = await publish([b.url], headers, slug, "after the outage")
        for reader in (on_a, on_b):
            await reader.wait_for(base + 3)
            assert reader.seqs == [base + 1, base + 2, base + 3]
            assert [m["entry"]["id"] for m in reader.messages[1:]] == [retried["id"], again["id"]]
            assert reader.connected


MAX_BURST = 100  # what one page of GET /entries holds


async def test_database_cut_mid_burst_leaves_no_half_written_entry(
    proxied_cluster: Cluster,
) -> None:
    a, b = proxied_cluster.servers
    headers = proxied_cluster.headers
    slug, base = await new_live_story(a.url, headers)
    statuses: list[int | str] = []
    numbers = iter(range(MAX_BURST))

    async def write(server: LiveServer) -> list[tuple[str, int]]:
        """Post until the outage refuses a request (a burst of a fixed size can end before
        the cut on a fast machine); returns each request's key and number."""
        keys = []
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
            while 503 not in statuses and (n := next(numbers, None)) is not None:
                key = secrets.token_hex(8)
                keys.append((key, n))
                try:
                    response = await client.post(
                        f"/api/stories/{slug}/entries",
                        json={"body": f"burst {n}"},
                        headers={"Idempotency-Key": key},
                    )
                    statuses.append(response.status_code)
                    assert response.status_code in (201, 503), response.text
                except httpx.TransportError as error:
                    statuses.append(type(error).__name__)
        return keys

    async with StayingReader(b.url, slug, base) as reader:
        await until_subscribed(reader)
        writers = [asyncio.create_task(write(server)) for server in (a, b, a, b)]
        await eventually(lambda: len(statuses) >= 8, "the burst to be under way")
        proxied_cluster.outage()
        sent = [key for keys in await asyncio.gather(*writers) for key in keys]
        proxied_cluster.recovery()
        count = len(sent)
        print(f"\ncut mid-burst: answers {statuses}")
        assert 201 in statuses and 503 in statuses, "no request was refused in the outage"
        # Whatever each request's fate, its retry with the same key makes it exactly once.
        for key, n in sent:
            await publish([a.url, b.url], headers, slug, f"burst {n}", key)
        await reader.wait_for(base + count, CATCH_UP_DEADLINE)
    assert reader.seqs == list(range(base + 1, base + count + 1))
    bodies = sorted(int(m["entry"]["body"].split()[1]) for m in reader.messages)
    assert bodies == list(range(count))
    status, events = await get_json(f"{a.url}/api/stories/{slug}/events?after={base}&limit=500")
    assert [e["seq"] for e in events["items"]] == list(range(base + 1, base + count + 1))
    assert events["last_seq"] == base + count
    status, entries = await get_json(f"{a.url}/api/stories/{slug}/entries?limit=100")
    assert status == 200
    assert len(entries["items"]) == count


async def _ready(server: LiveServer) -> bool:
    return (await readiness(server))[0] == 200


# --- a worker dies, or every worker restarts --------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path, processes: Processes) -> Iterator[Cluster]:
    """Two processes on PostgreSQL and Redis."""
    with new_cluster(processes, tmp_path) as cluster:
        yield cluster


async def write_entries(
    bases: list[str], headers: dict[str, str], slug: str, count: int, go_on: asyncio.Event
) -> None:
    """Post count entries from two concurrent writers, each post to the next server in turn
    (and on to the others if it is down); the second half waits for go_on."""

    async def write(numbers: range) -> None:
        for n in numbers:
            if n >= count // 2:
                await go_on.wait()
            turn = n % len(bases)
            await publish(bases[turn:] + bases[:turn], headers, slug, f"entry {n}")
            await asyncio.sleep(0.05)  # a steady stream of posts, which the kill interrupts

    await asyncio.gather(write(range(0, count, 2)), write(range(1, count, 2)))


async def assert_each_entry_once(
    readers: list[FollowingReader], following: list[asyncio.Task[None]], count: int, url: str
) -> None:
    """Every reader got the story's count new events once each, in order; and the story has
    each written entry once (no retried post was doubled)."""
    await asyncio.wait_for(asyncio.gather(*following), DEADLINE)
    slug, first = readers[0].slug, readers[0].after
    for reader in readers:
        assert reader.seqs == list(range(first + 1, first + count + 1))
    status, story = await get_json(f"{url}/api/stories/{slug}")
    assert status == 200 and story["seq"] == first + count
    status, events = await get_json(f"{url}/api/stories/{slug}/events?after={first}&limit=500")
    bodies = sorted(int(e["entry"]["body"].split()[1]) for e in events["items"])
    assert bodies == list(range(count))


async def test_readers_of_a_killed_worker_resume_on_the_other(pair: Cluster) -> None:
    victim, survivor = pair.servers
    headers, count = pair.headers, 40
    slug, base = await new_live_story(survivor.url, headers)
    bases = [victim.url, survivor.url]
    readers = [FollowingReader(bases, slug, base) for _ in range(3)]
    readers.append(FollowingReader(bases[::-1], slug, base))
    following = [asyncio.create_task(r.follow_until(base + count)) for r in readers]
    await eventually(lambda: all(r.connections for r in readers), "every reader to connect")
    go_on = asyncio.Event()
    writing = asyncio.create_task(write_entries(bases, headers, slug, count, go_on))
    await eventually(lambda: all(r.last_seq >= base + count // 4 for r in readers), "mid-stream")
    assert victim.process is not None
    victim.process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(victim.process.wait)
    go_on.set()
    await writing
    await assert_each_entry_once(readers, following, count, survivor.url)
    for reader in readers:
        assert reader.connections[-1] == survivor.url
    for reader in readers[:3]:
        assert reader.connections[0] == victim.url
        print(f"\nkill -9: a reader of the killed process: {[w for _, _, w in reader.failures]}")


def peers_of(pid: int) -> set[int]:
    """The remote ports of the process's TCP connections (to find a reader's worker)."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                sockets.add(target[8:-1])
    ports = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in sockets:
            ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


async def test_readers_of_a_killed_worker_resume_on_the_same_port(two_workers: Cluster) -> None:
    (server,), headers, count = two_workers.servers, two_workers.headers, 40
    await eventually(lambda: len(log_lines(server, "ready: database")) == 2, "both workers ready")
    slug, base = await new_live_story(server.url, headers)
    readers = [FollowingReader([server.url], slug, base) for _ in range(6)]
    following = [asyncio.create_task(r.follow_until(base + count)) for r in readers]
    await eventually(lambda: all(r.connections for r in readers), "every reader to connect")
    go_on = asyncio.Event()
    writing = asyncio.create_task(write_entries([server.url], headers, slug, count, go_on))
    await eventually(lambda: all(r.last_seq >= base + count // 4 for r in readers), "mid-stream")
    # The worker serving the most of these readers (uvicorn's supervisor starts a new one).
    ports = {r.local_port for r in readers}
    workers = child_pids(server, "spawn_main")
    victim = max(workers, key=lambda pid: len(peers_of(pid) & ports))
    on_victim = [r for r in readers if r.local_port in peers_of(victim)]
    assert on_victim
    os.kill(victim, signal.SIGKILL)
    go_on.set()
    await writing
    await assert_each_entry_once(readers, following, count, server.url)
    for reader in on_victim:
        assert len(reader.connections) >= 2
    print(f"\nkill -9 under --workers: {len(on_victim)} of {len(readers)} readers moved")


async def test_readers_resume_after_every_worker_restarts(
    pair: Cluster, processes: Processes
) -> None:
    first, second = pair.servers
    headers, count = pair.headers, 40
    slug, base = await new_live_story(first.url, headers)
    bases = [first.url, second.url]
    readers = [FollowingReader(bases, slug, base), FollowingReader(bases[::-1], slug, base)]
    following = [asyncio.create_task(r.follow_until(base + count)) for r in readers]
    await eventually(lambda: all(r.connections for r in readers), "every reader to connect")
    go_on = asyncio.Event()
    writing = asyncio.create_task(write_entries(bases, headers, slug, count, go_on))
    await eventually(lambda: all(r.last_seq >= base + count // 4 for r in readers), "mid-stream")
    began = time.monotonic()
    await asyncio.to_thread(processes.stop, first)
    await asyncio.to_thread(processes.stop, second)
    await asyncio.to_thread(processes.start, pair.deployment, ports=[first.port, second.port])
    go_on.set()
    await writing
    await assert_each_entry_once(readers, following, count, first.url)
    for reader in readers:
        assert len(reader.connections) >= 2
        lost = [(f"{t - began:.2f}s", url[-5:], why) for t, url, why in reader.failures]
        print(f"\nrestart: a reader's disconnects {lost}, then on {reader.connections[-1][-5:]}")
