"""The site's own answers without a network: GET requests straight into the application, its
lifespan (database, hub) running for as long as they are needed."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.types import Message

from liveblog.app import create_app
from liveblog.settings import Settings


@dataclass(frozen=True)
class Answer:
    """A response: its status, content type and body."""

    status: int
    content_type: str
    body: bytes

    @property
    def is_html(self) -> bool:
        return self.content_type.startswith("text/html")


class InProcessSite:
    """Answers anonymous GET requests, as a reader at public_url would get them."""

    def __init__(self, app: Starlette, public_url: str) -> None:
        self._app = app
        address = urlsplit(public_url)
        self._scheme = address.scheme
        self._host = address.netloc
        port = address.port or (443 if self._scheme == "https" else 80)
        self._server = (address.hostname or "", port)

    async def get(self, target: str) -> Answer:
        """The answer to GET target (a path with an optional query)."""
        path, _, query = target.partition("?")
        messages: list[Message] = []
        requested = False

        async def receive() -> Message:
            nonlocal requested
            if requested:
                # As a server does after the body: wait for a disconnect that never comes
                # (responses that listen for it cancel the wait once they are sent).
                await asyncio.Future()
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            messages.append(message)

        await self._app(self._scope(path, query), receive, send)
        return _answer(messages)

    def _scope(self, path: str, query: str) -> dict[str, object]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": self._scheme,
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", self._host.encode())],
            "client": ("127.0.0.1", 0),
            "server": self._server,
        }


def _answer(messages: list[Message]) -> Answer:
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Answer(start["status"], headers.get("content-type", ""), body)


@asynccontextmanager
async def running_site(settings: Settings) -> AsyncIterator[InProcessSite]:
    """The application of settings, started (and stopped afterwards), to read from; needs a
    public_url. It rings no other process's doorbell and never runs the demo."""
    assert settings.public_url, "an in-process site answers as its public URL"
    app = create_app(dataclasses.replace(settings, bus_url="memory://", demo=False))
    async with app.router.lifespan_context(app):
        yield InProcessSite(app, settings.public_url)
