"""`liveblog export SLUG`: one story as a story file (see file_format.py)."""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from liveblog.db import story_dump
from liveblog.db.engine import Database
from liveblog.db.models import Entry, EntryRevision, Media, StoredEvent, utcnow
from liveblog.errors import NotFound
from liveblog.media.store import MediaStore
from liveblog.stories.lookup import story_by_slug
from liveblog.stories.serialize import entry_json, iso, story_json
from liveblog.transfer.file_format import FORMAT, VERSION

# What the public story object holds that an import sets (readers and url are not stored).
STORY_FIELDS = ("slug", "title", "description", "status", "seq", "started_at", "ended_at")
# An uploaded image as entries name it: /media/<hash>.<extension>.
MEDIA_URL = re.compile(r"/media/([0-9a-f]+\.[a-z]+)")


async def export_story(db: Database, store: MediaStore, slug: str) -> dict[str, object]:
    """The story file of the story slug, as JSON-ready data; NotFound when there is none."""
    async with db.reading() as session:
        story = await story_by_slug(session, slug)
        entries = await story_dump.story_entries(session, story)
        revisions = _by_entry(await story_dump.story_revisions(session, story))
        events = await story_dump.story_events(session, story)
        images = await story_dump.media_rows(session, _media_names(entries, events))
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": iso(utcnow()),
        "story": {
            **{key: value for key, value in story_json(story).items() if key in STORY_FIELDS},
            "created_at": iso(story.created_at),
            "updated_at": iso(story.updated_at),
        },
        "entries": [_entry(entry, revisions.get(entry.id, [])) for entry in entries],
        "events": [_event(event) for event in events],
        "media": [await _image(row, store) for row in images],
    }


def _media_names(entries: Sequence[Entry], events: Sequence[StoredEvent]) -> set[str]:
    # Events keep the words of an entry as they were: an image since edited out still shows
    # in a reader's replay of them.
    texts = [entry.body for entry in entries]
    texts += [str(event.data.get("body", "")) for event in events]
    return {name for text in texts for name in MEDIA_URL.findall(text)}


def _by_entry(
    revisions: Iterable[tuple[EntryRevision, str]],
) -> dict[int, list[tuple[EntryRevision, str]]]:
    grouped: dict[int, list[tuple[EntryRevision, str]]] = defaultdict(list)
    for revision, editor in revisions:
        grouped[revision.entry_id].append((revision, editor))
    return grouped


def _entry(entry: Entry, revisions: Iterable[tuple[EntryRevision, str]]) -> dict[str, object]:
    entry_data = entry_json(entry)
    del entry_data["story"]  # the file holds one story
    return {
        **entry_data,
        # A retraction hides the words from readers; the file keeps them, for an import.
        "body": entry.body,
        "html": entry.html,
        "revisions": [
            {
                "editor": editor,
                "created_at": iso(revision.created_at),
                "action": revision.action,
                "fields": revision.fields,
            }
            for revision, editor in revisions
        ],
    }


def _event(event: StoredEvent) -> dict[str, object]:
    return {
        "seq": event.seq,
        "type": event.type,
        "entry": event.entry_id,
        "created_at": iso(event.created_at),
        "data": event.data,
    }


async def _image(row: Media, store: MediaStore) -> dict[str, object]:
    data = await store.load(row.name)
    if data is None:
        raise NotFound(f"image {row.name} is recorded but its file is missing")
    return {
        "name": row.name,
        "content_type": row.content_type,
        "width": row.width,
        "height": row.height,
        "data": base64.b64encode(data).decode("ascii"),
    }
