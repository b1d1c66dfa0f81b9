"""Stories for the operations tests: one with something of every kind, written through the API,
and what the JSON API answers about it."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from PIL import Image

API_PAGE = 100


def api_client(base_url: str, token: str) -> httpx.Client:
    """A client of a server, signed in with an API token (so drafts are visible too)."""
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def png(color: str, size: tuple[int, int] = (24, 16)) -> bytes:
    """A small PNG of one colour."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def upload_image(http: httpx.Client, data: bytes) -> str:
    """The URL of an uploaded image."""
    return _ok(http.post("/api/media", files={"file": ("photo.png", data, "image/png")}))["url"]


def post(http: httpx.Client, slug: str, **fields: object) -> dict:
    """A new entry of story slug."""
    return _ok(http.post(f"/api/stories/{slug}/entries", json=fields))


def write_story(http: httpx.Client, title: str, plain_entries: int = 3, end: bool = True) -> str:
    """A live story with an image, a key event, a pinned, an edited, a retracted and a draft
    entry, then plain_entries more; ended when end. Its slug."""
    slug = _ok(http.post("/api/stories", json={"title": title, "description": "What we know"}))[
        "slug"
    ]
    _ok(http.patch(f"/api/stories/{slug}", json={"status": "live"}))
    image = upload_image(http, png("crimson"))
    post(http, slug, body=f"The scene this morning.\n\n![A red square]({image})")
    key = post(http, slug, body="The bridge is **closed**.", title="Bridge closed")
    entries = f"/api/stories/{slug}/entries"
    _ok(http.patch(f"{entries}/{key['id']}", json={"key_event": True, "headline": "Closed"}))
    pinned = post(http, slug, body="Follow the official advice: [here](https://example.org/a).")
    _ok(http.patch(f"{entries}/{pinned['id']}", json={"pinned": True}))
    edited = post(http, slug, body="Ten people were rescued.")
    _ok(http.patch(f"{entries}/{edited['id']}", json={"body": "Twelve people were rescued."}))
    wrong = post(http, slug, body="A rumour we could not confirm.")
    _ok(http.request("DELETE", f"{entries}/{wrong['id']}", json={"reason": "Not confirmed."}))
    post(http, slug, body="Still checking this.", draft=True)
    for n in range(plain_entries):
        post(http, slug, body=f"Update number {n + 1}: > quoted\n\n> words\n> — A witness")
    _ok(http.patch(f"/api/stories/{slug}", json={"description": "What we know so far"}))
    if end:
        _ok(http.patch(f"/api/stories/{slug}", json={"status": "ended"}))
    return slug


def api_answers(http: httpx.Client, slug: str) -> dict[str, bytes]:
    """The JSON API's answers about story slug, byte for byte: the story, its entries (one
    page), its events."""
    entries = http.get(f"/api/stories/{slug}/entries", params={"limit": API_PAGE})
    assert entries.status_code == 200 and entries.json()["next"] is None, entries.text
    events = http.get(f"/api/stories/{slug}/events", params={"after": 0, "limit": 500})
    story = http.get(f"/api/stories/{slug}")
    assert events.status_code == 200 and story.status_code == 200
    return {"story": story.content, "entries": entries.content, "events": events.content}


class Poster:
    """Posts entries to a story from a thread, one after another, until stopped."""

    def __init__(self, base_url: str, token: str, slug: str) -> None:
        self._client = api_client(base_url, token)
        self._slug = slug
        self._stop = threading.Event()
        self.posted = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            response = self._client.post(
                f"/api/stories/{self._slug}/entries", json={"body": f"Post {self.posted + 1}"}
            )
            if response.status_code != 201:
                self.errors.append(response.text)
                return
            self.posted += 1

    @contextmanager
    def running(self) -> Iterator[Poster]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=30)
            self._client.close()
