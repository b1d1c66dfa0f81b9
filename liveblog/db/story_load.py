"""Queries that write an imported story: the story, its entries (new ids, in their order), their
revisions and events, and placeholder users for authors this instance does not know."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog import accounts
from liveblog.db.models import Entry, EntryRevision, StoredEvent, Story, User

# Not an argon2 hash: no password matches it (and the user is disabled besides).
NO_PASSWORD = "!imported"


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    """Whether a story of this slug exists."""
    return await session.scalar(select(Story.id).where(Story.slug == slug)) is not None


async def user_ids(session: AsyncSession, names: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """The id of each named user, and the names of those made for the occasion: disabled
    reporters without a password, until an admin enables them and sets one."""
    wanted = set(names)
    found = await session.execute(select(User.name, User.id).where(User.name.in_(wanted)))
    ids = dict(found.tuples().all())
    made = sorted(wanted - ids.keys())
    for name in made:
        user = await accounts.insert_user(session, name, "reporter", NO_PASSWORD)
        user.disabled = True
        ids[name] = user.id
    return ids, made


async def insert_story(session: AsyncSession, fields: Mapping[str, object]) -> Story:
    """Add a story with these column values; its id is new."""
    story = Story(**fields)
    session.add(story)
    await session.flush()
    return story


async def insert_entry(
    session: AsyncSession, story: Story, author_id: int, fields: Mapping[str, object]
) -> Entry:
    """Add an entry with these column values; its id is new (larger than any before it)."""
    entry = Entry(story_id=story.id, author_id=author_id, **fields)
    session.add(entry)
    # One at a time: ids are given in the order of the flushes, which keeps the entries' order.
    await session.flush()
    return entry


def add_revision(
    session: AsyncSession,
    entry_id: int,
    editor_id: int,
    created_at: datetime,
    action: str,
    fields: dict[str, object],
) -> None:
    """Add one revision of an entry."""
    session.add(
        EntryRevision(
            entry_id=entry_id,
            editor_id=editor_id,
            created_at=created_at,
            action=action,
            fields=fields,
        )
    )


def add_event(
    session: AsyncSession,
    story: Story,
    seq: int,
    kind: str,
    entry_id: int | None,
    created_at: datetime,
    data: dict[str, object],
) -> None:
    """Add one event of the story under its seq."""
    session.add(
        StoredEvent(
            story_id=story.id,
            seq=seq,
            type=kind,
            entry_id=entry_id,
            created_at=created_at,
            data=data,
        )
    )
