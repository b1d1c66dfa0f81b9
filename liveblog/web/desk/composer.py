"""Desk: a story's page with the composer, its live preview, and publishing or saving a draft."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from liveblog.db import desk_reads
from liveblog.render.markdown import render_markdown
from liveblog.schemas import EntryCreate
from liveblog.stories.idempotency import IdempotentRequest
from liveblog.stories.lookup import story_by_slug
from liveblog.web.desk.common import desk_user, render_desk
from liveblog.web.desk.entries import render_entry
from liveblog.web.desk.forms import checked, posted_form, shown_at, text, validated
from liveblog.web.desk.stories import STATUS_ACTIONS
from liveblog.web.services import services

DESK_ENTRIES = 200


async def story_desk(request: Request) -> Response:
    """The story's desk: header, composer with preview, who else is here, and every entry."""
    user = await desk_user(request)
    async with services(request).db.reading() as session:
        story = await story_by_slug(session, request.path_params["slug"])
        entries = await desk_reads.desk_entries(session, story, DESK_ENTRIES)
    return render_desk(
        request,
        "desk/story.html",
        user,
        story=story,
        entries=entries,
        readers=services(request).hub.readers(story.id),
        actions=STATUS_ACTIONS,
    )


async def preview(request: Request) -> Response:
    """The composer's Markdown rendered by the same code (and sanitizer) as published entries."""
    _, form = await posted_form(request)
    return HTMLResponse(render_markdown(entry_markdown(form)) if text(form, "body") else "")


async def create_entry(request: Request) -> Response:
    """Publish the composer's entry, or save it as a draft; a retry with the same
    Idempotency-Key (the browser keeps one per attempt) posts once."""
    user, form = await posted_form(request)
    data = validated(EntryCreate, _entry_fields(form))
    slug = request.path_params["slug"]
    idempotent = IdempotentRequest.from_request(
        request.headers.get("idempotency-key"),
        "POST",
        request.url.path,
        data.model_dump_json().encode(),
    )
    answer = await services(request).writer.create_entry(user, slug, data, idempotent)
    entry_id = int(answer.body["id"])  # type: ignore[call-overload]
    return await render_entry(request, user, slug, entry_id, status=201)


def entry_markdown(form: FormData) -> str:
    """The entry's Markdown: the text as typed, or made a quote with its attribution."""
    body = text(form, "body")
    if not checked(form, "quote") or not body.strip():
        return body
    quoted = "\n".join(f"> {line}" if line else ">" for line in body.strip().split("\n"))
    who = text(form, "attribution").strip()
    return f"{quoted}\n>\n> — {who}" if who else quoted


def _entry_fields(form: FormData) -> dict[str, object]:
    key_event = checked(form, "key_event")
    return {
        "body": entry_markdown(form),
        "title": text(form, "title").strip(),
        "shown_at": shown_at(form),
        "pinned": checked(form, "pinned"),
        "key_event": key_event,
        "headline": text(form, "headline").strip() if key_event else "",
        "draft": text(form, "action") == "draft",
    }


ROUTES: list[BaseRoute] = [
    Route("/desk/stories/{slug}", story_desk, name="story_desk"),
    Route("/desk/stories/{slug}/entries", create_entry, methods=["POST"]),
    Route("/desk/preview", preview, methods=["POST"]),
]
