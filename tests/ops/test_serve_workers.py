"""`liveblog serve --workers 2 --demo` on PostgreSQL and Redis, as an operator starts it: the
demo story is there at once and keeps moving, posted once per interval (not once per worker),
and the workers have the parent's settings (the metrics token, JSON logs)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from liveblog.demo import OPENING, SLUG
from tests.live.readers import ws_url
from tests.support import Deployment, LiveServer, postgres_database, redis_url

# Among the longest modules: started first (tests/conftest.py).
pytestmark = pytest.mark.slow

TOKEN = secrets.token_urlsafe(24)
DEADLINE = 30.0
NEW_ENTRIES = 3
# Slow enough to leave the CPU to the workers starting meanwhile.
INTERVAL = 0.5


@pytest.fixture
def demo_workers(tmp_path: Path) -> Iterator[LiveServer]:
    """Two workers on one port with the demo."""
    bus = redis_url()
    with postgres_database() as url:
        env = {
            "LIVEBLOG_DATABASE_URL": url,
            "LIVEBLOG_BUS_URL": bus,
            "LIVEBLOG_METRICS_TOKEN": TOKEN,
            "LIVEBLOG_LOG_FORMAT": "json",
        }
        server = LiveServer(
            Deployment(folder=tmp_path, env=env),
            ("--workers", "2", "--demo", "--demo-interval", str(INTERVAL)),
        )
        try:
            yield server.start()
        finally:
            server.stop()


async def read_new_entries(base: str, after: int, count: int) -> list[dict]:
    """The next count entry.published events of the demo story, read live from after."""
    events: list[dict] = []
    async with websockets.connect(ws_url(base, SLUG, after)) as ws:
        async with asyncio.timeout(DEADLINE):
            while len(events) < count:
                message = json.loads(await ws.recv())
                if message.get("type") == "entry.published":
                    events.append(message)
    return events


def update_numbers(entries: list[dict]) -> list[int]:
    return [int(m[1]) for e in entries if (m := re.search(r"\(update (\d+)\)", e["body"]))]


def test_workers_serve_the_demo_posted_once_with_the_parents_settings(
    demo_workers: LiveServer,
) -> None:
    story = httpx.get(f"{demo_workers.url}/api/stories/{SLUG}", timeout=10)
    assert story.status_code == 200, story.text  # seeded before the workers started
    assert story.json()["status"] == "live"

    events = asyncio.run(read_new_entries(demo_workers.url, story.json()["seq"], NEW_ENTRIES))
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(set(seqs))
    assert all("(update " in event["entry"]["body"] for event in events)

    entries = httpx.get(
        f"{demo_workers.url}/api/stories/{SLUG}/entries?limit=100", timeout=10
    ).json()["items"]
    numbers = update_numbers(entries)
    # One poster: every update number once; two would post each number twice.
    assert len(numbers) >= NEW_ENTRIES and Counter(numbers).most_common(1)[0][1] == 1, numbers
    assert len(entries) - len(numbers) == len(OPENING)

    for _ in range(4):  # whichever worker answers has the token
        assert httpx.get(f"{demo_workers.url}/metrics", timeout=10).status_code == 401
        metrics = httpx.get(
            f"{demo_workers.url}/metrics",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert metrics.status_code == 200

    # Parent and workers log in the parent's format: every line JSON.
    records = wait_for_records(demo_workers, "Started server process", 2)
    assert sum("created the first admin" in r["message"] for r in records) == 1
    assert sum(r["message"].startswith("Started parent process") for r in records) == 1
    published = [(r["story"], r["seq"]) for r in records if r["logger"] == "liveblog.publish"]
    assert len({story_id for story_id, _ in published}) == 1  # the demo story's id
    assert set(seqs) <= {seq for _, seq in published}
    answers = {(r["path"], r["status"]) for r in records if r["logger"] == "liveblog.access"}
    assert {("/metrics", 401), ("/metrics", 200)} <= answers


def wait_for_records(server: LiveServer, text: str, count: int) -> list[dict]:
    """Every line of the server's log as JSON, once count of them contain text."""
    deadline = time.monotonic() + DEADLINE
    while True:
        records = [json.loads(line) for line in server.log().splitlines()]
        if sum(text in r["message"] for r in records) >= count:
            return records
        assert time.monotonic() < deadline, f"fewer than {count} lines with {text!r}"
        time.sleep(0.1)
