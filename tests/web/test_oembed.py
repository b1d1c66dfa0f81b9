"""oEmbed: a `rich` answer with the iframe snippet for a story or an entry of this site,
sized within maxwidth/maxheight; JSON errors: 400 without a url, 404 for URLs that are not
ours or not public, 501 for formats but json; the discovery links of story and entry pages.
(That the snippet shows the story on another site is tests/embeds/test_embeds_browser.py.)"""

from __future__ import annotations

import re
import secrets
from html import unescape

import httpx
import pytest

from tests.live.readers import post
from tests.support import LiveServer

# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = pytest.mark.backends("sqlite")


def oembed(client: httpx.Client, url: str, **params: str) -> httpx.Response:
    return client.get("/oembed", params={"url": url, "format": "json", **params})


def test_a_story_url_answers_a_rich_embed(
    server: LiveServer, client: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    response = oembed(client, f"{server.url}/stories/{slug}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert {k: body[k] for k in ("type", "version", "title", "provider_name")} == {
        "type": "rich",
        "version": "1.0",
        "title": live_story["title"],
        "provider_name": "Liveblog",
    }
    assert body["provider_url"] == f"{server.url}/"
    assert (body["width"], body["height"]) == (600, 720)
    html = body["html"]
    assert f'<iframe src="{server.url}/stories/{slug}/embed"' in html
    assert "data-liveblog-embed" in html and 'width="600" height="720"' in html
    assert f'<script async src="{server.url}/static/embed.js"></script>' in html
    assert html.count("<") == 4  # one iframe and one script, nothing else


def test_maxwidth_and_maxheight_bound_the_size(
    server: LiveServer, client: httpx.Client, live_story: dict
) -> None:
    url = f"{server.url}/stories/{live_story['slug']}"
    body = oembed(client, url, maxwidth="320", maxheight="240").json()
    assert (body["width"], body["height"]) == (320, 240)
    assert 'width="320" height="240"' in body["html"] and "max-width:320px" in body["html"]
    roomy = oembed(client, url, maxwidth="4000", maxheight="4000").json()
    assert (roomy["width"], roomy["height"]) == (600, 720)
    bad = oembed(client, url, maxwidth="wide")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "maxwidth"


def test_an_entry_url_embeds_its_story_under_the_entry_title(
    server: LiveServer, client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    entry = post(editor, slug, "Bridge closed.", title="The bridge is closed")
    body = oembed(client, f"{server.url}/stories/{slug}/entries/{entry['id']}").json()
    assert body["title"] == f"The bridge is closed · {live_story['title']}"
    assert f'src="{server.url}/stories/{slug}/embed"' in body["html"]


def test_urls_that_are_not_public_stories_of_this_site_are_404(
    server: LiveServer, client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    draft_story = editor.post("/api/stories", json={"title": f"Draft {secrets.token_hex(3)}"})
    draft_entry = post(editor, slug, "Not yet", draft=True)
    for url in (
        f"{server.url}/stories/no-such-story",
        f"https://elsewhere.example/stories/{slug}",
        f"{server.url.replace('http:', 'ftp:')}/stories/{slug}",
        f"{server.url}/desk/stories/{slug}",
        f"{server.url}/stories/{slug}/feed.atom",
        f"{server.url}/stories/{draft_story.json()['slug']}",
        f"{server.url}/stories/{slug}/entries/{draft_entry['id']}",
        f"{server.url}/stories/{slug}/entries/999999",
        f"{server.url}/stories/{slug}/entries/99999999999999999999",
        "not a url at all",
    ):
        response = oembed(client, url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("fmt", ["xml", "yaml"])
def test_formats_other_than_json_are_501(
    server: LiveServer, client: httpx.Client, live_story: dict, fmt: str
) -> None:
    response = oembed(client, f"{server.url}/stories/{live_story['slug']}", format=fmt)
    assert response.status_code == 501
    assert response.json()["error"] == {
        "code": "not_implemented",
        "message": "only format=json is supported",
        "field": "format",
    }


def test_a_missing_url_is_400_and_says_so(client: httpx.Client) -> None:
    for params in ({}, {"url": "", "format": "json"}):
        response = client.get("/oembed", params=params)
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "url"
        assert "url is required" in response.json()["error"]["message"]


def _alternates(html: str) -> dict[str, str]:
    links = re.findall(r'<link rel="alternate" type="([^"]+)" href="([^"]+)"', html)
    return {kind: unescape(href) for kind, href in links}


@pytest.mark.parametrize("page", ["story", "entry"])
def test_pages_offer_oembed_discovery_and_feed_links(
    server: LiveServer, client: httpx.Client, editor: httpx.Client, live_story: dict, page: str
) -> None:
    slug = live_story["slug"]
    entry = post(editor, slug, "Fresh news", title="Fresh")
    path = f"/stories/{slug}" + (f"/entries/{entry['id']}" if page == "entry" else "")
    links = _alternates(client.get(path).text)
    discovered = httpx.get(links["application/json+oembed"], timeout=30)
    assert discovered.status_code == 200
    expected = live_story["title"] if page == "story" else f"Fresh · {live_story['title']}"
    assert discovered.json()["title"] == expected
    assert links["application/atom+xml"] == f"{server.url}/stories/{slug}/feed.atom"
    assert links["application/feed+json"] == f"{server.url}/stories/{slug}/feed.json"
    for kind in ("application/atom+xml", "application/feed+json"):
        assert httpx.get(links[kind], timeout=30).status_code == 200
