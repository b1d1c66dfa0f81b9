"""Test helpers: free ports, a real `liveblog serve` process, CLI runs, users and tokens."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import text

from benchmarks.bench.postgres import create_database, drop_database
from liveblog import accounts, passwords
from liveblog.db.engine import open_database
from liveblog.db.migrate import upgrade_to_head
from liveblog.settings import load_settings

T = TypeVar("T")
STARTUP_DEADLINE = 60.0  # generous: a loaded machine may start several servers at once
TEST_PASSWORD = "correct horse battery"  # every user add_user makes has it
POSTGRES_ADMIN_URL = os.environ.get(
    "LIVEBLOG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LIVEBLOG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STANDARD_WS_SERVER = Path(__file__).resolve().parent / "standard_ws_server.py"


def required_services() -> set[str]:
    """Services whose absence fails the run instead of skipping (set by .ci/run)."""
    return {s.strip() for s in os.environ.get("LIVEBLOG_TEST_REQUIRE", "").split(",") if s.strip()}


def skip_or_fail(service: str, reason: str) -> None:
    """Skip with reason, unless .ci/run requires the service, in which case fail."""
    if service in required_services():
        pytest.fail(f"{service} is required here (LIVEBLOG_TEST_REQUIRE) but {reason}")
    pytest.skip(reason)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous test code, on a thread of its own: there
    asyncio.run works even while Playwright's sync API (an event loop) runs on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# A port chosen here is free only until the server binds it, a second or more later. Ports
# the kernel picks (bind to port 0, and every outgoing connection's local port) come from
# its ephemeral range, so one picked that way could be taken in between by another test's
# server or client, and the test would then talk to someone else's server. So the tests' ports
# come from below that range, in a block per xdist worker, each handed out once in turn.
PORT_BLOCK = 2000
_next_port = itertools.count(random.randrange(PORT_BLOCK))


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on, that no other test will be given soon."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = _ephemeral_ports_start() - (int(worker) + 1 if worker.isdigit() else 1) * PORT_BLOCK
    if first < 1024:
        raise RuntimeError(f"no room for a block of test ports below {first + PORT_BLOCK}")
    for _ in range(PORT_BLOCK):
        port = first + next(_next_port) % PORT_BLOCK
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"every port from {first} to {first + PORT_BLOCK - 1} is in use")


def _ephemeral_ports_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test or module, dropped afterwards."""
    try:
        url = run_async(create_database(POSTGRES_ADMIN_URL, "liveblog_test"))
    except (OSError, asyncpg.PostgresError) as error:
        skip_or_fail("postgres", f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}")
        raise
    try:
        yield url
    finally:
        run_async(drop_database(POSTGRES_ADMIN_URL, url))


def redis_url() -> str:
    """The Redis the scale-out tests share, or a skip (a failure where CI requires it)."""
    try:
        with socket.create_connection(_host_port(REDIS_URL, 6379), timeout=2):
            return REDIS_URL
    except OSError as error:
        skip_or_fail("redis", f"Redis is not reachable at {REDIS_URL}: {error}")
        raise


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    netloc = url.partition("://")[2].split("/", 1)[0].rpartition("@")[2]
    host, _, port = netloc.partition(":")
    return host, int(port or default_port)


