"""Each worker process of a server that shares one port: its metrics, read over a connection
that worker accepted (found with `ss -p`), since /metrics describes only the process that
answers."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time

from bench.metrics import Samples, parse_metrics

OWNER = re.compile(r"pid=(\d+)")


async def scrape_each(port: int, pids: list[int], within: float = 20.0) -> dict[int, Samples]:
    """The metrics of each of pids, or of those it could reach within seconds (a worker
    still starting, or one whose accept queue is full in a storm, may not answer)."""
    if shutil.which("ss") is None:
        raise RuntimeError("ss is missing (apt-get install iproute2): cannot tell workers apart")
    found: dict[int, Samples] = {}
    deadline = time.monotonic() + within
    while not set(found) >= set(pids) and time.monotonic() < deadline:
        try:
            wait = min(5.0, deadline - time.monotonic())
            owner, answer = await asyncio.wait_for(_ask(port), wait)
        except (OSError, TimeoutError):  # a worker dying, starting or swamped: ask again
            continue
        head, _, body = answer.partition(b"\r\n\r\n")
        if owner in pids and owner not in found and b" 200 " in head.split(b"\r\n", 1)[0]:
            found[owner] = parse_metrics(body.decode())
    return found


async def _ask(port: int) -> tuple[int | None, bytes]:
    """GET /metrics on a new connection: which process accepted it, and the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        owner = await _owner(port, writer.get_extra_info("sockname")[1])
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        return owner, await reader.read()
    finally:
        writer.close()


async def _owner(port: int, local_port: int) -> int | None:
    """The process holding the server's end of our connection, once a worker accepted it."""
    for _ in range(40):
        listing = await asyncio.to_thread(
            subprocess.run,
            [
                "ss",
                "-tnpH",
                "state",
                "established",
                # The address too: a reader may use the same port from another loopback
                # address (the load client connects from 127.0.0.2 and up), and its socket is
                # then as likely to be the other worker's.
                f"( sport = :{port} and dst 127.0.0.1:{local_port} )",
            ],
            capture_output=True,
            text=True,
        )
        match = OWNER.search(listing.stdout)
        if match:
            return int(match.group(1))
        await asyncio.sleep(0.05)
    return None
