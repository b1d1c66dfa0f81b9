"""Find stories and entries by their public names, or say clearly that they do not exist."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import Entry, Story
from liveblog.errors import NotFound


async def story_by_slug(session: AsyncSession, slug: str) -> Story:
    """The story with that slug, or NotFound."""
    story = await session.scalar(select(Story).where(Story.slug == slug))
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
