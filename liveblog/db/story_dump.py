"""Queries that read a whole story for export: every entry, revision and event, and the
images its entries show."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import Entry, EntryRevision, Media, StoredEvent, Story, User


async def story_entries(session: AsyncSession, story: Story) -> Sequence[Entry]:
    """Every entry of the story, drafts and retracted ones included, oldest id first."""
    query = select(Entry).where(Entry.story_id == story.id).order_by(Entry.id)
    return (await session.scalars(query)).all()


async def story_revisions(
    session: AsyncSession, story: Story
) -> Sequence[tuple[EntryRevision, str]]:
    """Every revision of the story's entries with its editor's name, in the order made."""
    query = (
        select(EntryRevision, User.name)
        .join(Entry, Entry.id == EntryRevision.entry_id)
        .join(User, User.id == EntryRevision.editor_id)
        .where(Entry.story_id == story.id)
        .order_by(EntryRevision.id)
    )
    return [(revision, name) for revision, name in (await session.execute(query)).all()]


async def story_events(session: AsyncSession, story: Story) -> Sequence[StoredEvent]:
    """Every event of the story, in seq order."""
    query = select(StoredEvent).where(StoredEvent.story_id == story.id).order_by(StoredEvent.seq)
    return (await session.scalars(query)).all()


async def media_rows(session: AsyncSession, names: Collection[str]) -> Sequence[Media]:
    """The media rows of these names (without their bytes), by name."""
    query = select(Media).where(Media.name.in_(names)).order_by(Media.name)
    return (await session.scalars(query)).all()
