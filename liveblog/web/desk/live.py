"""Desk: the live socket of a story's desk page, and who else has the story open.

The desk follows the same event stream readers do (subscribe, replay what it missed, then
live), for draft and ended stories too; each event tells the page which fragment to fetch
again. While the socket is open it keeps a presence row fresh, which is how colleagues on
any process see who is here."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import suppress
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from liveblog.db import desk_reads
from liveblog.errors import LiveblogError
from liveblog.live.hub import Hub
from liveblog.live.reader_stream import Reload, in_order, replay
from liveblog.live.subscriber import CloseCode, StoryRef, Subscriber
from liveblog.stories.lookup import story_by_slug
from liveblog.web.auth import session_user
from liveblog.web.desk.common import desk_user, render_desk
from liveblog.web.live import parse_after
from liveblog.web.services import Services, services

KEEPALIVE = 20.0
POLICY_VIOLATION = 1008


async def desk_socket(websocket: WebSocket) -> None:
    """WebSocket /desk/stories/{slug}/live?after=SEQ for a signed-in desk user."""
    parts = services(websocket)
    if not origin_allowed(websocket, parts.settings.public_url):
        await websocket.close(POLICY_VIOLATION, "this origin may not open the desk")
        return
    user = await session_user(websocket)
    if user is None:
        await websocket.close(POLICY_VIOLATION, "sign in to the desk first")
        return
    try:
        after = parse_after(websocket.query_params.get("after"))
        async with parts.db.reading() as session:
            story = StoryRef.of(await story_by_slug(session, websocket.path_params["slug"]))
    except LiveblogError as error:
        code = CloseCode.NOT_FOUND if error.status == 404 else POLICY_VIOLATION
        await websocket.close(code, error.message[:120])
        return
    await websocket.accept()
    connection = secrets.token_hex(16)
    presence = asyncio.create_task(_keep_present(parts, connection, story.id, user.id))
    try:
        await _stream(websocket, parts.hub, story, after)
    finally:
        presence.cancel()
        with suppress(asyncio.CancelledError):
            await presence
        async with parts.db.writing() as session:
            await desk_reads.mark_gone(session, connection)


async def _stream(websocket: WebSocket, hub: Hub, story: StoryRef, after: int) -> None:
    subscriber = Subscriber(after)
    upto = hub.subscribe(story, subscriber, desk=True)
    receiving = asyncio.create_task(_until_closed(websocket))
    try:
        frames = await replay(hub, story, subscriber, upto)
        while not receiving.done():
            subscriber.follow_past_end()
            for frame in frames:
                await websocket.send_text(frame.json)
            if subscriber.closed_with is not None:  # fell behind: come back with ?after=
                await websocket.close(subscriber.closed_with)
                return
            frames = await in_order(hub, story, subscriber, await _next(subscriber, receiving))
    except Reload:
        await websocket.close(CloseCode.RELOAD, "too far behind: reload the page")
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # the desk went away mid-send
    finally:
        hub.unsubscribe(story.id, subscriber)
        receiving.cancel()


async def _next(subscriber: Subscriber, receiving: asyncio.Task[None]) -> list:  # type: ignore[type-arg]
    waiting = asyncio.ensure_future(subscriber.next_frames(KEEPALIVE))
    await asyncio.wait({waiting, receiving}, return_when=asyncio.FIRST_COMPLETED)
    if not waiting.done():
        waiting.cancel()
        return []
    return waiting.result()


async def _until_closed(websocket: WebSocket) -> None:
    # The desk sends nothing; reading is how a closed socket is noticed.
    with suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()


async def _keep_present(parts: Services, connection: str, story_id: int, user_id: int) -> None:
    while True:
        with suppress(Exception):  # presence is a courtesy: a database hiccup must not end it
            async with parts.db.writing() as session:
                await desk_reads.mark_present(session, connection, story_id, user_id)
        await asyncio.sleep(desk_reads.PRESENCE_REFRESH)


def origin_allowed(websocket: WebSocket, public_url: str | None) -> bool:
    """A desk socket must come from our own pages: the public URL's origin, or (unset)
    the host the request was sent to. Browsers always send Origin on WebSockets."""
    origin = websocket.headers.get("origin")
    if not origin:
        return False
    scheme, netloc = urlsplit(origin)[:2]
    if public_url:
        return (scheme, netloc) == urlsplit(public_url)[:2]
    return netloc == websocket.headers.get("host")


async def presence(request: Request) -> Response:
    """Who has this story open on a desk now."""
    user = await desk_user(request)
    async with services(request).db.reading() as session:
        story = await story_by_slug(session, request.path_params["slug"])
        people = await desk_reads.present_users(session, story.id)
    return render_desk(request, "desk/_presence.html", user, people=people)


ROUTES: list[BaseRoute] = [
    WebSocketRoute("/desk/stories/{slug}/live", desk_socket),
    Route("/desk/stories/{slug}/presence", presence),
]
