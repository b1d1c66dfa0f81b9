"""An open WebSocket keeps no handshake: drop_handshake_parser swaps websockets' handshake
parser for the frame parser it was waiting in, and only where that changes nothing."""

from __future__ import annotations

import weakref

from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

from liveblog.live.transport import drop_handshake_parser
from tests.live.sansio import opened_connection

HELLO = Frame(Opcode.TEXT, b"hello").serialize(mask=True)


def _opened(early: bytes = b"") -> tuple[ServerProtocol, weakref.ref]:
    """A server connection through its handshake (early: what the client sent before the
    101), and a weak reference to the parsed request."""
    conn, request = opened_connection(early)
    return conn, weakref.ref(request)


def _texts(conn: ServerProtocol) -> list[str]:
    return [e.data.decode() for e in conn.events_received() if e.opcode is Opcode.TEXT]


def test_the_request_goes_and_frames_still_parse() -> None:
    conn, request = _opened()
    assert request() is not None  # the handshake's parser holds it
    drop_handshake_parser(conn)
    assert request() is None
    conn.receive_data(HELLO[:3])
    assert _texts(conn) == []
    conn.receive_data(HELLO[3:] + HELLO)
    assert _texts(conn) == ["hello", "hello"]
    conn.receive_eof()
    assert conn.parser_exc is not None  # an unclean end is still seen as one


def test_a_frame_begun_before_the_101_keeps_the_parser() -> None:
    for cut in (1, 2, 6):  # in the header, after it, inside the mask
        conn, request = _opened(HELLO[:cut])
        parser = conn.parser
        drop_handshake_parser(conn)
        assert conn.parser is parser and request() is not None
        conn.receive_data(HELLO[cut:])
        assert _texts(conn) == ["hello"], cut
