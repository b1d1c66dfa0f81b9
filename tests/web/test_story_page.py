"""The story page as search engines, social cards, caches and slow phones meet it: JSON-LD,
Open Graph, a canonical URL, 304 on revalidation, and a page weight budget."""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.live.readers import post

# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = pytest.mark.backends("sqlite")

STATIC = Path(__file__).resolve().parents[2] / "static"
BUDGET_BYTES = 60 * 1024
WORDS = ["firefighters", "pump", "water", "from", "the", "underpass", "near", "station"]


class Head(HTMLParser):
    """The meta tags, links, JSON-LD blocks and scripts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.scripts: list[str] = []
        self.json_ld: list[str] = []
        self._in_json_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            self.meta[values.get("property") or values["name"]] = values.get("content", "")
        elif tag == "link":
            self.links.append(values)
        elif tag == "script":
            self._in_json_ld = values.get("type") == "application/ld+json"
            if "src" in values:
                self.scripts.append(values["src"])

    def handle_data(self, data: str) -> None:
        if self._in_json_ld:
            self.json_ld.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_json_ld = False


def head_of(html: str) -> Head:
    parser = Head()
    parser.feed(html)
    return parser


def test_json_ld_describes_the_live_blog_and_its_latest_updates(
    client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    post(editor, slug, "The **river** peaked at 4.2 m.", key_event=True, headline="River peaks")
    post(editor, slug, "A quote </script><script>window.__xss=1</script>")
    page = head_of(client.get(f"/stories/{slug}").text)
    [block] = page.json_ld
    data = json.loads(block)
    assert data["@type"] == "LiveBlogPosting"
    assert data["headline"] == live_story["title"]
    assert data["coverageStartTime"] == live_story["started_at"]
    assert "coverageEndTime" not in data
    updates = data["liveBlogUpdate"]
    assert [u["@type"] for u in updates] == ["BlogPosting", "BlogPosting"]
    assert updates[1]["headline"] == "River peaks"
    assert updates[1]["articleBody"] == "The river peaked at 4.2 m."
    for update in updates:
        assert {"datePublished", "dateModified", "url", "articleBody"} <= update.keys()
    assert "</script><script>" not in block  # the entry's text cannot end the element

    editor.patch(f"/api/stories/{slug}", json={"status": "ended"})
    ended = json.loads(head_of(client.get(f"/stories/{slug}").text).json_ld[0])
    assert ended["coverageEndTime"] == editor.get(f"/api/stories/{slug}").json()["ended_at"]


def test_social_cards_and_the_canonical_url(server, client: httpx.Client, live_story: dict) -> None:
    page = head_of(client.get(f"/stories/{live_story['slug']}").text)
    url = f"{server.url}/stories/{live_story['slug']}"
    assert page.meta["og:title"] == page.meta["twitter:title"] == live_story["title"]
    assert page.meta["og:url"] == url
    assert page.meta["og:type"] == "article"
    assert page.meta["twitter:card"] == "summary"
    assert {"rel": "canonical", "href": url} in page.links


def test_a_revalidation_is_answered_304_until_the_story_changes(
    client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    url = f"/stories/{live_story['slug']}"
    first = client.get(url)
    assert "stale-while-revalidate" in first.headers["cache-control"]
    assert first.headers["cache-control"].startswith("public")
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    since = client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    post(editor, live_story["slug"], "News")
    changed = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]


def test_the_story_page_with_50_entries_weighs_under_60_kb_compressed(
    client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    for n in range(50):
        # Different words in each entry (about 400 characters), so gzip gets no free ride.
        text = " ".join(f"{word}{(n * 31 + i) % 997}" for i, word in enumerate(WORDS * 5))
        post(editor, slug, text, key_event=n % 10 == 0, headline=f"Update {n}")
    html = client.get(f"/stories/{slug}").text
    page = head_of(html)
    assets = page.scripts + [link["href"] for link in page.links if link.get("rel") == "stylesheet"]
    assert all(not re.match(r"https?://", a) for a in assets), "no third-party requests"
    sizes = {"html": len(gzip.compress(html.encode()))}
    for asset in assets:
        sizes[asset] = len(gzip.compress(client.get(asset).content))
    total = sum(sizes.values())
    print(f"story page, 50 entries, gzip: {sizes} total {total} bytes")
    assert total < BUDGET_BYTES, sizes


def test_the_json_reads_revalidate_to_304_and_change_with_the_story(
    client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    for url in ("/api/stories", f"/api/stories/{slug}", f"/api/stories/{slug}/entries"):
        first = client.get(url)
        assert first.headers["cache-control"] == "public, max-age=5, stale-while-revalidate=30"
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", url
    signed_in = editor.get(f"/api/stories/{slug}/entries")
    assert signed_in.headers["cache-control"] == "private, no-cache"
    etag = client.get(f"/api/stories/{slug}/entries").headers["etag"]
    post(editor, slug, "News")
    changed = client.get(f"/api/stories/{slug}/entries", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["items"][0]["body"] == "News"
