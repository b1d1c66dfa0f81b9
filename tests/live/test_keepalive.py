"""The keep-alive sweep pings each socket once per interval and fails the silent ones; a
whole pong between frames is matched without websockets' parser."""

from __future__ import annotations

import asyncio
import struct

import pytest
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from liveblog.live import keepalive
from liveblog.live.keepalive import KeepaliveSweep
from liveblog.live.transport import drop_handshake_parser
from tests.live.sansio import opened_connection


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


class Connection:
    state = State.OPEN


class Socket:
    """The part of uvicorn's protocol the sweep uses; answers its pings unless silent."""

    def __init__(self, silent: bool = False) -> None:
        self.transport = Transport()
        self.conn = Connection()
        self.close_sent = False
        self.pending_ping_payload: bytes | None = None
        self.ping_sent_at = 0.0
        self.silent = silent
        self.timed_out = 0

    def keepalive_timeout(self) -> None:
        self.timed_out += 1
        self.pending_ping_payload = None
        self.transport.closing = True

    def answer(self) -> None:
        if not self.silent:
            self.pending_ping_payload = None


async def _ticks(count: int, sockets: list[Socket]) -> None:
    for _ in range(count):
        await asyncio.sleep(keepalive.TICK)
        for socket in sockets:
            socket.answer()


@pytest.fixture
def fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keepalive, "TICK", 0.02)


def test_each_socket_is_pinged_once_per_interval(fast_ticks: None) -> None:
    async def run() -> list[Socket]:
        sweep = KeepaliveSweep(asyncio.get_running_loop(), interval=3)
        sockets = [Socket(), Socket(), Socket()]
        for socket in sockets:  # one joining each tick, so each in its own bucket
            sweep.add(socket)
            await _ticks(1, sockets)
        await _ticks(3 * 4, sockets)
        for socket in sockets:
            sweep.discard(socket)
        return sockets

    sockets = asyncio.run(run())
    for socket in sockets:
        # 15 ticks of which the socket was there for 15, 14 and 13: one ping each 3 ticks.
        assert len(socket.transport.written) in (4, 5)
        assert socket.timed_out == 0
        assert all(frame[0] == 0x89 and frame[1] == 4 for frame in socket.transport.written)
    payloads = {frame for socket in sockets for frame in socket.transport.written}
    assert len(payloads) == sum(len(s.transport.written) for s in sockets)  # one per tick


def test_sockets_that_come_together_are_pinged_spread_over_the_interval(
    fast_ticks: None,
) -> None:
    async def run() -> list[int]:
        sweep = KeepaliveSweep(asyncio.get_running_loop(), interval=3)
        sockets = [Socket() for _ in range(30)]
        for socket in sockets:  # all in the same tick, as after a restart
            sweep.add(socket)
        pinged_by_tick = []
        for _ in range(6):
            before = sum(len(s.transport.written) for s in sockets)
            await _ticks(1, sockets)
            pinged_by_tick.append(sum(len(s.transport.written) for s in sockets) - before)
        for socket in sockets:
            sweep.discard(socket)
        return pinged_by_tick

    # A third of them each tick, not all thirty at once and none for two ticks.
    assert asyncio.run(run()) == [10] * 6


