"""/stories/{slug}/entries/{id}: one entry on a page of its own, its permalink."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from liveblog.stories.serialize import entry_json, story_json
from liveblog.stories.visibility import visible_entry, visible_story
from liveblog.web.api.common import path_id
from liveblog.web.auth import optional_user
from liveblog.web.feed_content import entry_title
from liveblog.web.pages import render
from liveblog.web.public_urls import absolute, entry_path, site_url
from liveblog.web.services import services


async def entry_page(request: Request) -> Response:
    """An entry with a link into its story; drafts and unknown ids are 404."""
    user = await optional_user(request)
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
        entry = await visible_entry(session, story, path_id(request, "entry_id"), user)
    path = entry_path(story.slug, entry.id)
    return render(
        request,
        "pages/entry.html",
        story=story_json(story),
        entry=entry_json(entry),
        page_title=entry_title(entry),
        canonical=absolute(request, path),
        base=site_url(request),
    )


ROUTES: list[BaseRoute] = [
    Route("/stories/{slug}/entries/{entry_id:int}", entry_page, name="entry_page"),
]
