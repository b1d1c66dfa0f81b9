"""Each worker process of a server that shares one port: its metrics, read over a connection
that worker accepted (found with `ss -p`), since /metrics describes only the process that
answers."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess

from bench.metrics import Samples, parse_metrics

OWNER = re.compile(r"pid=(\d+)")


async def scrape_each(port: int, pids: list[int], attempts: int = 60) -> dict[int, Samples]:
    """The metrics of each of pids (those it could reach within attempts connections)."""
    if shutil.which("ss") is None:
        raise RuntimeError("ss is missing (apt-get install iproute2): cannot tell workers apart")
    found: dict[int, Samples] = {}
    for _ in range(attempts):
        if set(found) >= set(pids):
            break
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            owner = await _owner(port, writer.get_extra_info("sockname")[1])
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 30)
        finally:
            writer.close()
        if owner in pids and owner not in found:
            found[owner] = parse_metrics(answer.split(b"\r\n\r\n", 1)[1].decode())
    return found


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
                f"( sport = :{port} and dport = :{local_port} )",
            ],
            capture_output=True,
            text=True,
        )
        match = OWNER.search(listing.stdout)
        if match:
            return int(match.group(1))
        await asyncio.sleep(0.05)
    return None
