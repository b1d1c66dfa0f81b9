"""Entries posted to one story at the same time are written in one transaction (group commit).

A story's seqs are gap-free because its writers take the story's row lock one after another,
each until its commit. On PostgreSQL each hand-over of that lock costs milliseconds, so a
busy story was bound by how many times a second the lock could change hands, not by the work.
Here a story has at most one publishing transaction at a time: the entries posted while it
runs wait, and the next transaction writes them all, taking the lock once. A lone entry goes
at once, in a transaction of its own."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveblog.db.engine import Database, WriteTimes
from liveblog.errors import COLLISION, Conflict
from liveblog.stories.entry_changes import ChangedEntry, NewEntry, create_published_entries
from liveblog.stories.lookup import story_for_new_entry


@dataclass(slots=True)
class Published:
    """One entry as its transaction wrote it, and when that transaction ran."""

    entry_and_seq: ChangedEntry
    times: WriteTimes


@dataclass(slots=True)
class _Waiting:
    post: NewEntry
    answer: asyncio.Future[Published]
    queued: float = field(default_factory=time.perf_counter)


class PublishQueue:
    """Published entries of each story, written a transaction at a time."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Posts waiting for their story's next transaction; a story is here while a task
        # writes it.
        self._waiting: dict[str, list[_Waiting]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def publish(self, slug: str, post: NewEntry) -> Published:
        """Write the entry with whatever else is posted to the story meanwhile; the errors
        of its transaction (NotFound, Conflict, the database's) are each post's."""
        waiting = _Waiting(post, asyncio.get_running_loop().create_future())
        queue = self._waiting.get(slug)
        if queue is not None:
            queue.append(waiting)
        else:
            self._waiting[slug] = [waiting]
            task = asyncio.create_task(self._write(slug))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await waiting.answer

    async def _write(self, slug: str) -> None:
        try:
            while batch := self._waiting[slug]:
                self._waiting[slug] = []
                await self._write_batch(slug, batch)
        finally:
            del self._waiting[slug]

    async def _write_batch(self, slug: str, batch: list[_Waiting]) -> None:
        times = WriteTimes()
        work = functools.partial(_publish, slug, [waiting.post for waiting in batch])
        try:
            written = await self._db.write(work, times)
        except IntegrityError as error:  # e.g. an author deleted meanwhile
            conflict = Conflict(COLLISION)
            conflict.__cause__ = error
            _fail(batch, conflict)
        except Exception as error:
            _fail(batch, error)
        else:
            for waiting, entry_and_seq in zip(batch, written, strict=True):
                # It asked for its turn when it was queued: waiting for the transaction
                # before counts as its lock_wait.
                own = dataclasses.replace(times, asked=waiting.queued)
                _settle(waiting.answer, Published(entry_and_seq, own))


def _publish(slug: str, posts: Sequence[NewEntry], session: Session) -> list[ChangedEntry]:
    return create_published_entries(session, story_for_new_entry(session, slug), posts)


def _fail(batch: list[_Waiting], error: Exception) -> None:
    for waiting in batch:
        if not waiting.answer.done():  # a request given up on has cancelled its future
            waiting.answer.set_exception(error)


def _settle(answer: asyncio.Future[Published], published: Published) -> None:
    if not answer.done():
        answer.set_result(published)
