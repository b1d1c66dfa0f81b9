"""/api/stories/{slug}/entries: list, post, read, edit and retract entries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from liveblog.db import reads
from liveblog.schemas import EntryCreate, EntryList, EntryOut, EntryPatch, Retraction
from liveblog.stories import versions
from liveblog.stories.idempotency import IdempotentRequest
from liveblog.stories.serialize import entry_json
from liveblog.stories.visibility import visible_entry, visible_story
from liveblog.web.api import params
from liveblog.web.api.common import (
    Operation,
    Param,
    int_query,
    json_response,
    parse_json,
    path_id,
    read_body,
    read_json,
)
from liveblog.web.auth import optional_user, required_user
from liveblog.web.http_cache import cached_json
from liveblog.web.services import services


async def list_entries(request: Request) -> Response:
    """A story's entries by id, newest first; drafts only for signed-in users."""
    user = await optional_user(request)
    limit = int_query(request, "limit", 20, 1, 100)
    before = int_query(request, "before", 0, 1, params.MAX_ID) or None
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
        rows = await reads.list_entries(
            session, story, include_drafts=user is not None, before=before, limit=limit
        )
    items = [entry_json(entry) for entry in rows[:limit]]
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return cached_json(request, {"items": items, "next": next_cursor}, user is None)


async def create_entry(request: Request) -> Response:
    """Post an entry to a story, or save it as a draft."""
    user = await required_user(request)
    body = await read_body(request)
    data = parse_json(body, EntryCreate)
    idempotent = IdempotentRequest.from_request(
        request.headers.get("idempotency-key"), "POST", request.url.path, body
    )
    slug = request.path_params["slug"]
    answer = await services(request).writer.create_entry(user, slug, data, idempotent)
    return json_response(answer.body, answer.status)


async def get_entry(request: Request) -> Response:
    """One entry."""
    user = await optional_user(request)
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
        entry = await visible_entry(session, story, path_id(request, "entry_id"), user)
    return _with_etag(entry_json(entry), 200)


async def patch_entry(request: Request) -> Response:
    """Edit an entry: its words, time, pin, key event and headline, or publish a draft."""
    user = await required_user(request)
    data = await read_json(request, EntryPatch)
    answer = await services(request).writer.edit_entry(
        user, request.path_params["slug"], path_id(request, "entry_id"), data, _if_match(request)
    )
    return _with_etag(answer.body, answer.status)


async def delete_entry(request: Request) -> Response:
    """Retract an entry; it stays in the story, marked retracted with the reason."""
    user = await required_user(request)
    data = await read_json(request, Retraction)
    answer = await services(request).writer.retract_entry(
        user,
        request.path_params["slug"],
        path_id(request, "entry_id"),
        data.reason,
        _if_match(request),
    )
    return _with_etag(answer.body, answer.status)


def _if_match(request: Request) -> str | None:
    return request.headers.get("if-match")


def _with_etag(entry: dict[str, object], status: int) -> Response:
    tag = versions.etag(int(entry["id"]), int(entry["version"]))  # type: ignore[call-overload]
    return json_response(entry, status, headers={"ETag": tag})


ENTRY = (params.SLUG, params.ENTRY_ID)
ENTRY_ETAG = Param("ETag", "header", {"type": "string"}, "The entry's version, for If-Match")
IF_MATCH = Param(
    "If-Match",
    "header",
    {"type": "string"},
    "The ETag the change is based on: a stale one is refused with 412 and nothing changes",
)
OPERATIONS = (
    Operation(
        "GET",
        "/api/stories/{slug}/entries",
        list_entries,
        "List a story's entries",
        EntryList,
        params=(params.SLUG, params.LIMIT, params.BEFORE),
        errors=(304, 401, 404, 422),
        headers=(params.IF_NONE_MATCH,),
        response_headers=(params.ETAG, params.CACHE_CONTROL),
    ),
    Operation(
        "POST",
        "/api/stories/{slug}/entries",
        create_entry,
        "Post an entry",
        EntryOut,
        status=201,
        body=EntryCreate,
        params=(params.SLUG,),
        auth=True,
        errors=(401, 403, 404, 409, 413, 422),
        headers=(params.IDEMPOTENCY_KEY,),
    ),
    Operation(
        "GET",
        "/api/stories/{slug}/entries/{entry_id}",
        get_entry,
        "Read an entry",
        EntryOut,
        params=ENTRY,
        errors=(401, 404),
        response_headers=(ENTRY_ETAG,),
    ),
    Operation(
        "PATCH",
        "/api/stories/{slug}/entries/{entry_id}",
        patch_entry,
        "Edit an entry",
        EntryOut,
        body=EntryPatch,
        params=ENTRY,
        auth=True,
        errors=(401, 403, 404, 409, 412, 413, 422),
        headers=(IF_MATCH,),
        response_headers=(ENTRY_ETAG,),
    ),
    Operation(
        "DELETE",
        "/api/stories/{slug}/entries/{entry_id}",
        delete_entry,
        "Retract an entry",
        EntryOut,
        body=Retraction,
        params=ENTRY,
        auth=True,
        errors=(401, 403, 404, 409, 412, 413, 422),
        headers=(IF_MATCH,),
        response_headers=(ENTRY_ETAG,),
    ),
)
