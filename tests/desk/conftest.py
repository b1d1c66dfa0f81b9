"""Desk browser fixtures: one Chromium per module, a signed-in browser context per user, and
screenshots kept as test artifacts.

Users are made through tests/support.py, which works while a browser is
open: Playwright's sync API marks an asyncio loop as running on the test's own thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser import PageLog, launch_browser, save_screenshot, watch
from tests.desk.support import (
    DEADLINE_MS,
    EXPECT_DEFAULT_MS,
    WIDE,
    Desk,
    DeskUser,
    sign_in,
)
from tests.support import LiveServer


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
