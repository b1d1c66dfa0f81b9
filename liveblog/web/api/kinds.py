"""Kinds of operation several API modules declare alike: cached reads and idempotent creates.

Each one's possible errors follow from its parameters: a path names something that may not
exist (404), and a query value may be out of range (422)."""

from __future__ import annotations

from pydantic import BaseModel

from liveblog.web.api import params as shared
from liveblog.web.api.common import Handler, Operation, Param


def cached_read(
    path: str,
    handler: Handler,
    summary: str,
    response: type[BaseModel],
    params: tuple[Param, ...],
) -> Operation:
    """A GET answered with an ETag and Cache-Control, and 304 while If-None-Match still holds."""
    return Operation(
        "GET",
        path,
        handler,
        summary,
        response,
        params=params,
        errors=_errors((304, 401), params),
        headers=(shared.IF_NONE_MATCH,),
        response_headers=(shared.ETAG, shared.CACHE_CONTROL),
    )


def idempotent_create(
    path: str,
    handler: Handler,
    summary: str,
    response: type[BaseModel],
    body: type[BaseModel],
    params: tuple[Param, ...] = (),
) -> Operation:
    """A POST that creates (201) for a signed-in user; a retry with its Idempotency-Key and the
    same body gets the first answer and writes nothing."""
    return Operation(
        "POST",
        path,
        handler,
        summary,
        response,
        status=201,
        body=body,
        params=params,
        auth=True,
        errors=_errors((401, 403, 409, 413, 422), params),
        headers=(shared.IDEMPOTENCY_KEY,),
    )


def _errors(always: tuple[int, ...], params: tuple[Param, ...]) -> tuple[int, ...]:
    found = set(always)
    if any(param.where == "path" for param in params):
        found.add(404)
    if any(param.where == "query" for param in params):
        found.add(422)
    return tuple(sorted(found))
