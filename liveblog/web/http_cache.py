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
    tags = request.headers.get("if-none-match")
    if tags is not None:
        offered = {tag.strip().removeprefix("W/") for tag in tags.split(",")}
        return etag in offered or "*" in offered
    since = _http_date(request.headers.get("if-modified-since"))
    return since is not None and changed.replace(microsecond=0) <= since


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


# The JSON reads readers and embeds poll: short-lived, so an answer is at most seconds old.
READ_CACHE = "public, max-age=5, stale-while-revalidate=30"


def cached_json(request: Request, body: object, public: bool) -> Response:
    """A JSON answer with an ETag of its own bytes: 304 when the client has them already.
    Signed-in users' answers (drafts included) are private and always revalidated."""
    response = JSONResponse(body)
    etag = etag_of(response.body)
    headers = {"ETag": etag, "Cache-Control": READ_CACHE if public else "private, no-cache"}
    headers["Vary"] = "Authorization, Cookie"
    offered = request.headers.get("if-none-match", "")
    if etag in (tag.strip().removeprefix("W/") for tag in offered.split(",")):
        return answer_304(headers)
    response.headers.update(headers)
    return response
