"""/api/stories/{slug}/entries: list, post, read, edit and retract entries."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from liveblog.db import reads
from liveblog.schemas import EntryCreate, EntryList, EntryOut, EntryPatch, Retraction
from liveblog.stories import versions
from liveblog.stories.serialize import entry_json
from liveblog.stories.visibility import visible_entry, visible_story
from liveblog.web.api import params
from liveblog.web.api.common import (
    Handler,
    Operation,
    Param,
    json_response,
    path_id,
    read_idempotent,
    read_json,
)
from liveblog.web.api.kinds import cached_read, idempotent_create
from liveblog.web.api.paging import page_json, page_query
from liveblog.web.auth import optional_user, required_user
from liveblog.web.http_cache import cached_json
from liveblog.web.services import services


async def list_entries(request: Request) -> Response:
    """A story's entries by id, newest first; drafts only for signed-in users."""
    user = await optional_user(request)
    limit, before = page_query(request)
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
        rows = await reads.list_entries(
            session, story, include_drafts=user is not None, before=before, limit=limit
        )
    return cached_json(request, page_json(rows, limit, entry_json), user is None)


async def create_entry(request: Request) -> Response:
    """Post an entry to a story, or save it as a draft."""
    user = await required_user(request)
    data, idempotent = await read_idempotent(request, EntryCreate)
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


def _entry_change(method: str, handler: Handler, summary: str, body: type[BaseModel]) -> Operation:
    """A change to an entry, refused (412) when If-Match names an older version."""
    return Operation(
        method,
        "/api/stories/{slug}/entries/{entry_id}",
        handler,
        summary,
        EntryOut,
        body=body,
        params=ENTRY,
        auth=True,
        errors=(401, 403, 404, 409, 412, 413, 422),
        headers=(IF_MATCH,),
        response_headers=(ENTRY_ETAG,),
    )


OPERATIONS = (
    cached_read(
        "/api/stories/{slug}/entries",
        list_entries,
        "List a story's entries",
        EntryList,
        (params.SLUG, *params.PAGE),
    ),
    idempotent_create(
        "/api/stories/{slug}/entries",
        create_entry,
        "Post an entry",
        EntryOut,
        EntryCreate,
        (params.SLUG,),
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
    _entry_change("PATCH", patch_entry, "Edit an entry", EntryPatch),
    _entry_change("DELETE", delete_entry, "Retract an entry", Retraction),
)
