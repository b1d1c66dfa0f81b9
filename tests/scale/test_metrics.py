"""/readyz and /metrics of processes in a cluster: the named series exist, in the Prometheus
text format, and move when entries are posted and readers connect; each process counts its
own work (publishes where a POST landed, fan-out and renders where the readers are)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live.readers import metric
from tests.scale.support import (
    DEADLINE,
    Cluster,
    Processes,
    StayingReader,
    eventually,
    get_json,
    new_cluster,
    new_live_story,
)
from tests.support import LiveServer

SERIES = {
    "liveblog_readers": "gauge",
    "liveblog_events_published_total": "counter",
    "liveblog_fanout_seconds": "histogram",
    "liveblog_slow_readers_dropped_total": "counter",
    "liveblog_bus_reconnects_total": "counter",
    "liveblog_frames_rendered_total": "counter",
    "liveblog_gc_pause_seconds": "histogram",
}
MOVING = (
    "liveblog_readers",
    "liveblog_events_published_total",
    "liveblog_fanout_seconds_count",
    "liveblog_frames_rendered_total",
)


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, module_processes: Processes
) -> Iterator[Cluster]:
    """Two processes on PostgreSQL and Redis."""
    with new_cluster(module_processes, tmp_path_factory.mktemp("metrics")) as cluster:
        yield cluster


async def test_readyz_reports_database_and_bus(pair: Cluster) -> None:
    for server in pair.servers:

        async def ready(server: LiveServer = server) -> bool:
            return (await get_json(f"{server.url}/readyz"))[0] == 200

        await eventually(ready, "the bus to connect")  # it connects in the background
        assert await get_json(f"{server.url}/readyz") == (
            200,
            {"status": "ok", "database": "ok", "bus": "ok"},
        )
        assert await get_json(f"{server.url}/healthz") == (200, {"status": "ok"})


async def test_metrics_exposes_the_named_series(pair: Cluster) -> None:
    async with httpx.AsyncClient(timeout=DEADLINE) as client:
        response = await client.get(f"{pair.servers[0].url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for name, kind in SERIES.items():
        assert f"# TYPE {name} {kind}\n" in text, name
        assert f"# HELP {name} " in text, name
    assert 'liveblog_fanout_seconds_bucket{le="+Inf"}' in text
    assert await metric(pair.servers[0].url, "liveblog_slow_readers_dropped_total") == 0
    assert await metric(pair.servers[0].url, "liveblog_bus_reconnects_total") == 0


async def snapshot(server: LiveServer) -> dict[str, float]:
    return {name: await metric(server.url, name) for name in MOVING}


async def test_values_move_when_readers_connect_and_entries_are_posted(pair: Cluster) -> None:
    (writer, reader_side), headers = pair.servers, pair.headers
    slug, base = await new_live_story(writer.url, headers)
    before = {server.url: await snapshot(server) for server in pair.servers}
    posts = 3
    async with (
        StayingReader(reader_side.url, slug, base) as first,
        StayingReader(reader_side.url, slug, base) as second,
    ):
        await eventually(
            lambda: _is(reader_side, "liveblog_readers", before[reader_side.url], 2),
            "two readers counted",
        )
        async with httpx.AsyncClient(base_url=writer.url, headers=headers, timeout=30) as client:
            for n in range(posts):
                response = await client.post(
                    f"/api/stories/{slug}/entries", json={"body": f"entry {n}"}
                )
                assert response.status_code == 201, response.text
        for reader in (first, second):
            await reader.wait_for(base + posts)
    await eventually(
        lambda: _is(reader_side, "liveblog_readers", before[reader_side.url], 0),
        "the readers to be gone",
    )
    after = {server.url: await snapshot(server) for server in pair.servers}
    moved = {url: {name: after[url][name] - before[url][name] for name in MOVING} for url in after}
    # Published where the POSTs landed; fanned out and rendered (once per event, not per
    # reader) where the readers are.
    assert moved[writer.url] == {
        "liveblog_readers": 0,
        "liveblog_events_published_total": posts,
        "liveblog_fanout_seconds_count": 0,
        "liveblog_frames_rendered_total": 0,
    }
    assert moved[reader_side.url] == {
        "liveblog_readers": 0,
        "liveblog_events_published_total": 0,
        "liveblog_fanout_seconds_count": posts,
        "liveblog_frames_rendered_total": posts,
    }


async def _is(server: LiveServer, name: str, before: dict[str, float], more: int) -> bool:
    return await metric(server.url, name) == before[name] + more
