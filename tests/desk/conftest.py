"""Desk browser fixtures: one Chromium per module, a signed-in browser context per user, and
screenshots kept as test artifacts.

Users are made through tests/support.py, which works while a browser is
open: Playwright's sync API marks an asyncio loop as running on the test's own thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser import PageLog, launch_browser, save_screenshot, watch
from tests.support import LiveServer

PASSWORD = "correct horse battery"  # what Deployment.add_user gives every user
DEADLINE_MS = 20_000
EXPECT_DEFAULT_MS = 5_000  # Playwright's own
WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
REPO = Path(__file__).resolve().parents[2]


def sign_in(page: Page, server_url: str, name: str, password: str = PASSWORD) -> None:
    """Sign in through the desk's form as a person would, and land on the desk."""
    page.goto(f"{server_url}/desk/sign-in")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if "/desk/sign-in" in page.url:
        error = page.locator("[role=alert]")
        reason = error.inner_text() if error.count() else page.content()[:500]
        raise AssertionError(f"{name} could not sign in: {reason}")


@dataclass
class DeskUser:
    """A user of the test's own, with an API client on their token."""

    name: str
    role: str
    api: httpx.Client


@dataclass
class Desk:
    """A user signed in to the desk in a browser context of their own."""

    user: DeskUser
    context: BrowserContext
    page: Page
    log: PageLog

    def open_story(self, server_url: str, slug: str) -> Page:
        """The story's desk, once its live connection is up."""
        self.page.goto(f"{server_url}/desk/stories/{slug}")
        expect(self.page.locator("#desk-connection")).to_have_attribute(
            "data-state", "live", timeout=DEADLINE_MS
        )
        return self.page


@pytest.fixture(scope="module")
def desk_browser(server: LiveServer) -> Iterator[Browser]:
    """One headless Chromium for a module's tests; each user gets a context of their own.
    Opened after the server and its database, closed before them (dropping a PostgreSQL
    database needs asyncio.run, which fails while Playwright runs). Meanwhile `expect` waits
    up to DEADLINE_MS: tests wait for conditions, not speeds."""
    expect.set_options(timeout=DEADLINE_MS)
    try:
        with launch_browser() as chromium:
            yield chromium
    finally:
        expect.set_options(timeout=EXPECT_DEFAULT_MS)


@pytest.fixture
def make_user(server: LiveServer) -> Iterator[Callable[[str], DeskUser]]:
    """Make a new user with a role (password PASSWORD) and an API client of theirs."""
    clients: list[httpx.Client] = []

    def make(role: str) -> DeskUser:
        name, token = server.deployment.add_user(role)
        headers = {"Authorization": f"Bearer {token}"}
        clients.append(httpx.Client(base_url=server.url, headers=headers, timeout=30))
        return DeskUser(name, role, clients[-1])

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def new_context(
    desk_browser: Browser, server: LiveServer
) -> Iterator[Callable[..., tuple[Page, PageLog]]]:
    """Open a fresh browser context (no cookies, no storage) and a watched page in it."""
    contexts: list[BrowserContext] = []

    def new(viewport: dict[str, int] | None = None, **options: Any) -> tuple[Page, PageLog]:
        contexts.append(desk_browser.new_context(viewport=viewport or WIDE, **options))
        page = contexts[-1].new_page()
        page.set_default_timeout(DEADLINE_MS)
        return page, watch(page, server.url)

    yield new
    for context in contexts:
        context.close()


@pytest.fixture
def open_desk(
    server: LiveServer,
    make_user: Callable[[str], DeskUser],
    new_context: Callable[..., tuple[Page, PageLog]],
) -> Callable[..., Desk]:
    """Sign a user in (a new one with the role, or the DeskUser given) in a new context."""

    def open_(who: str | DeskUser, viewport: dict[str, int] | None = None, **options: Any) -> Desk:
        user = make_user(who) if isinstance(who, str) else who
        page, log = new_context(viewport, **options)
        sign_in(page, server.url, user.name)
        return Desk(user, page.context, page, log)

    return open_


@pytest.fixture
def screenshot(database_url: str) -> Callable[[Page | Locator, str], Path]:
    """Save a screenshot of a whole page, or of one element, as name-<database>.png in the
    artifacts folder."""
    kind = "postgres" if database_url.startswith("postgres") else "sqlite"

    def shoot(what: Page | Locator, name: str) -> Path:
        return save_screenshot(what, f"{name}-{kind}")

    return shoot


def new_story(api: httpx.Client, title: str | None = None, live: bool = True) -> str:
    """A story of the test's own, made over the API (live unless asked otherwise); its slug."""
    title = title or f"Desk test {secrets.token_hex(4)}"
    response = api.post("/api/stories", json={"title": title})
    assert response.status_code == 201, response.text
    slug = response.json()["slug"]
    if live:
        response = api.patch(f"/api/stories/{slug}", json={"status": "live"})
        assert response.status_code == 200, response.text
    return slug


def unique(text: str) -> str:
    """text with a short random tag, so an assertion finds this test's words only."""
    return f"{text} [{secrets.token_hex(3)}]"
