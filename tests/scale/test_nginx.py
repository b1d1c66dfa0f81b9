"""nginx, with the configuration the README shows (deploy/nginx.conf), in front of two
Liveblog processes on PostgreSQL and Redis: readers through it get live entries over WebSocket
and server-sent events, and entries posted through it reach the readers of both processes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.live.readers import read_sse
from tests.reader_counts import until_story_readers
from tests.scale.support import (
    DEADLINE,
    Processes,
    StayingReader,
    new_cluster,
    new_live_story,
    read_log,
    spawn,
    until_subscribed,
    wait_listening,
)
from tests.support import LiveServer, free_port, skip_or_fail, stop_process

NGINX = Path("/usr/sbin/nginx")
CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"


def nginx_config(listen: int, upstream: list[int]) -> str:
    """deploy/nginx.conf with its listen port and upstream servers replaced, and its temporary
    files and access log kept in nginx's prefix folder (the test's own)."""
    text = CONFIG.read_text()
    text, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen};", text)
    servers = "".join(f"\n        server 127.0.0.1:{port};" for port in upstream)
    text, blocks = re.subn(r"(\n\s*server 127\.0\.0\.1:\d+;)+", servers, text)
    own_files = "".join(
        f"\n    {directive} {directive.split('_')[0]}-temp;"
        for directive in (
            "client_body_temp_path",
            "proxy_temp_path",
            "fastcgi_temp_path",
            "uwsgi_temp_path",
            "scgi_temp_path",
        )
    )
    text, https = re.subn(r"\nhttp \{", "\nhttp {\n    access_log access.log;" + own_files, text)
    assert (listens, blocks, https) == (1, 1, 1), "deploy/nginx.conf changed shape"
    return text


@dataclass
class Nginx:
    """A foreground nginx with its own prefix folder."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, upstream: list[int]) -> None:
        config = self.folder / "nginx.conf"
        config.write_text(nginx_config(self.port, upstream))
        main = f"daemon off; pid {self.folder}/nginx.pid; error_log {self.folder}/error.log info;"
        if os.geteuid() == 0:
            main += " user root;"  # workers may then use the (private) prefix folder
        command = [str(NGINX), "-p", str(self.folder), "-c", str(config), "-g", main]
        self.process = spawn(command, self.folder / "nginx.out")
        wait_listening(self.process, self.port, self.log)

    def log(self) -> str:
        return read_log(self.folder / "nginx.out") + read_log(self.folder / "error.log")

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class Site:
    nginx: Nginx
    servers: list[LiveServer]
    headers: dict[str, str]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, module_processes: Processes) -> Iterator[Site]:
    """nginx on a free port in front of two processes on PostgreSQL and Redis."""
    if not NGINX.exists():
        skip_or_fail("nginx", f"there is no nginx at {NGINX} (apt-get install nginx-light)")
    with new_cluster(module_processes, tmp_path_factory.mktemp("behind-nginx")) as cluster:
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), free_port())
        try:
            nginx.start([server.port for server in cluster.servers])
            yield Site(nginx, cluster.servers, cluster.headers)
        finally:
            nginx.stop()


def test_the_configuration_proxies_live_connections() -> None:
    text = CONFIG.read_text()
    for setting in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_read_timeout 1h;",
        "proxy_buffering off;",
    ):
        assert setting in text


async def post_entry(base: str, headers: dict[str, str], slug: str, body: str) -> dict:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=DEADLINE) as client:
        response = await client.post(f"/api/stories/{slug}/entries", json={"body": body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_websocket_reader_through_nginx_gets_live_entries(site: Site) -> None:
    nginx, (a, b), headers = site.nginx, site.servers, site.headers
    slug, base = await new_live_story(nginx.url, headers)
    async with StayingReader(nginx.url, slug, base) as reader:
        await until_story_readers([a.url, b.url], slug, 1)  # on whichever nginx chose
        posted = [
            await post_entry(nginx.url, headers, slug, "Through nginx"),
            await post_entry(a.url, headers, slug, "Straight to the first process"),
            await post_entry(b.url, headers, slug, "Straight to the second process"),
        ]
        await reader.wait_for(base + 3)
        assert reader.connected
    assert reader.seqs == [base + 1, base + 2, base + 3]
    assert [m["entry"]["id"] for m in reader.messages] == [e["id"] for e in posted]


async def test_sse_reader_through_nginx_gets_entries_while_the_stream_is_open(
    site: Site,
) -> None:
    nginx, servers, headers = site.nginx, site.servers, site.headers
    slug, base = await new_live_story(nginx.url, headers)
    reading = asyncio.create_task(read_sse(nginx.url, slug, base + 2, last_event_id=base))
    await until_story_readers([s.url for s in servers], slug, 1)  # the stream is subscribed
    first = await post_entry(nginx.url, headers, slug, "First, over the stream")
    second = await post_entry(nginx.url, headers, slug, "Second, over the stream")
    # read_sse returns at seq base + 2 with the response still streaming: nothing waited for
    # the end of the response, which is what a buffering proxy would do.
    events = await asyncio.wait_for(reading, DEADLINE)
    assert [int(e["id"]) for e in events] == [base + 1, base + 2]
    data = [json.loads(e["data"]) for e in events]
    assert [d["entry"]["id"] for d in data] == [first["id"], second["id"]]
    assert [d["seq"] for d in data] == [base + 1, base + 2]


async def test_entry_posted_through_nginx_reaches_readers_of_both_processes(site: Site) -> None:
    nginx, (a, b), headers = site.nginx, site.servers, site.headers
    slug, base = await new_live_story(nginx.url, headers)
    async with StayingReader(a.url, slug, base) as on_a, StayingReader(b.url, slug, base) as on_b:
        await until_subscribed(on_a, on_b)
        posted = [await post_entry(nginx.url, headers, slug, f"entry {n}") for n in range(4)]
        for reader in (on_a, on_b):
            await reader.wait_for(base + 4)
    for reader in (on_a, on_b):
        assert reader.seqs == list(range(base + 1, base + 5))
        assert [m["entry"]["id"] for m in reader.messages] == [e["id"] for e in posted]
