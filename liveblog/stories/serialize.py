"""The JSON shapes of stories and entries, shared by the API, events and pages."""

from __future__ import annotations

from datetime import datetime

from liveblog.db.models import Entry, Story


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with its UTC offset, or None."""
    return value.isoformat() if value is not None else None


def story_json(story: Story, readers: int = 0) -> dict[str, object]:
    """The public story object."""
    return {
        "slug": story.slug,
        "title": story.title,
        "description": story.description,
        "status": story.status,
        "seq": story.seq,
        "started_at": iso(story.started_at),
        "ended_at": iso(story.ended_at),
        "readers": readers,
        "url": f"/stories/{story.slug}",
    }


def entry_json(entry: Entry) -> dict[str, object]:
    """The public entry object; a retracted entry keeps its place but not its words."""
    retracted = entry.retracted
    return {
        "id": entry.id,
        "story": entry.story.slug,
        "author": entry.author.name,
        "title": entry.title,
        "body": "" if retracted else entry.body,
        "html": "" if retracted else entry.html,
        "shown_at": iso(entry.shown_at),
        "created_at": iso(entry.created_at),
        "updated_at": iso(entry.updated_at),
        "pinned": entry.pinned,
        "key_event": entry.key_event,
        "headline": entry.headline,
        "retracted": retracted,
        "retracted_reason": entry.retracted_reason,
        "draft": entry.draft,
        "version": entry.version,
    }
