"""The write path's hot statements, built once and run as Core statements.

Every published entry runs these. Through the ORM's unit of work they cost several times
the database's own time (measured: 5 ms against 0.6 ms of CPU per entry on SQLite), and on
SQLite that cost is paid while holding the one write lock. They run on the session's
connection, in its transaction, skipping the Session's own dispatch as well."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.orm import Session

from liveblog.db.models import Entry, EntryRevision, StoredEvent, Story

_STORIES = Story.__table__
_ENTRIES = Entry.__table__

_LOCK_STORY = select(_STORIES).where(_STORIES.c.slug == bindparam("slug")).with_for_update()
_ADD_ENTRY = insert(_ENTRIES).returning(_ENTRIES.c.id)
_ADD_REVISION = insert(EntryRevision.__table__)
_NEXT_SEQ = (
    update(_STORIES)
    .where(_STORIES.c.id == bindparam("story"))
    .values(seq=_STORIES.c.seq + 1)
    .returning(_STORIES.c.seq)
)
_ADD_EVENT = insert(StoredEvent.__table__)


def locked_story(session: Session, slug: str) -> Row[Any] | None:
    """The story's row, locked until the transaction ends (a row lock on PostgreSQL)."""
    return session.connection().execute(_LOCK_STORY, {"slug": slug}).first()


def add_entry(session: Session, values: dict[str, Any]) -> int:
    """Insert an entry row; its new id."""
    return session.connection().execute(_ADD_ENTRY, values).scalar_one()


def add_revision(session: Session, values: dict[str, Any]) -> None:
    """Insert an entry_revisions row."""
    session.connection().execute(_ADD_REVISION, values)


def next_seq(session: Session, story_id: int) -> int:
    """Bump the story's seq and return it."""
    return session.connection().execute(_NEXT_SEQ, {"story": story_id}).scalar_one()


def add_event(session: Session, values: dict[str, Any]) -> None:
    """Insert a story_events row."""
    session.connection().execute(_ADD_EVENT, values)
