"""Fan-out at newsroom scale: our server beside the bare `websockets` floor and nchan.

    python benchmarks/fanout.py [--quick] [--readers 1000,5000,10000] [--updates K]
                                [--no-nchan] [--json out.json]

Each server runs in turn on loopback, pinned to one core (`taskset`), with the load client
(benchmarks/loadclient.py, separate processes, raw sockets) pinned to another:

- ours: `liveblog serve` on a fresh SQLite folder; readers on
  `/stories/{slug}/live?after=SEQ&format=json`; an update is a POST of a ~1.5 KB entry
  through the API with an editor's token;
- the floor: benchmarks/floor_server.py, the `websockets` library's server and `broadcast()`;
- nchan: nginx with the nchan module, one worker (benchmarks/nchan.conf); installed with
  `apt-get install -y nginx-light libnginx-mod-nchan` when missing and possible.

Every update carries its send time; each reader records when it arrives. Per server and N it
prints the time from publish to the *last* reader (p50/p99/max over K updates), deliveries
per second, server and load-client CPU per update, server memory per idle reader and whether
every reader got every update; then a slow-reader scenario, SSE beside nchan's EventSource
and publish throughput, and a Markdown table for the README. `--quick` (N=200, 5 updates, no
nchan, short scenarios) is what CI runs; it exits non-zero if any reader missed an update."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import math
import multiprocessing
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import websockets
from floor_server import message, update_text
from loadclient import raise_fd_limit, worker_main

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
READERS_PER_PROCESS = 2500
SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]  # loopback source addresses for readers
STARTUP_DEADLINE = 30.0
PASSWORD = "benchmark password"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- what to run


@dataclass
class Plan:
    readers: list[int]
    updates: int
    interval: float
    nchan: bool
    quick: bool
    slow_normal: int
    slow_stalled: int
    slow_seconds: float
    slow_interval: float
    sse_readers: int
    throughput_readers: int
    throughput_seconds: float
    writers: int
    settle: float
    drain_timeout: float
    floor_asyncio: bool
    scenarios: set[str]


def make_plan(args: argparse.Namespace) -> Plan:
    quick = args.quick
    readers = [int(n.replace("_", "")) for n in args.readers.split(",")] if args.readers else []
    plan = Plan(
        readers=readers or ([200] if quick else [1000, 5000, 10000]),
        updates=args.updates or (5 if quick else 20),
        interval=args.interval or (0.5 if quick else 1.0),
        nchan=not (args.no_nchan or quick),
        quick=quick,
        slow_normal=50 if quick else 1000,
        slow_stalled=5 if quick else 20,
        slow_seconds=5.0 if quick else 60.0,
        slow_interval=0.25 if quick else 0.5,
        sse_readers=100 if quick else 5000,
        throughput_readers=100 if quick else 1000,
        throughput_seconds=3.0 if quick else 10.0,
        writers=args.writers,
        settle=0.5 if quick else 2.0,
        drain_timeout=10.0 if quick else 30.0,
        floor_asyncio=args.floor_asyncio,
        scenarios=set(args.only.split(",")) if args.only else {"ws", "slow", "sse", "throughput"},
    )
    return plan


# ---------------------------------------------------------------- machine and processes


@dataclass
class Pinning:
    server: list[str]  # command prefix for servers, e.g. ["taskset", "-c", "0"]
    client_cpu: int | None
    note: str


def pinning() -> Pinning:
    allowed = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if taskset is None:
        return Pinning([], None, "unpinned: taskset is missing (apt-get install util-linux)")
    if len(allowed) < 2:
        return Pinning([], None, f"unpinned: only {len(allowed)} core available")
    server, client = allowed[0], allowed[1]
    return Pinning(
        [taskset, "-c", str(server)], client, f"server on core {server}, load client on {client}"
    )


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "websockets": websockets.__version__,
        "load_average": round(os.getloadavg()[0], 2),
        "commit": _commit(),
    }


def _commit() -> str:
    """The code measured: HEAD, and whether liveblog/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "liveblog"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' with uncommitted changes' if dirty else ''}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads, live and gone)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def send_queues(port: int) -> dict[str, int]:
    """Bytes the kernel holds unsent on each established socket of the server's port, by
    the peer's "ip:port"."""
    if shutil.which("ss") is None:
        return {}
    listing = subprocess.run(
        ["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
    ).stdout
    queues = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            queues[fields[3]] = int(fields[1])
    return queues


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# ---------------------------------------------------------------- the load client


class Clients:
    """The load-client processes and their readers."""

    def __init__(self, processes: int, cpu: int | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=worker_main, args=(theirs, cpu), daemon=True)
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)
        self.connected: dict[str, int] = {}

    @staticmethod
    def for_readers(readers: int, cpu: int | None) -> Clients:
        return Clients(max(1, math.ceil(readers / READERS_PER_PROCESS)), cpu)

    def _ask(self, indexes: list[int], name: str, timeout: float, **args: Any) -> list[Any]:
        for i in indexes:
            self.pipes[i].send((name, args))
        answers = []
        deadline = time.monotonic() + timeout
        for i in indexes:
            if not self.pipes[i].poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"load client {i} did not answer {name} within {timeout}s")
            answer = self.pipes[i].recv()
            if "error" in answer:
                raise RuntimeError(f"load client {i} failed {name}: {answer['error']}")
            answers.append(answer)
        return answers

    def ask_all(self, name: str, timeout: float = 60.0, **args: Any) -> list[Any]:
        return self._ask(list(range(len(self.pipes))), name, timeout, **args)

    def connect(
        self,
        kind: str,
        port: int,
        path: str,
        readers: int,
        group: str = "normal",
        stalled: bool = False,
        processes: int | None = None,
    ) -> dict[str, Any]:
        """Open readers spread over the processes; returns counts and seconds taken."""
        used = min(processes or len(self.pipes), len(self.pipes))
        counts = [readers // used + (i < readers % used) for i in range(used)]
        for i, count in enumerate(counts):
            self.pipes[i].send(
                (
                    "connect",
                    {
                        "kind": kind,
                        "host": "127.0.0.1",
                        "port": port,
                        "path": path,
                        "count": count,
                        "sources": SOURCES,
                        "group": group,
                        "stalled": stalled,
                    },
                )
            )
        started = time.monotonic()
        ok = failed = 0
        errors: list[str] = []
        for i in range(used):
            if not self.pipes[i].poll(600):
                raise RuntimeError("load client did not finish connecting within 600 s")
            answer = self.pipes[i].recv()
            if "error" in answer:
                raise RuntimeError(f"load client {i} failed to connect: {answer['error']}")
            ok += answer["ok"]
            failed += answer["failed"]
            errors += answer["errors"]
        self.connected[group] = self.connected.get(group, 0) + ok
        return {
            "ok": ok,
            "failed": failed,
            "errors": errors[:5],
            "seconds": time.monotonic() - started,
        }

    def cpu(self) -> float:
        return sum(a["cpu"] for a in self.ask_all("cpu"))

    def counts(self, group: str, updates: list[int]) -> dict[int, int]:
        merged: dict[int, int] = dict.fromkeys(updates, 0)
        for answer in self.ask_all("counts", group=group, updates=updates):
            for update, count in answer["updates"].items():
                merged[update] += count
        return merged

    async def wait_delivered(self, group: str, updates: list[int], within: float) -> bool:
        """Wait until every connected reader of group has every update (at most within s)."""
        readers = self.connected.get(group, 0)
        pending = list(updates)
        deadline = time.monotonic() + within
        while pending:
            counts = self.counts(group, pending)
            pending = [u for u in pending if counts[u] < readers]
            if not pending:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    def collect(self, group: str, expected: list[int]) -> dict[str, Any]:
        merged: dict[str, Any] = {
            "readers": 0,
            "complete": 0,
            "missing": 0,
            "dups": 0,
            "lost": 0,
            "frame_bytes": 0,
            "close_codes": {},
            "receipts": {u: [] for u in expected},
        }
        for answer in self.ask_all("collect", group=group, expected=expected):
            for key in ("readers", "complete", "missing", "dups", "lost"):
                merged[key] += answer[key]
            merged["frame_bytes"] = max(merged["frame_bytes"], answer["frame_bytes"])
            for code, count in answer["close_codes"].items():
                merged["close_codes"][code] = merged["close_codes"].get(code, 0) + count
            for update, times in answer["receipts"].items():
                merged["receipts"][update].extend(times)
        return merged

    def reset(self, group: str) -> None:
        self.ask_all("reset", group=group)

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close", {}))
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            with contextlib.suppress(OSError, EOFError):
                if pipe.poll(30):
                    pipe.recv()
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
            pipe.close()


# ---------------------------------------------------------------- the servers


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

    def _launch(self) -> subprocess.Popen[bytes]:
        self.port = free_port()
        with open(self.log_path(), "ab") as output:
            return subprocess.Popen(
                [*self.pin.server, *self.command()],
                cwd=self.cwd(),
                env=self.env(),
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        self.process = self._launch()
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
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.1)
        await self.prepare()

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


class Ours(Target):
    name = "ours"

    def __init__(self, pin: Pinning, workdir: Path) -> None:
        super().__init__(pin, workdir)
        self.folder = workdir / "liveblog"
        self.folder.mkdir()
        self.token = ""
        self.slug = ""
        self.seq = 0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEBLOG_")}
        env["LIVEBLOG_DATABASE_URL"] = f"sqlite:///{self.folder / 'liveblog.db'}"
        return env

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
        return [sys.executable, "-m", "liveblog", "serve", "--port", str(self.port)]

    async def prepare(self) -> None:
        assert self.http is not None
        self.http.headers["Authorization"] = f"Bearer {self.token}"
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

    def ws_path(self) -> str:
        return f"/stories/{self.slug}/live?after={self.seq}&format=json"

    def sse_path(self) -> str:
        return f"/stories/{self.slug}/stream?after={self.seq}"

    async def publish(self, update: int) -> int:
        assert self.http is not None
        sent = time.time_ns()
        body = update_text(update, sent)
        response = await self.http.post(f"/api/stories/{self.slug}/entries", json={"body": body})
        if response.status_code != 201:
            raise RuntimeError(f"POST entry: {response.status_code} {response.text[:200]}")
        return sent

    async def extra_stats(self) -> dict[str, Any]:
        assert self.http is not None
        text = (await self.http.get("/metrics")).text
        stats = {}
        for line in text.splitlines():
            if line.startswith("liveblog_slow_readers_dropped_total "):
                stats["slow_readers_dropped"] = int(float(line.split()[1]))
            elif line.startswith("liveblog_readers "):
                stats["readers_gauge"] = int(float(line.split()[1]))
        return stats


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


class Nchan(Target):
    name = "nchan"

    def __init__(self, pin: Pinning, workdir: Path, nginx: str, module: str) -> None:
        super().__init__(pin, workdir)
        self.nginx = nginx
        self.module = module
        self.prefix = workdir / "nchan"

    def command(self) -> list[str]:
        if self.prefix.exists():
            shutil.rmtree(self.prefix)
        self.prefix.mkdir()
        _, hard = _fd_limits()
        config = (
            (HERE / "nchan.conf")
            .read_text()
            .format(
                module=self.module,
                prefix=self.prefix,
                port=self.port,
                nofile=hard,
                connections=max(1024, hard - 100),
            )
        )
        (self.prefix / "nginx.conf").write_text(config)
        return [
            self.nginx,
            "-p",
            str(self.prefix),
            "-e",
            str(self.prefix / "error.log"),
            "-c",
            str(self.prefix / "nginx.conf"),
        ]

    def log_tail(self, lines: int = 30) -> str:
        text = super().log_tail(lines)
        error_log = self.prefix / "error.log"
        if error_log.exists():
            text += "\n" + "\n".join(error_log.read_text(errors="replace").splitlines()[-lines:])
        return text

    @property
    def stats_pid(self) -> int:
        """The one worker process, which holds the connections (the master only supervises)."""
        assert self.process is not None
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if not children:
            raise RuntimeError("nginx has no worker process")
        return int(children[0])

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        await super().stop()

    def ws_path(self) -> str:
        return "/sub"

    def sse_path(self) -> str:
        return "/sub"

    async def publish(self, update: int) -> int:
        assert self.http is not None
        sent = time.time_ns()
        response = await self.http.post("/pub", content=message(update, sent).encode())
        response.raise_for_status()
        return sent


def _fd_limits() -> tuple[int, int]:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)


