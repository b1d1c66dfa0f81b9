"""Story changes inside one transaction: create, and edit title, description or status."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveblog.db.models import Story, User, utcnow
from liveblog.errors import Conflict, InvalidInput
from liveblog.schemas import StoryCreate, StoryPatch
from liveblog.stories import events
from liveblog.stories.permissions import require_story_manager
from liveblog.stories.sequence import append_story_event


def slugify(title: str) -> str:
    """A URL-safe slug from a title: ASCII, lower case, words joined by hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:80].rstrip("-")


def create_story(session: Session, user: User, data: StoryCreate) -> Story:
    """Add a draft story; a slug given must be free, a derived one gets a number if taken."""
    require_story_manager(user)
    slug = data.slug or _free_slug(session, slugify(data.title) or "story")
    if data.slug and _slug_taken(session, slug):
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
    session.flush()
    return story


def edit_story(session: Session, user: User, story: Story, data: StoryPatch) -> int | None:
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
    return append_story_event(session, story, events.StoryUpdated)


def _set_status(story: Story, status: str) -> None:
    now = utcnow()
    if status == "live":
        story.started_at = story.started_at or now
        story.ended_at = None
    elif status == "ended":
        story.started_at = story.started_at or now
        story.ended_at = now
    story.status = status


def _slug_taken(session: Session, slug: str) -> bool:
    return session.scalar(select(Story.id).where(Story.slug == slug)) is not None


def _free_slug(session: Session, base: str) -> str:
    taken = set(
        session.scalars(
            select(Story.slug).where((Story.slug == base) | Story.slug.like(f"{base}-%"))
        )
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug
