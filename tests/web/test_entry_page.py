"""An entry's permalink page: the entry on its own, a link into its story, a canonical URL and
a title; drafts, other stories' entries and unknown ids are 404."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

from tests.live.readers import post
from tests.support import LiveServer

# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = pytest.mark.backends("sqlite")


def test_the_permalink_shows_the_entry_and_links_into_the_story(
    server: LiveServer, client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    other = post(editor, slug, "Another entry, not on this page")
    entry = post(editor, slug, "The **river** burst its banks.", title="Flooding in Eastbank")
    response = client.get(f"/stories/{slug}/entries/{entry['id']}")
    assert response.status_code == 200
    page = response.text
    assert "<title>Flooding in Eastbank · " in page and live_story["title"] in page
    assert (
        f'<link rel="canonical" href="{server.url}/stories/{slug}/entries/{entry["id"]}">' in page
    )
    assert f'id="entry-{entry["id"]}"' in page and "<strong>river</strong>" in page
    assert f'id="entry-{other["id"]}"' not in page
    assert re.search(rf'<a href="/stories/{slug}#entry-{entry["id"]}">', page)


def test_untitled_entries_are_named_by_their_first_words(
    client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    entry = post(editor, slug, "Power is back in most of the city")
    page = client.get(f"/stories/{slug}/entries/{entry['id']}").text
    assert "<title>Power is back in most of the city · " in page


def test_drafts_unknown_ids_and_other_stories_entries_are_404(
    client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    draft = post(editor, slug, "Not yet", draft=True)
    other_story = editor.post("/api/stories", json={"title": f"Other {secrets.token_hex(3)}"})
    other_slug = other_story.json()["slug"]
    editor.patch(f"/api/stories/{other_slug}", json={"status": "live"})
    elsewhere = post(editor, other_slug, "Belongs to the other story")
    hidden_story = editor.post("/api/stories", json={"title": f"Hidden {secrets.token_hex(3)}"})
    hidden_slug = hidden_story.json()["slug"]
    hidden_entry = post(editor, hidden_slug, "In a draft story")
    for path in (
        f"/stories/{slug}/entries/{draft['id']}",
        f"/stories/{slug}/entries/{elsewhere['id']}",
        f"/stories/{slug}/entries/99999999",
        f"/stories/{slug}/entries/99999999999999",
        f"/stories/{hidden_slug}/entries/{hidden_entry['id']}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"]
