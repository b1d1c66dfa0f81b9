"""Keep-alives for live connections, from one sweep a second (Sweep): WebSocket pings here,
event-stream comments in stream_transport.py.

A timer per connection costs more CPU than the updates once thousands of readers idle:
uvicorn's protocol gives each socket two (the next ping, the pong's deadline) and builds each
ping on its own, 11 ms a second for 5,000 readers where nchan spends 3.5. A sweep keeps the
connections in one bucket per second of the interval, each new one in the emptiest, and
visits one bucket a second.

WebSockets: the sweep pings a bucket with a frame encoded once, and first fails (uvicorn's
keepalive_timeout: close 1011) the sockets of that bucket that left the bucket's previous
ping unanswered, one interval ago. A pong that arrives whole, between frames, is matched here
(take_pong); any other goes through websockets' parser to uvicorn's handle_pong, which
compares it with the payload set here too."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Generator
from typing import Generic, Protocol, TypeVar

from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader

# Seconds between two sweeps; the ping interval is a whole number of them (a setting in
# seconds, at least 1).
TICK = 1.0


Member = TypeVar("Member")


class Sweep(Generic[Member]):
    """Members in one bucket per second of an interval: each second the next bucket is
    visited, so each member once per interval, however many there are, from one timer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self._loop = loop
        count = max(1, round(interval))
        self._buckets: list[dict[Member, None]] = [{} for _ in range(count)]
        self._slots: dict[Member, int] = {}
        # The buckets by how many members each holds, and the least of those counts: the
        # emptiest bucket in O(1), where a look at every bucket per new member made a
        # reconnect storm of 10,000 cost 2 s of the loop at an interval of an hour.
        self._by_size: list[dict[int, None]] = [dict.fromkeys(range(count))]
        self._least = 0
        self._ticks = 0
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, member: Member) -> None:
        """Visit member once per interval from now on (the first time within one); a member
        added again keeps its bucket."""
        # The emptiest bucket, not the one by arrival: readers who come together (a page
        # shared, a restart) would be visited together, 10,000 pings in one tick (60 ms).
        if member in self._slots:
            return
        emptiest = self._by_size[self._least]
        slot, _ = emptiest.popitem()
        self._grouped(slot, self._least + 1)
        if not emptiest:
            self._least += 1
        self._slots[member] = slot
        self._buckets[slot][member] = None
        if self._timer is None:
            self._timer = self._loop.call_later(TICK, self._sweep)

    def discard(self, member: Member) -> None:
        """Stop visiting member; the sweep's timer stops when no member is left."""
        slot = self._slots.pop(member, None)
        if slot is not None:
            bucket = self._buckets[slot]
            del bucket[member]
            del self._by_size[len(bucket) + 1][slot]
            self._grouped(slot, len(bucket))
            self._least = min(self._least, len(bucket))
        if not self._slots and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _grouped(self, slot: int, size: int) -> None:
        if size == len(self._by_size):
            self._by_size.append({})
        self._by_size[size][slot] = None

    def visit(self, bucket: list[Member], tick: int) -> None:
        """Keep the members of one bucket alive (tick counts the sweeps)."""
        raise NotImplementedError

    def _sweep(self) -> None:
        self._ticks += 1
        self.visit(list(self._buckets[self._ticks % len(self._buckets)]), self._ticks)
        self._timer = self._loop.call_later(TICK, self._sweep) if self._slots else None


class _Connection(Protocol):
    state: State
    parser: Generator[None]
    reader: StreamReader


class Pinged(Protocol):
    """What the sweep uses of uvicorn's sans-I/O WebSocket protocol."""

    transport: asyncio.Transport
    conn: _Connection  # websockets' ServerProtocol
    close_sent: bool
    pending_ping_payload: bytes | None
    ping_sent_at: float

    def keepalive_timeout(self) -> None: ...


class KeepaliveSweep(Sweep[Pinged]):
    """Pings every socket added once per interval, and fails those that stop answering."""

    def visit(self, bucket: list[Pinged], tick: int) -> None:
        payload = struct.pack("!I", tick & 0xFFFFFFFF)
        ping = Frame(Opcode.PING, payload).serialize(mask=False)
        now = self._loop.time()
        for socket in bucket:
            if socket.pending_ping_payload is not None:
                socket.keepalive_timeout()  # closes it; its connection_lost discards it
                continue
            transport = socket.transport
            if socket.close_sent or transport.is_closing() or socket.conn.state is not State.OPEN:
                continue
            socket.pending_ping_payload = payload
            socket.ping_sent_at = now
            transport.write(ping)


# A browser's answer to a sweep's ping, whole in one read: FIN and PONG; MASK and a payload of
# 4 bytes; the mask; the masked payload.
PONG_HEAD = b"\x8a\x84"
PONG_SIZE = 10
_WAITING_FOR_A_FRAME = StreamReader.at_eof.__code__


def take_pong(socket: Pinged, data: bytes) -> bool:
    """Take data as the answer to socket's ping when it is one whole pong that arrives
    between frames, without websockets' parser (a generator walk, a Frame and an event per
    pong: 500 pongs a second at 10,000 readers). False leaves data to the parser."""
    if len(data) != PONG_SIZE or data[:2] != PONG_HEAD:
        return False
    conn = socket.conn
    if conn.state is not State.OPEN or not _between_frames(conn):
        return False
    expected = socket.pending_ping_payload
    # A stale or unasked-for pong is ignored, as uvicorn's handle_pong does.
    if expected is not None and (
        int.from_bytes(data[2:6]) ^ int.from_bytes(data[6:]) == int.from_bytes(expected)
    ):
        socket.pending_ping_payload = None
    return True


def _between_frames(conn: _Connection) -> bool:
    # websockets parses a connection with one generator, which waits for the next frame in
    # StreamReader.at_eof with nothing buffered; a pong there changes none of its state.
    # Anywhere else (mid-frame, the handshake's parser, another version) it must parse.
    waiting = getattr(conn.parser, "gi_yieldfrom", None)
    return getattr(waiting, "gi_code", None) is _WAITING_FOR_A_FRAME and not conn.reader.buffer


# One sweep per event loop, shared by the sockets uvicorn's protocol instances serve there:
# uvicorn makes those instances, so nothing of ours can hand them a sweep. A loop's sweep
# goes once its last socket has.
_SWEEPS: dict[asyncio.AbstractEventLoop, KeepaliveSweep] = {}


def join_sweep(loop: asyncio.AbstractEventLoop, interval: float, socket: Pinged) -> None:
    """Keep socket alive with the loop's sweep (made for interval if it has none yet)."""
    sweep = _SWEEPS.get(loop)
    if sweep is None:
        sweep = _SWEEPS[loop] = KeepaliveSweep(loop, interval)
    sweep.add(socket)


def leave_sweep(loop: asyncio.AbstractEventLoop, socket: Pinged) -> None:
    """Stop keeping socket alive."""
    sweep = _SWEEPS.get(loop)
    if sweep is not None:
        sweep.discard(socket)
        if not sweep:
            del _SWEEPS[loop]
