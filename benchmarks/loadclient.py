"""The lean load client: thousands of live readers per process on raw asyncio sockets.

A worker process is driven by the benchmark over a pipe (`Worker.run` documents the commands).
Each reader does the WebSocket (or server-sent events) handshake by hand and then parses what
the server sends just enough to find the benchmark's marker `@@u=<update>;t=<send ns>@@` in
each message, recording when it arrived: one `time.time_ns()` per read, one dict entry per
update. Server frames are unmasked and uncompressed (no extension is offered), so a frame is a
2-10 byte header and the payload; pings are answered with a pong (masked with a zero key).

Readers connect from several loopback source addresses (127.0.0.2, .3, ...) so that ephemeral
ports never run short, and close with a reset so that no TIME_WAIT is left behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

MARK = b"@@u="
WS_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # any 16 bytes, base64; the accept value is not checked
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
CONNECT_TIMEOUT = 30.0
CONNECT_ATTEMPTS = 3
STALLED_RCVBUF = 4096  # stalled readers advertise a tiny window, so the server feels them soon


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


class Reader(asyncio.Protocol):
    """One live reader: a WebSocket (kind "ws") or an event stream (kind "sse")."""

    __slots__ = (
        "body",
        "buf",
        "chunk_left",
        "chunked",
        "close_code",
        "dups",
        "frame_bytes",
        "got",
        "head",
        "kind",
        "lost",
        "ready",
        "stalled",
        "transport",
    )

    def __init__(self, kind: str, stalled: bool, ready: asyncio.Future[None]) -> None:
        self.kind = kind
        self.stalled = stalled
        self.ready: asyncio.Future[None] | None = ready
        self.transport: asyncio.Transport | None = None
        self.head: bytearray | None = bytearray()  # the response head, until it is complete
        self.buf = b""  # an incomplete frame (ws) or raw chunked bytes (sse)
        self.body = bytearray()  # sse: de-chunked text not yet split into events
        self.chunked = False
        self.chunk_left = -1  # sse chunked: bytes left in this chunk; -1 size line; -2 its CRLF
        self.got: dict[int, int] = {}  # update id -> receipt time (ns)
        self.dups = 0
        self.frame_bytes = 0
        self.close_code: int | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed during the handshake: {exc}"))
        self.ready = None

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        if self.head is not None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            data = bytes(self.head[end + 4 :])
            if not self._handshake_done(bytes(self.head[:end])):
                return
            if not data:
                return
        if self.kind == "ws":
            self._ws_data(data, now)
        else:
            self._sse_data(data, now)

    def _handshake_done(self, head: bytes) -> bool:
        self.head = None
        status = head.split(b"\r\n", 1)[0]
        expected = b" 101 " if self.kind == "ws" else b" 200 "
        ready, self.ready = self.ready, None
        if expected not in status + b" ":
            if ready is not None and not ready.done():
                ready.set_exception(ConnectionError(status.decode(errors="replace")))
            assert self.transport is not None
            self.transport.abort()
            return False
        self.chunked = b"transfer-encoding: chunked" in head.lower()
        if ready is not None and not ready.done():
            ready.set_result(None)
        if self.stalled:
            assert self.transport is not None
            self.transport.pause_reading()
        return True

    def _record(self, payload: bytes | bytearray, start: int, end: int, now: int) -> int:
        """Record the marker between start and end, if any; returns where the marker ended."""
        i = payload.find(MARK, start, end)
        if i < 0:
            return -1
        j = payload.find(b";", i + 4, end)
        update = int(payload[i + 4 : j])
        if update in self.got:
            self.dups += 1
        else:
            self.got[update] = now
        return j

    def _ws_data(self, data: bytes, now: int) -> None:
        for opcode, payload, start, end in self._ws_frames(data):
            if opcode <= 2:  # text, binary or a continuation
                self.frame_bytes = end - start
                self._record(payload, start, end, now)
            else:
                self._ws_control(opcode, payload, start, end)

    def _ws_frames(self, data: bytes) -> Iterator[tuple[int, bytes, int, int]]:
        """Each complete frame in what came (after what was buffered): its opcode, and where
        its payload lies in the bytes yielded with it. Keeps an incomplete frame for later."""
        if self.buf:
            data = self.buf + data
        n = len(data)
        pos = 0
        while n - pos >= 2:
            length = data[pos + 1] & 0x7F
            header = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                header = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = struct.unpack_from("!Q", data, pos + 2)[0]
                header = 10
            end = pos + header + length
            if end > n:
                break
            yield data[pos] & 0x0F, data, pos + header, end
            pos = end
        self.buf = data[pos:] if pos < n else b""

    def _ws_control(self, opcode: int, data: bytes, start: int, end: int) -> None:
        if opcode == 9:  # ping: answer with a pong carrying the same payload
            assert self.transport is not None
            self.transport.write(
                bytes((0x8A, 0x80 | (end - start))) + b"\0\0\0\0" + data[start:end]
            )
        elif opcode == 8:  # close: note the code and let the server close the socket
            self.close_code = (data[start] << 8) | data[start + 1] if end - start >= 2 else 1005

    def _sse_data(self, data: bytes, now: int) -> None:
        if self.chunked:
            raw = self.buf + data if self.buf else data
            pos, n = 0, len(raw)
            while pos < n:
                if self.chunk_left == -1:  # a size line
                    eol = raw.find(b"\r\n", pos)
                    if eol < 0:
                        break
                    size = int(raw[pos:eol].split(b";", 1)[0], 16)
                    pos = eol + 2
                    self.chunk_left = size if size else -3
                    if size == 0:
                        break
                elif self.chunk_left == -2:  # the CRLF after a chunk
                    if n - pos < 2:
                        break
                    pos += 2
                    self.chunk_left = -1
                elif self.chunk_left >= 0:
                    take = min(n - pos, self.chunk_left)
                    self.body += raw[pos : pos + take]
                    pos += take
                    self.chunk_left -= take
                    if self.chunk_left == 0:
                        self.chunk_left = -2
                else:
                    break  # the last chunk came: the stream is over
            self.buf = raw[pos:] if pos < n else b""
        else:
            self.body += data
        body = self.body
        last = body.rfind(b"\n\n")
        if last < 0:
            return
        start = 0
        while start < last:  # one marker per event (its JSON holds it in body and html)
            end = body.find(b"\n\n", start, last + 2)
            self._record(body, start, end, now)
            self.frame_bytes = end - start
            start = end + 2
        del body[: last + 2]


class Worker:
    """The readers of one load-client process and the commands that drive them."""

    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.readers: list[Reader] = []
        self.groups: dict[str, list[Reader]] = {}
        self.commands: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def run(self) -> None:
        """Serve commands until "close". Each command is (name, args); each answer a dict:

        connect(kind, host, port, path, request_headers, count, sources, group, stalled,
                concurrency) -> {ok, failed, errors, seconds}
        counts(group, updates) -> {updates: {u: readers that got it}, lost, closed}
        cpu() -> {cpu: this process's user+system seconds}
        collect(group, expected) -> receipts and completeness of group's readers
        reset(group) -> forget receipts;  drop(group) -> close the group's sockets;
        addresses(group) -> {addresses: the readers' local "ip:port"};
        close() -> abort every socket and stop."""
        # A thread waits on the pipe: an event loop's add_reader would make the pipe
        # non-blocking, and a large answer would then fail to send.
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read_commands, args=(loop,), daemon=True).start()
        while True:
            name, args = await self.commands.get()
            if name == "close":
                for reader in self.readers:
                    if reader.transport is not None:
                        reader.transport.abort()
                with contextlib.suppress(OSError):
                    self.pipe.send({"closed": len(self.readers)})
                return
            try:
                answer = await getattr(self, f"cmd_{name}")(**args)
            except Exception as error:  # report it to the benchmark rather than die silently
                answer = {"error": f"{type(error).__name__}: {error}"}
            self.pipe.send(answer)

    def _read_commands(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                command = self.pipe.recv()
            except (EOFError, OSError):
                command = ("close", {})
            loop.call_soon_threadsafe(self.commands.put_nowait, command)
            if command[0] == "close":
                return

    async def cmd_connect(
        self,
        kind: str,
        host: str,
        port: int,
        path: str,
        count: int,
        sources: list[str],
        group: str = "normal",
        stalled: bool = False,
        concurrency: int = 32,
        request_headers: str = "",
    ) -> dict[str, Any]:
        if kind == "ws":
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY.decode()}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{request_headers}\r\n"
            ).encode()
        else:
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
                f"Cache-Control: no-cache\r\n{request_headers}\r\n"
            ).encode()
        started = time.monotonic()
        limit = asyncio.Semaphore(concurrency)
        errors: list[str] = []
        group_readers = self.groups.setdefault(group, [])

        async def one(index: int) -> None:
            source = sources[index % len(sources)]
            for attempt in range(CONNECT_ATTEMPTS):
                async with limit:
                    try:
                        reader = await asyncio.wait_for(
                            self._open(kind, host, port, source, request, stalled),
                            CONNECT_TIMEOUT,
                        )
                    except (OSError, TimeoutError) as error:
                        if attempt == CONNECT_ATTEMPTS - 1:
                            errors.append(f"{type(error).__name__}: {error}")
                        continue
                self.readers.append(reader)
                group_readers.append(reader)
                return

        await asyncio.gather(*(one(i) for i in range(count)))
        return {
            "ok": count - len(errors),
            "failed": len(errors),
            "errors": errors[:5],
            "seconds": time.monotonic() - started,
        }

    async def _open(
        self,
        kind: str,
        host: str,
        port: int,
        source: str,
        request: bytes,
        stalled: bool,
        protocol: Callable[[asyncio.Future[None]], Reader] | None = None,
    ) -> Reader:
        """A reader connected from source whose handshake succeeded; protocol makes it (a
        Reader of kind by default)."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if stalled:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
            sock.bind((source, 0))
            sock.setblocking(False)
            await loop.sock_connect(sock, (host, port))
            ready: asyncio.Future[None] = loop.create_future()
            transport, reader = await loop.create_connection(
                lambda: protocol(ready) if protocol else Reader(kind, stalled, ready), sock=sock
            )
        except BaseException:
            sock.close()
            raise
        transport.write(request)
        try:
            await ready
        except BaseException:
            transport.abort()
            raise
        return reader

    async def cmd_counts(self, group: str, updates: list[int]) -> dict[str, Any]:
        counts = dict.fromkeys(updates, 0)
        lost = closed = 0
        for reader in self.groups.get(group, []):
            got = reader.got
            for update in updates:
                if update in got:
                    counts[update] += 1
            lost += reader.lost
            closed += reader.close_code is not None
        return {"updates": counts, "lost": lost, "closed": closed}

    async def cmd_cpu(self) -> dict[str, Any]:
        return {"cpu": time.process_time()}  # user + system, finer than clock ticks

    async def cmd_collect(self, group: str, expected: list[int]) -> dict[str, Any]:
        """Receipt times per update, and how many readers got every expected update."""
        receipts: dict[int, list[int]] = {u: [] for u in expected}
        complete = missing = dups = lost = 0
        close_codes: dict[int, int] = {}
        frame_bytes = 0
        readers = self.groups.get(group, [])
        for reader in readers:
            got = reader.got
            have = 0
            for update in expected:
                at = got.get(update)
                if at is not None:
                    receipts[update].append(at)
                    have += 1
            missing += len(expected) - have
            complete += have == len(expected)
            dups += reader.dups
            lost += reader.lost
            frame_bytes = max(frame_bytes, reader.frame_bytes)
            if reader.close_code is not None:
                close_codes[reader.close_code] = close_codes.get(reader.close_code, 0) + 1
        return {
            "readers": len(readers),
            "complete": complete,
            "missing": missing,
            "dups": dups,
            "lost": lost,
            "close_codes": close_codes,
            "frame_bytes": frame_bytes,
            "receipts": receipts,
        }

    async def cmd_addresses(self, group: str) -> dict[str, Any]:
        """The local "ip:port" of each open reader of a group (the server's peer address)."""
        addresses = []
        for reader in self.groups.get(group, []):
            if reader.transport is not None and not reader.lost:
                host, port = reader.transport.get_extra_info("sockname")[:2]
                addresses.append(f"{host}:{port}")
        return {"addresses": addresses}

    async def cmd_drop(self, group: str) -> dict[str, Any]:
        """Close a group's sockets (with a reset) and forget them."""
        readers = self.groups.pop(group, [])
        for reader in readers:
            if reader.transport is not None:
                reader.transport.abort()
        dropped = set(map(id, readers))
        self.readers = [r for r in self.readers if id(r) not in dropped]
        return {"dropped": len(readers)}

    async def cmd_reset(self, group: str = "normal") -> dict[str, Any]:
        for reader in self.groups.get(group, []):
            reader.got.clear()
            reader.dups = 0
        return {"reset": True}


def worker_main(pipe: Connection, cpu: int | None, worker: type[Worker] = Worker) -> None:
    """Entry point of a load-client process, pinned to cpu when given."""
    if cpu is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpu})
    raise_fd_limit()
    try:
        import uvloop  # a leaner event loop, when installed

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(worker(pipe).run())
