"""Images on a deployment of many processes: on PostgreSQL the bytes live in the database, so
any process serves an image uploaded through any other; nginx (deploy/nginx.conf) lets a
phone's photo through."""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx
from PIL import Image

from tests.scale.support import DEADLINE, Processes, listen_notify, new_cluster
from tests.scale.test_nginx import Site
from tests.scale.test_nginx import site as site  # the fixture: nginx before two processes


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: its size is about width × height × 3 bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()


def upload(base: str, headers: dict[str, str], data: bytes) -> dict:
    files = {"file": ("photo.png", data, "image/png")}
    response = httpx.post(f"{base}/api/media", files=files, headers=headers, timeout=DEADLINE)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_image_uploaded_to_one_process_is_served_by_the_other(
    tmp_path: Path, processes: Processes
) -> None:
    # The LISTEN/NOTIFY bus: the two processes need nothing but PostgreSQL.
    with new_cluster(processes, tmp_path, bus=listen_notify) as cluster:
        first, second = cluster.servers
        image = upload(first.url, cluster.headers, noise_png(40, 30))
        from_first = httpx.get(first.url + image["url"], timeout=DEADLINE)
        from_second = httpx.get(second.url + image["url"], timeout=DEADLINE)
        assert from_second.status_code == 200, from_second.text
        assert from_second.content == from_first.content
        assert len(from_second.content) == image["bytes"]
        assert from_second.headers["etag"] == from_first.headers["etag"]
        assert not list(tmp_path.glob("**/media/*"))  # nothing on this machine's disk


def test_a_phones_photo_uploads_through_nginx(site: Site) -> None:
    # Over nginx's default limit of 1 MiB, within Liveblog's 10 MiB.
    photo = noise_png(1000, 1000)
    assert len(photo) > 2 * 1024 * 1024
    image = upload(site.nginx.url, site.headers, photo)
    for base in (site.nginx.url, *(server.url for server in site.servers)):
        served = httpx.get(base + image["url"], timeout=DEADLINE)
        assert served.status_code == 200 and len(served.content) == image["bytes"]
