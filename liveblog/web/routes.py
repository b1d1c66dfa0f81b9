"""The whole URL map in one place."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from liveblog.render.templates import asset_dir
from liveblog.web import embeds, entry_page, feeds, health, live, oembed, pages, sign_in
from liveblog.web import media as media_files
from liveblog.web.api import entries, events, media, stories, users
from liveblog.web.api.common import Operation
from liveblog.web.api.openapi import openapi_endpoint
from liveblog.web.desk import desk_routes

# The live WebSocket is served by web/live_socket.py ahead of the middleware (see app.py),
# so a reader's connection carries nothing it does not need.
LIVE_SOCKET = "/stories/{slug}/live"

API: tuple[Operation, ...] = (
    *stories.OPERATIONS,
    *entries.OPERATIONS,
    *events.OPERATIONS,
    *users.OPERATIONS,
    *media.OPERATIONS,
)


def _api_routes() -> list[BaseRoute]:
    by_path: dict[str, list[Operation]] = {}
    for op in API:
        by_path.setdefault(op.path, []).append(op)
    routes: list[BaseRoute] = []
    for path, ops in by_path.items():
        route_path = path.replace("{entry_id}", "{entry_id:int}")
        routes.append(Route(route_path, _dispatch(ops), methods=[op.method for op in ops]))
    return routes


def _dispatch(ops: list[Operation]):  # type: ignore[no-untyped-def]
    handlers = {op.method: op.handler for op in ops}
    if "GET" in handlers:
        handlers["HEAD"] = handlers["GET"]

    async def endpoint(request):  # type: ignore[no-untyped-def]
        return await handlers[request.method](request)

    return endpoint


def build_routes() -> list[BaseRoute]:
    """Every route of the application."""
    return [
        *pages.ROUTES,
        *health.ROUTES,
        *sign_in.ROUTES,
        *desk_routes(),
        *live.ROUTES,
        *media_files.ROUTES,
        *entry_page.ROUTES,
        *embeds.ROUTES,
        *feeds.ROUTES,
        *oembed.ROUTES,
        Route("/api/openapi.json", openapi_endpoint(API), name="openapi"),
        *_api_routes(),
        Mount("/static", StaticFiles(directory=asset_dir("static")), name="static"),
    ]
