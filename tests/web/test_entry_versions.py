"""Entries carry an ETag; a change based on an older version is refused with 412."""

from __future__ import annotations

import httpx

from tests.support import LiveServer

TABLES = ("entries", "entry_revisions", "story_events")


def post(client: httpx.Client, slug: str, body: str) -> httpx.Response:
    response = client.post(f"/api/stories/{slug}/entries", json={"body": body})
    assert response.status_code == 201, response.text
    return response


def test_an_entry_answers_with_its_etag_and_each_change_makes_a_new_one(
    editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    url = f"/api/stories/{slug}/entries/{post(editor, slug, 'One').json()['id']}"
    first = editor.get(url)
    assert first.headers["ETag"] == f'"{first.json()["id"]}-1"'
    edited = editor.patch(url, json={"body": "Two"}, headers={"If-Match": first.headers["ETag"]})
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] != first.headers["ETag"]
    assert editor.get(url).headers["ETag"] == edited.headers["ETag"]


def test_a_stale_if_match_is_412_and_changes_nothing(
    server: LiveServer, editor: httpx.Client, admin: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    url = f"/api/stories/{slug}/entries/{post(editor, slug, 'Council meets at 7').json()['id']}"
    loaded = editor.get(url).headers["ETag"]
    assert admin.patch(url, json={"body": "Council meets at 8"}).status_code == 200
    before = server.deployment.count_rows(*TABLES)
    seq = editor.get(f"/api/stories/{slug}").json()["seq"]

    stale = editor.patch(url, json={"body": "Council meets at 7:30"}, headers={"If-Match": loaded})
    retract = editor.request("DELETE", url, json={}, headers={"If-Match": loaded})

    for response in (stale, retract):
        assert response.status_code == 412, response.text
        assert response.json()["error"]["code"] == "precondition_failed"
    assert server.deployment.count_rows(*TABLES) == before
    assert editor.get(f"/api/stories/{slug}").json()["seq"] == seq
    assert editor.get(url).json()["body"] == "Council meets at 8"


def test_if_match_star_and_a_list_with_the_current_tag_are_accepted(
    editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    url = f"/api/stories/{slug}/entries/{post(editor, slug, 'A').json()['id']}"
    assert editor.patch(url, json={"body": "B"}, headers={"If-Match": "*"}).status_code == 200
    current = editor.get(url).headers["ETag"]
    listed = f'"0-0", {current}'
    assert editor.patch(url, json={"body": "C"}, headers={"If-Match": listed}).status_code == 200


def test_publishing_an_image_without_alt_text_is_refused_but_a_draft_may_hold_one(
    server: LiveServer, reporter: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    before = server.deployment.count_rows(*TABLES)
    refused = reporter.post(f"/api/stories/{slug}/entries", json={"body": "![](/media/a.png)"})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "body"
    assert "alt text" in refused.json()["error"]["message"]
    assert server.deployment.count_rows(*TABLES) == before

    draft = reporter.post(
        f"/api/stories/{slug}/entries", json={"body": "![](/media/a.png)", "draft": True}
    )
    assert draft.status_code == 201
    url = f"/api/stories/{slug}/entries/{draft.json()['id']}"
    assert reporter.patch(url, json={"draft": False}).status_code == 422
    fixed = reporter.patch(url, json={"draft": False, "body": "![Flooded road](/media/a.png)"})
    assert fixed.status_code == 200, fixed.text
    assert 'alt="Flooded road"' in fixed.json()["html"]
