"""Embeds on other sites: /stories/{slug}/embed (the iframe page) and /stories/{slug}/embed.json
(the same stream for static/embed.js, which shows it in a shadow root on the host page).

Only the iframe page may be framed by other sites; it says so in its own
Content-Security-Policy, which the security-headers middleware then leaves alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from liveblog.db import reads
from liveblog.db.models import Entry, Story
from liveblog.stories.serialize import entry_json, story_json
from liveblog.stories.visibility import visible_story
from liveblog.web.http_cache import answer_304, etag_of, not_modified, validator_headers
from liveblog.web.public_urls import absolute, site_url, story_path
from liveblog.web.security_headers import page_policy
from liveblog.web.services import services

THEMES = ("light", "dark", "auto")
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
FRAMEABLE_POLICY = page_policy(frame_ancestors="*")


@dataclass(frozen=True)
class EmbedOptions:
    """What the embedding site chose: theme, how many entries, whether to show the title."""

    theme: str
    limit: int
    show_title: bool

    @classmethod
    def of(cls, request: Request) -> EmbedOptions:
        """Options from the query; anything unusable falls back to the default."""
        query = request.query_params
        theme = query.get("theme", "light")
        return cls(
            theme=theme if theme in THEMES else "light",
            limit=_limit(query.get("limit", "")),
            show_title=query.get("title", "1") not in ("0", "false", "no"),
        )


Builder = Callable[[Request, Story, Sequence[Entry], EmbedOptions], Response]


async def embed_page(request: Request) -> Response:
    """The story's live stream for an iframe on another site."""
    return await _cached(request, "page", _page)


async def embed_json(request: Request) -> Response:
    """The story and its stream's HTML, for embed.js on another site."""
    return await _cached(request, "json", _json)


async def _cached(request: Request, kind: str, build: Builder) -> Response:
    options = EmbedOptions.of(request)
    async with services(request).db.reading() as session:
        story = await visible_story(session, request.path_params["slug"], None)
        changed = await reads.last_change(session, story)
        etag = etag_of("embed", kind, story.slug, story.seq, options, site_url(request))
        headers = validator_headers(etag, changed)
        if not_modified(request, etag, changed):
            return answer_304(headers)
        # page_entries reads one row more, to tell the page whether older ones exist.
        entries = (await reads.page_entries(session, story, options.limit))[: options.limit]
    response = build(request, story, entries, options)
    response.headers.update(headers)
    return response


def _page(
    request: Request, story: Story, entries: Sequence[Entry], options: EmbedOptions
) -> Response:
    html = _render(request, "embed/story.html", story, entries, options)
    return HTMLResponse(html, headers={"Content-Security-Policy": FRAMEABLE_POLICY})


def _json(
    request: Request, story: Story, entries: Sequence[Entry], options: EmbedOptions
) -> Response:
    html = _render(request, "embed/_stream.html", story, entries, options)
    return JSONResponse({"story": story_json(story), "html": html})


def _render(
    request: Request, template: str, story: Story, entries: Sequence[Entry], options: EmbedOptions
) -> str:
    return (
        services(request)
        .templates.get_template(template)
        .render(
            story=story_json(story),
            entries=[entry_json(entry) for entry in entries],
            story_url=absolute(request, story_path(story.slug)),
            theme=options.theme,
            limit=options.limit,
            show_title=options.show_title,
        )
    )


def _limit(raw: str) -> int:
    if not raw.isdigit():
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, int(raw)))


ROUTES: list[BaseRoute] = [
    Route("/stories/{slug}/embed", embed_page, name="embed_page"),
    Route("/stories/{slug}/embed.json", embed_json, name="embed_json"),
]
