"""Read queries for stories, entries and events, shared by the API, pages and the hub."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import Entry, Story, StoryEvent


async def list_stories(
    session: AsyncSession, *, include_drafts: bool, before: int | None, limit: int
) -> Sequence[Story]:
    """Stories newest first, up to limit + 1 rows so the caller can tell if there are more."""
    query = select(Story).order_by(Story.id.desc()).limit(limit + 1)
    if not include_drafts:
        query = query.where(Story.status != "draft")
    if before is not None:
        query = query.where(Story.id < before)
    return (await session.scalars(query)).all()


async def list_entries(
    session: AsyncSession, story: Story, *, include_drafts: bool, before: int | None, limit: int
) -> Sequence[Entry]:
    """A story's entries by id, newest first, up to limit + 1 rows."""
    query = select(Entry).where(Entry.story_id == story.id).order_by(Entry.id.desc())
    if not include_drafts:
        query = query.where(Entry.draft.is_(False))
    if before is not None:
        query = query.where(Entry.id < before)
    return (await session.scalars(query.limit(limit + 1))).all()


async def page_entries(session: AsyncSession, story: Story, limit: int) -> Sequence[Entry]:
    """What a reader's page shows: published entries, pinned first, then newest shown first."""
    query = (
        select(Entry)
        .where(Entry.story_id == story.id, Entry.draft.is_(False))
        .order_by(Entry.pinned.desc(), Entry.shown_at.desc(), Entry.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def events_after(
    session: AsyncSession, story_id: int, after: int, limit: int
) -> Sequence[StoryEvent]:
    """A story's events with seq > after, in seq order."""
    query = (
        select(StoryEvent)
        .where(StoryEvent.story_id == story_id, StoryEvent.seq > after)
        .order_by(StoryEvent.seq)
        .limit(limit)
    )
    return (await session.scalars(query)).all()
