"""Logs as an operator reads them: with LIVEBLOG_LOG_FORMAT=json every line a server writes is
one JSON object, requests and publishes carrying their fields. (The plain default is checked on
the servers of test_ops_endpoints, the workers' JSON in test_serve_workers.)"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

import httpx

from tests.support import Deployment, LiveServer

DEADLINE = 20.0


def start(folder: Path, **env: str) -> LiveServer:
    environ = {"LIVEBLOG_DATABASE_URL": f"sqlite:///{folder}/lb.db", **env}
    return LiveServer(Deployment(folder=folder, env=environ)).start()


def publish(server: LiveServer) -> dict:
    """Create a story, put it live and post an entry; the story as it ends."""
    _, token = server.deployment.add_user("editor")
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        story = http.post("/api/stories", json={"title": f"Logs {secrets.token_hex(3)}"}).json()
        slug = story["slug"]
        assert http.patch(f"/api/stories/{slug}", json={"status": "live"}).status_code == 200
        posted = http.post(f"/api/stories/{slug}/entries", json={"body": "Logged"})
        assert posted.status_code == 201, posted.text
        return http.get(f"/api/stories/{slug}").json()


def wait_for_line(server: LiveServer, pattern: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not re.search(pattern, server.log()):
        assert time.monotonic() < deadline, f"no line matching {pattern} in:\n{server.log()}"
        time.sleep(0.05)


def json_lines(server: LiveServer) -> list[dict]:
    """Every line of the server's output, each parsed as JSON (a line that is not fails)."""
    records = []
    for line in server.log().splitlines():
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert {"timestamp", "level", "logger", "message"} <= record.keys(), line
        records.append(record)
    return records


def test_json_logs_are_one_object_per_line_with_request_and_publish_fields(
    tmp_path: Path,
) -> None:
    server = start(tmp_path, LIVEBLOG_LOG_FORMAT="json")
    try:
        story = publish(server)
        # Through the trusted proxy (127.0.0.1 by default): the log names the real client.
        httpx.get(f"{server.url}/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
        wait_for_line(server, r'"path": "/healthz", "status": 200')
    finally:
        server.stop()
    records = json_lines(server)
    assert {"uvicorn.error", "liveblog", "liveblog.access", "liveblog.publish"} <= {
        r["logger"] for r in records
    }
    assert any(r["message"] == "Application startup complete." for r in records)

    requests = [r for r in records if r["logger"] == "liveblog.access"]
    entry_post = next(r for r in requests if r["path"].endswith("/entries"))
    assert (entry_post["method"], entry_post["status"]) == ("POST", 201)
    assert entry_post["path"] == f"/api/stories/{story['slug']}/entries"
    assert isinstance(entry_post["duration_ms"], float) and entry_post["duration_ms"] >= 0
    last_health_check = [r for r in requests if r["path"] == "/healthz"][-1]
    assert last_health_check["client"] == "203.0.113.7"

    publishes = [r for r in records if r["logger"] == "liveblog.publish"]
    assert [r["seq"] for r in publishes] == list(range(1, story["seq"] + 1))
    assert len(publishes) >= 2  # going live and the entry
    assert len({r["story"] for r in publishes}) == 1
    assert all(f"seq {r['seq']}" in r["message"] for r in publishes)
