"""Who may do what: reporters own their entries, editors and admins run stories, readers read."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live.readers import post, story_seq
from tests.support import LiveServer


@pytest.fixture
def other_reporter(server: LiveServer) -> Iterator[httpx.Client]:
    """A second reporter, to own entries the first one may not touch."""
    _, token = server.deployment.add_user("reporter")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield http


def test_reporter_posts_edits_and_retracts_own_entries(
    reporter: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    entry = post(reporter, slug, "From the scene")
    url = f"/api/stories/{slug}/entries/{entry['id']}"
    edited = reporter.patch(url, json={"body": "From the scene, corrected", "pinned": True})
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == "From the scene, corrected"
    retracted = reporter.request("DELETE", url, json={"reason": "duplicate"})
    assert retracted.status_code == 200, retracted.text
    assert retracted.json()["retracted"] is True


def test_reporter_cannot_change_another_authors_entry(
    reporter: httpx.Client,
    other_reporter: httpx.Client,
    editor: httpx.Client,
    live_story: dict,
) -> None:
    slug = live_story["slug"]
    for owner in (other_reporter, editor):
        url = f"/api/stories/{slug}/entries/{post(owner, slug, 'Not yours')['id']}"
        before, seq_before = owner.get(url).json(), story_seq(owner, slug)
        attempts = [
            reporter.patch(url, json={"body": "Hijacked"}),
            reporter.patch(url, json={"pinned": True}),
            reporter.patch(url, json={"draft": True}),
            reporter.request("DELETE", url, json={"reason": "mine now"}),
        ]
        for response in attempts:
            assert response.status_code == 403, response.text
            assert response.json()["error"]["code"] == "forbidden"
        assert owner.get(url).json() == before
        assert story_seq(owner, slug) == seq_before


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_change_anyones_entry(
    server: LiveServer, reporter: httpx.Client, live_story: dict, role: str
) -> None:
    slug = live_story["slug"]
    entry = post(reporter, slug, "Reporter's words")
    url = f"/api/stories/{slug}/entries/{entry['id']}"
    _, token = server.deployment.add_user(role)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as desk:
        edited = desk.patch(url, json={"body": "Desk's words", "key_event": True})
        assert edited.status_code == 200, edited.text
        assert edited.json()["body"] == "Desk's words"
        assert edited.json()["author"] == entry["author"]  # the author stays the reporter
        retracted = desk.request("DELETE", url, json={"reason": "unconfirmed"})
        assert retracted.status_code == 200, retracted.text
    assert reporter.get(url).json()["retracted_reason"] == "unconfirmed"


def test_reporter_cannot_create_or_change_stories(
    reporter: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    title = f"Reporter's own story {slug}"
    created = reporter.post("/api/stories", json={"title": title})
    assert created.status_code == 403, created.text
    for change in [{"status": "ended"}, {"title": "Renamed"}, {"description": "Mine"}]:
        response = reporter.patch(f"/api/stories/{slug}", json=change)
        assert response.status_code == 403, response.text
    unchanged = editor.get(f"/api/stories/{slug}").json()
    assert {**unchanged, "readers": 0} == {**live_story, "readers": 0}
    listed = editor.get("/api/stories", params={"limit": 100}).json()["items"]
    assert title not in [story["title"] for story in listed]


def test_editor_and_admin_create_and_change_stories(
    editor: httpx.Client, admin: httpx.Client
) -> None:
    for desk in (editor, admin):
        created = desk.post("/api/stories", json={"title": "Desk story"})
        assert created.status_code == 201, created.text
        url = f"/api/stories/{created.json()['slug']}"
        changed = desk.patch(url, json={"status": "live", "description": "Now live"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == "live"


def test_drafts_are_hidden_from_anonymous_readers_only(
    client: httpx.Client, editor: httpx.Client, reporter: httpx.Client, live_story: dict
) -> None:
    draft_story = editor.post("/api/stories", json={"title": "Embargoed"}).json()["slug"]
    post(editor, draft_story, "Under embargo")
    slug = live_story["slug"]
    draft_entry = post(editor, slug, "Not checked yet", draft=True)
    public_entry = post(editor, slug, "Checked")
    hidden = [
        f"/api/stories/{draft_story}",
        f"/api/stories/{draft_story}/entries",
        f"/api/stories/{draft_story}/events",
        f"/api/stories/{slug}/entries/{draft_entry['id']}",
    ]
    for url in hidden:
        response = client.get(url)
        assert response.status_code == 404, f"{url}: {response.text}"
        assert response.json()["error"]["code"] == "not_found"
        assert reporter.get(url).status_code == 200, url
    page = client.get(f"/stories/{draft_story}")
    assert page.status_code == 404 and "Under embargo" not in page.text
    public_stories = client.get("/api/stories", params={"limit": 100}).json()["items"]
    desk_stories = reporter.get("/api/stories", params={"limit": 100}).json()["items"]
    assert draft_story not in [story["slug"] for story in public_stories]
    assert draft_story in [story["slug"] for story in desk_stories]
    public_ids = [e["id"] for e in client.get(f"/api/stories/{slug}/entries").json()["items"]]
    desk_ids = [e["id"] for e in reporter.get(f"/api/stories/{slug}/entries").json()["items"]]
    assert public_ids == [public_entry["id"]]
    assert desk_ids == [public_entry["id"], draft_entry["id"]]
    assert "Not checked yet" not in client.get(f"/stories/{slug}").text


def test_anonymous_readers_read_live_stories(
    client: httpx.Client, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    entry = post(editor, slug, "Out in the open")
    story = client.get(f"/api/stories/{slug}")
    assert story.status_code == 200 and story.json()["status"] == "live"
    entries = client.get(f"/api/stories/{slug}/entries")
    assert entries.status_code == 200
    assert [e["id"] for e in entries.json()["items"]] == [entry["id"]]
    one = client.get(f"/api/stories/{slug}/entries/{entry['id']}")
    assert one.status_code == 200 and one.json()["body"] == "Out in the open"
    events = client.get(f"/api/stories/{slug}/events")
    assert events.status_code == 200
    assert events.json()["items"][-1]["entry"]["id"] == entry["id"]
    page = client.get(f"/stories/{slug}")
    assert page.status_code == 200 and "Out in the open" in page.text
    listed = client.get("/api/stories", params={"limit": 100}).json()["items"]
    assert slug in [s["slug"] for s in listed]
