"""The kinds of story event readers receive: one small dataclass each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Row

from liveblog.db.models import StoredEvent
from liveblog.stories.serialize import iso


@dataclass(frozen=True)
class StoryEvent:
    """Base: a change to a story that readers see, as stored under its seq."""

    type: ClassVar[str]
    seq: int
    story: str
    created_at: str
    data: dict[str, object]

    def to_json(self) -> dict[str, object]:
        """The event as readers receive it: the entry, or the story's new state."""
        key = "state" if self.type.startswith("story.") else "entry"
        return {
            "seq": self.seq,
            "type": self.type,
            "story": self.story,
            "created_at": self.created_at,
            key: self.data,
        }


class EntryPublished(StoryEvent):
    """An entry became visible: created published, or a draft published."""

    type = "entry.published"


class EntryUpdated(StoryEvent):
    """An entry's words, time or headline changed."""

    type = "entry.updated"


class EntryRetracted(StoryEvent):
    """An entry was withdrawn; it stays in the story as retracted."""

    type = "entry.retracted"


class EntryPinned(StoryEvent):
    """An entry was pinned to the top of the story."""

    type = "entry.pinned"


class EntryUnpinned(StoryEvent):
    """An entry went back to its place in time."""

    type = "entry.unpinned"


class KeyEventMarked(StoryEvent):
    """An entry was marked as a key event, with a short headline."""

    type = "entry.key_event"


class KeyEventCleared(StoryEvent):
    """An entry is no longer a key event."""

    type = "entry.key_event_cleared"


class EntryHidden(StoryEvent):
    """A published entry went back to draft and leaves the readers' view."""

    type = "entry.hidden"


class StoryUpdated(StoryEvent):
    """A story's title, description or status changed."""

    type = "story.updated"


EVENT_KINDS: dict[str, type[StoryEvent]] = {
    cls.type: cls
    for cls in (
        EntryPublished,
        EntryUpdated,
        EntryRetracted,
        EntryPinned,
        EntryUnpinned,
        KeyEventMarked,
        KeyEventCleared,
        EntryHidden,
        StoryUpdated,
    )
}


def event_from_row(row: StoredEvent | Row[Any], story_slug: str) -> StoryEvent:
    """The typed event for a stored story_events row."""
    kind = EVENT_KINDS[row.type]
    return kind(seq=row.seq, story=story_slug, created_at=iso(row.created_at), data=row.data)
