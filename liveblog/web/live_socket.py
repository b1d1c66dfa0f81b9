"""WebSocket /stories/{slug}/live?after=SEQ&format=json|html, as a lean ASGI handler.

A reader may keep this socket open for hours, and a story may have tens of thousands of
them, so each costs as little as possible: it is dispatched before the app's middleware
(no session, no request objects), holds one task, and once caught up receives frames that
the hub writes straight to its transport. The task wakes only when its reader speaks or
leaves, or when the hub needs it (a gap to fill from the log, a close to send)."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from liveblog.errors import InvalidInput, LiveblogError
from liveblog.live.frames import FORMATS, Frame
from liveblog.live.hub import Hub
from liveblog.live.reader_stream import Reload, in_order, replay
from liveblog.live.subscriber import CloseCode, StoryRef, Subscriber
from liveblog.live.transport import EXTENSION, WAKE, DirectWriter
from liveblog.web.live import StoryPathMiddleware, parse_after
from liveblog.web.reader_admission import BUSY_REASON, TRY_AGAIN_LATER, admit_reader
from liveblog.web.services import Services

_REASONS = {
    CloseCode.RECONNECT: "reconnect with ?after= your last seq",
    CloseCode.ENDED: "the story has ended",
}


class LiveSocketMiddleware(StoryPathMiddleware):
    """Hands WebSocket connections to `path` to the live handler; everything else goes on."""

    scope_type = "websocket"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        slug = self.slug(scope)
        if slug is None:
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        await serve_reader(services, scope, slug, receive, send)


async def serve_reader(
    services: Services, scope: Scope, slug: str, receive: Receive, send: Send
) -> None:
    """One reader's socket, from handshake to close."""
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    scope["headers"] = []  # not needed again in the hours this socket may stay open
    query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    try:
        fmt = query.get("format", "json")
        if fmt not in FORMATS:
            raise InvalidInput("format must be json, html or page", field="format")
        after = parse_after(query.get("after"))
        story = await services.hub.story_for_readers(slug, after)
    except LiveblogError as error:
        code = CloseCode.NOT_FOUND if error.status == 404 else 1008
        await _close(send, code, error.message[:120])
        return
    # Checked with nothing awaited before the subscribe: a flood cannot overshoot the limit.
    if not admit_reader(services, "websocket"):
        await _close(send, TRY_AGAIN_LATER, BUSY_REASON)
        return
    direct: DirectWriter | None = scope["extensions"].get(EXTENSION)
    messages = ReaderMessages(receive, direct)
    subscriber = Subscriber(after, fmt, notify=messages.wake)
    upto = services.hub.subscribe(story, subscriber)
    try:
        await _stream(services.hub, story, subscriber, upto, messages, direct, send)
    finally:
        services.hub.unsubscribe(story.id, subscriber)
        messages.close()


async def _stream(
    hub: Hub,
    story: StoryRef,
    subscriber: Subscriber,
    upto: int,
    messages: ReaderMessages,
    direct: DirectWriter | None,
    send: Send,
) -> None:
    try:
        frames = await replay(hub, story, subscriber, upto)
        while True:
            await _send_all(send, frames, subscriber)
            if subscriber.closed_with is not None:
                code = subscriber.closed_with
                await _close(send, code, _REASONS.get(code, ""))
                return
            subscriber.go_direct(direct)
            message = await messages.get()
            if message["type"] == "websocket.disconnect":
                return
            frames = await in_order(hub, story, subscriber, subscriber.take())
    except Reload:
        reload = json.dumps({"type": "reload", "seq": story.seq})
        await send({"type": "websocket.send", "text": reload})
        await _close(send, CloseCode.RELOAD, "too far behind: reload the page")
    except OSError:
        pass  # the reader went away mid-send


async def _send_all(send: Send, frames: list[Frame], subscriber: Subscriber) -> None:
    fmt = subscriber.fmt
    for frame in frames:
        await send({"type": "websocket.send", "text": frame.text(fmt)})


async def _close(send: Send, code: int, reason: str) -> None:
    with suppress(OSError, RuntimeError):
        await send({"type": "websocket.close", "code": code, "reason": reason})


class ReaderMessages:
    """The socket's one place to wait: for what the reader sends, and for the hub's wake-ups.

    Under `liveblog serve` the wake-ups go into the server's own receive queue, so waiting
    needs nothing more; under another ASGI server a small task moves receive() into a queue
    of ours."""

    __slots__ = ("_pump", "_queue", "_receive", "wake")

    def __init__(self, receive: Receive, direct: DirectWriter | None) -> None:
        self._receive = receive
        self._queue: asyncio.Queue[Any] | None = None
        self._pump: asyncio.Task[None] | None = None
        if direct is not None:
            self.wake = direct.wake
        else:
            self._queue = asyncio.Queue()
            self._pump = asyncio.create_task(self._forward())
            self.wake = lambda: self._queue.put_nowait(WAKE)  # type: ignore[union-attr]

    async def get(self) -> dict[str, Any]:
        """The next message from the reader, or WAKE."""
        if self._queue is None:
            return await self._receive()
        return await self._queue.get()

    async def _forward(self) -> None:
        assert self._queue is not None
        while True:
            message = await self._receive()
            self._queue.put_nowait(message)
            if message["type"] == "websocket.disconnect":
                return

    def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
