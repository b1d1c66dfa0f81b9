"""/media/{name}: uploaded images, served from whichever store keeps them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from liveblog.errors import NotFound
from liveblog.media.images import CONTENT_TYPES, is_media_name
from liveblog.web.services import services

# A name is its content's hash: what is behind it never changes, so caches may keep it forever.
CACHE_FOREVER = "public, max-age=31536000, immutable"


async def media_file(request: Request) -> Response:
    """An uploaded image."""
    name = request.path_params["name"]
    if not is_media_name(name):
        raise NotFound("no such image")
    headers = _headers(name)
    if _matches(request.headers.get("if-none-match", ""), headers["ETag"]):
        # The ETag is the hash in the name: a client holding it holds these very bytes.
        return Response(status_code=304, headers=headers)
    data = await services(request).media.load(name)
    if data is None:
        raise NotFound("no such image")
    content_type = CONTENT_TYPES[name.rpartition(".")[2]]
    return Response(data, media_type=content_type, headers=headers)


def _headers(name: str) -> dict[str, str]:
    return {
        "ETag": f'"{name.partition(".")[0]}"',
        "Cache-Control": CACHE_FOREVER,
        # Browsers must take it as the image type we checked, never guess another.
        "X-Content-Type-Options": "nosniff",
    }


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names etag (weak or strong, alone or in a list)."""
    given = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in given


ROUTES = [Route("/media/{name}", media_file, methods=["GET"], name="media")]
