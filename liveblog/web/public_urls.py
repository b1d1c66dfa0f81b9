"""Absolute URLs as readers see them."""

from __future__ import annotations

from starlette.requests import Request

from liveblog.web.services import services


def site_url(request: Request) -> str:
    """The site's address without a trailing slash: LIVEBLOG_PUBLIC_URL, else the request's."""
    configured = services(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def absolute(request: Request, path: str) -> str:
    """path ("/stories/x") as an absolute URL."""
    return site_url(request) + path


def story_path(slug: str) -> str:
    """The path of a story's page."""
    return f"/stories/{slug}"


def entry_path(slug: str, entry_id: int) -> str:
    """The path of an entry's permalink page."""
    return f"/stories/{slug}/entries/{entry_id}"
