"""Entry changes inside one transaction: create, edit (pin, key event, publish) and retract.

Each returns the entry and the seq of the event it appended, or None when readers see no
change (a draft being written, or a PATCH that changes nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from liveblog.db import writes
from liveblog.db.models import Entry, Story, User, utcnow
from liveblog.errors import Conflict, InvalidInput
from liveblog.render.markdown import images_without_alt, render_markdown
from liveblog.schemas import EntryCreate, EntryPatch
from liveblog.stories import events
from liveblog.stories.permissions import require_entry_editor
from liveblog.stories.sequence import (
    append_entry_event,
    append_published_entry_event,
    published_entry_event,
)
from liveblog.stories.versions import require_match

ChangedEntry = tuple[Entry, int | None]
_REVISED_FIELDS = ("title", "body", "shown_at", "pinned", "key_event", "headline", "draft")


@dataclass(frozen=True, slots=True)
class RenderedBody:
    """An entry's Markdown with its sanitized HTML, made before the write lock is taken."""

    html: str
    images_without_alt: int


def render_body(body: str) -> RenderedBody:
    """Render (and count undescribed images in) Markdown, outside any transaction."""
    return RenderedBody(render_markdown(body), images_without_alt(body))


def prepare_entry(data: EntryCreate) -> RenderedBody:
    """Check and render a new entry: everything that needs no database happens here."""
    rendered = render_body(data.body)
    if not data.draft:
        _require_alt_text(rendered.images_without_alt)
    return rendered


