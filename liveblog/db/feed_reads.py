"""Queries of feeds and embeds: a story's latest published entries and when it last changed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import Entry, Story, StoryEvent


async def latest_entries(session: AsyncSession, story: Story, limit: int) -> Sequence[Entry]:
    """Published entries (retracted ones included), newest shown first, pins ignored."""
    query = (
        select(Entry)
        .where(Entry.story_id == story.id, Entry.draft.is_(False))
        .order_by(Entry.shown_at.desc(), Entry.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def last_change(session: AsyncSession, story: Story) -> datetime:
    """When the story's latest event happened (its creation time when it has none)."""
    # Every change takes the next seq, so the event at story.seq is the latest: one row,
    # found by the (story_id, seq) unique index.
    query = select(StoryEvent.created_at).where(
        StoryEvent.story_id == story.id, StoryEvent.seq == story.seq
    )
    return await session.scalar(query) or story.created_at


async def public_stories(session: AsyncSession, limit: int) -> Sequence[tuple[Story, datetime]]:
    """Live and ended stories, newest first, each with the time of its latest event."""
    last_event = StoryEvent.created_at
    query = (
        select(Story, last_event)
        .outerjoin(StoryEvent, (StoryEvent.story_id == Story.id) & (StoryEvent.seq == Story.seq))
        .where(Story.status.in_(("live", "ended")))
        .order_by(Story.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [(story, changed or story.created_at) for story, changed in rows]
