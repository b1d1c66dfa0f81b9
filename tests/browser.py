"""Headless Chromium for page tests: the system's browser, driven by Playwright's sync API.

tests/conftest.py registers this module as a plugin, so every test may ask for `browser`,
`new_page` or `page`.

`page` is a page in a fresh browser context per test; `browser_fixture` gives the module's
`browser` itself (one Chromium per module: launching one costs more than most tests).

While a browser is open, Playwright's sync API marks an asyncio loop as running on the
test's thread; tests/support.py runs its own coroutines on another thread for that reason.

Without /usr/bin/chromium the tests skip, or fail when LIVEBLOG_TEST_REQUIRE has chromium.
Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    Route,
    sync_playwright,
)

from tests.support import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def launch_browser() -> Iterator[Browser]:
    """A headless system Chromium, closed on exit."""
    if not CHROMIUM.exists():
        skip_or_fail("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(name="browser", scope="module")
def browser_fixture() -> Iterator[Browser]:
    """One headless Chromium for a module's tests (each test makes its own contexts)."""
    with launch_browser() as chromium:
        yield chromium


@pytest.fixture(name="new_page")
def new_page_fixture(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Makes pages, each in a fresh browser context with the options given (viewport,
    color_scheme, ...); every one is closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(name="page")
def page_fixture(new_page: Callable[..., Page]) -> Page:
    """A page in a fresh browser context of the test's own."""
    return new_page()


@dataclass
class PageLog:
    """What a page did besides rendering: dialogs, console messages, errors, blocked requests."""

    dialogs: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]


def watch(page: Page, origin: str) -> PageLog:
    """Record what page does; dismiss every dialog; abort requests leaving origin.

    Keeping requests on the server under test makes page tests hermetic and fast; the
    blocked URLs are recorded so a test can assert on them.
    """
    log = PageLog()
    expected = urlsplit(origin)[:2]

    def on_dialog(dialog: Dialog) -> None:
        log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        log.console.append((message.type, message.text))

    def on_route(route: Route) -> None:
        url = route.request.url
        if urlsplit(url)[:2] == expected or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort()

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    page.route("**/*", on_route)
    return log


# axe-core impacts that fail a page: serious and critical (minor and moderate are reported).
BLOCKING_IMPACTS = ("serious", "critical")


def assert_accessible(page: Page, what: str) -> None:
    """Run axe-core on the page as it is now; fail on serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    bad = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    summary = [
        f"{v['id']} ({v['impact']}): {v['help']}: "
        + ", ".join(f"{n['target']} {n['failureSummary']!r}" for n in v["nodes"][:3])
        for v in bad
    ]
    assert not bad, f"{what}: " + "; ".join(summary)


def artifacts_folder() -> Path:
    """Where screenshots go: $LIVEBLOG_TEST_ARTIFACTS, or test-artifacts/screenshots/."""
    default = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
    folder = Path(os.environ.get("LIVEBLOG_TEST_ARTIFACTS") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(what: Page | Locator, name: str, full_page: bool = True) -> Path:
    """Keep a picture of a page (or of one element) as name.png among the test artifacts."""
    path = artifacts_folder() / f"{name}.png"
    if isinstance(what, Page):
        what.screenshot(path=str(path), full_page=full_page)
    else:
        what.screenshot(path=str(path))
    return path
