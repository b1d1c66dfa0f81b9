"""Find stories and entries by their public names, or say clearly that they do not exist.

Readers look up through an AsyncSession; changes run as plain functions on a Session in the
write path (see Database.write), so each lookup comes in both forms around one query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from liveblog.db import writes
from liveblog.db.models import Entry, Story
from liveblog.errors import NotFound


async def story_by_slug(session: AsyncSession, slug: str) -> Story:
    """The story with that slug, or NotFound."""
    return _found_story(await _scalar(session, _story_query(slug)), slug)


def story_to_change(session: Session, slug: str) -> Story:
    """The story with that slug, locked until the transaction ends, or NotFound.

    Changes read the story and its entries only after taking this lock (a row lock on
    PostgreSQL; SQLite's write transactions are serial already), so two writers of one story
    never build their events from values the other has just changed."""
    query = _story_query(slug)
    return _found_story(
        session.scalar(query.with_for_update()) if query is not None else None, slug
    )


def story_for_entry_change(session: Session, slug: str) -> Story:
    """story_to_change for changes to its entries, which only read the story: a snapshot of
    its locked row, outside the session (no ORM load on the write path's hottest query)."""
    return _snapshot(writes.locked_story, session, slug)


def story_for_new_entry(session: Session, slug: str) -> Story:
    """The story, read without its lock: a new entry takes the story's seq as its last
    statement (see create_entry), so the lock is held only from there to the commit."""
    return _snapshot(writes.story_row, session, slug)


def _snapshot(
    read: Callable[[Session, str], Row[Any] | None], session: Session, slug: str
) -> Story:
    row = read(session, slug) if _may_exist(slug) else None
    return _found_story(Story(**row._mapping) if row is not None else None, slug)


async def entry_in_story(session: AsyncSession, story: Story, entry_id: int) -> Entry:
    """The entry with that id in that story, or NotFound."""
    return _found_entry(await session.scalar(_entry_query(story, entry_id)), story, entry_id)


def entry_to_change(session: Session, story: Story, entry_id: int) -> Entry:
    """entry_in_story for the write path."""
    return _found_entry(session.scalar(_entry_query(story, entry_id)), story, entry_id)


def _story_query(slug: str) -> Select[tuple[Story]] | None:
    return select(Story).where(Story.slug == slug) if _may_exist(slug) else None


def _may_exist(slug: str) -> bool:
    # No slug holds a NUL character, and PostgreSQL refuses to even compare with one.
    return "\x00" not in slug


async def _scalar(session: AsyncSession, query: Select[tuple[Story]] | None) -> Story | None:
    return None if query is None else await session.scalar(query)


def _found_story(story: Story | None, slug: str) -> Story:
    if story is None:
        raise NotFound(f"no story {slug!r}")
    return story


def _entry_query(story: Story, entry_id: int) -> Select[tuple[Entry]]:
    return select(Entry).where(Entry.id == entry_id, Entry.story_id == story.id)


def _found_entry(entry: Entry | None, story: Story, entry_id: int) -> Entry:
    if entry is None:
        raise NotFound(f"no entry {entry_id} in story {story.slug!r}")
    return entry
