"""liveblog_db_queries_total counts the SQL statements a process sends: a POST moves it, a
read of /metrics alone does not."""

from __future__ import annotations

import re

import httpx

SERIES = "liveblog_db_queries_total"


def _queries(client: httpx.Client) -> float:
    match = re.search(rf"^{SERIES} ([0-9.e+]+)$", client.get("/metrics").text, re.MULTILINE)
    assert match, f"{SERIES} missing from /metrics"
    return float(match.group(1))


def test_posting_an_entry_counts_its_statements(
    client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    before = _queries(client)
    assert _queries(client) == before  # a scrape asks the database nothing
    response = editor.post(f"/api/stories/{live_story['slug']}/entries", json={"body": "Hello"})
    assert response.status_code == 201, response.text
    # At least the entry, the story's seq and the event; any more is the writer's business.
    assert _queries(client) - before >= 3
