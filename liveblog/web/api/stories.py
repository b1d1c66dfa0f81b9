"""/api/stories: list, create, read and change stories."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from liveblog.db import reads
from liveblog.schemas import StoryCreate, StoryList, StoryOut, StoryPatch
from liveblog.stories.serialize import story_json
from liveblog.stories.visibility import visible_story
from liveblog.web.api import params
from liveblog.web.api.common import Operation, json_response, read_idempotent, read_json
from liveblog.web.api.kinds import cached_read, idempotent_create
from liveblog.web.api.paging import page_json, page_query
from liveblog.web.auth import optional_user, required_user
from liveblog.web.http_cache import cached_json
from liveblog.web.services import services


async def list_stories(request: Request) -> Response:
    """Stories, newest first; drafts only for signed-in users."""
    user = await optional_user(request)
    limit, before = page_query(request)
    async with services(request).db.reading() as session:
        rows = await reads.list_stories(
            session, include_drafts=user is not None, before=before, limit=limit
        )
    hub = services(request).hub
    body = page_json(rows, limit, lambda story: story_json(story, hub.readers(story.id)))
    return cached_json(request, body, user is None)


async def create_story(request: Request) -> Response:
    """Create a draft story (editors and admins)."""
    user = await required_user(request)
    data, idempotent = await read_idempotent(request, StoryCreate)
    answer = await services(request).writer.create_story(user, data, idempotent)
    return json_response(answer.body, answer.status)


async def get_story(request: Request) -> Response:
    """One story."""
    user = await optional_user(request)
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
    body = story_json(story, services(request).hub.readers(story.id))
    return cached_json(request, body, user is None)


async def patch_story(request: Request) -> Response:
    """Change a story's title, description or status (editors and admins)."""
    user = await required_user(request)
    data = await read_json(request, StoryPatch)
    answer = await services(request).writer.edit_story(user, request.path_params["slug"], data)
    return json_response(answer.body, answer.status)


OPERATIONS = (
    cached_read("/api/stories", list_stories, "List stories", StoryList, params.PAGE),
    idempotent_create("/api/stories", create_story, "Create a story", StoryOut, StoryCreate),
    cached_read("/api/stories/{slug}", get_story, "Read a story", StoryOut, (params.SLUG,)),
    Operation(
        "PATCH",
        "/api/stories/{slug}",
        patch_story,
        "Change a story",
        StoryOut,
        body=StoryPatch,
        params=(params.SLUG,),
        auth=True,
        errors=(401, 403, 404, 409, 413, 422),
    ),
)
