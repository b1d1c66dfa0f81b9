"""Validators for cheap public reads: ETag and Last-Modified out, 304 when nothing changed."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

# Short enough that a reader's feed or embed is at most a minute behind, long enough that a
# CDN answers a spike of readers from one fetch.
PUBLIC_CACHE = "public, max-age=30, stale-while-revalidate=60"


def etag_of(*parts: object) -> str:
    """A strong ETag made from whatever decides the answer's bytes."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
    return f'"{digest}"'


def validator_headers(etag: str, changed: datetime, cache: str = PUBLIC_CACHE) -> dict[str, str]:
    """ETag, Last-Modified (an HTTP date) and Cache-Control for an answer."""
    return {
        "ETag": etag,
        "Last-Modified": format_datetime(changed.replace(microsecond=0), usegmt=True),
        "Cache-Control": cache,
    }


def not_modified(request: Request, etag: str, changed: datetime) -> bool:
    """True when the client's copy is current; If-None-Match wins over If-Modified-Since."""
    offered = offered_etags(request)
    if offered is not None:
        return etag in offered or "*" in offered
    since = _http_date(request.headers.get("if-modified-since"))
    return since is not None and changed.replace(microsecond=0) <= since


def offered_etags(request: Request) -> set[str] | None:
    """The ETags of If-None-Match (weak ones compared as strong), None without the header."""
    tags = request.headers.get("if-none-match")
    if tags is None:
        return None
    return {tag.strip().removeprefix("W/") for tag in tags.split(",")}


def answer_304(headers: dict[str, str]) -> Response:
    """The empty answer to a revalidation that found nothing new."""
    return Response(status_code=304, headers=headers)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


# Pages and the JSON reads readers poll: an answer at most seconds old, and a CDN serves the
# stale copy while it revalidates, so a spike reaches the server as one request per interval.
SHORT_PUBLIC = "public, max-age=5, stale-while-revalidate=30"
# A signed-in user's answer may hold what readers do not see: never shared, always revalidated.
PRIVATE = "private, no-cache"


def cached_json(request: Request, body: object, public: bool) -> Response:
    """A JSON answer with an ETag of its own bytes: 304 when the client has them already.
    Signed-in users' answers (drafts included) are private and always revalidated."""
    response = JSONResponse(body)
    etag = etag_of(response.body)
    headers = {"ETag": etag, "Cache-Control": SHORT_PUBLIC if public else PRIVATE}
    headers["Vary"] = "Authorization, Cookie"
    if etag in (offered_etags(request) or ()):
        return answer_304(headers)
    response.headers.update(headers)
    return response
