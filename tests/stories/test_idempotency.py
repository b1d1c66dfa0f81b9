"""A POST retried with the same Idempotency-Key gets the first answer back and writes nothing."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from tests.support import LiveServer


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"retry-{secrets.token_hex(8)}"}


def state(desk: httpx.Client, slug: str) -> tuple[int, list[int]]:
    """The story's seq and its entry ids."""
    story = desk.get(f"/api/stories/{slug}").json()
    entries = desk.get(f"/api/stories/{slug}/entries", params={"limit": 100}).json()["items"]
    return story["seq"], [entry["id"] for entry in entries]


def story_titles(desk: httpx.Client) -> list[str]:
    return [s["title"] for s in desk.get("/api/stories", params={"limit": 100}).json()["items"]]


def test_retried_post_returns_the_first_answer_and_writes_nothing(
    editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    url = f"/api/stories/{slug}/entries"
    headers = key()
    first = editor.post(url, json={"body": "Once only"}, headers=headers)
    assert first.status_code == 201, first.text
    after_first = state(editor, slug)
    assert after_first == (live_story["seq"] + 1, [first.json()["id"]])
    for _ in range(3):
        retry = editor.post(url, json={"body": "Once only"}, headers=headers)
        assert (retry.status_code, retry.json()) == (first.status_code, first.json())
    assert state(editor, slug) == after_first
    # Without a key the same POST is a new entry: the key is what prevents it.
    assert editor.post(url, json={"body": "Once only"}).status_code == 201
    assert len(state(editor, slug)[1]) == 2


async def test_concurrent_retries_post_exactly_once(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    headers = {"Authorization": editor.headers["Authorization"], **key()}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.post(f"/api/stories/{slug}/entries", json={"body": "Racing retries"})
                for _ in range(10)
            )
        )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    entry_id = answers[0].json()["id"]
    assert state(editor, slug) == (live_story["seq"] + 1, [entry_id])


def test_same_key_with_a_different_request_is_422(editor: httpx.Client, live_story: dict) -> None:
    slug = live_story["slug"]
    other = editor.post("/api/stories", json={"title": "Other story"}).json()["slug"]
    headers = key()
    first = editor.post(f"/api/stories/{slug}/entries", json={"body": "Original"}, headers=headers)
    assert first.status_code == 201, first.text
    before = state(editor, slug), state(editor, other)
    reuses = [
        (f"/api/stories/{slug}/entries", {"body": "Different words"}),
        (f"/api/stories/{slug}/entries", {"body": "Original", "pinned": True}),
        (f"/api/stories/{other}/entries", {"body": "Original"}),
        ("/api/stories", {"title": "Original"}),
    ]
    for url, payload in reuses:
        response = editor.post(url, json=payload, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == "Idempotency-Key"
    assert (state(editor, slug), state(editor, other)) == before
    assert "Original" not in story_titles(editor)


def test_keys_belong_to_one_user(
    editor: httpx.Client, reporter: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    url = f"/api/stories/{slug}/entries"
    headers = key()
    mine = editor.post(url, json={"body": "Same words"}, headers=headers)
    theirs = reporter.post(url, json={"body": "Same words"}, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert mine.json()["author"] != theirs.json()["author"]
    assert reporter.post(url, json={"body": "Same words"}, headers=headers).json() == theirs.json()
    assert editor.post(url, json={"body": "Same words"}, headers=headers).json() == mine.json()
    assert state(editor, slug) == (
        live_story["seq"] + 2,
        [theirs.json()["id"], mine.json()["id"]],
    )


def test_retried_story_creation_creates_one_story(
    editor: httpx.Client, admin: httpx.Client
) -> None:
    title = f"Flood watch {secrets.token_hex(4)}"
    headers = key()
    first = editor.post("/api/stories", json={"title": title}, headers=headers)
    assert first.status_code == 201, first.text
    retry = editor.post("/api/stories", json={"title": title}, headers=headers)
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert story_titles(editor).count(title) == 1
    # Another user's story with the same key is their own (and gets a slug of its own).
    theirs = admin.post("/api/stories", json={"title": title}, headers=headers)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["slug"] != first.json()["slug"]
    assert story_titles(editor).count(title) == 2


async def test_concurrent_story_creation_creates_one_story(
    server: LiveServer, editor: httpx.Client
) -> None:
    title = f"Storm {secrets.token_hex(4)}"
    headers = {"Authorization": editor.headers["Authorization"], **key()}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as http:
        answers = await asyncio.gather(
            *(http.post("/api/stories", json={"title": title}) for _ in range(10))
        )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert story_titles(editor).count(title) == 1
