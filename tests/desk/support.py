"""Helpers of the desk tests (their fixtures are in conftest.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser import PageLog

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

    def open(self, server_url: str, path: str) -> Page:
        """The user's page, gone to path (e.g. /desk/users) on the server."""
        self.page.goto(server_url + path)
        return self.page

    def open_story(self, server_url: str, slug: str) -> Page:
        """The story's desk, once its live connection is up."""
        self.open(server_url, f"/desk/stories/{slug}")
        expect(self.page.locator("#desk-connection")).to_have_attribute(
            "data-state", "live", timeout=DEADLINE_MS
        )
        return self.page


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
