"""Readers that resume, as a story page does: thousands per load-client process.

A follower is one reader across all its connections. It keeps the last seq it got and, after
any disconnect, reconnects with `?after=` it, with the page's exponential backoff and jitter
(static/live.js: 0.5 s doubling up to 30 s, each wait drawn between half and one and a half
times it; after a 1013 "try later" close, a count of its own that starts at 4 s). Seqs
arrive in order on a connection, so a seq at or below the last one is a duplicate and a jump
past the next one is a loss, counted as they happen. In "log" mode a follower also keeps a
digest of the log it saw (every event, in order) and of the last state of each entry, for
the soak to compare with the story's own log.

The benchmark drives a process over a pipe (bench/clients.py with `main=follower_main`); the
commands are FollowerWorker's `cmd_*` methods."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import re
import time
from multiprocessing.connection import Connection
from typing import Any

from loadclient import CONNECT_TIMEOUT, WS_KEY, Reader, Worker, worker_main

SEQ = re.compile(rb'"seq":\s*(\d+)')
RELOAD_MESSAGE = b'"reload"'  # {"type": "reload", "seq": N} comes before a 4001 close
# What an entry's "last state" is: the fields a reader shows (not, e.g., links the API adds).
ENTRY_FIELDS = ("id", "title", "body", "html", "retracted", "updated_at", "pinned", "key_event")
RELOAD, ENDED, NOT_FOUND = 4001, 4002, 4004  # close codes after which a page stops resuming
TRY_LATER = 1013  # a full server: the page waits on a count of its own, from 2-6 s up


def backoff(attempt: int) -> float:
    """The page's wait before reconnect attempt number attempt (0 first): jittered."""
    delay = min(30.0, 0.5 * 2**attempt)
    return delay / 2 + random.random() * delay


def digest(value: Any) -> bytes:
    """A short digest of a JSON value, the same whatever its source's key order or spacing."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


def entry_digest(entry: dict[str, Any]) -> bytes:
    """The digest of an entry's state as a reader sees it."""
    return digest({name: entry.get(name) for name in ENTRY_FIELDS})


class StoryLog:
    """The digests of a log of events: all of it in order, and each entry's last state."""

    def __init__(self) -> None:
        self.rolling = hashlib.blake2b(digest_size=16)
        self.entries: dict[int, bytes] = {}

    def add(self, event: dict[str, Any]) -> None:
        self.rolling.update(event["seq"].to_bytes(8, "big") + digest(event))
        entry = event.get("entry")
        if isinstance(entry, dict):
            self.entries[entry["id"]] = entry_digest(entry)

    def summary(self) -> dict[str, str]:
        """Hex digests of the whole log and of the entries' last states."""
        finals = hashlib.blake2b(digest_size=16)
        for entry_id in sorted(self.entries):
            finals.update(entry_id.to_bytes(8, "big") + self.entries[entry_id])
        return {"log": self.rolling.hexdigest(), "entries": finals.hexdigest()}


class Follower:
    """One reader across reconnects."""

    __slots__ = (
        "attempt",
        "busy_attempt",
        "close_codes",
        "connection",
        "dups",
        "gaps",
        "index",
        "last",
        "log",
        "lost",
        "opened_at",
        "opens",
        "stopped",
    )

    def __init__(self, index: int, after: int, keep_log: bool) -> None:
        self.index = index
        self.last = after
        self.log = StoryLog() if keep_log else None
        self.connection: FollowerSocket | None = None
        self.attempt = 0
        self.busy_attempt = 3  # never reset, as on the page
        self.opens = 0
        self.opened_at = 0.0  # time.monotonic() of the last successful connect
        self.dups = self.lost = 0
        self.gaps: list[tuple[int, int]] = []  # (after, got) where seqs were skipped
        self.close_codes: dict[int, int] = {}
        self.stopped = False  # told to stop resuming (4001, 4002, 4004 or the end of a run)

    def receive(self, message: bytes) -> None:
        match = SEQ.search(message, 0, 64)
        if match is None or RELOAD_MESSAGE in message[:64]:  # a reload names the story's seq
            return
        seq = int(match.group(1))
        if seq <= self.last:
            self.dups += 1
            return
        if seq > self.last + 1:
            self.lost += seq - self.last - 1
            self.gaps.append((self.last, seq))
        self.last = seq
        if self.log is not None:
            self.log.add(json.loads(message))


class FollowerSocket(Reader):
    """One WebSocket connection of a follower."""

    __slots__ = ("follower", "live", "on_lost")

    def __init__(self, follower: Follower, ready: asyncio.Future[None], on_lost: Any) -> None:
        super().__init__("ws", False, ready)
        self.follower = follower
        self.on_lost = on_lost
        self.live = False  # the handshake worked and the follower took this connection

    def _ws_data(self, data: bytes, now: int) -> None:
        for opcode, payload, start, end in self._ws_frames(data):
            if opcode <= 2:
                self.follower.receive(payload[start:end])
            else:
                self._ws_control(opcode, payload, start, end)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.live:  # a failed handshake is the connecting task's to retry
            self.on_lost(self)


