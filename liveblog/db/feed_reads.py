"""Queries of feeds: a story's latest published entries, and the public stories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import Entry, StoredEvent, Story


async def feed_entries(session: AsyncSession, story: Story, limit: int) -> Sequence[Entry]:
    """Published entries (retracted ones included), newest shown first, pins ignored."""
    query = (
        select(Entry)
        .where(Entry.story_id == story.id, Entry.draft.is_(False))
        .order_by(Entry.shown_at.desc(), Entry.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def public_stories(session: AsyncSession, limit: int) -> Sequence[tuple[Story, datetime]]:
    """Live and ended stories, newest first, each with the time of its latest event."""
    last_event = StoredEvent.created_at
    query = (
        select(Story, last_event)
        .outerjoin(StoredEvent, (StoredEvent.story_id == Story.id) & (StoredEvent.seq == Story.seq))
        .where(Story.status.in_(("live", "ended")))
        .order_by(Story.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [(story, changed or story.created_at) for story, changed in rows]
