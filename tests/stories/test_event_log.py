"""Every change readers see appends exactly one event with the next seq."""

from __future__ import annotations

import httpx


def events(client: httpx.Client, slug: str, after: int = 0) -> list[dict]:
    response = client.get(f"/api/stories/{slug}/events", params={"after": after})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_each_change_appends_one_event_in_order(editor: httpx.Client, live_story: dict) -> None:
    slug = live_story["slug"]
    base = live_story["seq"]
    entries = f"/api/stories/{slug}/entries"
    entry = editor.post(entries, json={"body": "First *update*"}).json()
    url = f"{entries}/{entry['id']}"
    steps = [
        (lambda: editor.patch(url, json={"body": "First update, corrected"}), "entry.updated"),
        (lambda: editor.patch(url, json={"pinned": True}), "entry.pinned"),
        (lambda: editor.patch(url, json={"pinned": False}), "entry.unpinned"),
        (
            lambda: editor.patch(url, json={"key_event": True, "headline": "Bridge closed"}),
            "entry.key_event",
        ),
        (lambda: editor.patch(url, json={"key_event": False}), "entry.key_event_cleared"),
        (lambda: editor.request("DELETE", url, json={"reason": "wrong bridge"}), "entry.retracted"),
        (lambda: editor.patch(f"/api/stories/{slug}", json={"status": "ended"}), "story.updated"),
    ]
    expected = ["entry.published"]
    for step, kind in steps:
        response = step()
        assert response.status_code == 200, response.text
        expected.append(kind)
        log = events(editor, slug, after=base)
        assert [e["type"] for e in log] == expected
        assert [e["seq"] for e in log] == list(range(base + 1, base + 1 + len(expected)))
    retracted = events(editor, slug, after=base + 6)[0]["entry"]
    assert retracted["retracted"] is True
    assert retracted["retracted_reason"] == "wrong bridge"
    assert retracted["body"] == "" and retracted["html"] == ""
    final = events(editor, slug, after=base + 7)[0]
    assert final["state"]["status"] == "ended" and final["state"]["ended_at"]


def test_events_after_returns_only_later_events(editor: httpx.Client, live_story: dict) -> None:
    slug = live_story["slug"]
    for n in range(5):
        assert (
            editor.post(f"/api/stories/{slug}/entries", json={"body": f"n{n}"}).status_code == 201
        )
    all_events = events(editor, slug)
    later = events(editor, slug, after=all_events[2]["seq"])
    assert later == all_events[3:]
    assert [e["entry"]["body"] for e in later] == ["n2", "n3", "n4"]


def test_unchanged_patch_and_drafts_append_nothing(editor: httpx.Client, live_story: dict) -> None:
    slug = live_story["slug"]
    entries = f"/api/stories/{slug}/entries"
    draft = editor.post(entries, json={"body": "not yet", "draft": True}).json()
    seq = editor.get(f"/api/stories/{slug}").json()["seq"]
    assert editor.patch(f"{entries}/{draft['id']}", json={"body": "still not"}).status_code == 200
    assert editor.get(f"/api/stories/{slug}").json()["seq"] == seq
    published = editor.patch(f"{entries}/{draft['id']}", json={"draft": False}).json()
    assert published["draft"] is False
    assert [e["type"] for e in events(editor, slug, after=seq)] == ["entry.published"]
    assert editor.patch(f"{entries}/{draft['id']}", json={"body": "still not"}).status_code == 200
    assert editor.get(f"/api/stories/{slug}").json()["seq"] == seq + 1
