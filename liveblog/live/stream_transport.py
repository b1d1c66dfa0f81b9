"""Direct writes to event-stream readers: the SSE side of the fan-out's fast path.

As for WebSockets (transport.py), uvicorn's httptools protocol is subclassed only to hand
the app a writer for the response's transport, as a scope extension on event-stream
requests. Once a reader is caught up, the hub writes each event's pre-encoded HTTP chunk
straight to it: no task wakes up per reader per update. The subclass also tells the stream
when its reader leaves, so an idle stream's task does not have to listen for that itself;
and lets go of its parser when a WebSocket takes the connection over.

The classes are private to uvicorn, so live_http_protocol() checks their shape first; when
they do not fit, uvicorn's standard protocol serves the streams (through ASGI send(), a task
woken per update) and one warning says so."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable

from liveblog.live.frames import encode_chunk
from liveblog.live.keepalive import Sweep
from liveblog.live.subscriber import Subscriber
from liveblog.live.transport import stored_attributes

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
except ImportError:  # pragma: no cover - uvicorn without httptools
    HttpToolsProtocol = RequestResponseCycle = None  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

STREAM_EXTENSION = "liveblog.stream_writer"
KEEPALIVE = b": keep-alive\n\n"  # an event-stream comment: readers ignore it
_KEEPALIVE_CHUNK = encode_chunk(KEEPALIVE)
STANDARD_PROTOCOL = "auto"
# What we use of uvicorn's private classes: methods we override, attributes they must set.
OVERRIDDEN = ("on_headers_complete", "connection_lost", "handle_websocket_upgrade")
PROTOCOL_ATTRIBUTES = ("cycle", "scope", "parser")
CYCLE_ATTRIBUTES = ("transport", "disconnected", "chunked_encoding", "response_complete")


class StreamWriter:
    """Offers one event-stream response's transport for whole chunks (see
    Subscriber.go_direct); and says when the reader leaves (see when_lost)."""

    __slots__ = ("_cycle", "_on_lost")

    def __init__(self, cycle: RequestResponseCycle) -> None:
        # None once the reader has left: the cycle's scope holds this writer, so keeping
        # the cycle would keep both (15 objects a reader) until a full garbage collection.
        self._cycle: RequestResponseCycle | None = cycle
        self._on_lost: Callable[[], None] | None = None

    def ready_transport(self) -> asyncio.Transport | None:
        """The response's transport, for complete HTTP chunks: only once the response has
        started with chunked encoding (uvicorn's choice for a body of unknown length) do our
        chunks mean the same to the reader as its own. A reader that leaves closes it."""
        cycle = self._cycle
        if cycle is None or cycle.disconnected or cycle.chunked_encoding is not True:
            return None
        transport = cycle.transport
        return None if transport.is_closing() else transport

    def when_lost(self, callback: Callable[[], None] | None) -> None:
        """Call callback when the reader leaves, or now if it already has (a client may
        hang up before its stream starts; uvicorn's send() then stays silent)."""
        if self._cycle is None or self._cycle.disconnected:
            if callback is not None:
                callback()
            return
        self._on_lost = callback

    def lost(self) -> None:
        """The connection is gone."""
        on_lost, self._on_lost, self._cycle = self._on_lost, None, None
        if on_lost is not None:
            on_lost()


class StreamKeepalive(Sweep[Subscriber]):
    """A keep-alive comment once per interval to each event stream added, written straight to
    its socket while its reader is caught up (the reader's task sleeps without a timer)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        super().__init__(loop, interval)
        self.interval = interval

    def visit(self, bucket: list[Subscriber], tick: int) -> None:
        for subscriber in bucket:
            subscriber.keep_alive(_KEEPALIVE_CHUNK)


if HttpToolsProtocol is not None:

    class LiveHttpProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, offering a StreamWriter to event-stream requests."""

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            cycle = self.cycle
            # The cycle's task was created but has not run: the scope can still be told.
            if cycle is not None and cycle.scope["path"].endswith("/stream"):
                cycle.scope.setdefault("extensions", {})[STREAM_EXTENSION] = StreamWriter(cycle)

        def handle_websocket_upgrade(self) -> None:
            super().handle_websocket_upgrade()
            # The WebSocket protocol has the connection now. uvicorn drops the parser (which
            # refers back to this protocol) when a connection is lost, not on an upgrade: the
            # cycle would keep the socket's transport after it closes, until a full collection.
            self.parser = None  # type: ignore[assignment]

        def connection_lost(self, exc: Exception | None) -> None:
            cycle = self.cycle
            super().connection_lost(exc)
            writer = cycle.scope.get("extensions", {}).get(STREAM_EXTENSION) if cycle else None
            if writer is not None:
                writer.lost()

else:  # pragma: no cover - uvicorn without httptools
    LiveHttpProtocol = None  # type: ignore[assignment,misc]


def live_http_protocol() -> type[asyncio.Protocol] | str:
    """uvicorn's `http` option: LiveHttpProtocol, or STANDARD_PROTOCOL (with one warning)
    when this uvicorn's private httptools protocol is missing or not the shape we subclass."""
    problem = misfit(HttpToolsProtocol, RequestResponseCycle)
    if problem is None:
        return LiveHttpProtocol
    logger.warning(
        "event streams: direct writes are off (%s); serving them through uvicorn's standard "
        "HTTP protocol: everything works, with more CPU per reader and update",
        problem,
    )
    return STANDARD_PROTOCOL


def misfit(protocol: type | None, cycle: type | None) -> str | None:
    """Why LiveHttpProtocol cannot be built on uvicorn's classes, or None when they have
    every method and attribute we rely on."""
    if protocol is None or cycle is None:
        return "this uvicorn has no httptools protocol (is httptools installed?)"
    for method in OVERRIDDEN:
        found = getattr(protocol, method, None)
        if not callable(found) or inspect.iscoroutinefunction(found):
            return f"{protocol.__qualname__}.{method} is not the plain method we override"
    for cls, names in ((protocol, PROTOCOL_ATTRIBUTES), (cycle, CYCLE_ATTRIBUTES)):
        missing = [name for name in names if name not in stored_attributes(cls)]
        if missing:
            return f"{cls.__qualname__} does not set {', '.join(missing)}"
    return None
