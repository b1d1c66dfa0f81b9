"""Scale-out test support: clusters of real `liveblog serve` processes sharing one PostgreSQL
database and one bus, a private Redis the tests may kill, and a TCP proxy they may cut or
freeze; readers that stay connected, and readers that reconnect as the page script does.

Every helper here stops what it starts. The machine's shared PostgreSQL and Redis are only
ever used, never stopped: outages are made with a private redis-server or the proxy."""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets
from websockets.protocol import State

from tests.live.readers import ws_url
from tests.reader_counts import until_story_readers
from tests.support import (
    Deployment,
    LiveServer,
    free_port,
    postgres_database,
    redis_url,
)

DEADLINE = 30.0


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    what: str,
    deadline: float = DEADLINE,
    interval: float = 0.1,
) -> float:
    """Wait until check() is true; returns the seconds it took, fails after deadline."""
    began = time.monotonic()
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - began
        if time.monotonic() - began > deadline:
            raise AssertionError(f"gave up after {deadline:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


def scale_deployment(folder: Path, database_url: str, bus_url: str) -> Deployment:
    """Settings every process of one cluster shares: database, bus and secret key."""
    env = {
        "LIVEBLOG_DATABASE_URL": database_url,
        "LIVEBLOG_BUS_URL": bus_url,
        "LIVEBLOG_SECRET_KEY": secrets.token_urlsafe(32),
    }
    return Deployment(folder=folder, env=env)


def redis_bus(database_url: str) -> str:
    """The machine's Redis as the bus, whatever the database (pub/sub channels ignore the db
    number)."""
    return redis_url()


def listen_notify(database_url: str) -> str:
    """The database itself as the bus: PostgreSQL LISTEN/NOTIFY."""
    return database_url


class Processes:
    """Every server a test (or module) starts, so that all of them are stopped after it."""

    def __init__(self) -> None:
        self._servers: list[LiveServer] = []

    def start(
        self,
        deployment: Deployment,
        count: int = 1,
        args: tuple[str, ...] = (),
        ports: list[int] | None = None,
    ) -> list[LiveServer]:
        """Start count servers at the same moment and wait until each answers /healthz."""
        servers = [
            LiveServer(deployment, args) if ports is None else LiveServer(deployment, args, port)
            for port in (ports or [None] * count)
        ]
        self._servers.extend(servers)
        with ThreadPoolExecutor(len(servers)) as pool:
            for started in [pool.submit(server.start) for server in servers]:
                started.result()
        return servers

    def stop(self, server: LiveServer) -> None:
        """Stop one server, its worker processes (--workers) included."""
        workers = child_pids(server)
        server.stop()
        for pid in workers:  # a supervisor killed after its timeout leaves them behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def stop_all(self) -> None:
        with ThreadPoolExecutor(max(len(self._servers), 1)) as pool:
            list(pool.map(self.stop, self._servers))
        self._servers.clear()


def child_pids(server: LiveServer, running: str = "") -> list[int]:
    """Process ids whose parent is the server (under --workers N: uvicorn's workers, and
    multiprocessing's helpers), only those whose command line contains running."""
    if server.process is None or server.process.poll() is not None:
        return []
    parent = str(server.process.pid)
    children = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if fields[1] == parent and running in command:  # after the name: state, ppid, ...
            children.append(int(proc.name))
    return children


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Cluster:
    """Servers sharing one deployment, an editor's headers, and how a test breaks and mends
    what they share."""

    deployment: Deployment
    servers: list[LiveServer]
    headers: dict[str, str]
    outage: Callable[[], None] = lambda: None
    recovery: Callable[[], None] = lambda: None


def editor_headers(deployment: Deployment) -> dict[str, str]:
    """Authorization headers of a new editor (made directly in the database)."""
    _, token = deployment.add_user("editor")
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def new_cluster(
    processes: Processes,
    folder: Path,
    count: int = 2,
    args: tuple[str, ...] = (),
    bus: Callable[[str], str] = redis_bus,
    database: Callable[[str], str] = lambda url: url,
) -> Iterator[Cluster]:
    """count processes (`liveblog serve ARGS`) started at the same moment on a new PostgreSQL
    database, which they reach at database(url), and the bus bus(url); all of processes are
    stopped after."""
    with postgres_database() as url:
        deployment = scale_deployment(folder, database(url), bus(url))
        servers = processes.start(deployment, count, args)
        try:
            yield Cluster(deployment, servers, editor_headers(deployment))
        finally:
            processes.stop_all()


async def new_live_story(base: str, headers: dict[str, str]) -> tuple[str, int]:
    """A new live story through the API: (slug, seq)."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=DEADLINE) as client:
        title = f"Scale story {secrets.token_hex(4)}"
        response = await client.post("/api/stories", json={"title": title})
        assert response.status_code == 201, response.text
        slug = response.json()["slug"]
        response = await client.patch(f"/api/stories/{slug}", json={"status": "live"})
        assert response.status_code == 200, response.text
        return slug, response.json()["seq"]


async def get_json(url: str) -> tuple[int, dict]:
    async with httpx.AsyncClient(timeout=DEADLINE) as client:
        response = await client.get(url)
    return response.status_code, response.json()


def log_lines(server: LiveServer, needle: str) -> list[str]:
    """The lines of the server's log (all its runs on this port) that contain needle."""
    return [line for line in server.log().splitlines() if needle in line]


@dataclass
class StayingReader:
    """A WebSocket reader that connects once and keeps every message until it is closed."""

    base: str
    slug: str
    after: int
    messages: list[dict] = field(default_factory=list)
    close_code: int | None = None
    _ws: websockets.ClientConnection | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.messages if "seq" in m and m.get("type") != "reload"]

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._ws.state is State.OPEN

    async def __aenter__(self) -> StayingReader:
        self._ws = await websockets.connect(ws_url(self.base, self.slug, self.after))
        self._task = asyncio.create_task(self._read(self._ws))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._ws is not None and self._task is not None
        await self._ws.close()
        await asyncio.wait_for(self._task, DEADLINE)

    async def _read(self, ws: websockets.ClientConnection) -> None:
        try:
            async for raw in ws:
                self.messages.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        self.close_code = ws.close_code

    async def wait_for(self, seq: int, deadline: float = DEADLINE) -> float:
        """Wait until seq has arrived; the seconds it took."""
        return await eventually(
            lambda: bool(self.seqs) and self.seqs[-1] >= seq,
            f"seq {seq} at a reader of {self.base} (has {self.seqs[-3:]})",
            deadline,
            0.05,
        )

    async def answers_ping(self) -> bool:
        """The connection is open and the server answers a ping."""
        if self._ws is None or not self.connected:
            return False
        try:
            pong = await self._ws.ping()
            await asyncio.wait_for(pong, 10)
        except (websockets.ConnectionClosed, TimeoutError):
            return False
        return True


