"""An ended story's archive: its pages, its entries' pages, its feeds, and the scripts, styles
and images they use, fetched from the site itself and linked to each other by relative URLs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from liveblog.archive.in_process import Answer, InProcessSite, running_site
from liveblog.archive.links import StoryFiles, links_in, relative, rewrite_page
from liveblog.errors import ConfigError, Conflict, NotFound
from liveblog.new_folder import new_folder, require_new_folder
from liveblog.settings import Settings


@dataclass(frozen=True)
class ArchiveReport:
    """What an archive holds, and the site URLs its pages link to that had no answer."""

    folder: Path
    files: int
    entry_pages: int
    missing: list[str]


async def archive_story(settings: Settings, slug: str, folder: Path) -> ArchiveReport:
    """Write the ended story slug as static files into the new folder folder. Its canonical
    links and feeds keep naming the story at settings.public_url, its permanent address."""
    if not settings.public_url:
        raise ConfigError(
            "an archive keeps naming the story's permanent address in its canonical links and "
            "feeds: pass --public-url https://… (or set LIVEBLOG_PUBLIC_URL)"
        )
    require_new_folder(folder)
    files = StoryFiles(slug, settings.public_url)
    async with running_site(settings) as site:
        await _require_ended(site, slug)
        fetched, missing = await _fetch_all(site, files)
    with new_folder(folder) as draft:
        for name, answer in fetched.items():
            path = draft / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_archived(name, answer, files, set(fetched)))
    entry_pages = sum(name.startswith("entries/") for name in fetched)
    return ArchiveReport(folder, len(fetched), entry_pages, missing)


async def _require_ended(site: InProcessSite, slug: str) -> None:
    answer = await site.get(f"/api/stories/{quote(slug, safe='')}")
    if answer.status == 404:
        raise NotFound(f"no story {slug!r} (draft stories are not archived)")
    status = json.loads(answer.body)["status"]
    if status != "ended":
        raise Conflict(f"story {slug!r} is {status}; end it first, so that its archive is final")


async def _fetch_all(site: InProcessSite, files: StoryFiles) -> tuple[dict[str, Answer], list[str]]:
    """Every archive file reachable from the story page, by name; the targets that failed."""
    fetched: dict[str, Answer] = {}
    missing: list[str] = []
    seen: set[str] = set()
    waiting = [files.story_path]
    while waiting:
        target = waiting.pop()
        name = files.file(target)
        if name is None or name in seen:
            continue
        seen.add(name)
        answer = await site.get(target)
        if answer.status != 200:
            missing.append(target)
            continue
        fetched[name] = answer
        if answer.is_html:
            found = (files.target(url) for url in links_in(answer.body.decode()))
            waiting += [target for target, _ in filter(None, found)]
    return fetched, sorted(missing)


def _archived(name: str, answer: Answer, files: StoryFiles, archived: set[str]) -> bytes:
    if not answer.is_html:
        return answer.body
    page = rewrite_page(answer.body.decode(), _relinker(name, files, archived))
    return page.encode()


def _relinker(page: str, files: StoryFiles, archived: set[str]) -> Callable[[str], str | None]:
    def relink(url: str) -> str | None:
        found = files.target(url)
        if found is None:
            return None  # another site's
        target, fragment = found
        name = files.file(target)
        suffix = f"#{fragment}" if fragment else ""
        if name in archived:
            return relative(page, name) + suffix
        return files.public_url + target + suffix  # a page of the site, not of the archive

    return relink