class FollowerWorker(Worker):
    """The followers of one load-client process and the commands that drive them."""

    def __init__(self, pipe: Connection) -> None:
        super().__init__(pipe)
        self.followers: list[Follower] = []
        self.target: dict[str, Any] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.churning = False
        self.failures: dict[str, int] = {}  # failed connects by kind (refused, timeout, status)

    async def cmd_follow(
        self,
        host: str,
        port: int,
        path: str,
        count: int,
        sources: list[str],
        after: int,
        keep_log: bool = False,
        first: int = 0,
        concurrency: int = 64,
    ) -> dict[str, Any]:
        """Open count followers of path (a template with {after}); answer once each has
        connected or failed its first try (failures keep retrying with backoff)."""
        self.target = {"host": host, "port": port, "path": path, "sources": sources}
        started = time.monotonic()
        new = [Follower(first + i, after, keep_log) for i in range(count)]
        self.followers += new
        limit = asyncio.Semaphore(concurrency)

        async def first_try(follower: Follower) -> bool:
            async with limit:
                return await self._connect_once(follower)

        results = await asyncio.gather(*(first_try(f) for f in new))
        for follower, ok in zip(new, results, strict=True):
            if not ok:
                self._spawn(self._resume(follower))
        ok = sum(results)
        return {"ok": ok, "failed": count - ok, "seconds": time.monotonic() - started}

    async def _connect_once(self, follower: Follower) -> bool:
        t = self.target
        path = t["path"].format(after=follower.last)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {t['host']}:{t['port']}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY.decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        source = t["sources"][follower.index % len(t["sources"])]
        try:
            reader = await asyncio.wait_for(
                self._open(
                    "ws",
                    t["host"],
                    t["port"],
                    source,
                    request,
                    False,
                    lambda ready: FollowerSocket(follower, ready, self._lost),
                ),
                CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError) as error:
            kind = str(error)[:40] if type(error) is ConnectionError else type(error).__name__
            self.failures[kind] = self.failures.get(kind, 0) + 1
            return False
        if reader.lost:  # closed before this task ran again
            return False
        assert isinstance(reader, FollowerSocket)
        reader.live = True
        follower.connection = reader
        follower.attempt = 0
        follower.opens += 1
        follower.opened_at = time.monotonic()  # one clock for every process of the machine
        return True

    def _lost(self, connection: FollowerSocket) -> None:
        follower = connection.follower
        if follower.connection is connection:
            follower.connection = None
        code = connection.close_code
        if code is not None:
            follower.close_codes[code] = follower.close_codes.get(code, 0) + 1
        if code in (RELOAD, ENDED, NOT_FOUND):
            follower.stopped = True
        if not follower.stopped:
            self._spawn(self._resume(follower, busy=code == TRY_LATER))

    async def _resume(self, follower: Follower, busy: bool = False) -> None:
        """Reconnect with backoff and jitter until it works or the follower is stopped."""
        while not follower.stopped and follower.connection is None:
            if busy:
                await asyncio.sleep(backoff(follower.busy_attempt))
                follower.busy_attempt += 1
                busy = False
            else:
                await asyncio.sleep(backoff(follower.attempt))
                follower.attempt += 1
            if not follower.stopped and await self._connect_once(follower):
                return

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def cmd_churn(self, low: float, high: float) -> dict[str, Any]:
        """From now on each follower leaves every low..high seconds (at random) and comes
        back at once with its last seq, as a reader who reloads or changes networks."""
        self.churning = True
        for follower in self.followers:
            self._spawn(self._churn(follower, low, high))
        return {"churning": len(self.followers)}

    async def _churn(self, follower: Follower, low: float, high: float) -> None:
        while self.churning:
            await asyncio.sleep(random.uniform(low, high))
            connection = follower.connection
            if self.churning and connection is not None and connection.transport is not None:
                follower.connection = None
                connection.on_lost = lambda _connection: None  # this one leaves on purpose
                connection.transport.abort()
                if not await self._connect_once(follower):
                    await self._resume(follower)

    async def cmd_progress(self, seq: int, opens: int = 1) -> dict[str, Any]:
        """How many followers are connected, have connected at least opens times, and have
        every event up to seq."""
        fs = self.followers
        return {
            "followers": len(fs),
            "connected": sum(f.connection is not None for f in fs),
            "back": sum(f.connection is not None and f.opens >= opens for f in fs),
            "caught_up": sum(f.last >= seq for f in fs),
            "lost": sum(f.lost for f in fs),
            "dups": sum(f.dups for f in fs),
        }

    async def cmd_finish(self, seq: int) -> dict[str, Any]:
        """Stop churning and resuming; each follower's tally against the story's last seq."""
        self.churning = False
        for follower in self.followers:
            follower.stopped = True
        for task in list(self.tasks):
            task.cancel()
        close_codes: dict[int, int] = {}
        for f in self.followers:
            for code, count in f.close_codes.items():
                close_codes[code] = close_codes.get(code, 0) + count
        return {
            "followers": [
                {
                    "index": f.index,
                    "last": f.last,
                    "lost": f.lost + max(0, seq - f.last),
                    "dups": f.dups,
                    "gaps": f.gaps[:5],
                    "opens": f.opens,
                    "opened_at": f.opened_at,
                    "attempt": f.attempt,
                    "connected": f.connection is not None,
                    **(f.log.summary() if f.log is not None else {}),
                }
                for f in self.followers
            ],
            "close_codes": close_codes,
            "failures": self.failures,
        }

    async def cmd_leave(self) -> dict[str, Any]:
        """Close every follower's socket (a reset, as the load client always does)."""
        for follower in self.followers:
            follower.stopped = True
            if follower.connection is not None and follower.connection.transport is not None:
                follower.connection.transport.abort()
        return {"closed": len(self.followers)}


def follower_main(pipe: Connection, cpu: int | None) -> None:
    """Entry point of a load-client process of followers."""
    with contextlib.suppress(KeyboardInterrupt):
        worker_main(pipe, cpu, FollowerWorker)
