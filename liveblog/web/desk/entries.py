"""Desk: one entry in the stream: edit in place (refused when it changed meanwhile), pin,
key event, publish a draft, retract, and its revision history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from liveblog.db import desk_reads
from liveblog.db.models import User
from liveblog.errors import NotFound, PreconditionFailed
from liveblog.schemas import EntryPatch, Retraction
from liveblog.stories.lookup import entry_in_story, story_by_slug
from liveblog.stories.versions import etag
from liveblog.web.api.common import path_id
from liveblog.web.desk.common import desk_user, render_desk
from liveblog.web.desk.forms import checked, posted_form, shown_at, text, validated
from liveblog.web.services import services

ENTRY = "/desk/stories/{slug}/entries/{entry_id:int}"
FLAGS = ("pinned", "key_event")


async def entry_fragment(request: Request) -> Response:
    """The entry as the desk's stream shows it (fetched when a live event names it)."""
    return await _render(request, await desk_user(request), "desk/_entry.html")


async def edit_form(request: Request) -> Response:
    """The entry's edit form, in place of the entry."""
    return await _render(request, await desk_user(request), "desk/_entry_edit.html")


async def save_edit(request: Request) -> Response:
    """Save an edit made to the version the form was loaded with; if someone changed the entry
    since, answer 412 with their text beside yours, changing nothing."""
    user, form = await posted_form(request)
    fields = {
        "body": text(form, "body"),
        "title": text(form, "title").strip(),
        "headline": text(form, "headline").strip(),
    }
    when = shown_at(form)
    if when is not None:
        fields["shown_at"] = when
    data = validated(EntryPatch, fields)
    if_match = etag(path_id(request, "entry_id"), int(text(form, "version") or 0))
    try:
        await _writer(request).edit_entry(user, *_ids(request), data, if_match)
    except PreconditionFailed:
        return await _render(request, user, "desk/_entry_conflict.html", 412, mine=fields)
    return await _render(request, user, "desk/_entry.html")


async def set_flag(request: Request) -> Response:
    """Pin or unpin, mark or clear a key event (with its headline), or publish a draft."""
    user, form = await posted_form(request)
    flag = request.path_params["flag"]
    if flag not in FLAGS:
        raise NotFound(f"no action {flag!r} for entries")
    fields: dict[str, object] = {flag: checked(form, "value")}
    if flag == "key_event" and fields[flag]:
        fields["headline"] = text(form, "headline").strip()
    await _writer(request).edit_entry(user, *_ids(request), validated(EntryPatch, fields))
    return await _render(request, user, "desk/_entry.html")


async def publish(request: Request) -> Response:
    """Publish a draft now."""
    user, _ = await posted_form(request)
    await _writer(request).edit_entry(user, *_ids(request), EntryPatch(draft=False))
    return await _render(request, user, "desk/_entry.html")


async def retract(request: Request) -> Response:
    """Retract the entry with a reason; readers see that it was withdrawn, and why."""
    user, form = await posted_form(request)
    reason = validated(Retraction, {"reason": text(form, "reason").strip()}).reason
    await _writer(request).retract_entry(user, *_ids(request), reason)
    return await _render(request, user, "desk/_entry.html")


async def history(request: Request) -> Response:
    """Who changed the entry, what and when, with the text as each revision left it."""
    user = await desk_user(request)
    async with services(request).db.reading() as session:
        story = await story_by_slug(session, request.path_params["slug"])
        entry = await entry_in_story(session, story, path_id(request, "entry_id"))
        rows = await desk_reads.revisions(session, entry.id)
    return render_desk(
        request, "desk/_revisions.html", user, story=story, entry=entry, revisions=_fold(rows)
    )


def _fold(rows) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    # A revision stores only the fields it changed; carry the others forward so each one
    # shows the whole text as it stood.
    state: dict[str, object] = {}
    folded = []
    for revision, editor in rows:
        state.update(revision.fields)
        folded.append(
            {
                "editor": editor,
                "at": revision.created_at,
                "action": revision.action,
                "changed": sorted(revision.fields),
                "body": state.get("body", ""),
                "reason": revision.fields.get("reason", ""),
            }
        )
    return folded


def _ids(request: Request) -> tuple[str, int]:
    return request.path_params["slug"], path_id(request, "entry_id")


def _writer(request: Request):  # type: ignore[no-untyped-def]
    return services(request).writer


async def _render(
    request: Request, user: User, template: str, status: int = 200, **context: object
) -> Response:
    slug, entry_id = _ids(request)
    return await render_entry(request, user, slug, entry_id, template, status, **context)


async def render_entry(
    request: Request,
    user: User,
    slug: str,
    entry_id: int,
    template: str = "desk/_entry.html",
    status: int = 200,
    **context: object,
) -> Response:
    """An entry as it is now, rendered with a desk template (its stream item by default)."""
    async with services(request).db.reading() as session:
        story = await story_by_slug(session, slug)
        entry = await entry_in_story(session, story, entry_id)
    return render_desk(request, template, user, status, story=story, entry=entry, **context)


ROUTES: list[BaseRoute] = [
    Route(ENTRY, entry_fragment),
    Route(ENTRY, save_edit, methods=["POST"]),
    Route(ENTRY + "/edit", edit_form),
    Route(ENTRY + "/publish", publish, methods=["POST"]),
    Route(ENTRY + "/retract", retract, methods=["POST"]),
    Route(ENTRY + "/history", history),
    Route(ENTRY + "/{flag:str}", set_flag, methods=["POST"]),
]
