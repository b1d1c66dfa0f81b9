"""The write path's hot statements, built once and run as Core statements.

Every published entry runs these. Through the ORM's unit of work they cost several times
the database's own time (measured: 5 ms against 0.6 ms of CPU per entry on SQLite), and on
SQLite that cost is paid while holding the one write lock. They run on the session's
connection, in its transaction, skipping the Session's own dispatch as well."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Row, bindparam, insert, select, update
from sqlalchemy.orm import Session

from liveblog.db.models import Entry, EntryRevision, StoredEvent, Story

_STORIES = Story.__table__
_ENTRIES = Entry.__table__

_EVENTS = StoredEvent.__table__

_STORY = select(_STORIES).where(_STORIES.c.slug == bindparam("slug"))
_LOCK_STORY = _STORY.with_for_update()
_ADD_ENTRIES = insert(_ENTRIES).returning(_ENTRIES.c.id, sort_by_parameter_order=True)
_ADD_REVISION = insert(EntryRevision.__table__)
_NEXT_SEQ = (
    update(_STORIES)
    .where(_STORIES.c.id == bindparam("story"))
    .values(seq=_STORIES.c.seq + 1)
    .returning(_STORIES.c.seq)
)
_NEXT_SEQ_UNLESS_ENDED = _NEXT_SEQ.where(_STORIES.c.status != "ended")
_NEXT_SEQS_UNLESS_ENDED = _NEXT_SEQ_UNLESS_ENDED.values(
    seq=_STORIES.c.seq + bindparam("count", type_=Integer)
)
_ADD_EVENT = insert(_EVENTS)
_EVENT_FIELDS = ("story_id", "type", "entry_id", "data", "created_at")
# PostgreSQL: the story's next seq and its event in one statement, so the row lock the seq
# takes is held for this one round trip and the commit, not for the whole transaction.
_NEXT_SEQ_CTE = _NEXT_SEQ_UNLESS_ENDED.cte("next_seq")
_APPEND_EVENT_UNLESS_ENDED = (
    insert(_EVENTS)
    .from_select(
        ["seq", *_EVENT_FIELDS],
        select(
            _NEXT_SEQ_CTE.c.seq,
            # Not named as columns: an UPDATE takes parameters named as its table's columns
            # for values to set, and stories has a created_at too.
            *(bindparam(f"event_{name}", type_=_EVENTS.c[name].type) for name in _EVENT_FIELDS),
        ),
    )
    .returning(_EVENTS.c.seq)
)


def story_row(session: Session, slug: str) -> Row[Any] | None:
    """The story's row, not locked."""
    return session.connection().execute(_STORY, {"slug": slug}).first()


def locked_story(session: Session, slug: str) -> Row[Any] | None:
    """The story's row, locked until the transaction ends (a row lock on PostgreSQL)."""
    return session.connection().execute(_LOCK_STORY, {"slug": slug}).first()


def add_entries(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert entry rows (in one statement, however many); their new ids, in order."""
    return list(session.connection().execute(_ADD_ENTRIES, rows).scalars())


def add_revisions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert entry_revisions rows, in one round trip (executemany when more than one)."""
    session.connection().execute(_ADD_REVISION, rows)


def next_seq(session: Session, story_id: int) -> int:
    """Bump the story's seq and return it."""
    return session.connection().execute(_NEXT_SEQ, {"story": story_id}).scalar_one()


def add_event(session: Session, values: dict[str, Any]) -> None:
    """Insert a story_events row."""
    session.connection().execute(_ADD_EVENT, values)


def take_seqs_unless_ended(session: Session, story_id: int, count: int) -> int | None:
    """Take the story's next count seqs (a row lock on PostgreSQL, until the commit); the
    last of them, or None when the story has ended."""
    taken = session.connection().execute(
        _NEXT_SEQS_UNLESS_ENDED, {"story": story_id, "count": count}
    )
    return taken.scalar_one_or_none()


def add_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert story_events rows, in one round trip (executemany)."""
    session.connection().execute(_ADD_EVENT, rows)


def append_event_unless_ended(session: Session, values: dict[str, Any]) -> int | None:
    """Take the story's next seq and insert the event (values without its seq) with it; None,
    with nothing written, when the story has ended."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        parameters = {f"event_{name}": values[name] for name in _EVENT_FIELDS}
        appended = connection.execute(
            _APPEND_EVENT_UNLESS_ENDED, {**parameters, "story": values["story_id"]}
        )
        return appended.scalar_one_or_none()
    # SQLite allows no UPDATE inside WITH; its writes are serial anyway.
    next_seq = connection.execute(_NEXT_SEQ_UNLESS_ENDED, {"story": values["story_id"]})
    seq = next_seq.scalar_one_or_none()
    if seq is not None:
        connection.execute(_ADD_EVENT, {**values, "seq": seq})
    return seq
