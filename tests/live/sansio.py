"""websockets' server side of a WebSocket driven by hand, with no socket: the `conn` that
uvicorn's protocol holds."""

from __future__ import annotations

from websockets.http11 import Request
from websockets.server import ServerProtocol

HANDSHAKE = (
    b"GET /stories/s/live HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


def opened_connection(early: bytes = b"") -> tuple[ServerProtocol, Request]:
    """A server connection through its handshake (early: what the client sent before the
    101), and the request it parsed."""
    conn = ServerProtocol()
    conn.receive_data(HANDSHAKE + early)
    [request] = conn.events_received()
    conn.send_response(conn.accept(request))
    return conn, request
