"""PostgreSQL closing the server's pooled connections (a restart, a failover, an idle timeout
on a proxy) costs no reader or reporter an error: a pooled connection that sat idle is checked
before use and replaced when the check fails."""

from __future__ import annotations

import time

import asyncpg
import httpx
import pytest

from liveblog.db.engine import PING_AFTER_IDLE
from tests.support import POSTGRES_ADMIN_URL, LiveServer, run_async

pytestmark = pytest.mark.backends("postgres")


def test_requests_after_the_database_closed_every_connection_succeed(
    server: LiveServer, client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    assert editor.post(f"/api/stories/{slug}/entries", json={"body": "Before"}).status_code == 201
    database = server.deployment.env["LIVEBLOG_DATABASE_URL"].rsplit("/", 1)[1]
    assert run_async(_close_connections_to(database)) > 0
    time.sleep(PING_AFTER_IDLE + 0.5)  # what the server's pool decides on: idle time

    posted = editor.post(f"/api/stories/{slug}/entries", json={"body": "After"})
    assert posted.status_code == 201, posted.text
    assert client.get(f"/api/stories/{slug}/entries").status_code == 200
    assert "database unavailable" not in server.log()


async def _close_connections_to(database: str) -> int:
    """Terminate every backend serving database, as a restart would; how many there were."""
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        rows = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            database,
        )
    finally:
        await connection.close()
    return len(rows)
