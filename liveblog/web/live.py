"""GET /stories/{slug}/stream: one reader's server-sent events, from replay to its end, and
what the live endpoints share (the WebSocket is in live_socket.py).

A story may have tens of thousands of these open for hours, so each is lean: the response
is a small ASGI app with one task, which subscribes only once it runs (a client gone before
then leaves nothing behind), replays what the reader missed, and once it is caught up lets
the hub write each event's pre-encoded chunk straight to the transport, and one sweep a second
its keep-alives (stream_transport.py).
Valid requests are answered before the app's middleware (EventStreamMiddleware), with the
headers that middleware would add; anything else goes the usual way, through the
story_stream route, which answers with the same stream or the right error."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from liveblog.errors import InvalidInput, LiveblogError
from liveblog.live.admission import reader_admitted
from liveblog.live.frames import FORMATS, sse_event
from liveblog.live.hub import Hub
from liveblog.live.reader_stream import Reload, in_order, replay
from liveblog.live.stream_transport import (
    KEEPALIVE,
    STREAM_EXTENSION,
    StreamKeepalive,
    StreamWriter,
)
from liveblog.live.subscriber import CloseCode, StoryRef, Subscriber
from liveblog.web.api.common import MAX_ID
from liveblog.web.cors import PUBLIC_READ_HEADERS
from liveblog.web.reader_admission import admit_reader, busy_response
from liveblog.web.security_headers import with_security_headers
from liveblog.web.services import Services, services

EVENT_STREAM = "/stories/{slug}/stream"
SSE_RETRY_MS = 3000
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
# What the middleware would have added, for streams answered before it.
LEAN_HEADERS = with_security_headers([*HEADERS, *PUBLIC_READ_HEADERS])
_RETRY = f"retry: {SSE_RETRY_MS}\n\n".encode()
_ENDED = b"event: ended\ndata: {}\n\n"


async def story_stream(request: Request) -> Response | EventStream:
    """Server-sent events /stories/{slug}/stream, resuming from Last-Event-ID or ?after=."""
    after = parse_after(request.headers.get("last-event-id") or request.query_params.get("after"))
    fmt = request.query_params.get("format", "json")
    if fmt not in FORMATS:
        raise InvalidInput("format must be json, html or page", field="format")
    hub = services(request).hub
    story = await hub.story_for_readers(request.path_params["slug"], after)
    if story.status == "ended" and after >= story.seq:
        return Response(status_code=204)  # tells EventSource not to reconnect
    # Checked with nothing awaited before the subscribe: a flood cannot overshoot the limit.
    if not admit_reader(services(request), "sse"):
        return busy_response()
    return EventStream(hub, services(request).stream_keepalive, story, after, fmt)


def parse_after(raw: str | None) -> int:
    """The seq a reader has seen, from ?after= or Last-Event-ID; 0 when absent."""
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise InvalidInput("after must be a whole number of 0 or more", field="after")
    return int(raw)


class EventStream:
    """The stream of one reader of story from seq `after`, in format fmt."""

    __slots__ = ("_headers", "_hub", "_keepalive", "_story", "_subscriber")

    def __init__(
        self,
        hub: Hub,
        keepalive: StreamKeepalive,
        story: StoryRef,
        after: int,
        fmt: str,
        headers: list[tuple[bytes, bytes]] = HEADERS,
    ) -> None:
        self._hub = hub
        self._keepalive = keepalive
        self._story = story
        self._subscriber = Subscriber(after, fmt, transport="sse")
        self._headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub, story, subscriber = self._hub, self._story, self._subscriber
        writer: StreamWriter | None = scope.get("extensions", {}).get(STREAM_EXTENSION)
        watcher = None
        upto = hub.subscribe(story, subscriber)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self._headers})
            if writer is not None:
                writer.when_lost(lambda: subscriber.close(CloseCode.RECONNECT))
                self._keepalive.add(subscriber)
            else:  # no word from the server when the reader leaves: listen for it
                watcher = asyncio.create_task(_close_on_disconnect(receive, subscriber))
            await self._stream(send, writer, upto)
        finally:
            hub.unsubscribe(story.id, subscriber)
            if writer is not None:
                writer.when_lost(None)
                self._keepalive.discard(subscriber)
            if watcher is not None:
                watcher.cancel()

    async def _stream(self, send: Send, writer: StreamWriter | None, upto: int) -> None:
        hub, story, subscriber = self._hub, self._story, self._subscriber
        await _body(send, _RETRY)
        try:
            frames = await replay(hub, story, subscriber, upto)
            while True:
                if frames:
                    fmt = subscriber.fmt
                    await _body(send, b"".join(sse_event(f.seq, f.text(fmt)) for f in frames))
                if subscriber.closed_with is not None:
                    break
                subscriber.go_direct(writer)
                # A caught-up reader's keep-alives come from the sweep; others send their own.
                interval = None if subscriber.is_direct else self._keepalive.interval
                taken = await subscriber.next_frames(interval)
                if not taken and subscriber.closed_with is None:
                    await _body(send, KEEPALIVE)
                frames = await in_order(hub, story, subscriber, taken)
            if subscriber.closed_with == CloseCode.ENDED:
                await _body(send, _ENDED)
        except Reload:
            await _body(send, f"event: reload\ndata: {json.dumps({'seq': story.seq})}\n\n".encode())
        with suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _close_on_disconnect(receive: Receive, subscriber: Subscriber) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    subscriber.close(CloseCode.RECONNECT)


class StoryPathMiddleware:
    """A lean middleware that takes the `scope_type` scopes of one story path (`{slug}` in it)
    ahead of the rest of the app; what it does with them is its subclass's."""

    scope_type = "http"

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self._path = compile_path(path)[0]

    def slug(self, scope: Scope) -> str | None:
        """The story's slug when the scope is one of this middleware's, else None."""
        match = self._path.match(scope["path"]) if scope["type"] == self.scope_type else None
        return match["slug"] if match is not None else None


class EventStreamMiddleware(StoryPathMiddleware):
    """Answers valid GETs of `path` with an EventStream before the rest of the middleware."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        slug = self.slug(scope)
        stream = None
        if slug is not None and scope["method"] == "GET":
            stream = await _lean_stream(scope["app"].state.services, scope, slug)
        # Anything but a stream to start goes through the app, which says what is wrong.
        await (stream or self.app)(scope, receive, send)


async def _lean_stream(app_services: Services, scope: Scope, slug: str) -> EventStream | None:
    """The stream for a request that needs no error and no 204; otherwise None."""
    query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    last_event_id = dict(scope["headers"]).get(b"last-event-id", b"").decode("latin-1")
    fmt = query.get("format", "json")
    try:
        after = parse_after(last_event_id or query.get("after"))
        story = await app_services.hub.story_for_readers(slug, after)
    except LiveblogError:
        return None
    if fmt not in FORMATS or (story.status == "ended" and after >= story.seq):
        return None
    if not reader_admitted(app_services.hub, app_services.settings.max_readers):
        return None  # story_stream turns the reader away, and counts it
    return EventStream(
        app_services.hub, app_services.stream_keepalive, story, after, fmt, LEAN_HEADERS
    )


ROUTES: list[BaseRoute] = [
    Route(EVENT_STREAM, story_stream, name="story_stream"),
]
