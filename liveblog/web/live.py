"""Live endpoints: a story's WebSocket and its server-sent event stream.

Both subscribe first, then replay from the log what the reader missed, then stream
(live/reader_stream.py); every message carries its seq."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from liveblog.db.models import Story
from liveblog.errors import InvalidInput, LiveblogError
from liveblog.live.reader_stream import Reload, reader_frames
from liveblog.live.subscriber import CloseCode, Subscriber
from liveblog.live.transport import EXTENSION as DIRECT_WRITER
from liveblog.web.api.common import MAX_ID
from liveblog.web.api.stories import visible_story
from liveblog.web.services import services

SSE_RETRY_MS = 3000
SSE_KEEPALIVE = 15.0
FORMATS = ("json", "html")
_REASONS = {
    CloseCode.RECONNECT: "reconnect with ?after= your last seq",
    CloseCode.ENDED: "the story has ended",
}


async def story_socket(websocket: WebSocket) -> None:
    """WebSocket /stories/{slug}/live?after=SEQ&format=html|json."""
    await websocket.accept()
    fmt = websocket.query_params.get("format", "json")
    try:
        if fmt not in FORMATS:
            raise InvalidInput("format must be json or html", field="format")
        after = _after(websocket.query_params.get("after"))
        story = await _story(websocket)
    except LiveblogError as error:
        code = CloseCode.NOT_FOUND if error.status == 404 else 1008
        await websocket.close(code, error.message[:120])
        return
    hub = services(websocket).hub
    subscriber = Subscriber(after, fmt)
    upto = hub.subscribe(story, subscriber)
    listener = asyncio.create_task(_until_disconnect(websocket, subscriber))
    direct = websocket.scope.get("extensions", {}).get(DIRECT_WRITER)
    try:
        async for frame in reader_frames(hub, story, subscriber, upto, direct=direct):
            if frame is not None:
                await websocket.send_text(frame.text(fmt))
        code = subscriber.closed_with or CloseCode.RECONNECT
        await websocket.close(code, _REASONS.get(code, ""))
    except Reload:
        await websocket.send_text(json.dumps({"type": "reload", "seq": story.seq}))
        await websocket.close(CloseCode.RELOAD, "too far behind: reload the page")
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the reader went away; there is nobody to tell
    finally:
        hub.unsubscribe(story.id, subscriber)
        listener.cancel()


async def _until_disconnect(websocket: WebSocket, subscriber: Subscriber) -> None:
    # Readers send nothing we act on; reading is how a closed socket is noticed.
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        subscriber.close(CloseCode.RECONNECT)


async def story_stream(request: Request) -> Response:
    """Server-sent events /stories/{slug}/stream, resuming from Last-Event-ID or ?after=."""
    after = _after(request.headers.get("last-event-id") or request.query_params.get("after"))
    story = await _story(request)
    if story.status == "ended" and after >= story.seq:
        return Response(status_code=204)  # tells EventSource not to reconnect
    hub = services(request).hub
    subscriber = Subscriber(after)
    upto = hub.subscribe(story, subscriber)

    async def events() -> AsyncIterator[str]:
        try:
            yield f"retry: {SSE_RETRY_MS}\n\n"
            async for frame in reader_frames(hub, story, subscriber, upto, SSE_KEEPALIVE):
                yield (
                    ": keep-alive\n\n"
                    if frame is None
                    else f"id: {frame.seq}\ndata: {frame.json}\n\n"
                )
            if subscriber.closed_with == CloseCode.ENDED:
                yield "event: ended\ndata: {}\n\n"
        except Reload:
            yield f"event: reload\ndata: {json.dumps({'seq': story.seq})}\n\n"
        finally:
            hub.unsubscribe(story.id, subscriber)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _after(raw: str | None) -> int:
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > MAX_ID:
        raise InvalidInput("after must be a whole number of 0 or more", field="after")
    return int(raw)


async def _story(connection: HTTPConnection) -> Story:
    async with services(connection).db.reading() as session:
        return await visible_story(session, connection.path_params["slug"], None)


ROUTES: list[BaseRoute] = [
    WebSocketRoute("/stories/{slug}/live", story_socket, name="story_live"),
    Route("/stories/{slug}/stream", story_stream, name="story_stream"),
]
