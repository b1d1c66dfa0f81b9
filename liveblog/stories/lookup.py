"""Find stories and entries by their public names, or say clearly that they do not exist."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import Entry, Story
from liveblog.errors import NotFound


async def story_by_slug(session: AsyncSession, slug: str) -> Story:
    """The story with that slug, or NotFound."""
    return await _one_story(session, select(Story).where(Story.slug == slug), slug)


async def story_to_change(session: AsyncSession, slug: str) -> Story:
    """The story with that slug, locked until the transaction ends, or NotFound.

    Changes read the story and its entries only after taking this lock (a row lock on
    PostgreSQL; SQLite's write transactions are serial already), so two writers of one story
    never build their events from values the other has just changed."""
    query = select(Story).where(Story.slug == slug).with_for_update()
    return await _one_story(session, query, slug)


async def _one_story(session: AsyncSession, query: Select[tuple[Story]], slug: str) -> Story:
    # No slug holds a NUL character, and PostgreSQL refuses to even compare with one.
    story = None if "\x00" in slug else await session.scalar(query)
    if story is None:
        raise NotFound(f"no story {slug!r}")
    return story


async def entry_in_story(session: AsyncSession, story: Story, entry_id: int) -> Entry:
    """The entry with that id in that story, or NotFound."""
    entry = await session.scalar(
        select(Entry).where(Entry.id == entry_id, Entry.story_id == story.id)
    )
    if entry is None:
        raise NotFound(f"no entry {entry_id} in story {story.slug!r}")
    return entry
