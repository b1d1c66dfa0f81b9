"""The one entrance to the write path: run a change in a transaction, then ring the doorbell.

Work that needs no database (validation, Markdown rendering) is done before a change asks
for its turn; the change itself is plain synchronous code that Database.write runs as one
transaction, so a story's write lock is held only for the statements."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveblog.db.engine import Database, WriteTimes
from liveblog.db.models import User
from liveblog.errors import COLLISION, Conflict
from liveblog.live.bus import Bus, Doorbell
from liveblog.metrics import Metrics
from liveblog.schemas import EntryCreate, EntryPatch, StoryCreate, StoryPatch
from liveblog.stories import entry_changes, story_changes
from liveblog.stories.entry_changes import NewEntry
from liveblog.stories.idempotency import Answer, IdempotentRequest, earlier_answer, remember
from liveblog.stories.lookup import (
    entry_to_change,
    story_for_entry_change,
    story_for_new_entry,
    story_to_change,
)
from liveblog.stories.publish_queue import PublishQueue
from liveblog.stories.serialize import entry_json, story_json

log = logging.getLogger("liveblog.publish")

# A change returns its answer and, when readers see it, (story id, seq) for the doorbell.
Outcome = tuple[Answer, Doorbell | None]
Change = Callable[[Session], Outcome]


class StoryWriter:
    """Story and entry changes, each in one transaction followed by a doorbell (published
    entries posted to one story together share a transaction: see publish_queue)."""

    def __init__(self, db: Database, bus: Bus, metrics: Metrics) -> None:
        self._db = db
        self._bus = bus
        self._metrics = metrics
        self._queue = PublishQueue(db)

    async def create_story(
        self, user: User, data: StoryCreate, request: IdempotentRequest | None = None
    ) -> Answer:
        """Create a draft story."""

        def change(session: Session) -> Outcome:
            story = story_changes.create_story(session, user, data)
            return Answer(201, story_json(story)), None

        return await self._run(change, time.perf_counter(), user.id, request)

    async def edit_story(self, user: User, slug: str, data: StoryPatch) -> Answer:
        """Change a story's title, description or status."""

        def change(session: Session) -> Outcome:
            story = story_to_change(session, slug)
            seq = story_changes.edit_story(session, user, story, data)
            return Answer(200, story_json(story)), _bell(story.id, seq)

        return await self._run(change, time.perf_counter())

    async def create_entry(
        self, user: User, slug: str, data: EntryCreate, request: IdempotentRequest | None = None
    ) -> Answer:
        """Post an entry (or save a draft) to a story."""
        prepared = time.perf_counter()
        rendered = entry_changes.prepare_entry(data)
        # A published entry goes with the others posted to its story meanwhile; drafts number
        # nothing, and an Idempotency-Key's answer is stored in the entry's own transaction.
        if not data.draft and request is None:
            published = await self._queue.publish(slug, NewEntry(user, data, rendered))
            entry, seq = published.entry_and_seq
            self._observe(prepared, published.times)
            await self._announce(Doorbell(entry.story_id, seq))
            return Answer(201, entry_json(entry))

        def change(session: Session) -> Outcome:
            story = story_for_new_entry(session, slug)
            entry, seq = entry_changes.create_entry(session, user, story, data, rendered)
            return Answer(201, entry_json(entry)), _bell(story.id, seq)

        return await self._run(change, prepared, user.id, request)

    async def edit_entry(
        self, user: User, slug: str, entry_id: int, data: EntryPatch, if_match: str | None = None
    ) -> Answer:
        """Edit, pin, mark or publish an entry; with if_match, only the version it names."""
        prepared = time.perf_counter()
        rendered = entry_changes.render_body(data.body) if data.body is not None else None

        def change(session: Session) -> Outcome:
            story = story_for_entry_change(session, slug)
            entry = entry_to_change(session, story, entry_id)
            entry, seq = entry_changes.edit_entry(
                session, user, story, entry, data, rendered, if_match
            )
            return Answer(200, entry_json(entry)), _bell(story.id, seq)

        return await self._run(change, prepared)

    async def retract_entry(
        self, user: User, slug: str, entry_id: int, reason: str, if_match: str | None = None
    ) -> Answer:
        """Retract an entry, keeping it in the story as retracted."""

        def change(session: Session) -> Outcome:
            story = story_for_entry_change(session, slug)
            entry = entry_to_change(session, story, entry_id)
            entry, seq = entry_changes.retract_entry(session, user, story, entry, reason, if_match)
            return Answer(200, entry_json(entry)), _bell(story.id, seq)

        return await self._run(change, time.perf_counter())

    async def _run(
        self,
        change: Change,
        prepared: float,
        user_id: int | None = None,
        request: IdempotentRequest | None = None,
    ) -> Answer:
        # Keys are looked up by the user's id, not the User: the change may attach the User to
        # its session, and a rollback there leaves it expired and unreadable.
        times = WriteTimes()
        work = functools.partial(_transaction, change, user_id, request)
        try:
            answer, doorbell = await self._db.write(work, times)
        except IntegrityError as error:
            if request is None or user_id is None:
                raise Conflict(COLLISION) from error
            # A retry raced the first request past the lookup: answer as the first did.
            async with self._db.reading() as session:
                earlier = await session.run_sync(earlier_answer, user_id, request)
            if earlier is None:
                raise Conflict(COLLISION) from error
            return earlier
        self._observe(prepared, times)
        if doorbell is not None:
            await self._announce(doorbell)
        return answer

    async def _announce(self, doorbell: Doorbell) -> None:
        self._metrics.events_published.inc()
        log.info(
            "published story %s seq %s",
            doorbell.story_id,
            doorbell.seq,
            extra={"story": doorbell.story_id, "seq": doorbell.seq},
        )
        rung = time.perf_counter()
        await self._bus.ring(doorbell)
        self._metrics.publish_stage_seconds.labels("ring").observe(time.perf_counter() - rung)

    def _observe(self, prepared: float, times: WriteTimes) -> None:
        stage = self._metrics.publish_stage_seconds.labels
        stage("prepare").observe(times.asked - prepared)
        stage("lock_wait").observe(times.started - times.asked)
        stage("transaction").observe(times.done - times.started)
        stage("commit").observe(times.committed - times.done)


def _transaction(
    change: Change, user_id: int | None, request: IdempotentRequest | None, session: Session
) -> Outcome:
    if request is not None and user_id is not None:
        earlier = earlier_answer(session, user_id, request)
        if earlier is not None:
            return earlier, None
    answer, doorbell = change(session)
    if request is not None and user_id is not None:
        remember(session, user_id, request, answer)
    session.flush()
    return answer, doorbell


def _bell(story_id: int, seq: int | None) -> Doorbell | None:
    return Doorbell(story_id, seq) if seq is not None else None