class Recorded(keepalive.Sweep[str]):
    """A sweep that notes which members each tick visits."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: int) -> None:
        super().__init__(loop, interval)
        self.visits: list[set[str]] = []
        self._wanted = 0
        self._enough = asyncio.Event()

    def visit(self, bucket: list[str], tick: int) -> None:
        self.visits.append(set(bucket))
        if len(self.visits) >= self._wanted:
            self._enough.set()

    async def next_visits(self, count: int) -> list[set[str]]:
        """The next count visits (waiting for them with a generous deadline)."""
        self.visits.clear()
        self._wanted = count
        self._enough.clear()
        await asyncio.wait_for(self._enough.wait(), 5)
        return self.visits[:count]


def test_new_members_fill_the_buckets_that_leavers_emptied(fast_ticks: None) -> None:
    async def run() -> tuple[list[set[str]], set[str], list[set[str]]]:
        sweep = Recorded(asyncio.get_running_loop(), interval=4)
        for name in "abcdefgh":
            sweep.add(name)
        sweep.add("a")  # again: it keeps its bucket
        before = await sweep.next_visits(4)
        # Two leave one bucket, one leaves another: the three who come next go there.
        leavers = {*before[0], min(before[1])}
        for name in leavers:
            sweep.discard(name)
        for name in "xyz":
            sweep.add(name)
        after = await sweep.next_visits(4)
        for name in "abcdefghxyz":
            sweep.discard(name)
        return before, leavers, after

    before, leavers, after = asyncio.run(run())
    assert sorted(map(len, before)) == [2, 2, 2, 2]
    assert set().union(*before) == set("abcdefgh")
    assert sorted(map(len, after)) == [2, 2, 2, 2]
    assert set().union(*after) == set("abcdefghxyz") - leavers


def test_a_silent_socket_times_out_at_its_next_turn(fast_ticks: None) -> None:
    async def run() -> tuple[Socket, Socket]:
        sweep = KeepaliveSweep(asyncio.get_running_loop(), interval=2)
        talking, silent = Socket(), Socket(silent=True)
        sweep.add(talking)
        sweep.add(silent)
        await _ticks(6, [talking, silent])
        sweep.discard(talking)
        sweep.discard(silent)
        return talking, silent

    talking, silent = asyncio.run(run())
    assert silent.timed_out == 1
    assert len(silent.transport.written) == 1  # pinged once, then closing: no more pings
    assert talking.timed_out == 0
    assert len(talking.transport.written) == 3


def test_the_sweep_stops_with_its_last_socket(fast_ticks: None) -> None:
    async def run() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        socket = Socket()
        keepalive.join_sweep(loop, 1, socket)
        await _ticks(3, [socket])
        keepalive.leave_sweep(loop, socket)
        pinged = len(socket.transport.written)
        await _ticks(3, [socket])
        return pinged, len(socket.transport.written)

    pinged, later = asyncio.run(run())
    assert pinged >= 2
    assert later == pinged
    assert keepalive._SWEEPS == {}


PAYLOAD = struct.pack("!I", 7)
PONG = Frame(Opcode.PONG, PAYLOAD).serialize(mask=True)  # as a browser masks it
HELLO = Frame(Opcode.TEXT, b"hello").serialize(mask=True)


class Answered:
    """What take_pong uses of uvicorn's protocol, on websockets' own connection."""

    def __init__(self, drop_handshake: bool = True) -> None:
        self.conn, _ = opened_connection()
        if drop_handshake:
            drop_handshake_parser(self.conn)
        self.pending_ping_payload: bytes | None = PAYLOAD

    def parse(self, data: bytes) -> list[Frame]:
        """What websockets' parser makes of data (uvicorn's path when take_pong declines)."""
        self.conn.receive_data(data)
        return self.conn.events_received()


def test_a_whole_pong_between_frames_answers_the_ping_without_the_parser() -> None:
    socket = Answered()
    assert len(PONG) == keepalive.PONG_SIZE
    assert keepalive.take_pong(socket, PONG) is True
    assert socket.pending_ping_payload is None
    assert socket.conn.events_received() == []  # the parser never saw it
    # and is where it was: the frames after it parse as before
    assert [frame.data for frame in socket.parse(HELLO[:3])] == []
    assert [frame.data for frame in socket.parse(HELLO[3:] + HELLO)] == [b"hello", b"hello"]


def test_a_pong_to_another_ping_is_taken_and_ignored() -> None:
    socket = Answered()
    socket.pending_ping_payload = struct.pack("!I", 8)
    assert keepalive.take_pong(socket, PONG) is True
    assert socket.pending_ping_payload == struct.pack("!I", 8)  # its ping still waits
    socket.pending_ping_payload = None  # no ping out: an unasked-for pong
    assert keepalive.take_pong(socket, PONG) is True
    assert socket.pending_ping_payload is None


@pytest.mark.parametrize(
    ("before", "data"),
    [
        (b"", PONG + HELLO),  # more than the pong in one read
        (b"", PONG[:6]),  # part of it
        (HELLO[:3], PONG),  # in the middle of another frame
        (b"", Frame(Opcode.PING, PAYLOAD).serialize(mask=True)),  # a ping of the same size
        (b"", Frame(Opcode.PONG, PAYLOAD).serialize(mask=False)),  # unmasked: an error
    ],
    ids=["pong-and-more", "part-of-a-pong", "mid-frame", "ping", "unmasked"],
)
def test_anything_else_is_left_to_the_parser(before: bytes, data: bytes) -> None:
    socket = Answered()
    socket.parse(before)
    assert keepalive.take_pong(socket, data) is False
    assert socket.pending_ping_payload == PAYLOAD


def test_a_pong_is_parsed_when_the_handshake_parser_stayed_or_the_socket_closes() -> None:
    kept = Answered(drop_handshake=False)
    assert keepalive.take_pong(kept, PONG) is False
    assert [frame.opcode for frame in kept.parse(PONG)] == [Opcode.PONG]
    closing = Answered()
    closing.conn.send_close(1000)
    assert keepalive.take_pong(closing, PONG) is False
