"""Ours: `liveblog serve` on a fresh SQLite folder, or on given settings (PostgreSQL, Redis)
with several workers; an editor's token made with the CLI, one live story."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from floor_server import update_text

from bench.host import Pinning
from bench.http1 import Http1Pool
from bench.metrics import Samples, parse_metrics, value
from bench.targets import Target

PASSWORD = "benchmark password"


class Ours(Target):
    """`liveblog serve`: on a SQLite file in its own folder unless settings (LIVEBLOG_*
    variables) say otherwise, with workers processes."""

    name = "ours"

    def __init__(
        self,
        pin: Pinning,
        workdir: Path,
        settings: dict[str, str] | None = None,
        workers: int = 1,
    ) -> None:
        super().__init__(pin, workdir)
        self.folder = workdir / "liveblog"
        self.folder.mkdir()
        self.settings = settings or {
            "LIVEBLOG_DATABASE_URL": f"sqlite:///{self.folder / 'liveblog.db'}"
        }
        self.workers = workers
        self.token = ""
        self.slug = ""
        self.seq = 0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
        return {**env, **self.settings}

    def cwd(self) -> Path:
        return self.folder

    def _cli(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "liveblog", *args],
            cwd=self.folder,
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"liveblog {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def make_editor(self) -> None:
        """An editor and an API token, made with the CLI as an operator would."""
        self._cli("user", "add", "bench", "--role", "editor", "--password-stdin", stdin=PASSWORD)
        self.token = self._cli("token", "create", "bench").strip().splitlines()[-1]

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "liveblog", "serve", "--port", str(self.port)]
        return [*command, "--workers", str(self.workers)] if self.workers > 1 else command

    async def _run(self, port: int) -> None:
        await super()._run(port)
        assert self.http is not None
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    async def prepare(self) -> None:
        assert self.http is not None
        title = f"Benchmark {secrets.token_hex(4)}"
        response = await self.http.post("/api/stories", json={"title": title})
        response.raise_for_status()
        self.slug = response.json()["slug"]
        response = await self.http.patch(f"/api/stories/{self.slug}", json={"status": "live"})
        response.raise_for_status()
        self.seq = response.json()["seq"]

    async def after_warm_up(self) -> None:
        assert self.http is not None
        response = await self.http.get(f"/api/stories/{self.slug}")
        self.seq = response.json()["seq"]

    # What the story page takes: lean frames, an entry's content and the fields its template
    # lacks (the storm and soak take format=json, to compare every reader's log with the API).
    def ws_path(self) -> str:
        return f"/stories/{self.slug}/live?after={self.seq}&format=page"

    def sse_path(self) -> str:
        return f"/stories/{self.slug}/stream?after={self.seq}&format=page"

    async def publish(self, update: int) -> int:
        assert self.http is not None
        sent = time.time_ns()
        body = update_text(update, sent)
        response = await self.http.post(f"/api/stories/{self.slug}/entries", json={"body": body})
        if response.status_code != 201:
            raise RuntimeError(f"POST entry: {response.status_code} {response.text[:200]}")
        return sent

    @asynccontextmanager
    async def writers(self, count: int) -> AsyncIterator[Callable[[int], Awaitable[int]]]:
        """A publish for count concurrent writers, over lean keep-alive connections (httpx's
        CPU per POST, on the load client's core, would be what the throughput run measures)."""
        pool = Http1Pool(self.port, {"Authorization": f"Bearer {self.token}"}, count)
        path = f"/api/stories/{self.slug}/entries"

        async def publish(update: int) -> int:
            sent = time.time_ns()
            status, answer = await pool.post_json(path, {"body": update_text(update, sent)})
            if status != 201:
                raise RuntimeError(f"POST entry: {status} {answer[:200].decode(errors='replace')}")
            return sent

        try:
            yield publish
        finally:
            pool.close()

    async def extra_stats(self) -> dict[str, Any]:
        samples = await self.scrape()
        stats = {}
        dropped = value(samples, "liveblog_slow_readers_dropped_total")
        if dropped is not None:
            stats["slow_readers_dropped"] = int(dropped)
        readers = value(samples, "liveblog_readers")
        if readers is not None:
            stats["readers_gauge"] = int(readers)
        assert self.http is not None
        latest = await self.http.get(f"/api/stories/{self.slug}/entries", params={"limit": 1})
        if latest.status_code == 200 and latest.json()["items"]:
            stats["entry_html_bytes"] = len(latest.json()["items"][0]["html"].encode())
        return stats

    async def scrape(self) -> Samples:
        assert self.http is not None
        return parse_metrics((await self.http.get("/metrics")).text)

    def worker_pids(self) -> list[int]:
        """The server's worker processes (uvicorn's children), or the server alone."""
        assert self.process is not None
        pid = self.process.pid
        if self.workers == 1:
            return [pid]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for c in children if b"spawn_main" in _cmdline(int(c))]


def _cmdline(pid: int) -> bytes:
    """A process's command line (empty once it has gone); multiprocessing's resource tracker
    is a child too, and is no worker."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
