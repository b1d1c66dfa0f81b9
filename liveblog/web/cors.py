"""CORS for public reads only, as a pure ASGI middleware: `Access-Control-Allow-Origin: *` on
GET and HEAD of the paths below, and answers to their preflights. Writes (any other method)
and every other path get nothing, so no other site can script a change; credentials are
never allowed, so a reader's desk session is never sent along."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveblog.web.response_start import on_response_start

PUBLIC_READS = re.compile(
    r"^(?:/api/stories(?:/[^/]+(?:/entries(?:/\d+)?|/events)?)?"
    r"|/stories/[^/]+/(?:feed\.atom|feed\.json|embed\.json|stream)"
    r"|/feed\.atom|/oembed)$"
)
READ_METHODS = frozenset({"GET", "HEAD"})
PUBLIC_READ_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    # A cross-origin script may revalidate with the ETag, so it has to be able to read it.
    (b"access-control-expose-headers", b"ETag, Last-Modified"),
]
_PREFLIGHT = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, HEAD"),
    (b"access-control-allow-headers", b"If-None-Match, If-Modified-Since, Last-Event-ID"),
    (b"access-control-max-age", b"86400"),
    (b"content-length", b"0"),
]


class PublicReadCorsMiddleware:
    """Lets any origin read the public endpoints, and none change anything."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not PUBLIC_READS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if _is_read_preflight(scope):
            await send({"type": "http.response.start", "status": 204, "headers": _PREFLIGHT})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] not in READ_METHODS:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, on_response_start(scope, send, _allow_reading))


def _allow_reading(start: Message) -> None:
    start["headers"] = [*start.get("headers", ()), *PUBLIC_READ_HEADERS]


def _is_read_preflight(scope: Scope) -> bool:
    """An OPTIONS preflight asking to GET or HEAD; one asking to write gets no CORS."""
    if scope["method"] != "OPTIONS":
        return False
    for name, value in scope["headers"]:
        if name == b"access-control-request-method":
            return value.decode("latin-1").upper() in READ_METHODS
    return False
