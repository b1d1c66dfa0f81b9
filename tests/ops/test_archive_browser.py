"""`liveblog archive`: an ended story as static files. With the liveblog server stopped, a plain
static server (Python's http.server) serves the folder, and in Chromium its pages show every
entry, page through older ones, open entry pages and images, with no failed request, no
console error and no attempt at a live connection; every link between its files resolves."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser import watch
from tests.ops.stories import api_client, post, sqlite_deployment, write_story
from tests.support import STARTUP_DEADLINE, Deployment, LiveServer, free_port, stop_process

# Among the longest modules: started first (tests/conftest.py).
pytestmark = pytest.mark.slow

PUBLIC_URL = "https://news.example.com"
# With the story's six other entries (one a draft), more than a page of 50 is published.
PLAIN_ENTRIES = 50
PUBLISHED = PLAIN_ENTRIES + 5


@dataclass
class Archive:
    deployment: Deployment
    folder: Path
    url: str
    slug: str
    live_slug: str


class StaticServer:
    """`python -m http.server` serving a folder on a free port."""

    def __init__(self, folder: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = urlsplit(self.url).port
        command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--directory", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the static server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """An ended story archived, served by a static server; the liveblog server is stopped."""
    deployment = sqlite_deployment(tmp_path_factory.mktemp("site") / "data")
    folder = deployment.folder
    server = LiveServer(deployment).start()
    try:
        _, token = deployment.add_user("editor")
        with api_client(server.url, token) as http:
            slug = write_story(http, "Archive me", plain_entries=PLAIN_ENTRIES)
            live_slug = write_story(http, "Still going", plain_entries=0, end=False)
            post(http, live_slug, body="More to come.")
    finally:
        server.stop()
    result = deployment.cli("archive", slug, str(folder / "archive"), "--public-url", PUBLIC_URL)
    # Entry pages, two pages of the story, two feeds, six scripts, styles and icons, an image.
    files = PUBLISHED + 2 + 2 + 6 + 1
    assert result.stdout == (
        f"archived story {slug}: {files} files ({PUBLISHED} entry pages) "
        f"into {folder / 'archive'}\n"
    ), result.stdout
    static = StaticServer(folder / "archive")
    yield Archive(deployment, folder / "archive", static.url, slug, live_slug)
    static.stop()


def test_the_archive_works_in_a_browser_without_the_liveblog_server(
    archive: Archive, page: Page
) -> None:
    log = watch(page, archive.url)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else 0)

    # A request the browser drops because its page was left (net::ERR_ABORTED: a favicon still
    # loading when a link is clicked, on a loaded machine) says nothing of the archive; a missing
    # file is a 404 above, and test_every_link_between_archived_files_resolves fetches each.
    def request_failed(request: Request) -> None:
        if request.failure != "net::ERR_ABORTED":
            failed.append(f"failed {request.url}: {request.failure}")

    page.on("requestfailed", request_failed)
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))

    page.goto(archive.url + "/", wait_until="networkidle")
    expect(page.locator("#live-status")).to_have_text("This story has ended")
    expect(page.locator("#entries > li")).to_have_count(50)
    expect(page.locator("#entries > li").first).to_contain_text("Follow the official advice")

    page.get_by_role("link", name="Load older updates").click()
    expect(page.locator("#entries > li")).to_have_count(PUBLISHED - 50)
    assert "/older-" in page.url
    expect(page.locator("#entries")).to_contain_text("The scene this morning.")
    assert images_shown(page) == [True]
    page.locator("li", has_text="The scene this morning.").locator("a.permalink").click()
    expect(page.locator("article.entry-page")).to_contain_text("The scene this morning.")
    assert "/entries/" in page.url and images_shown(page) == [True]
    page.get_by_role("link", name="Follow the whole story").click()
    expect(page.locator("#entries > li")).to_have_count(50)

    assert failed == [] and log.blocked == [] and sockets == []
    assert log.console_errors() == [] and log.errors == []


def images_shown(page: Page) -> list[bool]:
    """For each image of the page, whether it loaded and shows (once each has loaded or failed:
    a page whose text is there may still be fetching its images)."""
    page.wait_for_function("[...document.images].every(i => i.complete)")
    return page.evaluate("[...document.images].map(i => i.naturalWidth > 0)")


class Links(HTMLParser):
    """The href and src values of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("href", "src") and value]


def test_every_link_between_archived_files_resolves(archive: Archive) -> None:
    pages = [p.relative_to(archive.folder).as_posix() for p in archive.folder.rglob("*.html")]
    assert len(pages) == PUBLISHED + 2  # the story, its older page, and one page per entry
    outside: set[str] = set()
    with httpx.Client(timeout=10) as http:
        for name in pages:
            page_url = f"{archive.url}/{name}"
            parser = Links()
            parser.feed(http.get(page_url).text)
            for link in parser.found:
                url = urljoin(page_url, link)
                if not url.startswith(archive.url):
                    outside.add(url.split("/stories/")[0])
                    continue
                assert not link.startswith(("/", "http")), f"{name}: {link} is not relative"
                answer = http.get(url.partition("#")[0])
                assert answer.status_code == 200, f"{name}: {link} answers {answer.status_code}"
    # The canonical links name the story's permanent address; the rest is an entry's link.
    assert outside == {PUBLIC_URL, "https://example.org/a"}


def test_the_feeds_are_archived_and_name_the_story_at_its_address(archive: Archive) -> None:
    feed = feedparser.parse(httpx.get(f"{archive.url}/feed.atom").text)
    assert len(feed.entries) == 50  # the latest, as the site's feed has them
    assert feed.entries[0].link.startswith(f"{PUBLIC_URL}/stories/{archive.slug}/entries/")
    items = httpx.get(f"{archive.url}/feed.json").json()["items"]
    assert [i["url"] for i in items] == [e.link for e in feed.entries]


@pytest.mark.parametrize(
    ("which", "flags", "words"),
    [
        ("live", ("--public-url", PUBLIC_URL), "is live; end it first"),
        ("ended", (), "pass --public-url https://"),
        ("again", ("--public-url", PUBLIC_URL), "already exists; name a new (or empty) folder"),
    ],
)
def test_the_archive_is_refused_in_one_line(
    archive: Archive, tmp_path: Path, which: str, flags: tuple[str, ...], words: str
) -> None:
    slug = archive.live_slug if which == "live" else archive.slug
    folder = archive.folder if which == "again" else tmp_path / "out"
    result = archive.deployment.cli("archive", slug, str(folder), *flags, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
