"""Keep-alive pings for all the live sockets of an event loop, sent by one sweep a second.

uvicorn's protocol gives each socket its own two timers (the next ping, the pong's deadline)
and builds each ping on its own: with thousands of idle readers, those pings cost more CPU
than the updates (11 ms a second for 5,000 readers, where nchan spends 3.5). The sweep keeps
the sockets in one bucket per second of the ping interval. Each second it pings one bucket
with a frame encoded once, and first fails (uvicorn's keepalive_timeout: close 1011) the
sockets of that bucket that left the bucket's previous ping unanswered, one interval ago.
uvicorn's handle_pong still matches the pongs: it compares them with the payload set here."""

from __future__ import annotations

import asyncio
import struct
from typing import Protocol

from websockets.frames import Frame, Opcode
from websockets.protocol import State

# Seconds between two sweeps; the ping interval is a whole number of them (a setting in
# seconds, at least 1).
TICK = 1.0


class _Connection(Protocol):
    state: State


class Pinged(Protocol):
    """What the sweep uses of uvicorn's sans-I/O WebSocket protocol."""

    transport: asyncio.Transport
    conn: _Connection  # websockets' ServerProtocol
    close_sent: bool
    pending_ping_payload: bytes | None
    ping_sent_at: float

    def keepalive_timeout(self) -> None: ...


class KeepaliveSweep:
    """Pings every socket added once per interval, and fails those that stop answering."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self._loop = loop
        self._buckets: list[dict[Pinged, None]] = [{} for _ in range(max(1, round(interval)))]
        self._slots: dict[Pinged, int] = {}
        self._ticks = 0
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, socket: Pinged) -> None:
        """Ping socket from about one interval from now on."""
        # The bucket just swept comes round again in one interval.
        slot = self._ticks % len(self._buckets)
        self._slots[socket] = slot
        self._buckets[slot][socket] = None
        if self._timer is None:
            self._timer = self._loop.call_later(TICK, self._sweep)

    def discard(self, socket: Pinged) -> None:
        """Stop pinging socket (it closed); the sweep stops when no socket is left."""
        slot = self._slots.pop(socket, None)
        if slot is not None:
            del self._buckets[slot][socket]
        if not self._slots and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sweep(self) -> None:
        self._ticks += 1
        bucket = self._buckets[self._ticks % len(self._buckets)]
        payload = struct.pack("!I", self._ticks & 0xFFFFFFFF)
        ping = Frame(Opcode.PING, payload).serialize(mask=False)
        now = self._loop.time()
        for socket in list(bucket):
            if socket.pending_ping_payload is not None:
                socket.keepalive_timeout()  # closes it; its connection_lost discards it
                continue
            transport = socket.transport
            if socket.close_sent or transport.is_closing() or socket.conn.state is not State.OPEN:
                continue
            socket.pending_ping_payload = payload
            socket.ping_sent_at = now
            transport.write(ping)
        self._timer = self._loop.call_later(TICK, self._sweep) if self._slots else None


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
