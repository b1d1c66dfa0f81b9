"""The server-sent event stream of a story, and what the live endpoints share.

Both live endpoints subscribe first, then replay from the log what the reader missed, then
stream (live/reader_stream.py); every message carries its seq. The WebSocket is in
live_socket.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from liveblog.db.engine import Database
from liveblog.errors import InvalidInput
from liveblog.live.hub import Hub
from liveblog.live.reader_stream import Reload, in_order, replay
from liveblog.live.subscriber import CloseCode, StoryRef, Subscriber
from liveblog.stories.visibility import visible_story
from liveblog.web.api.common import MAX_ID
from liveblog.web.reader_admission import admit_reader, busy_response
from liveblog.web.services import services

SSE_RETRY_MS = 3000
FORMATS = ("json", "html")
SSE_KEEPALIVE = 15.0


async def story_stream(request: Request) -> Response:
    """Server-sent events /stories/{slug}/stream, resuming from Last-Event-ID or ?after=."""
    after = parse_after(request.headers.get("last-event-id") or request.query_params.get("after"))
    fmt = request.query_params.get("format", "json")
    if fmt not in FORMATS:
        raise InvalidInput("format must be json or html", field="format")
    hub = services(request).hub
    story = await load_story(hub, services(request).db, request.path_params["slug"], after)
    if story.status == "ended" and after >= story.seq:
        return Response(status_code=204)  # tells EventSource not to reconnect
    # Checked with nothing awaited before the subscribe: a flood cannot overshoot the limit.
    if not admit_reader(services(request), "sse"):
        return busy_response()
    subscriber = Subscriber(after, fmt)
    upto = hub.subscribe(story, subscriber)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(hub, story, subscriber, upto), media_type="text/event-stream", headers=headers
    )


async def _events(
    hub: Hub, story: StoryRef, subscriber: Subscriber, upto: int
) -> AsyncIterator[str]:
    try:
        yield f"retry: {SSE_RETRY_MS}\n\n"
        frames = await replay(hub, story, subscriber, upto)
        while True:
            for frame in frames:
                yield f"id: {frame.seq}\ndata: {frame.text(subscriber.fmt)}\n\n"
            if subscriber.closed_with is not None:
                break
            taken = await subscriber.next_frames(SSE_KEEPALIVE)
            if not taken and subscriber.closed_with is None:
                yield ": keep-alive\n\n"
            frames = await in_order(hub, story, subscriber, taken)
        if subscriber.closed_with == CloseCode.ENDED:
            yield "event: ended\ndata: {}\n\n"
    except Reload:
        yield f"event: reload\ndata: {json.dumps({'seq': story.seq})}\n\n"
    finally:
        hub.unsubscribe(story.id, subscriber)


def parse_after(raw: str | None) -> int:
    """The seq a reader has seen, from ?after= or Last-Event-ID; 0 when absent."""
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise InvalidInput("after must be a whole number of 0 or more", field="after")
    return int(raw)


async def load_story(hub: Hub, db: Database, slug: str, after: int) -> StoryRef:
    """The story readers may follow (not drafts), or NotFound. A reader claiming a seq this
    process has not seen yet is checked against the database, which may know it (or not,
    and then the reader must reload)."""
    known = hub.known_story(slug)
    if known is not None and known.status != "draft" and after <= known.seq:
        return known
    async with db.reading() as session:
        return StoryRef.of(await visible_story(session, slug, None))


ROUTES: list[BaseRoute] = [
    Route("/stories/{slug}/stream", story_stream, name="story_stream"),
]
