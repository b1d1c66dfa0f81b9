"""Feeds: a story's Atom and JSON Feed validate (feedparser; the JSON Feed 1.1 schema), carry
permalinks, titles, authors and update times, and show a retraction's note instead of its
words; the site's Atom feed lists public stories; revalidation answers 304; drafts are 404;
absolute URLs come from LIVEBLOG_PUBLIC_URL."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import httpx
import jsonschema
import pytest

from tests.live.readers import post
from tests.support import Deployment, LiveServer
from tests.web.caching import assert_revalidates

# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = pytest.mark.backends("sqlite")

JSON_FEED_SCHEMA = json.loads((Path(__file__).parent / "jsonfeed_schema.json").read_text())
LONG_TEXT = (
    "Water is rising **fast** near the harbour & the old bridge, officials say, "
    "and more rain is due tonight"
)
FEED_TYPES = {"atom": "application/atom+xml", "json": "application/feed+json"}


@pytest.fixture
def story(editor: httpx.Client, live_story: dict) -> dict:
    """A live story with a plain, a titled, a key-event, a retracted and a draft entry."""
    slug = live_story["slug"]
    entries = {
        "plain": post(editor, slug, LONG_TEXT),
        "titled": post(editor, slug, "Police close the A1.", title="Roads closed on the coast"),
        "key": post(
            editor, slug, "Leave now.", key_event=True, headline="Evacuation ordered for the coast"
        ),
        "retracted": post(editor, slug, "Secret wrong words about Lowtown"),
        "draft": post(editor, slug, "Not ready yet", draft=True),
    }
    retract = editor.request(
        "DELETE",
        f"/api/stories/{slug}/entries/{entries['retracted']['id']}",
        json={"reason": "Wrong town."},
    )
    assert retract.status_code == 200, retract.text
    return {"slug": slug, "title": live_story["title"], "entries": entries}


def permalink(server: LiveServer, slug: str, entry: dict) -> str:
    return f"{server.url}/stories/{slug}/entries/{entry['id']}"


def get_feed(client: httpx.Client, path: str) -> httpx.Response:
    """The feed at path (ending .atom or .json): 200, with its format's content type."""
    response = client.get(path)
    assert response.status_code == 200
    kind = path.rpartition(".")[2]
    assert response.headers["content-type"] == f"{FEED_TYPES[kind]}; charset=utf-8"
    return response


def parse_atom(response: httpx.Response) -> feedparser.FeedParserDict:
    """The Atom feed in response, which feedparser must read without complaint."""
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def test_atom_feed_is_valid_and_has_every_published_entry(
    server: LiveServer, client: httpx.Client, story: dict
) -> None:
    slug, entries = story["slug"], story["entries"]
    response = get_feed(client, f"/stories/{slug}/feed.atom")
    feed = parse_atom(response)
    assert feed.version == "atom10"
    assert feed.feed.title == story["title"]
    assert feed.feed.link == f"{server.url}/stories/{slug}"
    newest_first = ["retracted", "key", "titled", "plain"]  # the draft is not in it
    assert [e.link for e in feed.entries] == [
        permalink(server, slug, entries[k]) for k in newest_first
    ]
    for item in feed.entries:
        assert item.id == item.link and item.updated_parsed and item.published_parsed
        assert item.author.startswith("editor-")
    by_kind = dict(zip(newest_first, feed.entries, strict=True))
    assert by_kind["titled"].title == "Roads closed on the coast"
    assert by_kind["key"].title == "Evacuation ordered for the coast"
    # The first twelve words, without the Markdown.
    assert (
        by_kind["plain"].title
        == "Water is rising fast near the harbour & the old bridge, officials…"
    )
    assert "<strong>fast</strong>" in by_kind["plain"].content[0].value
    assert by_kind["retracted"].title == "Retracted entry"
    assert "This entry was retracted. Wrong town." in by_kind["retracted"].content[0].value
    assert b"Secret wrong words" not in response.content
    assert b"Not ready yet" not in response.content


