"""Direct writes to reader sockets: the fan-out's fast path.

uvicorn's sans-I/O WebSocket protocol is subclassed to hand our app a writer for its
transport (as an ASGI scope extension). The hub then writes each event's pre-encoded frame
straight to every reader's transport: no task wakes up per reader per update, and the bytes
are encoded once. Pings are sent by one sweep for all sockets (see keepalive). Everything
else (handshake, pongs, close) stays uvicorn's.

The class is private to uvicorn, so live_protocol() checks its shape first; when it does not
fit, uvicorn's standard protocol serves the sockets (no extension: readers get their frames
through ASGI send(), a task woken per update) and one warning says so."""

from __future__ import annotations

import asyncio
import dis
import inspect
import logging
from collections.abc import Iterator
from itertools import pairwise
from types import CodeType

from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from liveblog.live.keepalive import join_sweep, leave_sweep, take_pong

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn without the sans-I/O protocol
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

EXTENSION = "liveblog.direct_writer"
# uvicorn's `ws` option for its standard WebSocket protocol: readers are served through the
# ASGI send() path (a task per reader woken per update) instead of direct writes.
STANDARD_PROTOCOL = "auto"
# What LiveWebSocketProtocol, DirectWriter and the keep-alive sweep use of uvicorn's private
# class: methods (name: whether it is a coroutine function) and attributes its code must set.
OVERRIDDEN = {
    "handle_connect": False,
    "data_received": False,
    "send": True,
    "start_keepalive": False,
    "stop_keepalive": False,
    "keepalive_timeout": False,
}
ATTRIBUTES = (
    "transport",
    "conn",
    "queue",
    "scope",
    "loop",
    "ping_interval",
    "close_sent",
    "pending_ping_payload",
    "ping_sent_at",
)
# Bytes a reader's socket may hold unsent before the reader counts as too slow (the fan-out
# checks it before each write: see subscriber.write_now).
MAX_UNSENT = 64 * 1024


def encode_text_frame(text: str) -> bytes:
    """A complete, unmasked WebSocket text frame (server frames are the same for everyone)."""
    return WireFrame(Opcode.TEXT, text.encode()).serialize(mask=False)


WAKE = {"type": "liveblog.wake"}