def find_nchan(install: bool) -> tuple[str, str] | str:
    """(nginx binary, nchan module path), installing them with apt-get when missing and
    allowed; otherwise the reason nchan is skipped."""
    found = _nchan_paths()
    if isinstance(found, tuple) or not install:
        return found
    if shutil.which("apt-get") is None:
        return f"{found}; no apt-get here: install nginx and the nchan module by hand"
    if os.geteuid() != 0:
        return f"{found}; run `sudo apt-get install -y nginx-light libnginx-mod-nchan`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def candidate() -> bool:
        policy = subprocess.run(
            ["apt-cache", "policy", "libnginx-mod-nchan"], capture_output=True, text=True
        ).stdout
        return "Candidate:" in policy and "Candidate: (none)" not in policy

    if not candidate():
        log("nchan: apt-get update (no candidate for libnginx-mod-nchan yet)")
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        if not candidate():
            return "libnginx-mod-nchan is not available from this machine's package sources"
    log("nchan: apt-get install -y nginx-light libnginx-mod-nchan")
    result = subprocess.run(
        ["apt-get", "install", "-y", "nginx-light", "libnginx-mod-nchan"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        return f"apt-get install failed: {result.stderr.strip().splitlines()[-1:]}"
    return _nchan_paths()


def _nchan_paths() -> tuple[str, str] | str:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not nginx:
        return "nginx is not installed"
    listing = subprocess.run(
        ["dpkg", "-L", "libnginx-mod-nchan"], capture_output=True, text=True
    ).stdout
    modules = [line for line in listing.splitlines() if line.endswith("nchan_module.so")]
    if not modules:
        return "the nchan module (libnginx-mod-nchan) is not installed"
    return nginx, modules[0]


# ---------------------------------------------------------------- measurements


class Updates:
    """Unique update ids across the whole run (0 is the warm-up)."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last += 1
        return self.last


UPDATES = Updates()


def latency_summary(sent: dict[int, int], result: dict[str, Any]) -> dict[str, Any]:
    """Publish-to-last-reader (and first) per update; every delivery's latency too."""
    last, first, deliveries = [], [], []
    for update, at in sent.items():
        times = result["receipts"].get(update) or []
        if not times:
            continue
        last.append((max(times) - at) / 1e6)
        first.append((min(times) - at) / 1e6)
        deliveries.extend((t - at) / 1e6 for t in times)
    return {
        "last_p50_ms": percentile(last, 50),
        "last_p99_ms": percentile(last, 99),
        "last_max_ms": max(last) if last else math.nan,
        "first_p50_ms": percentile(first, 50),
        "delivery_p50_ms": percentile(deliveries, 50),
        "delivery_p99_ms": percentile(deliveries, 99),
        "delivery_max_ms": max(deliveries) if deliveries else math.nan,
    }


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


async def fanout(
    target: Target, readers: int, plan: Plan, pin: Pinning, kind: str = "ws"
) -> dict[str, Any]:
    """N readers of one server, K updates: latency to the last reader, CPU, memory."""
    label = f"{target.name} {kind} N={readers:,}"
    log(f"{label}: starting")
    await target.start()
    clients: Clients | None = None
    try:
        await target.warm_up()
        pid = target.stats_pid
        path = target.ws_path() if kind == "ws" else target.sse_path()
        rss_before = rss_bytes(pid)
        clients = Clients.for_readers(readers, pin.client_cpu)
        connected = clients.connect(kind, target.port, path, readers)
        failed = connected["failed"]
        log(
            f"{label}: {connected['ok']:,} readers connected in {connected['seconds']:.1f}s"
            + (f", {failed} failed: {connected['errors']}" if failed else "")
        )
        await asyncio.sleep(plan.settle)
        rss_after = rss_bytes(pid)
        server_cpu, client_cpu = cpu_seconds(pid), clients.cpu()
        started = time.monotonic()
        sent = await publish_spaced(target, plan.updates, plan.interval)
        delivered = await clients.wait_delivered("normal", list(sent), plan.drain_timeout)
        elapsed = time.monotonic() - started
        server_cpu = cpu_seconds(pid) - server_cpu
        client_cpu = clients.cpu() - client_cpu
        result = clients.collect("normal", list(sent))
        extra = await target.extra_stats()
    finally:
        if clients is not None:
            clients.close()
        await target.stop()
    summary = latency_summary(sent, result)
    complete = result["complete"] == readers and delivered and result["dups"] == 0
    row = {
        "server": target.name,
        "transport": kind,
        "readers": readers,
        "connected": connected["ok"],
        "connect_failed": connected["failed"],
        "connect_seconds": round(connected["seconds"], 2),
        "updates": len(sent),
        **summary,
        "deliveries_per_s": readers / (summary["last_p50_ms"] / 1000)
        if summary["last_p50_ms"] > 0
        else math.nan,
        "server_cpu_ms_per_update": server_cpu * 1000 / len(sent),
        "client_cpu_ms_per_update": client_cpu * 1000 / len(sent),
        "server_cpu_share": server_cpu / elapsed,
        "client_cpu_share": client_cpu / elapsed,
        "rss_before_mib": rss_before / 2**20,
        "rss_after_mib": rss_after / 2**20,
        "kib_per_reader": (rss_after - rss_before) / 1024 / max(1, connected["ok"]),
        "frame_bytes": result["frame_bytes"],
        "readers_complete": result["complete"],
        "missing_deliveries": result["missing"] + (readers - result["readers"]) * len(sent),
        "duplicates": result["dups"],
        "close_codes": result["close_codes"],
        "every_reader_got_every_update": complete,
        **extra,
    }
    log(
        f"{label}: last reader p50 {row['last_p50_ms']:.1f} ms, p99 {row['last_p99_ms']:.1f} ms,"
        f" server CPU {row['server_cpu_ms_per_update']:.1f} ms/update,"
        f" {row['kib_per_reader']:.1f} KiB/reader, complete={complete}"
    )
    return row


async def slow_readers(ours: Ours, plan: Plan, pin: Pinning) -> dict[str, Any]:
    """Normal readers' latency without stalled readers (before they come and after they go)
    and with them; the server's RSS while they stall."""
    normal, stalled = plan.slow_normal, plan.slow_stalled
    count = max(2, round(plan.slow_seconds / plan.slow_interval))
    log(
        f"slow readers: {normal} normal; {count // 2} updates, then {count} with {stalled}"
        f" stalled readers beside them, then {count - count // 2} without"
    )
    await ours.start()
    clients: Clients | None = None
    try:
        await ours.warm_up()
        pid = ours.stats_pid
        clients = Clients.for_readers(normal, pin.client_cpu)
        connected = clients.connect("ws", ours.port, ours.ws_path(), normal)
        await asyncio.sleep(plan.settle)
        alone = await publish_spaced(ours, count // 2, plan.slow_interval)
        await clients.wait_delivered("normal", list(alone), plan.drain_timeout)
        # Stalled readers join at the story's current seq, so they too start live.
        await ours.after_warm_up()
        stuck = clients.connect("ws", ours.port, ours.ws_path(), stalled, "stalled", True, 1)
        samples: list[tuple[float, float]] = []
        started = time.monotonic()

        def sample() -> None:
            now = time.monotonic() - started
            if not samples or now - samples[-1][0] >= 1.0:
                samples.append((now, rss_bytes(pid) / 2**20))

        sample()
        beside = await publish_spaced(ours, count, plan.slow_interval, sample)
        await clients.wait_delivered("normal", list(beside), plan.drain_timeout)
        sample()
        stalled_peers = [
            a for r in clients.ask_all("addresses", group="stalled") for a in r["addresses"]
        ]
        queues = send_queues(ours.port)
        queued = sorted((queues[p] for p in stalled_peers if p in queues), reverse=True)
        stalled_result = clients.collect("stalled", list(beside))
        extra = await ours.extra_stats()
        clients.ask_all("drop", group="stalled")
        await asyncio.sleep(plan.slow_interval)
        alone.update(await publish_spaced(ours, count - count // 2, plan.slow_interval))
        await clients.wait_delivered("normal", list(alone), plan.drain_timeout)
        without = clients.collect("normal", list(alone))
        with_stalled = clients.collect("normal", list(beside))
    finally:
        if clients is not None:
            clients.close()
        await ours.stop()
    a, b = latency_summary(alone, without), latency_summary(beside, with_stalled)
    rss = [mib for _, mib in samples]
    half = samples[len(samples) // 2 :]
    slope = (half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0]) if len(half) > 1 else 0.0
    complete = (
        without["complete"] == normal
        and with_stalled["complete"] == normal
        and connected["ok"] == normal
    )
    row = {
        "normal_readers": connected["ok"],
        "stalled_readers": stuck["ok"],
        "updates_with_stalled": count,
        "updates_without": len(alone),
        "interval_s": plan.slow_interval,
        "without": a,
        "with_stalled": b,
        "delivery_p99_change_pct": (b["delivery_p99_ms"] / a["delivery_p99_ms"] - 1) * 100,
        "last_p99_change_pct": (b["last_p99_ms"] / a["last_p99_ms"] - 1) * 100,
        "rss_samples_mib": [(round(t, 1), round(m, 2)) for t, m in samples],
        "rss_start_mib": rss[0],
        "rss_max_mib": max(rss),
        "rss_end_mib": rss[-1],
        "rss_slope_second_half_mib_per_min": slope * 60,
        "stalled_updates_received": sum(len(v) for v in stalled_result["receipts"].values()),
        "stalled_kernel_send_queue_kib": [round(q / 1024, 1) for q in queued],
        "stalled_kernel_send_queue_total_kib": round(sum(queued) / 1024, 1),
        "stalled_still_open": len(queued),
        "normal_complete": complete,
        **extra,
    }
    log(
        f"slow readers: normal delivery p99 {a['delivery_p99_ms']:.1f} -> "
        f"{b['delivery_p99_ms']:.1f} ms, RSS {rss[0]:.1f} -> max {max(rss):.1f} -> "
        f"{rss[-1]:.1f} MiB, complete={complete}"
    )
    return row


async def throughput(ours: Ours, plan: Plan, pin: Pinning) -> dict[str, Any]:
    """Entries per second one story takes with readers connected, from concurrent writers."""
    readers, writers, seconds = plan.throughput_readers, plan.writers, plan.throughput_seconds
    log(f"throughput: {writers} writers for {seconds:.0f}s, {readers:,} readers connected")
    await ours.start()
    clients: Clients | None = None
    try:
        await ours.warm_up()
        pid = ours.stats_pid
        clients = Clients.for_readers(readers, pin.client_cpu)
        connected = clients.connect("ws", ours.port, ours.ws_path(), readers)
        await asyncio.sleep(plan.settle)
        sent: dict[int, int] = {}
        latencies: list[float] = []
        errors: list[str] = []
        deadline = time.monotonic() + seconds
        server_cpu, client_cpu = cpu_seconds(pid), clients.cpu()

        async def writer() -> None:
            while time.monotonic() < deadline:
                update = UPDATES.next()
                try:
                    at = await ours.publish(update)
                except (RuntimeError, httpx.HTTPError) as error:
                    errors.append(str(error)[:200])
                    continue
                latencies.append((time.time_ns() - at) / 1e6)
                sent[update] = at

        started = time.monotonic()
        await asyncio.gather(*(writer() for _ in range(writers)))
        elapsed = time.monotonic() - started
        drained = await clients.wait_delivered("normal", list(sent), plan.drain_timeout)
        drain_seconds = time.monotonic() - started - elapsed
        server_cpu = cpu_seconds(pid) - server_cpu
        client_cpu = clients.cpu() - client_cpu
        result = clients.collect("normal", list(sent))
        extra = await ours.extra_stats()
    finally:
        if clients is not None:
            clients.close()
        await ours.stop()
    summary = latency_summary(sent, result)
    row = {
        "readers": connected["ok"],
        "writers": writers,
        "seconds": elapsed,
        "entries": len(sent),
        "entries_per_s": len(sent) / elapsed,
        "errors": len(errors),
        "first_errors": errors[:3],
        "post_p50_ms": percentile(latencies, 50),
        "post_p99_ms": percentile(latencies, 99),
        "post_max_ms": max(latencies) if latencies else math.nan,
        "all_delivered": drained,
        "drain_seconds": drain_seconds,
        "readers_complete": result["complete"],
        "readers_lost": result["lost"],
        "close_codes": result["close_codes"],
        "server_cpu_share": server_cpu / (elapsed + drain_seconds),
        "client_cpu_share": client_cpu / (elapsed + drain_seconds),
        **{k: v for k, v in summary.items() if k.startswith("delivery") or k.startswith("last")},
        **extra,
    }
    log(
        f"throughput: {row['entries_per_s']:.0f} entries/s, POST p99 {row['post_p99_ms']:.1f} ms,"
        f" {row['readers_complete']}/{row['readers']} readers got every entry"
    )
    return row


# ---------------------------------------------------------------- report


def ms(value: float) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def num(value: float, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    if not a or not b or math.isnan(a) or math.isnan(b):
        return "–"
    return f"{a / b:.2f}x"


def _share(part: float, whole: float) -> str:
    if not whole or math.isnan(part) or math.isnan(whole):
        return "–"
    return f"{part / whole:.0%}"


def fanout_table(rows: list[dict[str, Any]]) -> Iterator[str]:
    yield (
        "| server | N | last reader p50 / p99 / max (ms) | deliveries/s | server CPU per update"
        " (ms) | load-client CPU per update (ms, share of last-reader p50) | KiB per idle reader |"
        " frame bytes |"
        " every reader got every update |"
    )
    yield "|---|--:|--:|--:|--:|--:|--:|--:|---|"
    for r in rows:
        got = (
            "yes"
            if r["every_reader_got_every_update"]
            else (
                f"**no**: {r['readers_complete']:,}/{r['readers']:,} complete, "
                f"{r['missing_deliveries']:,} missing"
            )
        )
        yield (
            f"| {r['server']} | {r['readers']:,} | {ms(r['last_p50_ms'])} / "
            f"{ms(r['last_p99_ms'])} / {ms(r['last_max_ms'])} | {num(r['deliveries_per_s'], 0)} |"
            f" {num(r['server_cpu_ms_per_update'])} | {num(r['client_cpu_ms_per_update'])}"
            f" ({_share(r['client_cpu_ms_per_update'], r['last_p50_ms'])}) |"
            f" {num(r['kib_per_reader'])} | {r['frame_bytes']:,} | {got} |"
        )


def ratio_table(rows: list[dict[str, Any]]) -> Iterator[str]:
    by = {(r["server"], r["readers"]): r for r in rows}
    others = [s for s in ("floor", "nchan") if any(k[0] == s for k in by)]
    yield (
        "| N | compared with | last reader p50 | last reader p99 | server CPU per update |"
        " KiB per idle reader |"
    )
    yield "|--:|---|--:|--:|--:|--:|"
    for (server, n), ours in sorted(by.items(), key=lambda kv: kv[0][1]):
        if server != "ours":
            continue
        for other_name in others:
            other = by.get((other_name, n))
            if other is None:
                continue
            yield (
                f"| {n:,} | {other_name} | {ratio(ours['last_p50_ms'], other['last_p50_ms'])} |"
                f" {ratio(ours['last_p99_ms'], other['last_p99_ms'])} |"
                f" {ratio(ours['server_cpu_ms_per_update'], other['server_cpu_ms_per_update'])} |"
                f" {ratio(ours['kib_per_reader'], other['kib_per_reader'])} |"
            )


def _compared(rows: list[dict[str, Any]]) -> bool:
    servers = {r["server"] for r in rows}
    return "ours" in servers and len(servers) > 1


def report(results: dict[str, Any], plan: Plan) -> str:
    m = results["machine"]
    lines = [
        f"Fan-out benchmark, {m['date']}: {m['nproc']} × {m['cpu']}, Linux {m['kernel']},"
        f" Python {m['python']}, websockets {m['websockets']}; {results['pinning']};"
        f" load average {m['load_average']} at the start; code {m['commit']}.",
        f"Command: `{results['command']}`",
        "",
    ]
    ws = [r for r in results["fanout"] if r["transport"] == "ws"]
    if ws:
        lines += [
            f"WebSocket fan-out: {plan.updates} updates of ~1.5 KB, {plan.interval:g} s apart;"
            " time from the publish call to the **last** reader's receipt (ours: POST, commit"
            " and render included); deliveries/s = N ÷ last-reader p50. The load client"
            " runs on its own core; its CPU per update, as a share of the last-reader time, is"
            " the most of that time the client itself could account for.",
            "",
            *fanout_table(ws),
            "",
        ]
        if _compared(ws):
            lines += ["Ours relative to the others (below 1x is better):", "", *ratio_table(ws), ""]
    sse = [r for r in results["fanout"] if r["transport"] == "sse"]
    if sse:
        lines += ["Server-sent events fan-out, same measures:", "", *fanout_table(sse), ""]
        if _compared(sse):
            lines += ["Ours relative to nchan:", "", *ratio_table(sse), ""]
    slow = results.get("slow_readers")
    if slow:
        a, b = slow["without"], slow["with_stalled"]
        lines += [
            f"Slow readers (ours): {slow['normal_readers']:,} normal readers, then"
            f" {slow['stalled_readers']} more that never read: {slow['updates_without']}"
            f" updates without them (half before they come, half after they go) and"
            f" {slow['updates_with_stalled']} with them, {slow['interval_s']:g} s apart.",
            "",
            "| | normal readers' delivery p50 / p99 (ms) | last reader p50 / p99 (ms) |"
            " server RSS (MiB) |",
            "|---|--:|--:|--:|",
            f"| without stalled readers | {ms(a['delivery_p50_ms'])} / {ms(a['delivery_p99_ms'])}"
            f" | {ms(a['last_p50_ms'])} / {ms(a['last_p99_ms'])} | {num(slow['rss_start_mib'])} |",
            f"| with {slow['stalled_readers']} stalled | {ms(b['delivery_p50_ms'])} /"
            f" {ms(b['delivery_p99_ms'])} | {ms(b['last_p50_ms'])} / {ms(b['last_p99_ms'])} |"
            f" {num(slow['rss_start_mib'])} → max {num(slow['rss_max_mib'])} → end"
            f" {num(slow['rss_end_mib'])} |",
            "",
            f"Delivery p99 moved {slow['delivery_p99_change_pct']:+.0f}%; RSS slope over the"
            f" second half {slow['rss_slope_second_half_mib_per_min']:+.2f} MiB/min; stalled"
            f" readers still connected at the end: {slow['stalled_still_open']} (dropped as too"
            f" slow by the server's count: {slow.get('slow_readers_dropped', '–')}); unsent"
            f" bytes the kernel holds for them at the end:"
            f" {num(slow['stalled_kernel_send_queue_total_kib'])} KiB;"
            f" every normal reader got every update: {'yes' if slow['normal_complete'] else 'NO'}.",
            "",
        ]
    tp = results.get("throughput")
    if tp:
        lines += [
            f"Publish throughput (ours, SQLite, one story, {tp['readers']:,} readers connected,"
            f" {tp['writers']} concurrent writers for {tp['seconds']:.0f} s):",
            "",
            "| entries/s | POST p50 / p99 / max (ms) | readers that got every entry |"
            " time to deliver the rest after the last POST (s) | readers dropped |",
            "|--:|--:|--:|--:|--:|",
            f"| {num(tp['entries_per_s'], 0)} | {ms(tp['post_p50_ms'])} / {ms(tp['post_p99_ms'])}"
            f" / {ms(tp['post_max_ms'])} | {tp['readers_complete']:,}/{tp['readers']:,} |"
            f" {num(tp['drain_seconds'])}{'' if tp['all_delivered'] else ' (timed out)'} |"
            f" {tp.get('slow_readers_dropped', '–')} |",
            "",
        ]
    for skipped in results["skipped"]:
        lines.append(f"Skipped: {skipped}")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fan-out benchmark: ours beside the websockets floor and nchan."
    )
    parser.add_argument("--quick", action="store_true", help="N=200, 5 updates, no nchan (CI)")
    parser.add_argument("--readers", help="comma-separated reader counts (1000,5000,10000)")
    parser.add_argument("--updates", type=int, help="updates per fan-out run (20)")
    parser.add_argument("--interval", type=float, help="seconds between updates (1.0)")
    parser.add_argument("--no-nchan", action="store_true", help="skip nchan")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install nchan")
    parser.add_argument("--servers", default="ours,floor,nchan", help="which servers to run")
    parser.add_argument("--only", help="scenarios to run, of ws,slow,sse,throughput (default: all)")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (8)")
    parser.add_argument(
        "--floor-asyncio", action="store_true", help="run the floor on plain asyncio, not uvloop"
    )
    parser.add_argument("--json", help="also write every number to this JSON file")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, plan: Plan) -> dict[str, Any]:
    pin = pinning()
    log(f"fanout: {pin.note}")
    if pin.client_cpu is not None:
        os.sched_setaffinity(0, {pin.client_cpu})  # the publisher runs beside the load client
    servers = set(args.servers.split(","))
    results: dict[str, Any] = {
        "machine": machine(),
        "pinning": pin.note,
        "command": "python benchmarks/fanout.py " + " ".join(sys.argv[1:]),
        "plan": {k: sorted(v) if isinstance(v, set) else v for k, v in vars(plan).items()},
        "fanout": [],
        "skipped": [],
    }
    with tempfile.TemporaryDirectory(prefix="liveblog-fanout-") as tmp:
        workdir = Path(tmp)
        ours = Ours(pin, workdir)
        log("ours: making an editor and a token with the CLI")
        ours.make_editor()
        floor = Floor(pin, workdir, plan.floor_asyncio)
        nchan: Nchan | None = None
        if plan.nchan and "nchan" in servers:
            found = find_nchan(install=not args.no_install)
            if isinstance(found, str):
                results["skipped"].append(f"nchan: {found}")
                log(f"nchan skipped: {found}")
            else:
                nchan = Nchan(pin, workdir, *found)
        elif not plan.quick and "nchan" in servers:
            results["skipped"].append("nchan: --no-nchan")
        targets: list[Target] = [t for t in (ours, floor, nchan) if t and t.name in servers]
        if "ws" in plan.scenarios:
            for readers in plan.readers:
                for target in targets:
                    results["fanout"].append(await fanout(target, readers, plan, pin))
        if "slow" in plan.scenarios and "ours" in servers:
            results["slow_readers"] = await slow_readers(ours, plan, pin)
        if "sse" in plan.scenarios:
            for target in targets:
                if target.has_sse:
                    results["fanout"].append(
                        await fanout(target, plan.sse_readers, plan, pin, kind="sse")
                    )
        if "throughput" in plan.scenarios and "ours" in servers:
            results["throughput"] = await throughput(ours, plan, pin)
    return results


def all_delivered(results: dict[str, Any]) -> bool:
    ok = all(r["every_reader_got_every_update"] for r in results["fanout"])
    slow = results.get("slow_readers")
    return ok and (slow is None or slow["normal_complete"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    soft = raise_fd_limit()
    needed = max([*plan.readers, plan.sse_readers]) + 100
    if soft < needed:
        log(f"fanout: the open-file limit is {soft}; servers need about {needed}")
    started = time.monotonic()
    results = asyncio.run(run(args, plan))
    results["seconds"] = round(time.monotonic() - started, 1)
    results["every_reader_got_every_update"] = all_delivered(results)
    table = report(results, plan)
    results["markdown"] = table
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"fanout: done in {results['seconds']:.0f}s")
    if not results["every_reader_got_every_update"]:
        log("fanout: some reader missed an update (see the table)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
