"""Reader pages: the front page and a story with its entries."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from liveblog.db import reads
from liveblog.stories.serialize import entry_json, story_json
from liveblog.web.api.stories import visible_story
from liveblog.web.auth import optional_user
from liveblog.web.services import services

PAGE_ENTRIES = 200


async def front_page(request: Request) -> Response:
    """Live and recent stories."""
    user = await optional_user(request)
    async with services(request).db.reading() as session:
        stories = await reads.list_stories(
            session, include_drafts=user is not None, before=None, limit=50
        )
    return render(request, "pages/front.html", stories=[story_json(s) for s in stories[:50]])


async def story_page(request: Request) -> Response:
    """A story with its entries, pinned first, newest first."""
    user = await optional_user(request)
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
        entries = await reads.page_entries(session, story, PAGE_ENTRIES)
    return render(
        request,
        "pages/story.html",
        story=story_json(story),
        entries=[entry_json(entry) for entry in entries],
    )


def render(request: Request, template: str, status: int = 200, **context: object) -> Response:
    """Render a page template to an HTML response."""
    page = services(request).templates.get_template(template)
    return HTMLResponse(page.render(request=request, **context), status_code=status)


ROUTES = [
    Route("/", front_page, name="front"),
    Route("/stories/{slug}", story_page, name="story"),
]
