"""/api/stories/{slug}/events: the story's change log after a seq, for catching up and polling."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

from liveblog.db import reads
from liveblog.schemas import EventList
from liveblog.stories.events import event_from_row
from liveblog.stories.visibility import visible_story
from liveblog.web.api import params
from liveblog.web.api.common import MAX_ID, int_query, json_response
from liveblog.web.api.kinds import cached_read
from liveblog.web.auth import optional_user
from liveblog.web.services import services

EVENT_PAGE = 500


async def list_events(request: Request) -> Response:
    """Events with seq > after, oldest first; loop while the last item's seq < last_seq."""
    user = await optional_user(request)
    after = int_query(request, "after", 0, 0, MAX_ID)
    limit = int_query(request, "limit", 100, 1, EVENT_PAGE)
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], user)
        rows = await reads.events_after(session, story.id, after, limit)
    etag = _etag(story.slug, after, limit, story.seq)
    cache = "private, max-age=2" if user is not None else "public, max-age=2"
    headers = {"ETag": etag, "Cache-Control": cache}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    items = [event_from_row(row, story.slug).to_json() for row in rows]
    return json_response({"items": items, "last_seq": story.seq}, headers=headers)


def _etag(slug: str, after: int, limit: int, seq: int) -> str:
    # Events never change once written, so the story's seq pins the answer.
    digest = hashlib.sha256(f"{slug}:{after}:{limit}:{seq}".encode()).hexdigest()[:24]
    return f'"{digest}"'


OPERATIONS = (
    cached_read(
        "/api/stories/{slug}/events",
        list_events,
        "Catch up on a story's events",
        EventList,
        (params.SLUG, params.AFTER, params.EVENT_LIMIT),
    ),
)
