"""Story changes inside one transaction: create, and edit title, description or status."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import Story, User, utcnow
from liveblog.errors import Conflict, InvalidInput
from liveblog.schemas import StoryCreate, StoryPatch
from liveblog.stories import events
from liveblog.stories.permissions import require_story_manager
from liveblog.stories.sequence import append_event


def slugify(title: str) -> str:
    """A URL-safe slug from a title: ASCII, lower case, words joined by hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:80].rstrip("-")


async def create_story(session: AsyncSession, user: User, data: StoryCreate) -> Story:
    """Add a draft story; a slug given must be free, a derived one gets a number if taken."""
    require_story_manager(user)
    slug = data.slug or await _free_slug(session, slugify(data.title) or "story")
    if data.slug and await _slug_taken(session, slug):
        raise Conflict(f"a story with slug {slug!r} already exists", field="slug")
    now = utcnow()
    story = Story(
        slug=slug,
        title=data.title,
        description=data.description,
        status="draft",
        seq=0,
        created_at=now,
        updated_at=now,
    )
    session.add(story)
    await session.flush()
    return story


async def edit_story(
    session: AsyncSession, user: User, story: Story, data: StoryPatch
) -> int | None:
    """Apply the fields given; returns the seq of the story.updated event, if anything changed."""
    require_story_manager(user)
    changed = False
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"{name} cannot be null", field=name)
        if getattr(story, name) != value:
            changed = True
            if name == "status":
                _set_status(story, value)
            else:
                setattr(story, name, value)
    if not changed:
        return None
    story.updated_at = utcnow()
    return await append_event(session, story, events.StoryUpdated)


def _set_status(story: Story, status: str) -> None:
    now = utcnow()
    if status == "live":
        story.started_at = story.started_at or now
        story.ended_at = None
    elif status == "ended":
        story.started_at = story.started_at or now
        story.ended_at = now
    story.status = status


async def _slug_taken(session: AsyncSession, slug: str) -> bool:
    return await session.scalar(select(Story.id).where(Story.slug == slug)) is not None


async def _free_slug(session: AsyncSession, base: str) -> str:
    taken = set(
        await session.scalars(
            select(Story.slug).where((Story.slug == base) | Story.slug.like(f"{base}-%"))
        )
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug
