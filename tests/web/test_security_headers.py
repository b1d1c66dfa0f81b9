"""Security headers and CORS as clients meet them: every HTML page carries a same-origin-only
Content-Security-Policy that refuses framing (the iframe embed alone may be framed), nosniff
and a Referrer-Policy; public reads are open to any origin, writes and private reads never;
and the desk and the reader pages work under the policy in Chromium without a violation."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import PageLog, watch
from tests.live.readers import post
from tests.support import LiveServer

# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = pytest.mark.backends("sqlite")

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
EMBED_POLICY = PAGE_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
DEADLINE_MS = 20_000
# Collects what the policy blocks, from before the page's first script runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile);
});
"""


@pytest.fixture
def story(editor: httpx.Client, live_story: dict) -> dict:
    """A live story with one entry; its slug and the entry."""
    return {"slug": live_story["slug"], "entry": post(editor, live_story["slug"], "A *fact*.")}


def _pages(story: dict) -> list[str]:
    slug = story["slug"]
    return [
        "/",
        f"/stories/{slug}",
        f"/stories/{slug}/entries/{story['entry']['id']}",
        "/desk/sign-in",
        "/stories/no-such-story",  # the 404 page
    ]


def test_pages_refuse_framing_and_load_only_our_own_code(client: httpx.Client, story: dict) -> None:
    for path in _pages(story):
        response = client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.headers["content-security-policy"] == PAGE_POLICY, path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path


def test_only_the_embed_may_be_framed(client: httpx.Client, story: dict) -> None:
    response = client.get(f"/stories/{story['slug']}/embed")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == EMBED_POLICY
    assert "x-frame-options" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_other_answers_are_not_sniffed_and_carry_no_page_policy(
    client: httpx.Client, story: dict
) -> None:
    slug = story["slug"]
    for path in (f"/api/stories/{slug}", f"/stories/{slug}/feed.atom", "/static/embed.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert "content-security-policy" not in response.headers, path


def _public_reads(story: dict) -> list[str]:
    slug, entry = story["slug"], story["entry"]["id"]
    return [
        "/api/stories",
        f"/api/stories/{slug}",
        f"/api/stories/{slug}/entries",
        f"/api/stories/{slug}/entries/{entry}",
        f"/api/stories/{slug}/events?after=0",
        f"/stories/{slug}/feed.atom",
        f"/stories/{slug}/feed.json",
        f"/stories/{slug}/embed.json",
        "/feed.atom",
        "/oembed?url=x",  # errors of public reads are readable too
        "/api/stories/no-such-story",
    ]


def test_public_reads_are_open_to_any_origin(client: httpx.Client, story: dict) -> None:
    origin = {"Origin": "https://news.example"}
    for path in _public_reads(story):
        for method in ("GET", "HEAD"):
            response = client.request(method, path, headers=origin)
            assert response.headers.get("access-control-allow-origin") == "*", (method, path)
            assert "access-control-allow-credentials" not in response.headers
        assert "ETag" in response.headers.get("access-control-expose-headers", "")
        preflight = client.options(
            path,
            headers={
                **origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        assert preflight.status_code == 204, path
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert "GET" in preflight.headers["access-control-allow-methods"]
        assert "If-None-Match" in preflight.headers["access-control-allow-headers"]
        assert "access-control-allow-credentials" not in preflight.headers


def test_writes_and_private_reads_get_no_cors(
    client: httpx.Client, editor: httpx.Client, story: dict
) -> None:
    slug, entry = story["slug"], story["entry"]["id"]
    origin = {"Origin": "https://news.example"}
    writes = [
        editor.post(f"/api/stories/{slug}/entries", json={"body": "x"}, headers=origin),
        editor.patch(f"/api/stories/{slug}/entries/{entry}", json={"body": "y"}, headers=origin),
        editor.patch(f"/api/stories/{slug}", json={"description": "z"}, headers=origin),
        editor.post("/api/stories", json={"title": "CORS write"}, headers=origin),
        editor.request("DELETE", f"/api/stories/{slug}/entries/{entry}", headers=origin),
        editor.post("/api/media", files={"file": ("a.png", b"x")}, headers=origin),
        client.post(f"/api/stories/{slug}/entries", json={"body": "x"}, headers=origin),
    ]
    assert [w.status_code < 500 for w in writes] == [True] * len(writes)
    assert [w.headers.get("access-control-allow-origin") for w in writes] == [None] * len(writes)
    for path in ("/api/users", "/desk/sign-in", "/desk", "/api/openapi.json"):
        assert "access-control-allow-origin" not in client.get(path, headers=origin).headers
    for method in ("POST", "PATCH", "DELETE"):
        refused = client.options(
            f"/api/stories/{slug}/entries",
            headers={**origin, "Access-Control-Request-Method": method},
        )
        assert "access-control-allow-origin" not in refused.headers, method
    private = client.options(
        "/api/users", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in private.headers


@pytest.fixture
def desk_user(server: LiveServer) -> str:
    """A reporter's name (password: the tests' usual one), made before the browser opens."""
    name, _ = server.deployment.add_user("reporter")
    return name


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page that records every Content-Security-Policy violation."""
    context = browser.new_context()
    context.add_init_script(RECORD_VIOLATIONS)
    yield context.new_page()
    context.close()


def _assert_no_violations(page: Page, log: PageLog, what: str) -> None:
    blocked = page.evaluate("window.__violations")
    console = [text for _, text in log.console if "Content Security Policy" in text]
    assert blocked == [] and console == [] and log.errors == [], f"{what}: {blocked} {console}"


def test_the_desk_works_under_the_policy(
    server: LiveServer, story: dict, desk_user: str, page: Page
) -> None:
    log = watch(page, server.url)
    page.goto(f"{server.url}/desk/sign-in")
    _assert_no_violations(page, log, "sign-in")
    page.get_by_label("Name", exact=True).fill(desk_user)
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.goto(f"{server.url}/desk/stories/{story['slug']}")
    expect(page.get_by_label("Entry", exact=True)).to_be_visible(timeout=DEADLINE_MS)
    assert page.evaluate("typeof window.htmx") == "object"  # htmx ran: no eval, no inline style
    page.get_by_label("Entry", exact=True).fill("Posted from the desk under the policy")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Posted from the desk under the policy").first).to_be_visible(
        timeout=DEADLINE_MS
    )
    _assert_no_violations(page, log, "desk story")


def test_reader_pages_work_under_the_policy(server: LiveServer, story: dict, page: Page) -> None:
    slug = story["slug"]
    log = watch(page, server.url)
    for path in (f"/stories/{slug}", f"/stories/{slug}/embed", _pages(story)[2], "/"):
        page.goto(f"{server.url}{path}")
        if "/entries/" not in path and path != "/":
            expect(page.locator("#live-status")).to_have_attribute(
                "data-state", "live", timeout=DEADLINE_MS
            )
        _assert_no_violations(page, log, path)
