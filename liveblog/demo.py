"""`liveblog serve --demo`: a developing story with a handful of entries, and one more every few
seconds, so a first run has something alive to watch."""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets

from liveblog import accounts
from liveblog.db.engine import Database
from liveblog.db.models import User
from liveblog.db.user_reads import first_admin
from liveblog.errors import NotFound
from liveblog.schemas import EntryCreate, StoryCreate, StoryPatch
from liveblog.stories.lookup import story_by_slug
from liveblog.stories.writer import StoryWriter

log = logging.getLogger("liveblog.demo")
SLUG = "storm-ada-makes-landfall"

OPENING = (
    EntryCreate(
        body="Storm Ada is forecast to make landfall on the east coast tonight. "
        "Follow this page for updates from our reporters.",
        title="What we know",
        pinned=True,
    ),
    EntryCreate(
        body="The national weather service has raised the warning to **red** for the coast "
        "between Harwick and Lowmouth.",
        key_event=True,
        headline="Red warning issued",
    ),
    EntryCreate(
        body="> We are asking everyone in the low-lying districts to leave while the roads "
        "are open.\n> — Mayor Jane Okafor",
    ),
    EntryCreate(
        body="Ferries from Lowmouth are cancelled until further notice. Check the "
        "[port authority](https://example.org/port) for sailings.",
    ),
)

UPDATES = (
    "Wind gusts of 110 km/h measured at the harbour wall.",
    "Power is out for about 4,000 homes north of the river, the grid operator says.",
    "Emergency shelters are open at the sports hall and the old market.",
    "Our reporter at the seafront: waves are breaking over the promenade.",
    "The coastal railway line has been closed as a precaution.",
    "Schools in the district will stay closed tomorrow, the council says.",
)


async def seed_demo(db: Database, writer: StoryWriter) -> User:
    """Create the first admin (if none) and the demo story (if missing); return the poster."""
    admin = await _poster(db)
    if not await _story_exists(db):
        await writer.create_story(
            admin,
            StoryCreate(
                title="Storm Ada makes landfall",
                slug=SLUG,
                description="Live updates as the storm reaches the coast.",
            ),
        )
        await writer.edit_story(admin, SLUG, StoryPatch(status="live"))
        for entry in OPENING:
            await writer.create_entry(admin, SLUG, entry)
        log.info("demo story ready at /stories/%s", SLUG)
    return admin


async def keep_posting(writer: StoryWriter, author: User, interval: float) -> None:
    """Post a new demo entry every interval seconds, until cancelled."""
    for number, text in enumerate(itertools.cycle(UPDATES), start=1):
        await asyncio.sleep(interval)
        await writer.create_entry(author, SLUG, EntryCreate(body=f"{text} (update {number})"))


async def _poster(db: Database) -> User:
    async with db.writing() as session:
        user = await first_admin(session)
        if user is None:
            password = secrets.token_urlsafe(12)
            user = await accounts.create_user(session, "admin", "admin", password)
            log.info("created the first admin: name 'admin', password %s", password)
        return user


async def _story_exists(db: Database) -> bool:
    async with db.reading() as session:
        try:
            await story_by_slug(session, SLUG)
        except NotFound:
            return False
    return True
