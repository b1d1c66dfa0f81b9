"""Links of an archived story: which site URLs become which files, and HTML pages rewritten so
that every link between archived files is relative (the folder can be served anywhere).

Pages are our templates' output and sanitized entry HTML: a `<` in text is always escaped
there, so a start tag is found by a pattern that knows only about quoted attribute values."""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from liveblog.media.images import is_media_name

START_TAG = re.compile(r"""<[a-zA-Z][^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")
LINK_ATTRIBUTE = re.compile(r'(?<=\s)(?:href|src)="([^"]*)"')
# htmx would fetch the live site's fragments; the plain links beside them lead to the files.
HTMX_ATTRIBUTE = re.compile(r'\s+hx-[a-z-]+="[^"]*"')
STORY_ARTICLE = re.compile(r"^<article\b(?=[^>]*\sdata-slug=)(?![^>]*\sdata-live=)")
CANONICAL = re.compile(r'\srel="canonical"')
# Discovery of an oEmbed endpoint, which no static folder has.
OEMBED_LINK = re.compile(r'^<link\b[^>]*\stype="application/json\+oembed"')


class StoryFiles:
    """The files of one story's archive, and the site URLs each one holds."""

    def __init__(self, slug: str, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self.story_path = f"/stories/{slug}"

    def target(self, url: str) -> tuple[str, str] | None:
        """(path and query, fragment) of a URL of this site; None for another site's."""
        if url == self.public_url or url.startswith(self.public_url + "/"):
            url = url[len(self.public_url) :] or "/"
        if not url.startswith("/") or url.startswith("//"):
            return None
        parts = urlsplit(url)
        # The site's front page is not archived: its link leads to the story instead.
        path = self.story_path if parts.path == "/" else parts.path
        return path + (f"?{parts.query}" if parts.query else ""), parts.fragment

    def file(self, target: str) -> str | None:
        """The archive file (a path relative to the folder) of a site target, if it has one."""
        path, _, query = target.partition("?")
        if path == self.story_path:
            return self._story_page(query)
        if query or not _plain(path):
            return None
        rest = path.removeprefix(self.story_path + "/")
        if rest.startswith("entries/") and rest.removeprefix("entries/").isdigit():
            return f"{rest}.html"
        if rest in ("feed.atom", "feed.json"):
            return rest
        if path.startswith("/static/"):
            return path[1:]
        if path.startswith("/media/") and is_media_name(path.removeprefix("/media/")):
            return path[1:]
        return None

    def _story_page(self, query: str) -> str | None:
        if not query:
            return "index.html"
        before = parse_qs(query).get("before", [])
        if len(before) == 1 and before[0].isdigit() and query == f"before={before[0]}":
            return f"older-{before[0]}.html"
        return None


def _plain(path: str) -> bool:
    # No way out of the archive's folder, whatever an entry links to.
    return all(segment not in ("", ".", "..") for segment in path[1:].split("/"))


def links_in(page: str) -> Iterator[str]:
    """The URLs of the href and src attributes of an HTML page, unescaped."""
    for tag in START_TAG.finditer(page):
        for link in LINK_ATTRIBUTE.finditer(tag.group()):
            yield html.unescape(link.group(1))


def rewrite_page(page: str, relink: Callable[[str], str | None]) -> str:
    """The page with each link relink changes (it returns None to keep one), without htmx
    attributes or oEmbed discovery, and with the story's article marked not live (live.js
    then stays idle)."""

    def tag(match: re.Match[str]) -> str:
        if OEMBED_LINK.match(match.group()):
            return ""
        text = HTMX_ATTRIBUTE.sub("", match.group())
        text = STORY_ARTICLE.sub('<article data-live="off"', text)
        if CANONICAL.search(text):
            return text  # the story's permanent address, as it was published
        return LINK_ATTRIBUTE.sub(lambda link: _relinked(link, relink), text)

    return START_TAG.sub(tag, page)


def _relinked(link: re.Match[str], relink: Callable[[str], str | None]) -> str:
    url = relink(html.unescape(link.group(1)))
    if url is None:
        return link.group()
    name = link.group().partition("=")[0]
    return f'{name}="{html.escape(url)}"'


def relative(from_file: str, to_file: str) -> str:
    """The relative URL of to_file on the page from_file (both relative to the folder)."""
    return posixpath.relpath(to_file, posixpath.dirname(from_file) or ".")