def test_json_feed_is_valid_json_feed_1_1(
    server: LiveServer, client: httpx.Client, story: dict
) -> None:
    slug, entries = story["slug"], story["entries"]
    document = get_feed(client, f"/stories/{slug}/feed.json").json()
    validator = jsonschema.Draft202012Validator(
        JSON_FEED_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    assert document["feed_url"] == f"{server.url}/stories/{slug}/feed.json"
    assert document["home_page_url"] == f"{server.url}/stories/{slug}"
    items = {item["id"]: item for item in document["items"]}
    assert len(items) == 4
    for item in items.values():
        assert item["url"] == item["id"] and _absolute(item["url"])
        for field in ("date_published", "date_modified"):
            assert datetime.fromisoformat(item[field]).utcoffset() is not None
    retracted = items[permalink(server, slug, entries["retracted"])]
    assert retracted["content_html"] == "<p>This entry was retracted. Wrong town.</p>"
    assert retracted["date_modified"] > retracted["date_published"]
    key = items[permalink(server, slug, entries["key"])]
    assert key["title"] == "Evacuation ordered for the coast"
    assert key["content_html"] == "<p>Leave now.</p>"


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@pytest.mark.parametrize("kind", ["atom", "json"])
def test_revalidation_answers_304_until_the_story_changes(
    client: httpx.Client, editor: httpx.Client, story: dict, kind: str
) -> None:
    url = f"/stories/{story['slug']}/feed.{kind}"
    first = assert_revalidates(client, url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    fresh = post(editor, story["slug"], "Something new")
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert f"/entries/{fresh['id']}" in changed.text


def test_site_feed_lists_live_and_ended_stories_only(
    server: LiveServer, client: httpx.Client, editor: httpx.Client
) -> None:
    slugs = {}
    for status in ("draft", "live", "ended"):
        title = f"Site feed {status} {secrets.token_hex(3)}"
        created = editor.post("/api/stories", json={"title": title, "description": "Why & how"})
        slug = slugs[status] = created.json()["slug"]
        for step in {"draft": [], "live": ["live"], "ended": ["live", "ended"]}[status]:
            assert editor.patch(f"/api/stories/{slug}", json={"status": step}).status_code == 200
    feed = parse_atom(get_feed(client, "/feed.atom"))
    links = [entry.link for entry in feed.entries]
    assert f"{server.url}/stories/{slugs['live']}" in links
    assert f"{server.url}/stories/{slugs['ended']}" in links
    assert f"{server.url}/stories/{slugs['draft']}" not in links
    assert all(entry.updated_parsed and entry.id for entry in feed.entries)
    assert_revalidates(client, "/feed.atom")


def test_feeds_of_drafts_and_unknown_stories_are_404(
    client: httpx.Client, editor: httpx.Client
) -> None:
    draft = editor.post("/api/stories", json={"title": f"Draft {secrets.token_hex(3)}"})
    for slug in (draft.json()["slug"], "no-such-story"):
        for kind in ("atom", "json"):
            assert client.get(f"/stories/{slug}/feed.{kind}").status_code == 404


@pytest.fixture
def public_server(deployment: Deployment, server: LiveServer) -> Iterator[LiveServer]:
    """A second process on the same database, told its public address."""
    env = {**deployment.env, "LIVEBLOG_PUBLIC_URL": "https://live.example.com/"}
    other = LiveServer(Deployment(folder=deployment.folder, env=env)).start()
    yield other
    other.stop()


def test_absolute_urls_come_from_the_public_url(public_server: LiveServer, story: dict) -> None:
    slug = story["slug"]
    with httpx.Client(base_url=public_server.url, timeout=30) as http:
        document = get_feed(http, f"/stories/{slug}/feed.json").json()
        atom = parse_atom(get_feed(http, f"/stories/{slug}/feed.atom"))
    assert document["feed_url"] == f"https://live.example.com/stories/{slug}/feed.json"
    assert all(
        item["url"].startswith(f"https://live.example.com/stories/{slug}/entries/")
        for item in document["items"]
    )
    assert atom.feed.link == f"https://live.example.com/stories/{slug}"