async def until_subscribed(*readers: StayingReader) -> None:
    """Wait until each server counts its readers among these (all of one story, each process
    its own): entries posted after that reach them live, not in their replay."""
    for base in {reader.base for reader in readers}:
        on_base = sum(reader.base == base for reader in readers)
        await until_story_readers([base], readers[0].slug, on_base, DEADLINE)


@dataclass
class FollowingReader:
    """A reader that behaves like the page script: on any disconnect it waits (exponential
    backoff with jitter) and reconnects from its last seq, to the next server in its list."""

    bases: list[str]
    slug: str
    after: int
    seqs: list[int] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    failures: list[tuple[float, str, str]] = field(default_factory=list)
    local_port: int | None = None
    max_backoff: float = 4.0

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else self.after

    async def follow_until(self, seq: int) -> None:
        attempt, turn = 0, 0
        while self.last_seq < seq:
            base = self.bases[turn % len(self.bases)]
            try:
                async with websockets.connect(
                    ws_url(base, self.slug, self.last_seq), open_timeout=5
                ) as ws:
                    attempt = 0
                    self.connections.append(base)
                    self.local_port = ws.local_address[1]
                    async for raw in ws:
                        message = json.loads(raw)
                        assert message.get("type") != "reload", message
                        self.seqs.append(message["seq"])
                        if self.last_seq >= seq:
                            return
                outcome = f"closed {ws.close_code}"
            except websockets.ConnectionClosed as error:
                outcome = f"closed {error.rcvd.code if error.rcvd else 'abnormally'}"
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                outcome = type(error).__name__  # refused, timed out: try again later
            self.failures.append((time.monotonic(), base, outcome))
            turn += 1
            delay = min(self.max_backoff, 0.25 * 2**attempt)
            attempt += 1
            await asyncio.sleep(delay / 2 + random.random() * delay)


