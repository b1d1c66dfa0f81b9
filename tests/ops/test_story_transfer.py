"""`liveblog export` and `liveblog import`: a story goes SQLite → PostgreSQL → SQLite and the JSON
API answers the same bytes at the end; importing twice, or a bad file, changes nothing."""

from __future__ import annotations

import base64
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from liveblog.errors import InvalidInput
from liveblog.transfer.file_format import read_story_file
from tests.ops.stories import (
    api_answers,
    api_client,
    sqlite_deployment,
    written_story,
)
from tests.support import Deployment, LiveServer, postgres_database

# Among the longest modules: started first (tests/conftest.py).
pytestmark = pytest.mark.slow

STORY_TABLES = ("stories", "entries", "entry_revisions", "story_events", "users", "media")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """A story written through the API on SQLite, its story file, and its API answers."""
    deployment = sqlite_deployment(tmp_path_factory.mktemp("source") / "data")
    story = written_story(deployment, "Storm over the bay")
    story_file = deployment.folder / "story.json"
    story_file.write_text(deployment.cli("export", story.slug).stdout)
    return story_file, story.answers


def test_a_story_round_trip_through_postgresql_keeps_every_byte_of_the_api(
    tmp_path: Path, exported: tuple[Path, dict[str, bytes]]
) -> None:
    story_file, original = exported
    slug = json.loads(story_file.read_text())["story"]["slug"]
    second_file = tmp_path / "story-from-postgres.json"
    with postgres_database() as url:
        postgres = Deployment(tmp_path, {"LIVEBLOG_DATABASE_URL": url})
        postgres.add_user("admin")  # and the tables
        # As if many entries came before: the imported ones get other ids than at the source.
        postgres.execute("SELECT setval(pg_get_serial_sequence('entries', 'id'), 1000)")
        imported = postgres.cli("import", str(story_file))
        assert imported.stdout.startswith(f"imported story {slug}: 9 entries, ")
        assert "new disabled users (authors unknown here): editor-" in imported.stdout
        second_file.write_text(postgres.cli("export", slug).stdout)
    second, first = (json.loads(f.read_text()) for f in (second_file, story_file))
    assert [e["id"] for e in second["entries"]] == list(range(1001, 1010))
    assert_same_file_but_ids(second, first)

    back = sqlite_deployment(tmp_path / "back")
    back.cli("import", str(second_file))
    server = LiveServer(back).start()
    try:
        _, token = back.add_user("admin")
        with api_client(server.url, token) as http:
            assert api_answers(http, slug) == original
    finally:
        server.stop()


def assert_same_file_but_ids(second: dict, first: dict) -> None:
    """Story files equal but for the time of export and the entries' ids."""
    for document in (first, second):
        del document["exported_at"]
        ids = {entry["id"]: n for n, entry in enumerate(document["entries"])}
        for entry in document["entries"]:
            entry["id"] = ids[entry["id"]]
        for event in document["events"]:
            if event["entry"] is not None:
                event["entry"] = event["data"]["id"] = ids[event["entry"]]
    assert second == first
    assert len(first["media"]) == 1 and len(first["entries"][0]["revisions"]) == 1


def test_an_import_is_whole_or_nothing_and_never_twice(
    tmp_path: Path, exported: tuple[Path, dict[str, bytes]]
) -> None:
    story_file, _ = exported
    deployment = sqlite_deployment(tmp_path / "data")
    deployment.add_user("admin")  # and the tables
    # The database refuses the first event: by then the story, its entries and their
    # revisions have been written, in the same transaction.
    deployment.execute(
        "CREATE TRIGGER refuse_events BEFORE INSERT ON story_events "
        "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
    )
    before = deployment.count_rows(*STORY_TABLES)
    failed = deployment.cli("import", str(story_file), check=False)
    assert (failed.returncode, failed.stderr) == (1, "Error: database error: the disk is full\n")
    # Images are kept before the story, each whole, as uploads are; the rest is rolled back.
    assert {**deployment.count_rows(*STORY_TABLES), "media": 0} == {**before, "media": 0}

    deployment.execute("DROP TRIGGER refuse_events")
    deployment.cli("import", str(story_file))
    imported = deployment.count_rows(*STORY_TABLES)
    assert imported["stories"] == 1 and imported["entries"] == 9
    again = deployment.cli("import", str(story_file), check=False)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1, again.stderr
    assert "is already here (imported before?); nothing was imported" in again.stderr
    assert deployment.count_rows(*STORY_TABLES) == imported


def tampered(document: dict, change: str) -> dict:
    """The story file with one thing wrong."""
    if change == "version":
        document["version"] = 2
    elif change == "missing entry":
        event = next(e for e in document["events"] if e["entry"] is not None)
        event["entry"] = event["data"]["id"] = 999_999
    elif change == "image bytes":
        document["media"][0]["data"] = base64.b64encode(b"not the image").decode()
    elif change == "naive time":
        document["entries"][-1]["shown_at"] = "2026-01-01T10:00:00"
    elif change == "unknown field":
        document["story"]["colour"] = "red"
    return document


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("not json", "not a story file: it is not JSON"),
        ("version", "this story file is version 2; this liveblog reads version 1"),
        ("missing entry", "names entry 999999, not in the file"),
        ("image bytes", "image 33eeff8e391294f378b8af245b8a4088.png: its data does not match"),
        ("naive time", "entries.8.shown_at: must include a UTC offset"),
        ("unknown field", "story.colour: Extra inputs are not permitted"),
    ],
)
def test_a_bad_file_is_refused_with_what_is_wrong(
    exported: tuple[Path, dict[str, bytes]], change: str, words: str
) -> None:
    text = exported[0].read_text()
    bad = text[:-200] if change == "not json" else json.dumps(tampered(json.loads(text), change))
    with pytest.raises(InvalidInput) as refused:
        read_story_file(bad)
    assert words in refused.value.message and "\n" not in refused.value.message


def test_the_command_refuses_a_bad_file_in_one_line_before_touching_the_database(
    tmp_path: Path, exported: tuple[Path, dict[str, bytes]]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tampered(json.loads(exported[0].read_text()), "version")))
    deployment = sqlite_deployment(tmp_path / "data")
    result = deployment.cli("import", str(bad), check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "version 2" in result.stderr, result.stderr
    assert not (deployment.folder / "news.db").exists()


def test_imported_html_is_sanitized_like_any_entry(
    tmp_path: Path, exported: tuple[Path, dict[str, bytes]]
) -> None:
    document = json.loads(exported[0].read_text())
    document["entries"][-1]["html"] = '<p onclick="steal()">Hi</p><script>steal()</script>'
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(document))
    deployment = sqlite_deployment(tmp_path / "data")
    deployment.cli("import", str(hostile))
    with closing(sqlite3.connect(deployment.folder / "news.db")) as db:
        newest = db.execute("SELECT html FROM entries ORDER BY id DESC LIMIT 1").fetchone()
    assert newest == ("<p>Hi</p>",)
