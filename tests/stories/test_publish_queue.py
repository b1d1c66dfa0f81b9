"""Group commit: entries posted to one story at the same time share a transaction, keep
gap-free seqs in the order they were posted, and fail together when their story refuses them.
On each backend, against a real database."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, func, select

from liveblog.db.engine import Database, open_database
from liveblog.db.migrate import upgrade_to_head
from liveblog.db.models import Entry, StoredEvent, Story, User
from liveblog.errors import Conflict, NotFound
from liveblog.schemas import EntryCreate
from liveblog.settings import load_settings
from liveblog.stories.entry_changes import NewEntry, create_published_entries, prepare_entry
from liveblog.stories.lookup import story_for_new_entry
from liveblog.stories.publish_queue import PublishQueue


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = open_database(load_settings(environ={"LIVEBLOG_DATABASE_URL": database_url}))
    try:
        await upgrade_to_head(database)
        yield database
    finally:
        await database.close()


async def new_story(db: Database, status: str = "live") -> tuple[str, User]:
    slug = f"queue-{secrets.token_hex(4)}"
    async with db.writing() as session:
        session.add(Story(slug=slug, title="Group commit", status=status, seq=0))
        author = User(name=f"reporter-{slug}", role="reporter", password_hash="-")
        session.add(author)
        await session.flush()
    return slug, author


def post(author: User, body: str) -> NewEntry:
    data = EntryCreate(body=body)
    return NewEntry(author, data, prepare_entry(data))


def counting_commits(db: Database) -> list[int]:
    """A list that grows by one at each commit of the database's engines."""
    commits: list[int] = []
    for engine in db.sync_engines():
        event.listen(engine, "commit", lambda _connection: commits.append(1))
    return commits


async def stored(db: Database, slug: str) -> tuple[list[str], list[int]]:
    """The story's entries' bodies by id, and its events' seqs, as the database holds them."""
    async with db.reading() as session:
        story_id = await session.scalar(select(Story.id).where(Story.slug == slug))
        bodies = await session.scalars(
            select(Entry.body).where(Entry.story_id == story_id).order_by(Entry.id)
        )
        seqs = await session.scalars(
            select(StoredEvent.seq).where(StoredEvent.story_id == story_id).order_by("seq")
        )
        return list(bodies), list(seqs)


async def test_entries_posted_together_share_transactions_and_keep_their_order(
    db: Database,
) -> None:
    slug, author = await new_story(db)
    queue, commits = PublishQueue(db), counting_commits(db)
    bodies = [f"Update {n}" for n in range(12)]

    published = await asyncio.gather(*(queue.publish(slug, post(author, b)) for b in bodies))

    assert [p.entry_and_seq[1] for p in published] == list(range(1, 13))  # in posting order
    assert [p.entry_and_seq[0].body for p in published] == bodies
    assert len(commits) == 1  # all twelve were waiting when the transaction began
    assert await stored(db, slug) == (bodies, list(range(1, 13)))
    async with db.reading() as session:
        story_seq = await session.scalar(select(Story.seq).where(Story.slug == slug))
    assert story_seq == 12


async def test_a_story_that_has_ended_refuses_every_entry_queued_for_it(db: Database) -> None:
    slug, author = await new_story(db, status="ended")
    queue = PublishQueue(db)
    results = await asyncio.gather(
        *(queue.publish(slug, post(author, f"Late {n}")) for n in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(result, Conflict) for result in results), results
    assert await stored(db, slug) == ([], [])


async def test_entries_for_a_story_that_ended_after_it_was_read_are_refused_whole(
    db: Database,
) -> None:
    slug, author = await new_story(db, status="ended")
    posts = [post(author, "After the end"), post(author, "Also after")]

    def change(session):  # type: ignore[no-untyped-def]
        story = story_for_new_entry(session, slug)
        story.status = "live"  # as the transaction read it, just before the story ended
        return create_published_entries(session, story, posts)

    with pytest.raises(Conflict, match="has ended"):
        await db.write(change)  # the seqs are taken last, and refused there
    assert await stored(db, slug) == ([], [])


async def test_an_unknown_story_is_each_posts_not_found(db: Database) -> None:
    _, author = await new_story(db)
    queue = PublishQueue(db)
    results = await asyncio.gather(
        *(queue.publish("no-such-story", post(author, "Lost")) for _ in range(2)),
        return_exceptions=True,
    )
    assert all(isinstance(result, NotFound) for result in results), results
    async with db.reading() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Entry).where(Entry.body == "Lost")
            )
            == 0
        )


async def test_a_post_given_up_on_while_queued_leaves_the_others_to_be_written(
    db: Database,
) -> None:
    slug, author = await new_story(db)
    queue = PublishQueue(db)
    first = asyncio.ensure_future(queue.publish(slug, post(author, "One")))
    await asyncio.sleep(0)
    abandoned = asyncio.ensure_future(queue.publish(slug, post(author, "Two")))
    kept = asyncio.ensure_future(queue.publish(slug, post(author, "Three")))
    await asyncio.sleep(0)
    abandoned.cancel()  # its request went away; its entry was already handed over

    assert (await first).entry_and_seq[1] == 1
    assert (await kept).entry_and_seq[1] == 3
    assert await stored(db, slug) == (["One", "Two", "Three"], [1, 2, 3])
