"""liveblog_db_queries_total counts the SQL statements a process sends: a POST moves it, a
read of /metrics alone does not."""

from __future__ import annotations

import httpx

from tests.live.readers import metric
from tests.support import LiveServer

SERIES = "liveblog_db_queries_total"


async def test_posting_an_entry_counts_its_statements(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    before = await metric(server.url, SERIES)
    assert await metric(server.url, SERIES) == before  # a scrape asks the database nothing
    response = editor.post(f"/api/stories/{live_story['slug']}/entries", json={"body": "Hello"})
    assert response.status_code == 201, response.text
    after = await metric(server.url, SERIES)
    # At least the entry, the story's seq and the event; any more is the writer's business.
    assert after - before >= 3
