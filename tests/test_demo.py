"""`liveblog serve --demo`: a first run seeds an admin and a live story that keeps moving; a
second run reuses both; on a site with users the demo posts as its oldest admin."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from liveblog.demo import OPENING, SLUG
from tests.support import Deployment, LiveServer

DEMO = ("--demo", "--demo-interval", "0.2")
DEADLINE = 20.0


def sqlite_deployment(folder: Path) -> Deployment:
    return Deployment(folder=folder, env={"LIVEBLOG_DATABASE_URL": f"sqlite:///{folder}/lb.db"})


def entries_once_updated(server: LiveServer) -> list[dict]:
    """The demo story's entries, once a demo update has been posted after the opening ones."""
    deadline = time.monotonic() + DEADLINE
    while True:
        response = httpx.get(f"{server.url}/api/stories/{SLUG}/entries?limit=100", timeout=5)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if any("(update " in item["body"] for item in items):
            return items
        assert time.monotonic() < deadline, f"no demo update after {DEADLINE}s: {items}"
        time.sleep(0.1)


def test_first_run_seeds_an_admin_and_a_live_story_and_a_restart_reuses_them(
    tmp_path: Path,
) -> None:
    deployment = sqlite_deployment(tmp_path)
    logs = []
    for _run in range(2):
        server = LiveServer(deployment, DEMO).start()
        try:
            stories = httpx.get(f"{server.url}/api/stories", timeout=5).json()["items"]
            entries = entries_once_updated(server)
        finally:
            server.stop()
            logs.append(server.log())
        assert [(s["slug"], s["status"]) for s in stories] == [(SLUG, "live")]
        assert {item["author"] for item in entries} == {"admin"}
        openings = [item for item in entries if "(update " not in item["body"]]
        assert len(openings) == len(OPENING)  # seeded once, not again on the second run
    assert ["created the first admin" in log for log in logs] == [True, False]


def test_on_a_site_with_users_the_demo_posts_as_the_oldest_admin(tmp_path: Path) -> None:
    deployment = sqlite_deployment(tmp_path)
    deployment.add_user("editor", "older-editor")
    deployment.add_user("admin", "oldest-admin")
    deployment.add_user("admin", "newer-admin")
    server = LiveServer(deployment, DEMO).start()
    try:
        entries = entries_once_updated(server)
    finally:
        server.stop()
    assert {item["author"] for item in entries} == {"oldest-admin"}
    assert "created the first admin" not in server.log()
