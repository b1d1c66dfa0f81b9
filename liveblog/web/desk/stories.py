"""Desk: the list of stories, creating one, and a story's title, description and status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from liveblog.db import desk_reads
from liveblog.schemas import StoryCreate, StoryPatch
from liveblog.stories.lookup import story_by_slug
from liveblog.stories.story_changes import slugify
from liveblog.web.desk.common import desk_user, go_to, is_htmx, render_desk
from liveblog.web.desk.forms import posted_form, text, validated
from liveblog.web.services import services

STORIES_SHOWN = 100
STATUS_ACTIONS = {"live": "Start", "ended": "End", "draft": "Back to draft"}


async def story_list(request: Request) -> Response:
    """Every story, live first, with readers connected now and the last entry's time."""
    user = await desk_user(request)
    hub = services(request).hub
    async with services(request).db.reading() as session:
        rows = await desk_reads.stories_overview(session, STORIES_SHOWN)
    stories = [
        {"story": story, "last_at": last_at, "entries": count, "readers": hub.readers(story.id)}
        for story, last_at, count in rows
    ]
    return render_desk(request, "desk/stories.html", user, stories=stories)


async def slug_suggestion(request: Request) -> Response:
    """The slug field, filled from the title being typed (htmx swaps it while untouched)."""
    user = await desk_user(request)
    slug = slugify(request.query_params.get("title", ""))
    return render_desk(request, "desk/_slug_field.html", user, slug=slug)


async def create_story(request: Request) -> Response:
    """Create a draft story and open it on the desk."""
    user, form = await posted_form(request)
    fields = {"title": text(form, "title"), "description": text(form, "description")}
    if text(form, "slug").strip():
        fields["slug"] = text(form, "slug").strip()
    answer = await services(request).writer.create_story(user, validated(StoryCreate, fields))
    return go_to(request, f"/desk/stories/{answer.body['slug']}")


async def change_story(request: Request) -> Response:
    """Change a story's title and description, or its status (start, end, reopen)."""
    user, form = await posted_form(request)
    slug = request.path_params["slug"]
    if "status" in form:
        fields: dict[str, object] = {"status": text(form, "status")}
    else:
        fields = {"title": text(form, "title"), "description": text(form, "description")}
    await services(request).writer.edit_story(user, slug, validated(StoryPatch, fields))
    if not is_htmx(request):
        return go_to(request, f"/desk/stories/{slug}")
    return await story_head(request)


async def story_head(request: Request) -> Response:
    """The story's header on its desk page: title, status and the actions it allows."""
    user = await desk_user(request)
    async with services(request).db.reading() as session:
        story = await story_by_slug(session, request.path_params["slug"])
    readers = services(request).hub.readers(story.id)
    return render_desk(
        request, "desk/_story_head.html", user, story=story, readers=readers, actions=STATUS_ACTIONS
    )


ROUTES: list[BaseRoute] = [
    Route("/desk", story_list, name="desk"),
    Route("/desk/stories", create_story, methods=["POST"]),
    Route("/desk/slug", slug_suggestion),
    Route("/desk/stories/{slug}/settings", change_story, methods=["POST"]),
    Route("/desk/stories/{slug}/head", story_head),
]
