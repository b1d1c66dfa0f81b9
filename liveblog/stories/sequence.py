"""Per-story sequence numbers: bump the story's seq and append the event in the caller's
transaction, so a story's events are numbered 1..n with no gap and no duplicate."""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from liveblog.db import writes
from liveblog.db.models import Entry, Story, utcnow
from liveblog.stories.events import EntryPublished, StoryEvent
from liveblog.stories.serialize import entry_json, story_json


def append_entry_event(
    session: Session, story_id: int, kind: type[StoryEvent], entry: Entry
) -> int:
    """Take the story's next seq (a row lock on PostgreSQL) and store the entry's event."""
    seq = writes.next_seq(session, story_id)
    _store(session, story_id, seq, kind, entry.id, entry_json(entry))
    return seq


def append_published_entry_event(session: Session, story_id: int, entry: Entry) -> int | None:
    """append_entry_event for a new entry, into a story read without its lock: None, with
    nothing written, when the story has ended since. Taking the seq is the last statement
    before the commit, so the lock is held for the shortest time on the busiest path."""
    return writes.append_event_unless_ended(session, published_entry_event(story_id, entry))


def published_entry_event(story_id: int, entry: Entry) -> dict[str, object]:
    """A new entry's entry.published event, without its seq."""
    return _event(story_id, EntryPublished, entry.id, entry_json(entry))


def append_story_event(session: Session, story: Story, kind: type[StoryEvent]) -> int:
    """The same for a change to the story itself, which the event carries with its new seq."""
    seq = writes.next_seq(session, story.id)
    set_committed_value(story, "seq", seq)
    _store(session, story.id, seq, kind, None, story_json(story))
    return seq


def _store(
    session: Session,
    story_id: int,
    seq: int,
    kind: type[StoryEvent],
    entry_id: int | None,
    data: dict[str, object],
) -> None:
    writes.add_event(session, {**_event(story_id, kind, entry_id, data), "seq": seq})


def _event(
    story_id: int, kind: type[StoryEvent], entry_id: int | None, data: dict[str, object]
) -> dict[str, object]:
    return {
        "story_id": story_id,
        "type": kind.type,
        "entry_id": entry_id,
        "data": data,
        "created_at": utcnow(),
    }
