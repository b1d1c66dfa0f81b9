"""The reporters' desk: server-rendered pages under /desk, made live with htmx."""

from __future__ import annotations

from starlette.routing import BaseRoute

from liveblog.web.desk import composer, entries, live, stories, users


def desk_routes() -> list[BaseRoute]:
    """Every route of the desk."""
    return [*stories.ROUTES, *composer.ROUTES, *entries.ROUTES, *live.ROUTES, *users.ROUTES]