class DirectWriter:
    """Offers one open WebSocket's transport for whole frames (see Subscriber.go_direct);
    and wakes the connection's task through its own receive queue."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def wake(self) -> None:
        """Make the app's next receive() return WAKE (the socket's one task does all the
        waiting: for the reader, and for frames that need it)."""
        self._protocol.queue.put_nowait(WAKE)

    def ready_transport(self) -> asyncio.Transport | None:
        """The socket's transport while the WebSocket is open, for whole frames. uvicorn
        closes the transport in the same step as the connection leaves the open state (the
        reader's close, a ping unanswered, shutdown); the one exception, a close the app
        sends, comes after its subscriber has left the direct path."""
        protocol = self._protocol
        transport = protocol.transport
        if protocol.conn.state is not State.OPEN or transport.is_closing():
            return None
        return transport


if WebSocketsSansIOProtocol is not None:
    # Defined at import, under its own name: uvicorn's worker processes find it by that name.
    class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
        """uvicorn's sans-I/O protocol, offering a DirectWriter to the app, and lighter to
        keep open for hours: a lean receive queue, and no handshake kept after use."""

        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            self.queue = LeanReceiveQueue()  # type: ignore[assignment]

        def handle_connect(self, event):  # type: ignore[no-untyped-def]
            super().handle_connect(event)
            scope = getattr(self, "scope", None)
            if scope is not None:  # the handshake was accepted; the app has not run yet
                scope["extensions"][EXTENSION] = DirectWriter(self)

        async def send(self, message):  # type: ignore[no-untyped-def]
            await super().send(message)
            if message["type"] == "websocket.accept":
                self.request = self.response = None  # type: ignore[assignment]
                drop_handshake_parser(self.conn)

        def data_received(self, data: bytes) -> None:
            # Most of what readers send is pongs to the sweep's pings.
            if not take_pong(self, data):
                super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            # Without these two cycles a closed socket's objects go at once, not at the next
            # full collection. The scope's writer refers back to this protocol (24 objects).
            scope = getattr(self, "scope", None)
            if scope is not None:
                scope["extensions"].pop(EXTENSION, None)
            # websockets' parser is a generator whose frame holds the connection it parses
            # (10 objects), and uvicorn never tells it the stream ended; closing it ends the
            # frame. Nothing parses after the connection is lost.
            parser = getattr(self.conn, "parser", None)
            if inspect.isgenerator(parser):
                parser.close()

        # Pings come from the loop's keep-alive sweep (see keepalive), not from two timers
        # per socket; uvicorn's handle_pong and keepalive_timeout still answer for them.
        def start_keepalive(self) -> None:
            if self.ping_interval is not None and self.ping_interval > 0:
                join_sweep(self.loop, self.ping_interval, self)

        def stop_keepalive(self) -> None:
            leave_sweep(self.loop, self)
            super().stop_keepalive()

else:  # pragma: no cover - uvicorn without the sans-I/O protocol
    LiveWebSocketProtocol = None  # type: ignore[assignment,misc]


def live_protocol() -> type[asyncio.Protocol] | str:
    """uvicorn's `ws` option: LiveWebSocketProtocol, or STANDARD_PROTOCOL (with one warning)
    when this uvicorn's private sans-I/O protocol is missing or not the shape we subclass."""
    problem = misfit(WebSocketsSansIOProtocol)
    if problem is None:
        return LiveWebSocketProtocol
    logger.warning(
        "live sockets: direct writes are off (%s); serving readers through uvicorn's standard "
        "WebSocket protocol: everything works, with more CPU and memory per reader",
        problem,
    )
    return STANDARD_PROTOCOL


def misfit(base: type | None) -> str | None:
    """Why LiveWebSocketProtocol cannot be built on base (uvicorn's sans-I/O protocol class),
    or None when base has every method and attribute we rely on."""
    if base is None:
        return "this uvicorn has no sans-I/O WebSocket protocol"
    name = base.__qualname__
    for method, is_coroutine in OVERRIDDEN.items():
        found = getattr(base, method, None)
        if not callable(found) or inspect.iscoroutinefunction(found) != is_coroutine:
            kind = "coroutine" if is_coroutine else "plain"
            return f"{name}.{method} is not the {kind} method we use"
    stored, queue_calls = _attribute_use(base)
    missing = [attribute for attribute in ATTRIBUTES if attribute not in stored]
    if missing:
        return f"{name} does not set {', '.join(missing)}"
    unknown = sorted(queue_calls - _QUEUE_METHODS)
    if unknown:
        return f"{name} calls queue.{', queue.'.join(unknown)}, which LeanReceiveQueue lacks"
    return None


def _attribute_use(cls: type) -> tuple[set[str], set[str]]:
    """Attribute names cls's code stores, and the names it reads from `….queue`."""
    stored: set[str] = set()
    queue_calls: set[str] = set()
    for code in _code_of(cls):
        instructions = list(dis.get_instructions(code))
        stored.update(i.argval for i in instructions if i.opname == "STORE_ATTR")
        queue_calls.update(
            after.argval
            for before, after in pairwise(instructions)
            if before.opname == "LOAD_ATTR" and before.argval == "queue"
            if after.opname in ("LOAD_ATTR", "LOAD_METHOD")
        )
    return stored, queue_calls


def _code_of(cls: type) -> Iterator[CodeType]:
    """The code of every function cls has or inherits (short of object), nested ones too."""
    pending = [
        value.__code__
        for klass in cls.__mro__[:-1]
        for value in vars(klass).values()
        if inspect.isfunction(value)
    ]
    while pending:
        code = pending.pop()
        yield code
        pending.extend(const for const in code.co_consts if isinstance(const, CodeType))


class LeanReceiveQueue:
    """The part of asyncio.Queue that uvicorn's protocol uses (put_nowait, get, empty),
    without a Queue's locks and deques: one of these per open socket adds up."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[object] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: object) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> object:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


def drop_handshake_parser(conn: ServerProtocol) -> None:
    """Let go of the handshake's request once the WebSocket is open, if it is safe to.

    websockets parses a connection with one generator for its whole life: the handshake's,
    which then delegates to the frame parser, and whose frame keeps the parsed Request (its
    headers and their lists: 10 tracked objects per reader, for every full collection to
    walk). Once the 101 is out the frame parser waits at the top of its loop with nothing
    read; there, a fresh frame parser is the same parser without the request. Anywhere else
    (a client that sent bytes before the 101, another version of websockets) the parser
    stays as it is."""
    handshake = getattr(conn, "parser", None)
    frames = getattr(handshake, "gi_yieldfrom", None)
    waiting = getattr(frames, "gi_yieldfrom", None)
    if (
        getattr(handshake, "gi_code", None) is ServerProtocol.parse.__code__
        and getattr(frames, "gi_code", None) is Protocol.parse.__code__
        and getattr(waiting, "gi_code", None) is StreamReader.at_eof.__code__
        and not conn.reader.buffer
    ):
        parser = Protocol.parse(conn)
        next(parser)  # to where the old one waits: at_eof, nothing read
        conn.parser = parser


# What uvicorn may call on a receive queue for LeanReceiveQueue to stand in for it.
_QUEUE_METHODS = frozenset(name for name in vars(LeanReceiveQueue) if not name.startswith("_"))


def stored_attributes(cls: type) -> set[str]:
    """The attribute names cls's code (inherited and nested code included) assigns."""
    return _attribute_use(cls)[0]
