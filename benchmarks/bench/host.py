"""The machine and its processes: pinning, what ran where, CPU, memory, sockets."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets

ROOT = Path(__file__).resolve().parents[2]


def log(text: str) -> None:
    """A progress line on standard error (standard output holds the report)."""
    print(text, file=sys.stderr, flush=True)


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
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system (kernel) CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def open_fds(pid: int) -> tuple[int, int]:
    """How many file descriptors a process holds open now, and how many of them are sockets."""
    total = sockets = 0
    folder = f"/proc/{pid}/fd"
    for fd in os.listdir(folder):
        total += 1
        with contextlib.suppress(OSError):  # closed since the listing
            sockets += os.readlink(f"{folder}/{fd}").startswith("socket:")
    return total, sockets


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


def keep_logs(workdir: Path, folder: Path) -> None:
    """Copy every server log under workdir into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in workdir.rglob("*.log"):
        shutil.copy(path, folder / path.name)
