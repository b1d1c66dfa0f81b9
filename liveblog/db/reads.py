"""Read queries for stories, entries and events, shared by the API, pages and the hub."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.engine import Database
from liveblog.db.models import Entry, StoredEvent, Story


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


async def page_entries(
    session: AsyncSession, story: Story, limit: int, before: Entry | None = None
) -> Sequence[Entry]:
    """What a reader's page shows: published entries, pinned first, then newest shown first,
    up to limit + 1 rows. An older page (`before`: the last entry of the page above) holds
    unpinned entries shown before it."""
    query = select(Entry).where(Entry.story_id == story.id, Entry.draft.is_(False))
    if before is not None:
        query = query.where(
            Entry.pinned.is_(False),
            tuple_(Entry.shown_at, Entry.id) < tuple_(before.shown_at, before.id),
        )
    query = query.order_by(Entry.pinned.desc(), Entry.shown_at.desc(), Entry.id.desc())
    return (await session.scalars(query.limit(limit + 1))).all()


async def key_events(session: AsyncSession, story: Story, limit: int) -> Sequence[Entry]:
    """A story's published key events, newest shown first."""
    query = (
        select(Entry)
        .where(
            Entry.story_id == story.id,
            Entry.draft.is_(False),
            Entry.key_event.is_(True),
            Entry.retracted.is_(False),
        )
        .order_by(Entry.shown_at.desc(), Entry.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


_EVENTS = StoredEvent.__table__
_EVENTS_AFTER = (
    select(_EVENTS)
    .where(_EVENTS.c.story_id == bindparam("story_id"), _EVENTS.c.seq > bindparam("after"))
    .order_by(_EVENTS.c.seq)
    .limit(bindparam("limit"))
)


async def events_after(
    session: AsyncSession, story_id: int, after: int, limit: int
) -> Sequence[Row[Any]]:
    """A story's events with seq > after, in seq order, as rows."""
    parameters = {"story_id": story_id, "after": after, "limit": limit}
    return (await session.execute(_EVENTS_AFTER, parameters)).all()


async def new_events(db: Database, story_id: int, after: int, limit: int) -> Sequence[Row[Any]]:
    """events_after as the hub reads them after every publish: the lightest read there is
    (see Database.read_rows)."""
    return await db.read_rows(_EVENTS_AFTER, {"story_id": story_id, "after": after, "limit": limit})


_STORIES = Story.__table__
_STORY_SEQS = select(_STORIES.c.id, _STORIES.c.seq).where(
    _STORIES.c.id.in_(bindparam("story_ids", expanding=True))
)


async def story_seqs(db: Database, story_ids: Sequence[int]) -> Sequence[Row[Any]]:
    """(id, seq) of each of these stories, the lightest way: the hub asks it every few
    seconds for every story it has readers of."""
    return await db.read_rows(_STORY_SEQS, {"story_ids": list(story_ids)})


async def front_page_stories(
    session: AsyncSession, live_limit: int, ended_limit: int
) -> list[Story]:
    """Live stories, most recently started first, then the most recently ended ones."""
    live = (
        select(Story)
        .where(Story.status == "live")
        .order_by(Story.started_at.desc(), Story.id.desc())
        .limit(live_limit)
    )
    ended = (
        select(Story)
        .where(Story.status == "ended")
        .order_by(Story.ended_at.desc(), Story.id.desc())
        .limit(ended_limit)
    )
    return [*(await session.scalars(live)).all(), *(await session.scalars(ended)).all()]


async def latest_entries(session: AsyncSession, story_ids: Sequence[int]) -> dict[int, Entry]:
    """Each story's latest published entry (by shown time), in one query."""
    if not story_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=Entry.story_id, order_by=(Entry.shown_at.desc(), Entry.id.desc()))
        .label("rank")
    )
    ranked = (
        select(Entry.id, rank)
        .where(
            Entry.story_id.in_(story_ids),
            Entry.draft.is_(False),
            Entry.retracted.is_(False),
        )
        .subquery()
    )
    query = select(Entry).join(ranked, ranked.c.id == Entry.id).where(ranked.c.rank == 1)
    return {entry.story_id: entry for entry in (await session.scalars(query)).all()}


async def last_change(session: AsyncSession, story: Story) -> datetime:
    """When readers last saw the story change: its newest event, or its last edit."""
    newest = await session.scalar(
        select(StoredEvent.created_at)
        .where(StoredEvent.story_id == story.id)
        .order_by(StoredEvent.seq.desc())
        .limit(1)
    )
    return max(newest, story.updated_at) if newest is not None else story.updated_at
