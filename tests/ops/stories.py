"""Deployments and stories for the operations tests: a story with something of every kind,
written through the API, and what the JSON API answers about it."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image

from tests.support import Deployment, LiveServer

API_PAGE = 100


def sqlite_deployment(folder: Path) -> Deployment:
    """A new data folder with a SQLite database named news.db."""
    folder.mkdir()
    return Deployment(folder, {"LIVEBLOG_DATABASE_URL": f"sqlite:///{folder}/news.db"})


@dataclass(frozen=True)
class WrittenStory:
    """A story written by an editor, what the API answered about it, and its image."""

    slug: str
    token: str
    answers: dict[str, bytes]
    image_url: str
    image: bytes


def written_story(deployment: Deployment, title: str) -> WrittenStory:
    """write_story on a server of deployment, started for it and stopped afterwards."""
    server = LiveServer(deployment).start()
    try:
        _, token = deployment.add_user("editor")
        with api_client(server.url, token) as http:
            slug = write_story(http, title)
            image_url = image_url_of(http, slug)
            return WrittenStory(
                slug, token, api_answers(http, slug), image_url, http.get(image_url).content
            )
    finally:
        server.stop()


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
    """The JSON API's answers about story slug, byte for byte: the story, and every page of its
    entries and of its events (one page a line)."""
    story = http.get(f"/api/stories/{slug}")
    assert story.status_code == 200, story.text
    entries = _pages(http, f"/api/stories/{slug}/entries", {"limit": API_PAGE}, _next_entries)
    events = _pages(http, f"/api/stories/{slug}/events", {"after": 0, "limit": 500}, _next_events)
    return {"story": story.content, "entries": entries, "events": events}


def _pages(http: httpx.Client, path: str, params: dict, following) -> bytes:  # type: ignore[no-untyped-def]
    pages = []
    while params is not None:
        page = http.get(path, params=params)
        assert page.status_code == 200, page.text
        pages.append(page.content)
        params = following(params, page.json())
    return b"\n".join(pages)


def _next_entries(params: dict, page: dict) -> dict | None:
    return None if page["next"] is None else {**params, "before": page["next"]}


def _next_events(params: dict, page: dict) -> dict | None:
    if not page["items"] or page["items"][-1]["seq"] >= page["last_seq"]:
        return None
    return {**params, "after": page["items"][-1]["seq"]}


def items(answer: bytes) -> list[dict]:
    """The items of every page of an answer of api_answers."""
    return [item for page in answer.splitlines() for item in json.loads(page)["items"]]


def image_url_of(http: httpx.Client, slug: str) -> str:
    """The URL of the first image the story's entries show."""
    items = http.get(f"/api/stories/{slug}/entries", params={"limit": API_PAGE}).json()["items"]
    html = next(e["html"] for e in items if "<img" in e["html"])
    return html.split('src="')[1].split('"')[0]


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
