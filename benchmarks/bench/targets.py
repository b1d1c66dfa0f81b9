"""Servers under test (the floor here; ours and nchan beside) and how to publish to them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.clients import Clients
from bench.host import Pinning, free_port
from bench.metrics import Samples

HERE = Path(__file__).resolve().parents[1]
STARTUP_DEADLINE = 30.0


class Target:
    """A server under test: how to start it, where readers go, how to publish."""

    name = ""
    has_sse = True

    def __init__(self, pin: Pinning, workdir: Path) -> None:
        self.pin = pin
        self.workdir = workdir
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.http: httpx.AsyncClient | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_path(self) -> Path:
        return self.workdir / f"{self.name}-{self.port}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def cwd(self) -> Path:
        return self.workdir

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def _launch(self, port: int = 0) -> subprocess.Popen[bytes]:
        self.port = port or free_port()
        with open(self.log_path(), "ab") as output:
            return subprocess.Popen(
                [*self.pin.server, *self.command()],
                cwd=self.cwd(),
                env=self.env(),
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        """Start on a free port and wait until it answers; then prepare (ours: a story)."""
        await self._run(free_port())
        await self.prepare()

    async def restart(self) -> None:
        """Start again on the same port (after stop), keeping what prepare made."""
        await self._run(self.port)

    async def _run(self, port: int) -> None:
        self.process = self._launch(port)
        self.http = httpx.AsyncClient(
            base_url=self.base,
            timeout=30,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                if (await self.http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    async def prepare(self) -> None:
        """Anything to do once the server listens (ours: a live story)."""

    def log_tail(self, lines: int = 30) -> str:
        path = self.log_path()
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def ws_path(self) -> str:
        raise NotImplementedError

    def sse_path(self) -> str:
        raise NotImplementedError

    async def publish(self, update: int) -> int:
        """Publish one update; returns its send time (ns), taken just before the request."""
        raise NotImplementedError

    async def warm_up(self) -> None:
        """One reader, one update: first-use costs (imports, templates) out of the numbers."""
        url = self.base.replace("http://", "ws://") + self.ws_path()
        async with websockets.connect(url, compression=None, open_timeout=30) as ws:
            await asyncio.sleep(0.1)
            await self.publish(0)
            await asyncio.wait_for(ws.recv(), 30)
        await self.after_warm_up()

    async def after_warm_up(self) -> None:
        pass

    async def extra_stats(self) -> dict[str, Any]:
        return {}

    async def scrape(self) -> Samples:
        """The server's metrics now (none for servers that export none)."""
        return {}


@asynccontextmanager
async def serving(target: Target, readers: int, pin: Pinning) -> AsyncIterator[Clients]:
    """The target started and warmed up, and load clients (not yet connected) for readers on
    the client core; the clients closed and the target stopped after."""
    await target.start()
    clients: Clients | None = None
    try:
        await target.warm_up()
        clients = Clients.for_readers(readers, pin.client_cpu)
        yield clients
    finally:
        if clients is not None:
            clients.close()
        await target.stop()


class Floor(Target):
    name = "floor"
    has_sse = False

    def __init__(self, pin: Pinning, workdir: Path, plain_asyncio: bool) -> None:
        super().__init__(pin, workdir)
        self.plain_asyncio = plain_asyncio

    def command(self) -> list[str]:
        command = [sys.executable, str(HERE / "floor_server.py"), "--port", str(self.port)]
        return [*command, "--asyncio"] if self.plain_asyncio else command

    def ws_path(self) -> str:
        return "/"

    async def publish(self, update: int) -> int:
        assert self.http is not None
        sent = time.time_ns()
        response = await self.http.get("/publish", params={"u": update, "t": sent})
        response.raise_for_status()
        return sent


class Updates:
    """Unique update ids across the whole run (0 is the warm-up)."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last += 1
        return self.last


UPDATES = Updates()


async def publish_spaced(
    target: Target, count: int, interval: float, on_tick: Any = None
) -> dict[int, int]:
    """Publish count updates, one every interval seconds; returns {update: sent ns}."""
    sent: dict[int, int] = {}
    start = time.monotonic()
    for i in range(count):
        update = UPDATES.next()
        sent[update] = await target.publish(update)
        next_at = start + (i + 1) * interval
        while True:
            if on_tick is not None:
                on_tick()
            left = next_at - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(left, 0.5))
    return sent


@dataclass
class Burst:
    """What concurrent writers published: {update: sent ns}, POST latencies, errors."""

    sent: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def write_concurrently(
    publish: Callable[[int], Awaitable[int]], writers: int, seconds: float
) -> Burst:
    """writers concurrent loops publishing through publish (update -> sent ns) for seconds."""
    burst = Burst()
    deadline = time.monotonic() + seconds

    async def write() -> None:
        while time.monotonic() < deadline:
            update = UPDATES.next()
            try:
                at = await publish(update)
            except (RuntimeError, OSError, EOFError) as error:
                burst.errors.append(f"{type(error).__name__}: {str(error)[:200]}")
                continue
            burst.latencies.append((time.time_ns() - at) / 1e6)
            burst.sent[update] = at

    await asyncio.gather(*(write() for _ in range(writers)))
    return burst
