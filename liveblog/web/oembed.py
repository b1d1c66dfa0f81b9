"""/oembed?url=…&format=json: a `rich` answer with the iframe snippet for a story or entry URL.

Errors are JSON like the API's: 400 for a missing or bad parameter, 404 for a URL that is
not a story or entry of this site (or not public), 501 for any format but json."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from liveblog.errors import LiveblogError, NotFound
from liveblog.stories.lookup import entry_in_story
from liveblog.stories.visibility import visible_story
from liveblog.web.api.common import MAX_ID
from liveblog.web.feed_content import SITE_NAME, entry_title
from liveblog.web.http_cache import PUBLIC_CACHE
from liveblog.web.public_urls import absolute, site_url
from liveblog.web.services import services

DEFAULT_WIDTH = 600
DEFAULT_HEIGHT = 720
_PAGE = re.compile(r"^/stories/(?P<slug>[^/]+)(?:/entries/(?P<entry>\d+)|/embed)?/?$")


class FormatNotImplemented(LiveblogError):
    """oEmbed's answer to a format it does not offer (only json here)."""

    status = 501
    code = "not_implemented"


@dataclass(frozen=True)
class Target:
    """What an oEmbed URL names: a story, and maybe one of its entries."""

    slug: str
    entry_id: int | None


async def oembed(request: Request) -> Response:
    """The oEmbed answer for ?url= (a story or entry of this site)."""
    try:
        answer = await _answer(request)
    except LiveblogError as error:
        return JSONResponse(error.to_json(), status_code=error.status)
    return JSONResponse(answer, headers={"Cache-Control": PUBLIC_CACHE})


async def _answer(request: Request) -> dict[str, object]:
    query = request.query_params
    url = query.get("url", "").strip()
    if not url:
        raise LiveblogError("url is required: the address of a story or entry", field="url")
    if query.get("format", "json") != "json":
        raise FormatNotImplemented("only format=json is supported", field="format")
    width = _bound(query.get("maxwidth"), DEFAULT_WIDTH, "maxwidth")
    height = _bound(query.get("maxheight"), DEFAULT_HEIGHT, "maxheight")
    target = _target(request, url)
    title = await _title(request, target)
    return {
        "type": "rich",
        "version": "1.0",
        "title": title,
        "provider_name": SITE_NAME,
        "provider_url": absolute(request, "/"),
        "html": iframe_snippet(request, target.slug, title, width, height),
        "width": width,
        "height": height,
    }


def _bound(raw: str | None, default: int, name: str) -> int:
    """The default size, or the consumer's maximum when smaller."""
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise LiveblogError(f"{name} must be a whole number above 0", field=name)
    return min(default, int(raw))


def _target(request: Request, url: str) -> Target:
    """The story (and entry) a URL of this site names, or NotFound."""
    parts = urlsplit(url)
    ours = urlsplit(site_url(request))
    match = _PAGE.match(parts.path)
    same_site = parts.scheme in ("http", "https") and parts.netloc.lower() == ours.netloc.lower()
    if not same_site or match is None:
        raise NotFound("this URL is not a story or entry of this site", field="url")
    entry = match["entry"]
    if entry is not None and int(entry) > MAX_ID:
        raise NotFound("no such entry", field="url")
    return Target(match["slug"], int(entry) if entry is not None else None)


async def _title(request: Request, target: Target) -> str:
    """The title of the story, or of the entry in its story; NotFound unless public."""
    async with services(request).db.reading() as session:
        story = await visible_story(session, target.slug, None)
        if target.entry_id is None:
            return story.title
        entry = await entry_in_story(session, story, target.entry_id)
    if entry.draft:
        raise NotFound("no such entry", field="url")
    return f"{entry_title(entry)} · {story.title}"


def iframe_snippet(request: Request, slug: str, title: str, width: int, height: int) -> str:
    """The HTML another site pastes: our iframe, and embed.js to size it to its content."""
    template = services(request).templates.get_template("embed/_snippet.html")
    return template.render(
        src=absolute(request, f"/stories/{slug}/embed"),
        script=absolute(request, "/static/embed.js"),
        title=title,
        width=width,
        height=height,
    ).strip()


ROUTES: list[BaseRoute] = [Route("/oembed", oembed, name="oembed")]
