"""Queries of the desk: stories at a glance, every entry with drafts, revisions, presence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import DeskPresence, Entry, EntryRevision, Story, User, utcnow

# A desk connection refreshes its row every PRESENCE_REFRESH seconds (web/desk/live.py);
# one not seen for PRESENCE_TIMEOUT has gone (a process killed without saying goodbye).
PRESENCE_REFRESH = 15
PRESENCE_TIMEOUT = timedelta(seconds=45)
_STATUS_ORDER = case({"live": 0, "draft": 1}, value=Story.status, else_=2)


async def stories_overview(
    session: AsyncSession, limit: int
) -> Sequence[tuple[Story, datetime | None, int]]:
    """Stories live first, then drafts, then ended, newest first within each; with the time
    of their last published entry and their entry count."""
    last = (
        select(
            Entry.story_id,
            func.max(Entry.shown_at).label("last_at"),
            func.count(Entry.id).label("entries"),
        )
        .where(Entry.draft.is_(False), Entry.retracted.is_(False))
        .group_by(Entry.story_id)
        .subquery()
    )
    query = (
        select(Story, last.c.last_at, func.coalesce(last.c.entries, 0))
        .outerjoin(last, last.c.story_id == Story.id)
        .order_by(_STATUS_ORDER, Story.updated_at.desc(), Story.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in await session.execute(query)]


async def desk_entries(session: AsyncSession, story: Story, limit: int) -> Sequence[Entry]:
    """A story's entries for the desk, drafts included, the newest shown first."""
    query = (
        select(Entry)
        .where(Entry.story_id == story.id)
        .order_by(Entry.shown_at.desc(), Entry.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def revisions(session: AsyncSession, entry_id: int) -> Sequence[tuple[EntryRevision, str]]:
    """An entry's revisions, oldest first, each with its editor's name."""
    query = (
        select(EntryRevision, User.name)
        .join(User, User.id == EntryRevision.editor_id)
        .where(EntryRevision.entry_id == entry_id)
        .order_by(EntryRevision.id)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


async def mark_present(session: AsyncSession, connection: str, story_id: int, user_id: int) -> None:
    """Record (or refresh) that a desk connection has a story open."""
    now = utcnow()
    refreshed = await session.execute(
        update(DeskPresence).where(DeskPresence.connection == connection).values(seen_at=now)
    )
    if refreshed.rowcount == 0:  # type: ignore[attr-defined]
        session.add(
            DeskPresence(connection=connection, story_id=story_id, user_id=user_id, seen_at=now)
        )


async def mark_gone(session: AsyncSession, connection: str) -> None:
    """Forget a desk connection, and any that stopped refreshing long ago."""
    stale = utcnow() - PRESENCE_TIMEOUT * 4
    await session.execute(
        delete(DeskPresence).where(
            (DeskPresence.connection == connection) | (DeskPresence.seen_at < stale)
        )
    )


async def present_users(session: AsyncSession, story_id: int) -> Sequence[tuple[str, str]]:
    """Names and roles of the users with the story open on a desk now, by name."""
    query = (
        select(User.name, User.role)
        .join(DeskPresence, DeskPresence.user_id == User.id)
        .where(
            DeskPresence.story_id == story_id,
            DeskPresence.seen_at > utcnow() - PRESENCE_TIMEOUT,
        )
        .group_by(User.name, User.role)
        .order_by(User.name)
    )
    return [(row[0], row[1]) for row in await session.execute(query)]
