"""Direct writes to reader sockets: the fan-out's fast path.

uvicorn's sans-I/O WebSocket protocol is subclassed only to hand our app a writer for its
transport (as an ASGI scope extension). The hub then writes each event's pre-encoded frame
straight to every reader's transport: no task wakes up per reader per update, and the bytes
are encoded once. Everything else (handshake, pings, close) stays uvicorn's."""

from __future__ import annotations

import asyncio

from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn without the sans-I/O protocol
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

EXTENSION = "liveblog.direct_writer"
# Bytes a reader's socket may hold unsent before the reader counts as too slow.
MAX_UNSENT = 64 * 1024


def encode_text_frame(text: str) -> bytes:
    """A complete, unmasked WebSocket text frame (server frames are the same for everyone)."""
    return WireFrame(Opcode.TEXT, text.encode()).serialize(mask=False)


WAKE = {"type": "liveblog.wake"}


class DirectWriter:
    """Writes whole frames to one open WebSocket's transport, refusing when it is backed up;
    and wakes the connection's task through its own receive queue."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def wake(self) -> None:
        """Make the app's next receive() return WAKE (the socket's one task does all the
        waiting: for the reader, and for frames that need it)."""
        self._protocol.queue.put_nowait(WAKE)

    def write(self, frame: bytes) -> bool:
        """Write frame now; False if the socket is closing or has MAX_UNSENT bytes pending."""
        protocol = self._protocol
        transport = protocol.transport
        if protocol.conn.state is not State.OPEN or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > MAX_UNSENT:
            return False
        transport.write(frame)
        return True


if WebSocketsSansIOProtocol is not None:

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
