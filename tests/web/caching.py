"""What every cheap public read promises a cache: the same Cache-Control, and a 304 for its
own ETag."""

from __future__ import annotations

import httpx

PUBLIC_CACHE = "public, max-age=30, stale-while-revalidate=60"


def assert_revalidates(client: httpx.Client, url: str) -> httpx.Response:
    """GET url; check it may be cached publicly and that its ETag revalidates to an empty
    304 with the same ETag. Returns the first answer."""
    first = client.get(url)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == PUBLIC_CACHE
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    return first
