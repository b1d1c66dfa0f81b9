"""`liveblog import FILE`: a story file loaded into this instance in one transaction, with new
ids and the same seqs, times and words. A story whose slug is taken is refused (so importing
twice never makes a duplicate); images are kept first, each whole, as uploads are."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db import story_load
from liveblog.db.engine import Database
from liveblog.db.models import Story
from liveblog.errors import Conflict
from liveblog.media.images import CleanImage
from liveblog.media.store import MediaStore
from liveblog.render.markdown import SANITIZER
from liveblog.transfer.file_format import EntryFields, MediaFile, StoryFile


@dataclass(frozen=True)
class ImportReport:
    """What an import added."""

    slug: str
    entries: int
    events: int
    images: int
    new_users: list[str]


async def import_story(db: Database, store: MediaStore, story_file: StoryFile) -> ImportReport:
    """Add the story of story_file; Conflict when a story of its slug exists here."""
    slug = story_file.story.slug
    async with db.reading() as session:
        await _require_new(session, slug)
    for image in story_file.media:
        # Named by their content: one already here is the same image, kept once.
        await store.save(_image(image), uploader_id=None)
    async with db.writing() as session:
        await _require_new(session, slug)  # an import of the same file may have raced us
        new_users = await _load(session, story_file)
    return ImportReport(
        slug=slug,
        entries=len(story_file.entries),
        events=len(story_file.events),
        images=len(story_file.media),
        new_users=new_users,
    )


async def _require_new(session: AsyncSession, slug: str) -> None:
    if await story_load.slug_taken(session, slug):
        raise Conflict(
            f"a story with slug {slug!r} is already here (imported before?); nothing was imported"
        )


async def _load(session: AsyncSession, story_file: StoryFile) -> list[str]:
    users, new_users = await story_load.user_ids(session, _people(story_file.entries))
    story = await story_load.insert_story(session, story_file.story.model_dump())
    new_ids = await _load_entries(session, story, story_file.entries, users)
    for event in story_file.events:
        entry_id = None if event.entry is None else new_ids[event.entry]
        data = _event_data(event.data, entry_id)
        created = event.created_at
        story_load.add_event(session, story, event.seq, event.type, entry_id, created, data)
    return new_users


async def _load_entries(
    session: AsyncSession, story: Story, entries: list[EntryFields], users: dict[str, int]
) -> dict[int, int]:
    """Add the entries and their revisions; the new id of each old one."""
    new_ids: dict[int, int] = {}
    # In their old order, so the new ids sort the same way (pages break ties by id).
    for entry in sorted(entries, key=lambda entry: entry.id):
        fields = entry.model_dump(exclude={"id", "author", "revisions"})
        fields["html"] = _sanitized(entry.html)
        row = await story_load.insert_entry(session, story, users[entry.author], fields)
        new_ids[entry.id] = row.id
        for revision in entry.revisions:
            editor = users[revision.editor]
            story_load.add_revision(
                session, row.id, editor, revision.created_at, revision.action, revision.fields
            )
    return new_ids


def _people(entries: list[EntryFields]) -> set[str]:
    authors = {entry.author for entry in entries}
    return authors | {revision.editor for entry in entries for revision in entry.revisions}


def _event_data(data: dict[str, object], entry_id: int | None) -> dict[str, object]:
    """An event's entry as it was, under the entry's new id (keys kept in their order)."""
    if entry_id is None:
        return data
    return {
        key: entry_id if key == "id" else _sanitized(value) if key == "html" else value
        for key, value in data.items()
    }


def _sanitized(html: object) -> str:
    # A file may come from anywhere: its HTML goes through the sanitizer every entry's HTML
    # went through when it was written (which leaves that HTML as it is).
    return SANITIZER.clean(str(html)).strip()


def _image(image: MediaFile) -> CleanImage:
    return CleanImage(image.content(), image.content_type, image.width, image.height, image.name)
