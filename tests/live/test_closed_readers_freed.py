"""A reader's connection, once closed, is freed by reference counting: nothing of it waits
in a garbage cycle for a full collection (which spacing them out would then delay). While
open, it keeps no handshake."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import GeneratorType

import httpx
import uvicorn
import websockets.sync.client
from websockets.server import ServerProtocol

from liveblog.live.stream_transport import STREAM_EXTENSION, LiveHttpProtocol, StreamWriter
from liveblog.live.transport import EXTENSION, LiveWebSocketProtocol
from tests.live.readers import silent_websocket
from tests.support import free_port, serving_in_thread, until

READERS = 20


async def _until_closed(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    # Each takes its direct writer as the live routes do, so it is in the scope while open.
    if scope["type"] == "websocket":
        assert EXTENSION in scope["extensions"]
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
    elif scope["type"] == "http":
        writer = scope["extensions"][STREAM_EXTENSION]
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b": hello\n\n", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass
        writer.when_lost(None)


@contextmanager
def _serving() -> Iterator[tuple[int, uvicorn.Server]]:
    port = free_port()
    config = uvicorn.Config(
        _until_closed,
        port=port,
        ws=LiveWebSocketProtocol,
        http=LiveHttpProtocol,
        log_config=None,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    with serving_in_thread(server):
        gc.collect()  # earlier garbage is not this test's
        yield port, server


def _until_all_closed(server: uvicorn.Server) -> None:
    until(lambda: not server.server_state.connections, "connections to close")


def _alive(kind: type) -> int:
    return sum(1 for o in gc.get_objects() if type(o) is kind)


def _left_in_cycles(server: uvicorn.Server, kinds: tuple[type, ...]) -> list[object]:
    _until_all_closed(server)
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return [o for o in gc.garbage if isinstance(o, kinds)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_closed_websockets_leave_no_garbage_cycle() -> None:
    with _serving() as (port, server):
        for _ in range(READERS):
            with websockets.sync.client.connect(f"ws://127.0.0.1:{port}/") as ws:
                ws.ping().wait(5)
        # uvicorn's HTTP protocol, which upgraded each, too: it held the socket's transport.
        assert _left_in_cycles(server, (LiveWebSocketProtocol, LiveHttpProtocol)) == []


def test_closed_websockets_leave_no_parser_behind() -> None:
    # websockets' parser (a generator) and its connection hold each other. A collection
    # breaks that by closing the generator, so DEBUG_SAVEALL never sees it: count instead,
    # with the collector off while the sockets come and go.
    with _serving() as (port, server):
        gc.disable()
        try:
            for _ in range(READERS // 2):
                with websockets.sync.client.connect(f"ws://127.0.0.1:{port}/") as ws:
                    ws.ping().wait(5)
                silent_websocket(port, "/").close()  # gone without a close frame
            _until_all_closed(server)
            # The server thread may still be finishing the last one (uvicorn forgets a
            # connection before the rest of its connection_lost runs): wait, with a deadline.
            deadline = time.monotonic() + 10
            while (left := _alive(ServerProtocol)) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            gc.enable()
        assert left == 0


def test_closed_event_streams_leave_no_garbage_cycle() -> None:
    with _serving() as (port, server):
        for _ in range(READERS):
            with (
                httpx.Client() as client,
                client.stream("GET", f"http://127.0.0.1:{port}/live/stream") as response,
            ):
                assert next(response.iter_raw()) == b": hello\n\n"
        assert _left_in_cycles(server, (LiveHttpProtocol, StreamWriter)) == []


def test_open_websockets_keep_no_handshake_parser() -> None:
    with _serving() as (port, server), ExitStack() as opened:
        for _ in range(READERS):
            ws = opened.enter_context(websockets.sync.client.connect(f"ws://127.0.0.1:{port}/"))
            ws.ping().wait(5)  # answered by the server's frame parser
        assert len(server.server_state.connections) == READERS
        handshakes = [
            o
            for o in gc.get_objects()
            if isinstance(o, GeneratorType) and o.gi_code is ServerProtocol.parse.__code__
        ]
        assert handshakes == []
