"""What a feed says, built once from stories and entries and written as Atom or JSON Feed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from markupsafe import escape

from liveblog.db.models import Entry, Story
from liveblog.render.markdown import plain_text

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
TITLE_WORDS = 12
SITE_NAME = "Liveblog"


@dataclass(frozen=True)
class FeedItem:
    """One item of a feed: an entry of a story, or a story of the site."""

    id: str
    url: str
    title: str
    html: str
    published: datetime
    updated: datetime
    author: str | None = None


@dataclass(frozen=True)
class Feed:
    """A feed's head and its items, newest first."""

    title: str
    description: str
    home_url: str
    self_url: str
    updated: datetime
    items: list[FeedItem]


def entry_item(entry: Entry, url: str) -> FeedItem:
    """An entry as a feed item; a retracted one carries its retraction note, not its words."""
    return FeedItem(
        id=url,
        url=url,
        title=entry_title(entry),
        html=entry_html(entry),
        published=entry.shown_at,
        updated=max(entry.updated_at, entry.shown_at),
        author=entry.author.name,
    )


def story_item(story: Story, url: str, changed: datetime) -> FeedItem:
    """A story as an item of the site's feed."""
    return FeedItem(
        id=url,
        url=url,
        title=story.title,
        html=str(escape(story.description)),
        published=story.started_at or story.created_at,
        updated=changed,
    )


def entry_title(entry: Entry) -> str:
    """The entry's title, else its key-event headline, else the first words of its text."""
    if entry.retracted:
        # Feeds are copied and kept by others: a retraction must not carry the words on.
        return "Retracted entry"
    if entry.title:
        return entry.title
    if entry.key_event and entry.headline:
        return entry.headline
    return _first_words(plain_text(entry.html)) or f"Update at {entry.shown_at:%H:%M} UTC"


def entry_html(entry: Entry) -> str:
    """The entry's sanitized HTML, or the retraction note in its place."""
    if not entry.retracted:
        return entry.html
    note = "This entry was retracted."
    if entry.retracted_reason:
        note = f"{note} {entry.retracted_reason}"
    return f"<p>{escape(note)}</p>"


def _first_words(text: str) -> str:
    words = text.split()
    if len(words) <= TITLE_WORDS:
        return text
    return " ".join(words[:TITLE_WORDS]) + "…"


def json_feed(feed: Feed) -> dict[str, object]:
    """The feed as a JSON Feed 1.1 document."""
    document: dict[str, object] = {"version": JSON_FEED_VERSION, "title": feed.title}
    if feed.description:
        document["description"] = feed.description
    return {
        **document,
        "home_page_url": feed.home_url,
        "feed_url": feed.self_url,
        "language": "en",
        "authors": [{"name": SITE_NAME}],
        "items": [_json_item(item) for item in feed.items],
    }


def _json_item(item: FeedItem) -> dict[str, object]:
    body: dict[str, object] = {
        "id": item.id,
        "url": item.url,
        "title": item.title,
        "content_html": item.html,
        "date_published": item.published.isoformat(),
        "date_modified": item.updated.isoformat(),
    }
    if item.author:
        body["authors"] = [{"name": item.author}]
    return body


def newest(times: Iterable[datetime], default: datetime) -> datetime:
    """The latest of times, or default when there are none."""
    return max(times, default=default)