def spawn(command: list[str], output: Path) -> subprocess.Popen[bytes]:
    """Start command with its stdout and stderr appended to output."""
    with open(output, "ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def wait_listening(
    process: subprocess.Popen[bytes],
    port: int,
    log: Callable[[], str],
    answers: Callable[[socket.socket], bool] = lambda connection: True,
) -> None:
    """Wait until process accepts connections on 127.0.0.1:port and answers(connection) is
    true; RuntimeError, with its log(), if it exits first or DEADLINE passes."""
    name = Path(str(process.args[0])).name
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early with {process.returncode}:\n{log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if answers(connection):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer on port {port} within {DEADLINE:.0f}s:\n{log()}")


def _answers_ping(connection: socket.socket) -> bool:
    connection.sendall(b"PING\r\n")
    return connection.recv(16).startswith(b"+PONG")


class PrivateRedis:
    """A redis-server of the test's own on a free port, to stop and start at will."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        output = self.folder / f"redis-{self.port}.log"
        self.process = spawn(
            [
                *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
            ],
            output,
        )
        wait_listening(self.process, self.port, lambda: read_log(output), _answers_ping)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class TcpProxy:
    """Forwards 127.0.0.1:port to target, in a thread of its own (so a test's blocking calls
    never stall it). cut() resets every connection and refuses new ones, as a dead server
    would; freeze() stops passing bytes on but keeps connections open, as a host that vanished
    from the network would; restore() undoes either."""

    def __init__(self, target: tuple[str, int], port: int) -> None:
        self.target, self.port = target, port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._transports: set[asyncio.Transport] = set()

    def start(self) -> None:
        self._thread.start()
        self.restore()

    def restore(self) -> None:
        """Accept connections and pass bytes on again."""
        self._call(self._open())

    def cut(self) -> None:
        self._call(self._cut())

    def freeze(self) -> None:
        self._call(self._freeze())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _call(self, work: Awaitable[None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(DEADLINE)  # type: ignore[arg-type]

    async def _open(self) -> None:
        if self._flowing is None:
            self._flowing = asyncio.Event()
        self._flowing.set()
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _freeze(self) -> None:
        assert self._flowing is not None
        self._flowing.clear()

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, client_in: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        self._transports.add(client.transport)  # type: ignore[arg-type]
        upstream: asyncio.StreamWriter | None = None
        try:
            upstream_in, upstream = await asyncio.open_connection(*self.target)
            self._transports.add(upstream.transport)  # type: ignore[arg-type]
            await asyncio.gather(self._pipe(client_in, upstream), self._pipe(upstream_in, client))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for writer in (client, upstream):
                if writer is not None:
                    self._transports.discard(writer.transport)  # type: ignore[arg-type]
                    writer.transport.abort()
            self._pipes.discard(task)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.transport.abort()


def proxy_to(target: tuple[str, int]) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target, free_port())
    proxy.start()
    yield proxy
    proxy.close()


def through(proxy: TcpProxy, url: str) -> str:
    """url (postgresql://user@host:port/db) with host and port replaced by the proxy's."""
    scheme, _, rest = url.partition("://")
    credentials, _, location = rest.rpartition("@")
    database = location.partition("/")[2]
    user = f"{credentials}@" if credentials else ""
    return f"{scheme}://{user}127.0.0.1:{proxy.port}/{database}"
