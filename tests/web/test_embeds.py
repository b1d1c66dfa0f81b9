"""The embed endpoints over HTTP: the iframe page and embed.json honour theme, limit and
title, keep the markup live.js needs, revalidate with 304, and 404 for drafts."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

from tests.live.readers import post
from tests.web.caching import assert_revalidates

# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def story(editor: httpx.Client, live_story: dict) -> dict:
    """A live story with three entries, the first pinned."""
    slug = live_story["slug"]
    entries = [post(editor, slug, f"Entry {n}", pinned=n == 0) for n in range(3)]
    return {**live_story, "entries": entries}


def _entry_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="entry[^"]*" id="entry-(\d+)"', html)]


def test_the_iframe_page_is_the_stream_with_the_markup_live_js_needs(
    client: httpx.Client, story: dict
) -> None:
    response = client.get(f"/stories/{story['slug']}/embed")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="en" data-theme="light">' in page
    assert re.search(
        rf'<article class="story[^"]*" data-slug="{story["slug"]}" data-seq="{story["seq"] + 3}"'
        r' data-status="live" data-limit="20"',
        page,
    )
    assert 'id="live-status"' in page and '<ol class="entries" id="entries">' in page
    pinned, first, second = (e["id"] for e in story["entries"])
    assert _entry_ids(page) == [pinned, second, first]  # pinned first, then newest
    assert f"<h1>{story['title']}</h1>" in page
    assert '<header class="site"' not in page  # none of the site's chrome
    for script in ("/static/times.js", "/static/live.js", "/static/embed-frame.js"):
        assert f'<script src="{script}" defer></script>' in page


def test_options_choose_theme_limit_and_title(client: httpx.Client, story: dict) -> None:
    url = f"/stories/{story['slug']}/embed"
    page = client.get(url, params={"theme": "dark", "limit": "2", "title": "0"}).text
    assert 'data-theme="dark"' in page and 'data-limit="2"' in page
    assert len(_entry_ids(page)) == 2 and "<h1>" not in page
    assert 'data-theme="auto"' in client.get(url, params={"theme": "auto"}).text
    odd = client.get(url, params={"theme": "<script>", "limit": "9999"}).text
    assert 'data-theme="light"' in odd and 'data-limit="50"' in odd and "<script>" not in odd
    assert 'data-limit="20"' in client.get(url, params={"limit": "many"}).text


def test_embed_json_is_the_same_stream_for_embed_js(client: httpx.Client, story: dict) -> None:
    response = client.get(f"/stories/{story['slug']}/embed.json", params={"limit": "2"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert body["story"]["slug"] == story["slug"] and body["story"]["status"] == "live"
    assert body["html"].lstrip().startswith('<article class="story')
    assert len(_entry_ids(body["html"])) == 2
    # It is shown on another site: the link to the story is absolute.
    story_url = f"{str(client.base_url).rstrip('/')}/stories/{story['slug']}"
    assert f'<a href="{story_url}" target="_blank" rel="noopener">' in body["html"]


@pytest.mark.parametrize("path", ["embed", "embed.json"])
def test_revalidation_answers_304_until_the_story_changes(
    client: httpx.Client, editor: httpx.Client, story: dict, path: str
) -> None:
    url = f"/stories/{story['slug']}/{path}"
    etag = assert_revalidates(client, url).headers["etag"]
    other_options = client.get(url, params={"limit": "1"}, headers={"If-None-Match": etag})
    assert other_options.status_code == 200
    post(editor, story["slug"], "Something new")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_drafts_and_unknown_stories_are_404(client: httpx.Client, editor: httpx.Client) -> None:
    draft = editor.post("/api/stories", json={"title": f"Draft {secrets.token_hex(3)}"})
    for slug in (draft.json()["slug"], "no-such-story"):
        for path in ("embed", "embed.json"):
            assert client.get(f"/stories/{slug}/{path}").status_code == 404
