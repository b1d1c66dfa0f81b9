"""Who may see what: drafts, of stories and of entries, exist only for signed-in users."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import Entry, Story, User
from liveblog.errors import NotFound
from liveblog.stories.lookup import entry_in_story, story_by_slug


async def visible_story(session: AsyncSession, slug: str, user: User | None) -> Story:
    """The story if this reader may see it, or NotFound."""
    story = await story_by_slug(session, slug)
    if story.status == "draft" and user is None:
        raise NotFound(f"no story {slug!r}")
    return story


async def visible_entry(
    session: AsyncSession, story: Story, entry_id: int, user: User | None
) -> Entry:
    """The entry of a visible story if this reader may see it, or NotFound."""
    entry = await entry_in_story(session, story, entry_id)
    if entry.draft and user is None:
        raise NotFound(f"no entry {entry_id} in story {story.slug!r}")
    return entry
