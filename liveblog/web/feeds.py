"""Feeds: Atom and JSON Feed 1.1 of a story's entries, and an Atom feed of the site's stories.

Cheap reads: a revalidation costs two indexed lookups (the story and its latest event) and
answers 304 before any entry is read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from liveblog.db import feed_reads, reads
from liveblog.db.models import Story
from liveblog.stories.visibility import visible_story
from liveblog.web.feed_content import Feed, FeedItem, entry_item, json_feed, newest, story_item
from liveblog.web.http_cache import answer_304, etag_of, not_modified, validator_headers
from liveblog.web.public_urls import absolute, entry_path, site_url, story_path
from liveblog.web.services import services

FEED_ENTRIES = 50
FEED_STORIES = 50
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"
# The update time of a site feed without a story: any fixed past moment will do.
NO_STORIES_YET = datetime(2000, 1, 1, tzinfo=UTC)


async def story_atom(request: Request) -> Response:
    """/stories/{slug}/feed.atom: the story's latest entries as Atom."""
    return await _story_feed(request, "atom")


async def story_json_feed(request: Request) -> Response:
    """/stories/{slug}/feed.json: the story's latest entries as JSON Feed 1.1."""
    return await _story_feed(request, "json")


async def site_atom(request: Request) -> Response:
    """/feed.atom: live and ended stories, newest first."""
    async with services(request).db.reading() as session:
        rows = await feed_reads.public_stories(session, FEED_STORIES)
    etag = etag_of("site.atom", site_url(request), [(s.id, s.seq) for s, _ in rows])
    changed = newest((when for _, when in rows), default=NO_STORIES_YET)
    headers = validator_headers(etag, changed)
    if not_modified(request, etag, changed):
        return answer_304(headers)
    feed = Feed(
        title="Liveblog: live stories",
        description="",
        home_url=absolute(request, "/"),
        self_url=absolute(request, "/feed.atom"),
        updated=changed,
        items=[
            story_item(story, absolute(request, story_path(story.slug)), when)
            for story, when in rows
        ],
    )
    return _atom(request, feed, headers)


async def _story_feed(request: Request, kind: str) -> Response:
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], None)
        changed = await reads.last_change(session, story)
        # Every change to a story takes the next seq, so the seq pins the feed's bytes.
        etag = etag_of(kind, story.slug, story.seq, site_url(request))
        headers = validator_headers(etag, changed)
        if not_modified(request, etag, changed):
            return answer_304(headers)
        entries = await feed_reads.feed_entries(session, story, FEED_ENTRIES)
        items = [
            entry_item(entry, absolute(request, entry_path(story.slug, entry.id)))
            for entry in entries
        ]
    feed = _story_content(request, story, changed, kind, items)
    if kind == "atom":
        return _atom(request, feed, headers)
    body = json.dumps(json_feed(feed), ensure_ascii=False)
    return Response(body, media_type=JSON_FEED, headers=headers)


def _story_content(
    request: Request, story: Story, changed: datetime, kind: str, items: list[FeedItem]
) -> Feed:
    home = absolute(request, story_path(story.slug))
    return Feed(
        title=story.title,
        description=story.description,
        home_url=home,
        self_url=f"{home}/feed.{kind}",
        updated=changed,
        items=items,
    )


def _atom(request: Request, feed: Feed, headers: dict[str, str]) -> Response:
    template = services(request).templates.get_template("feeds/feed.atom.xml")
    return Response(template.render(feed=feed), media_type=ATOM, headers=headers)


ROUTES: list[BaseRoute] = [
    Route("/stories/{slug}/feed.atom", story_atom, name="story_atom"),
    Route("/stories/{slug}/feed.json", story_json_feed, name="story_json_feed"),
    Route("/feed.atom", site_atom, name="site_atom"),
]