def create_entry(
    session: Session, user: User, story: Story, data: EntryCreate, rendered: RenderedBody
) -> ChangedEntry:
    """Add an entry; a published one (not a draft) appends entry.published. The story was read
    without its lock: appending the event checks again that it has not ended."""
    [entry] = _add_entries(session, [NewEntry(user, data, rendered)], story)
    if entry.draft:
        return entry, None
    seq = append_published_entry_event(session, story.id, entry)
    if seq is None:
        raise _ended(story)
    return entry, seq


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A new entry as posted, checked and rendered (see prepare_entry)."""

    user: User
    data: EntryCreate
    rendered: RenderedBody


def create_published_entries(
    session: Session, story: Story, posts: Sequence[NewEntry]
) -> list[ChangedEntry]:
    """create_entry for published entries posted together: their rows first, then the story's
    next seqs in one statement and their events in one more, so the story's lock is held for
    those and one commit, however many there are. A story that has ended refuses them all,
    with nothing written (the caller's transaction rolls back)."""
    entries = _add_entries(session, posts, story)
    last = writes.take_seqs_unless_ended(session, story.id, len(entries))
    if last is None:
        raise _ended(story)
    seqs = range(last - len(entries) + 1, last + 1)
    writes.add_events(
        session,
        [
            {**published_entry_event(story.id, entry), "seq": seq}
            for entry, seq in zip(entries, seqs, strict=True)
        ],
    )
    return list(zip(entries, seqs, strict=True))


def _add_entries(session: Session, posts: Sequence[NewEntry], story: Story) -> list[Entry]:
    """Insert the posts' entries and their first revisions, a statement for each kind."""
    if story.status == "ended":
        raise _ended(story)
    rows = [_entry_row(post, story) for post in posts]
    ids = writes.add_entries(session, rows)
    # Inserted as rows, not through the ORM's flush; each Entry is built only to describe
    # it (answer, revision, event) and never joins the session.
    entries = []
    for post, entry_id, row in zip(posts, ids, rows, strict=True):
        entry = Entry(id=entry_id, **row)
        set_committed_value(entry, "story", story)
        set_committed_value(entry, "author", post.user)
        entries.append(entry)
    writes.add_revisions(
        session,
        [
            _revision(entry, post.user, "create", _snapshot(entry, _REVISED_FIELDS))
            for post, entry in zip(posts, entries, strict=True)
        ],
    )
    return entries


def _entry_row(post: NewEntry, story: Story) -> dict[str, Any]:
    data, now = post.data, utcnow()
    return {
        "story_id": story.id,
        "author_id": post.user.id,
        "title": data.title,
        "body": data.body,
        "html": post.rendered.html,
        "shown_at": data.shown_at or now,
        "created_at": now,
        "updated_at": now,
        "pinned": data.pinned,
        "key_event": data.key_event,
        "headline": data.headline,
        "retracted": False,
        "retracted_reason": "",
        "draft": data.draft,
        "version": 1,
    }


def _ended(story: Story) -> Conflict:
    return Conflict(f"story {story.slug!r} has ended; reopen it to post")


def edit_entry(
    session: Session,
    user: User,
    story: Story,
    entry: Entry,
    data: EntryPatch,
    rendered: RenderedBody | None,
    if_match: str | None = None,
) -> ChangedEntry:
    """Apply the fields given; the event kind says what readers should do with it."""
    _require_changeable(user, entry, if_match, "is retracted and can no longer change")
    was_draft = entry.draft
    changed = _apply(entry, data.model_dump(exclude_unset=True))
    if not changed:
        return entry, None
    if rendered is not None and "body" in changed:
        entry.html = rendered.html
        if not entry.draft:
            _require_alt_text(rendered.images_without_alt)
    elif was_draft and not entry.draft:
        _require_alt_text(images_without_alt(entry.body))
    if was_draft and not entry.draft and "shown_at" not in changed:
        entry.shown_at = utcnow()  # a draft goes out at the time it is published
    entry.updated_at = utcnow()
    entry.version += 1
    _add_revision(session, entry, user, "edit", _snapshot(entry, changed))
    kind = _edit_kind(was_draft, entry, changed)
    if kind is None:
        return entry, None
    return entry, append_entry_event(session, story.id, kind, entry)


def retract_entry(
    session: Session,
    user: User,
    story: Story,
    entry: Entry,
    reason: str,
    if_match: str | None = None,
) -> ChangedEntry:
    """Withdraw an entry; it stays in the story, marked retracted with the reason."""
    _require_changeable(user, entry, if_match, "is already retracted")
    entry.retracted = True
    entry.retracted_reason = reason
    entry.updated_at = utcnow()
    entry.version += 1
    _add_revision(session, entry, user, "retract", {"reason": reason})
    if entry.draft:
        return entry, None
    return entry, append_entry_event(session, story.id, events.EntryRetracted, entry)


def _require_changeable(user: User, entry: Entry, if_match: str | None, retracted: str) -> None:
    # In this order: who may, then which version, then whether it still can change at all.
    require_entry_editor(user, entry)
    require_match(if_match, entry)
    if entry.retracted:
        raise Conflict(f"entry {entry.id} {retracted}")


def _require_alt_text(undescribed_images: int) -> None:
    # Readers who cannot see an image rely on its description; drafts may still lack one.
    if undescribed_images:
        raise InvalidInput(
            "every image needs alt text before it is published: describe it in the square "
            "brackets, ![like this](…)",
            field="body",
        )


def _apply(entry: Entry, fields: dict[str, object]) -> set[str]:
    changed = set()
    for name, value in fields.items():
        if value is None:
            # Silently skipping a null would answer 200 to a change that never happened.
            raise InvalidInput(f"{name} cannot be null", field=name)
        if getattr(entry, name) == value:
            continue
        setattr(entry, name, value)
        changed.add(name)
    return changed


def _edit_kind(was_draft: bool, entry: Entry, changed: set[str]) -> type[events.StoryEvent] | None:
    if entry.draft:
        return events.EntryHidden if not was_draft else None
    if was_draft:
        return events.EntryPublished
    if changed == {"pinned"}:
        return events.EntryPinned if entry.pinned else events.EntryUnpinned
    if changed <= {"key_event", "headline"} and "key_event" in changed:
        return events.KeyEventMarked if entry.key_event else events.KeyEventCleared
    return events.EntryUpdated


def _snapshot(entry: Entry, names: set[str] | tuple[str, ...]) -> dict[str, object]:
    values = {name: getattr(entry, name) for name in sorted(names)}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def _add_revision(
    session: Session, entry: Entry, user: User, action: str, fields: dict[str, object]
) -> None:
    writes.add_revisions(session, [_revision(entry, user, action, fields)])


def _revision(entry: Entry, user: User, action: str, fields: dict[str, object]) -> dict[str, Any]:
    return {
        "entry_id": entry.id,
        "editor_id": user.id,
        "action": action,
        "fields": fields,
        "created_at": utcnow(),
    }
