"""Many writers at once: every change still takes exactly one seq, with no gap and no duplicate."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.support import LiveServer

POSTS = 50
PATCHES_EACH = 10


def async_client(server: LiveServer, desk: httpx.Client) -> httpx.AsyncClient:
    """An async client signed in as the same user as desk."""
    headers = {"Authorization": desk.headers["Authorization"]}
    limits = httpx.Limits(max_connections=POSTS + 10)
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60, limits=limits)


async def story_seq(http: httpx.AsyncClient, slug: str) -> int:
    response = await http.get(f"/api/stories/{slug}")
    assert response.status_code == 200, response.text
    return response.json()["seq"]


async def events_after(http: httpx.AsyncClient, slug: str, after: int) -> list[dict]:
    response = await http.get(f"/api/stories/{slug}/events", params={"after": after, "limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def post_many(http: httpx.AsyncClient, slug: str) -> list[dict]:
    url = f"/api/stories/{slug}/entries"
    answers = await asyncio.gather(
        *(http.post(url, json={"body": f"post {n}"}) for n in range(POSTS))
    )
    assert [a.status_code for a in answers] == [201] * POSTS, [a.text for a in answers]
    return [a.json() for a in answers]


async def test_concurrent_posts_take_contiguous_seqs(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    async with async_client(server, editor) as http:
        base = await story_seq(http, slug)
        posted = await post_many(http, slug)
        assert await story_seq(http, slug) == base + POSTS
        log = await events_after(http, slug, base)
        listed = await http.get(f"/api/stories/{slug}/entries", params={"limit": 100})
    assert [e["seq"] for e in log] == list(range(base + 1, base + POSTS + 1))
    assert {e["type"] for e in log} == {"entry.published"}
    posted_ids = sorted(entry["id"] for entry in posted)
    assert len(set(posted_ids)) == POSTS
    assert sorted(e["entry"]["id"] for e in log) == posted_ids
    assert sorted(e["id"] for e in listed.json()["items"]) == posted_ids
    assert sorted(e["entry"]["body"] for e in log) == sorted(f"post {n}" for n in range(POSTS))


async def test_concurrent_posts_and_patches_keep_seqs_contiguous(
    server: LiveServer, editor: httpx.Client, admin: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    story_url = f"/api/stories/{slug}"
    async with async_client(server, editor) as http:
        target = await http.post(f"{story_url}/entries", json={"body": "to be edited"})
    entry_url = f"{story_url}/entries/{target.json()['id']}"

    async def patch_story(http: httpx.AsyncClient) -> list[int]:
        seqs = []
        for n in range(PATCHES_EACH):
            response = await http.patch(story_url, json={"description": f"update {n}"})
            assert response.status_code == 200, response.text
            seqs.append(response.json()["seq"])
        return seqs

    async def patch_entry(http: httpx.AsyncClient) -> None:
        for n in range(PATCHES_EACH):
            response = await http.patch(entry_url, json={"body": f"edit {n}"})
            assert response.status_code == 200, response.text

    async with async_client(server, editor) as poster, async_client(server, admin) as desk:
        base = await story_seq(poster, slug)
        _, story_seqs, _ = await asyncio.gather(
            post_many(poster, slug), patch_story(desk), patch_entry(desk)
        )
        total = POSTS + 2 * PATCHES_EACH
        assert await story_seq(poster, slug) == base + total
        log = await events_after(poster, slug, base)
    assert [e["seq"] for e in log] == list(range(base + 1, base + total + 1))
    kinds = Counter(e["type"] for e in log)
    assert kinds == {
        "entry.published": POSTS,
        "story.updated": PATCHES_EACH,
        "entry.updated": PATCHES_EACH,
    }
    # Each story PATCH answered with the seq of its own event.
    assert story_seqs == [e["seq"] for e in log if e["type"] == "story.updated"]
    edits = [e["entry"]["body"] for e in log if e["type"] == "entry.updated"]
    assert edits == [f"edit {n}" for n in range(PATCHES_EACH)]


async def test_concurrent_edits_of_one_entry_leave_no_stale_event(
    server: LiveServer, editor: httpx.Client, admin: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    async with async_client(server, editor) as http:
        entry = (await http.post(f"/api/stories/{slug}/entries", json={"body": "0"})).json()
        base = await story_seq(http, slug)
    url = f"/api/stories/{slug}/entries/{entry['id']}"
    fields = ("body", "title", "headline")
    rounds = 15

    async def edit(field: str, desk: httpx.Client) -> None:
        async with async_client(server, desk) as http:
            for n in range(1, rounds + 1):
                response = await http.patch(url, json={field: str(n)})
                assert response.status_code == 200, response.text

    desks = (editor, admin, editor)
    await asyncio.gather(*(edit(f, d) for f, d in zip(fields, desks, strict=True)))
    async with async_client(server, editor) as http:
        log = await events_after(http, slug, base)
        final = (await http.get(url)).json()
    assert [e["seq"] for e in log] == list(range(base + 1, base + len(log) + 1))
    edits = [e["entry"] for e in log if e["entry"]["id"] == entry["id"]]
    assert len(edits) == len(fields) * rounds
    # Each field is edited 1, 2, 3… by one writer, so in seq order no event may show a field
    # older than an earlier event did: that would be a writer building its event from a read
    # made before another writer's change committed.
    for field in fields:
        seen = [int(edit[field] or 0) for edit in edits]
        assert seen == sorted(seen), f"{field} went back in time: {seen}"
    assert edits[-1] == final
    assert [final[f] for f in fields] == [str(rounds)] * len(fields)
