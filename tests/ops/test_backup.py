"""`liveblog db backup` copies a SQLite database while a server writes to it, and the copy serves
the same stories and images; PostgreSQL is refused (pg_dump's job), and the README's pg_dump and
pg_restore commands restore a PostgreSQL database that serves the same stories."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.ops.stories import (
    Poster,
    api_answers,
    api_client,
    image_url_of,
    items,
    sqlite_deployment,
    write_story,
    written_story,
)
from tests.support import Deployment, LiveServer, postgres_database, skip_or_fail

# Among the longest modules: started first (tests/conftest.py).
pytestmark = pytest.mark.slow

DEADLINE = 30.0


def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_a_backup_taken_while_a_server_writes_restores_the_same_stories_and_images(
    tmp_path: Path,
) -> None:
    live = sqlite_deployment(tmp_path / "live")
    server = LiveServer(live).start()
    try:
        _, token = live.add_user("editor")
        with api_client(server.url, token) as http:
            slug = write_story(http, "Flood warning", end=False)
            image_url = image_url_of(http, slug)
            image_bytes = http.get(image_url).content
            with Poster(server.url, token, slug).running() as poster:
                wait_for(lambda: poster.posted >= 5, "the first posts")
                before = poster.posted
                # An empty folder may be named, as well as a new one.
                (tmp_path / "backup").mkdir()
                backup = live.cli("db", "backup", str(tmp_path / "backup"))
                during = poster.posted - before
            assert not poster.errors, poster.errors
            assert during > 0, "nothing was written while the backup ran"
            original = api_answers(http, slug)
        assert backup.stdout.startswith("backed up news.db ("), backup.stdout
        assert "1 media files, the secret key into" in backup.stdout
        assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
            "liveblog-secret.key",
            "media",
            "news.db",
        ]

        # The README's restore: the folder's files into a data folder, a server started there.
        shutil.copytree(tmp_path / "backup", tmp_path / "restored")
        restored = Deployment(
            tmp_path / "restored",
            {"LIVEBLOG_DATABASE_URL": f"sqlite:///{tmp_path}/restored/news.db"},
        )
        copy = LiveServer(restored).start()
        try:
            # The same token: users and tokens are in the copy too.
            with api_client(copy.url, token) as http:
                copied = api_answers(http, slug)
                assert http.get(image_url).content == image_bytes
        finally:
            copy.stop()
    finally:
        server.stop()
    assert_a_consistent_earlier_state(copied, original)


def assert_a_consistent_earlier_state(copied: dict[str, bytes], original: dict[str, bytes]) -> None:
    """The copy is the story as it was at one moment: its events are the first ones of the
    original, the story's seq is its last event's, and its entries are those they published."""
    copied_events, original_events = items(copied["events"]), items(original["events"])
    seq = json.loads(copied["story"])["seq"]
    assert [event["seq"] for event in copied_events] == list(range(1, seq + 1))
    assert copied_events == original_events[:seq]
    assert seq < len(original_events)  # the posts after the backup are not in it
    copied_entries = items(copied["entries"])
    published = {e["entry"]["id"] for e in copied_events if "entry" in e}
    assert published <= {e["id"] for e in copied_entries}
    newest = max(e["id"] for e in copied_entries)
    assert copied_entries == [e for e in items(original["entries"]) if e["id"] <= newest]


def test_postgresql_is_refused_with_a_pointer_to_pg_dump(tmp_path: Path) -> None:
    deployment = Deployment(tmp_path, {"LIVEBLOG_DATABASE_URL": "postgresql://x@127.0.0.1:1/db"})
    result = deployment.cli("db", "backup", str(tmp_path / "backup"), check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "pg_dump -Fc" in result.stderr, result.stderr
    assert not (tmp_path / "backup").exists()


def test_a_folder_with_files_in_it_is_refused_and_left_alone(tmp_path: Path) -> None:
    deployment = sqlite_deployment(tmp_path / "data")
    deployment.add_user("admin")  # and the database
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "notes.txt").write_text("mine")
    result = deployment.cli("db", "backup", str(tmp_path / "backup"), check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "already exists" in result.stderr, result.stderr
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_pg_dump_and_pg_restore_as_the_readme_says_serve_the_same_stories(
    tmp_path: Path,
) -> None:
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        skip_or_fail("postgres", "pg_dump and pg_restore are not installed (postgresql-client)")
    dump = tmp_path / "liveblog.dump"
    with postgres_database() as source_url, postgres_database() as target_url:
        story = written_story(Deployment(tmp_path, {"LIVEBLOG_DATABASE_URL": source_url}), "Vote")
        run(["pg_dump", "-Fc", "-f", str(dump), source_url])
        run(["pg_restore", "--no-owner", "-d", target_url, str(dump)])
        copy = LiveServer(Deployment(tmp_path, {"LIVEBLOG_DATABASE_URL": target_url})).start()
        try:
            # The same token: users and tokens are in the dump too.
            with api_client(copy.url, story.token) as http:
                assert api_answers(http, story.slug) == story.answers
                assert http.get(story.image_url).content == story.image
        finally:
            copy.stop()


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{command[0]} failed: {result.stderr}"
