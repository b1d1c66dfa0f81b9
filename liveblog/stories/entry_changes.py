"""Entry changes inside one transaction: create, edit (pin, key event, publish) and retract.

Each returns the entry and the seq of the event it appended, or None when readers see no
change (a draft being written, or a PATCH that changes nothing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from liveblog.db.models import Entry, EntryRevision, Story, User, utcnow
from liveblog.errors import Conflict, InvalidInput
from liveblog.render.markdown import images_without_alt, render_markdown
from liveblog.schemas import EntryCreate, EntryPatch
from liveblog.stories import events
from liveblog.stories.permissions import require_entry_editor
from liveblog.stories.sequence import append_event
from liveblog.stories.versions import require_match

ChangedEntry = tuple[Entry, int | None]
_REVISED_FIELDS = ("title", "body", "shown_at", "pinned", "key_event", "headline", "draft")


async def create_entry(
    session: AsyncSession, user: User, story: Story, data: EntryCreate
) -> ChangedEntry:
    """Add an entry; a published one (not a draft) appends entry.published."""
    if story.status == "ended":
        raise Conflict(f"story {story.slug!r} has ended; reopen it to post")
    now = utcnow()
    entry = Entry(
        story=story,
        author_id=user.id,
        title=data.title,
        body=data.body,
        html=render_markdown(data.body),
        shown_at=data.shown_at or now,
        created_at=now,
        updated_at=now,
        pinned=data.pinned,
        key_event=data.key_event,
        headline=data.headline,
        retracted=False,
        retracted_reason="",
        draft=data.draft,
        version=1,
    )
    _require_alt_text(entry)
    # The user was loaded by another session: link it without attaching it to this one.
    set_committed_value(entry, "author", user)
    session.add(entry)
    await session.flush()
    _add_revision(session, entry, user, "create", _snapshot(entry, _REVISED_FIELDS))
    if entry.draft:
        return entry, None
    return entry, await append_event(session, story, events.EntryPublished, entry)


async def edit_entry(
    session: AsyncSession,
    user: User,
    story: Story,
    entry: Entry,
    data: EntryPatch,
    if_match: str | None = None,
) -> ChangedEntry:
    """Apply the fields given; the event kind says what readers should do with it."""
    require_entry_editor(user, entry)
    require_match(if_match, entry)
    if entry.retracted:
        raise Conflict(f"entry {entry.id} is retracted and can no longer change")
    was_draft = entry.draft
    changed = _apply(entry, data.model_dump(exclude_unset=True))
    if not changed:
        return entry, None
    if "body" in changed or was_draft:
        _require_alt_text(entry)
    if was_draft and not entry.draft and "shown_at" not in changed:
        entry.shown_at = utcnow()  # a draft goes out at the time it is published
    entry.updated_at = utcnow()
    entry.version += 1
    _add_revision(session, entry, user, "edit", _snapshot(entry, changed))
    kind = _edit_kind(was_draft, entry, changed)
    if kind is None:
        return entry, None
    return entry, await append_event(session, story, kind, entry)


async def retract_entry(
    session: AsyncSession,
    user: User,
    story: Story,
    entry: Entry,
    reason: str,
    if_match: str | None = None,
) -> ChangedEntry:
    """Withdraw an entry; it stays in the story, marked retracted with the reason."""
    require_entry_editor(user, entry)
    require_match(if_match, entry)
    if entry.retracted:
        raise Conflict(f"entry {entry.id} is already retracted")
    entry.retracted = True
    entry.retracted_reason = reason
    entry.updated_at = utcnow()
    entry.version += 1
    _add_revision(session, entry, user, "retract", {"reason": reason})
    if entry.draft:
        return entry, None
    return entry, await append_event(session, story, events.EntryRetracted, entry)


def _require_alt_text(entry: Entry) -> None:
    # Readers who cannot see an image rely on its description; drafts may still lack one.
    if not entry.draft and images_without_alt(entry.body):
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
    if "body" in changed:
        entry.html = render_markdown(entry.body)
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
    session: AsyncSession, entry: Entry, user: User, action: str, fields: dict[str, object]
) -> None:
    session.add(
        EntryRevision(
            entry_id=entry.id, editor_id=user.id, action=action, fields=fields, created_at=utcnow()
        )
    )
