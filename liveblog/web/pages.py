"""Reader pages: the front page, a story (and its older entries, page by page), and the
fragment of one entry that the page fetches when it follows a story by polling."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from liveblog.db import reads
from liveblog.db.models import Story, User
from liveblog.stories.lookup import entry_in_story
from liveblog.stories.serialize import entry_json, story_json
from liveblog.stories.visibility import visible_entry, visible_story
from liveblog.web.api.common import int_query, path_id
from liveblog.web.auth import optional_user
from liveblog.web.http_cache import (
    PRIVATE,
    SHORT_PUBLIC,
    answer_304,
    etag_of,
    not_modified,
    validator_headers,
)
from liveblog.web.public_urls import site_url
from liveblog.web.services import services
from liveblog.web.story_meta import json_ld

PAGE_ENTRIES = 50
# Part of every page's ETag: bump it when the pages' markup changes.
MARKUP_VERSION = 2
KEY_EVENTS = 30
FRONT_LIVE, FRONT_ENDED = 20, 20


async def front_page(request: Request) -> Response:
    """Live stories first, then recently ended ones, each with its latest entry."""
    async with services(request).db.reading() as session:
        stories = await reads.front_page_stories(session, FRONT_LIVE, FRONT_ENDED)
        latest = await reads.latest_entries(session, [s.id for s in stories])
    cards = [
        {
            "story": story_json(story),
            "latest": entry_json(latest[story.id]) if story.id in latest else None,
        }
        for story in stories
    ]
    return render(request, "pages/front.html", stories=cards, base=site_url(request))


async def story_page(request: Request) -> Response:
    """A story: pinned entries first, then the newest; ?before=ID shows an older page."""
    user = await optional_user(request)
    before_id = int_query(request, "before", 0, 0, 2**31 - 1) or None
    return await _entries_page(request, user, before_id, whole=True)


async def older_entries(request: Request) -> Response:
    """The next page of older entries, as a fragment the page appends ("Load older")."""
    user = await optional_user(request)
    before_id = int_query(request, "before", 0, 1, 2**31 - 1)
    return await _entries_page(request, user, before_id, whole=False)


async def entry_fragment(request: Request) -> Response:
    """One published entry's fragment (what a live push carries), for pages that poll."""
    user = await optional_user(request)
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
        entry = await visible_entry(session, story, path_id(request, "entry_id"), user)
    etag = etag_of(MARKUP_VERSION, "entry", entry.id, entry.version)
    headers = _headers(etag, entry.updated_at, user)
    if not_modified(request, etag, entry.updated_at):
        return answer_304(headers)
    response = render(request, "entries/_entry.html", entry=entry_json(entry))
    response.headers.update(headers)
    return response


async def _entries_page(
    request: Request, user: User | None, before_id: int | None, *, whole: bool
) -> Response:
    # The whole story page, with its key events and readers now; or (not whole) the fragment
    # of older entries. Either is 304 while the reader's copy is still current.
    part, template = ("story", "pages/story.html") if whole else ("older", "pages/_older.html")
    more: dict[str, object] = {}
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
        headers, fresh = await _validators(request, session, story, user, part, before_id)
        if fresh:
            return answer_304(headers)
        page = await _page(session, story, before_id)
        if whole:
            more["key_events"] = _json(await reads.key_events(session, story, KEY_EVENTS))
    readers = services(request).hub.readers(story.id) if whole else 0
    response = render(request, template, **_story_context(request, story, page, readers), **more)
    response.headers.update(headers)
    return response


async def _validators(  # type: ignore[no-untyped-def]
    request: Request, session, story: Story, user: User | None, *parts: object
) -> tuple[dict[str, str], bool]:
    # Worked out before any rendering, so a revalidation costs two small queries.
    changed = await reads.last_change(session, story)
    etag = etag_of(MARKUP_VERSION, story.slug, story.seq, *parts)
    return _headers(etag, changed, user), not_modified(request, etag, changed)


def _headers(etag: str, changed, user: User | None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    cache = SHORT_PUBLIC if user is None else PRIVATE
    return {**validator_headers(etag, changed, cache), "Vary": "Cookie"}


async def _page(session, story: Story, before_id: int | None) -> tuple[list, int | None]:  # type: ignore[no-untyped-def, type-arg]
    before = await entry_in_story(session, story, before_id) if before_id else None
    rows = await reads.page_entries(session, story, PAGE_ENTRIES, before)
    entries = rows[:PAGE_ENTRIES]
    older = entries[-1].id if len(rows) > PAGE_ENTRIES else None
    return _json(entries), older


def _json(entries) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [entry_json(entry) for entry in entries]


def _story_context(request: Request, story: Story, page, readers: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    entries, older = page
    story_data = story_json(story, readers)
    base = site_url(request)
    return {
        "story": story_data,
        "entries": entries,
        "older": older,
        "base": base,
        "json_ld": json_ld(story_data, entries, base),
        "show_readers": services(request).settings.show_readers,
    }


def render(request: Request, template: str, status: int = 200, **context: object) -> Response:
    """Render a page template to an HTML response."""
    page = services(request).templates.get_template(template)
    return HTMLResponse(page.render(request=request, **context), status_code=status)


ROUTES = [
    Route("/", front_page, name="front"),
    Route("/stories/{slug}", story_page, name="story"),
    Route("/stories/{slug}/older", older_entries, name="older_entries"),
    Route("/stories/{slug}/entries/{entry_id:int}/fragment", entry_fragment),
]
