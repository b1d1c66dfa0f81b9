"""Headless Chromium for page tests: the system's browser, driven by Playwright's sync API.

A test module imports the fixture it needs (under another name, so the test's `page`
argument does not shadow the import)::

    from tests.browser import page_fixture  # noqa: F401  (the `page` fixture)

`page` is a page in a fresh Chromium per test; `browser_fixture` gives the `browser` itself.

While a browser is open, Playwright's sync API marks an asyncio loop as running on the
test's thread, so `asyncio.run()` - and with it `Deployment.add_user` - fails there. Make
users and data first: in fixtures listed before `page` (fixtures of one scope are set up in
argument order), or over HTTP.

Without /usr/bin/chromium the tests skip, or fail when LIVEBLOG_TEST_REQUIRE has chromium.
Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
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


@pytest.fixture(name="browser")
def browser_fixture() -> Iterator[Browser]:
    """A headless Chromium of the test's own."""
    with launch_browser() as chromium:
        yield chromium


@pytest.fixture(name="page")
def page_fixture() -> Iterator[Page]:
    """A page in a headless Chromium of the test's own."""
    with launch_browser() as chromium:
        yield chromium.new_page()


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
