"""Per-story sequence numbers: bump the story's seq and append the event in the caller's
transaction, so a story's events are numbered 1..n with no gap and no duplicate."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from liveblog.db.models import Entry, StoredEvent, Story, utcnow
from liveblog.stories.events import StoryEvent
from liveblog.stories.serialize import entry_json, story_json


async def append_event(
    session: AsyncSession, story: Story, kind: type[StoryEvent], entry: Entry | None = None
) -> int:
    """Take the story's next seq (a row lock on PostgreSQL) and store the event under it."""
    await session.flush()
    result = await session.execute(
        update(Story)
        .where(Story.id == story.id)
        .values(seq=Story.seq + 1)
        .returning(Story.seq)
        .execution_options(synchronize_session=False)
    )
    seq = result.scalar_one()
    set_committed_value(story, "seq", seq)
    data = entry_json(entry) if entry is not None else story_json(story)
    session.add(
        StoredEvent(
            story_id=story.id,
            seq=seq,
            type=kind.type,
            entry_id=entry.id if entry is not None else None,
            data=data,
            created_at=utcnow(),
        )
    )
    return seq