@dataclass
class Deployment:
    """Where a server keeps its data: a folder and the settings environment."""

    folder: Path
    env: dict[str, str]
    migrated: bool = False

    def cli(self, *args: str, stdin: str | None = None, check: bool = True):  # type: ignore[no-untyped-def]
        """Run `liveblog ARGS` as a user would, in the deployment's folder and environment."""
        result = subprocess.run(
            [sys.executable, "-m", "liveblog", *args],
            cwd=self.folder,
            env={**os.environ, **self.env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"liveblog {' '.join(args)} failed: {result.stderr}")
        return result

    def count_rows(self, *tables: str) -> dict[str, int]:
        """Row counts of tables, straight from the database."""
        return run_async(self._count_rows(tables))

    async def _count_rows(self, tables: tuple[str, ...]) -> dict[str, int]:
        db = open_database(load_settings(environ=self.env, cwd=self.folder))
        try:
            async with db.reading() as session:
                return {
                    t: (await session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
                    for t in tables
                }
        finally:
            await db.close()

    def execute(self, statement: str, **params: object) -> None:
        """Run one SQL statement on the deployment's database, as an operator might."""
        run_async(self._execute(statement, params))

    async def _execute(self, statement: str, params: dict[str, object]) -> None:
        db = open_database(load_settings(environ=self.env, cwd=self.folder))
        try:
            async with db.writing() as session:
                await session.execute(text(statement), params)
        finally:
            await db.close()

    def add_user(self, role: str, name: str | None = None) -> tuple[str, str]:
        """A new user with role and an API token, made directly in the database (fast)."""
        name = name or f"{role}-{secrets.token_hex(4)}"
        return name, run_async(self._add_user(name, role))

    async def _add_user(self, name: str, role: str) -> str:
        db = open_database(load_settings(environ=self.env, cwd=self.folder))
        try:
            if not self.migrated:
                await upgrade_to_head(db)
                self.migrated = True
            async with db.writing() as session:
                name, role = accounts.check_name(name), accounts.check_role(role)
                await accounts.insert_user(session, name, role, await _test_password_hash())
                return await accounts.create_token(session, name)
        finally:
            await db.close()


_hashes: dict[str, str] = {}


async def _test_password_hash() -> str:
    # argon2 is slow on purpose; every test user has the same password, so hash it once.
    if TEST_PASSWORD not in _hashes:
        _hashes[TEST_PASSWORD] = await passwords.hash_password(TEST_PASSWORD)
    return _hashes[TEST_PASSWORD]


@dataclass
class LiveServer:
    """A real `liveblog serve` process on a free port; with standard_ws, the app under
    uvicorn's standard WebSocket protocol instead (serve's fallback: no direct writes)."""

    deployment: Deployment
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    standard_ws: bool = False
    _log_start: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        log = open(self.deployment.folder / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self._log_start = log.tell()
        command = ["-m", "liveblog", "serve"] if not self.standard_ws else [STANDARD_WS_SERVER]
        self.process = subprocess.Popen(
            [sys.executable, *command, "--port", str(self.port), *self.args],
            cwd=self.deployment.folder,
            env={**os.environ, **self.deployment.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                # Our process must have bound the port: otherwise whoever holds it answers.
                if self._bound() and httpx.get(f"{self.url}/healthz", timeout=1).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start within {STARTUP_DEADLINE}s:\n{self.log()}")

    def _bound(self) -> bool:
        path = self.deployment.folder / f"server-{self.port}.log"
        with open(path, "rb") as log:
            log.seek(self._log_start)
            return f"running on {self.url} ".encode() in log.read()

    def log(self) -> str:
        path = self.deployment.folder / f"server-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Ask a process to stop; kill it if it has not within 15 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def own_live_story(
    folder: Path, env: dict[str, str], standard_ws: bool = False
) -> Iterator[tuple[LiveServer, httpx.Client, str]]:
    """A server of its own (SQLite in folder, with the LIVEBLOG_* settings in env), an
    editor's client of it and a live story; the server stopped after."""
    deployment = Deployment(
        folder=folder, env={"LIVEBLOG_DATABASE_URL": f"sqlite:///{folder}/lb.db", **env}
    )
    server = LiveServer(deployment, standard_ws=standard_ws).start()
    try:
        _, token = deployment.add_user("editor")
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as editor:
            slug = editor.post("/api/stories", json={"title": "A story"}).json()["slug"]
            editor.patch(f"/api/stories/{slug}", json={"status": "live"})
            yield server, editor, slug
    finally:
        server.stop()


def until(condition: Callable[[], object], what: str, deadline: float = 10.0) -> None:
    """Poll until condition() is true; fail, naming what was awaited, after deadline s."""
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


@contextmanager
def serving_in_thread(server: uvicorn.Server, deadline: float = 10.0) -> Iterator[threading.Thread]:
    """An in-process uvicorn server, started in a thread before the block (within deadline s)
    and asked to exit, and joined, after it; the block gets the thread."""
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        until(lambda: server.started, "the server to start", deadline)
        yield thread
    finally:
        server.should_exit = True
        thread.join(deadline)
