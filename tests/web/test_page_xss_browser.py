"""No XSS payload runs on a story page, in a real Chromium.

Every payload from tests/render/xss_payloads.py goes in as an entry body (Markdown, rendered
and sanitized on write); some also go in as plain-text fields that the templates escape: the
story title and description, entry titles and headlines, a retraction reason and an author's
name (new names cannot hold markup, but one made before that rule may). A payload that ran
would set `window.__xss`, open a dialog or fetch from evil.example.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import PageLog, watch
from tests.render.xss_payloads import XSS_PAYLOADS
from tests.support import LiveServer

# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = pytest.mark.backends("sqlite")

MARKERS = ("__xss", "evil.example", "alert", "javascript:")
PLAIN_TEXT_PAYLOADS = [
    "<script>window.__xss=1</script>",
    "<img src=x onerror=window.__xss=1>",
    '"><svg onload=window.__xss=1>',
    "'><iframe src=javascript:window.__xss=1>",
    "{{ 7*7 }}</h2><script>alert(1)</script>",
]
# Elements and attributes no sanitized entry or escaped text may bring into the page.
FIND_DANGER = """() => {
  const found = [];
  const urlAttrs = ["href", "src", "action", "formaction", "data", "xlink:href", "srcdoc"];
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    // Our own scripts, and the page's one JSON-LD data block (never run by the browser).
    const dataBlock = el.getAttribute("type") === "application/ld+json" &&
      el === document.querySelector('head > script[type="application/ld+json"]');
    if (tag === "script" && !dataBlock && !(el.getAttribute("src") || "").startsWith("/static/")) {
      found.push("script: " + el.outerHTML.slice(0, 120));
    }
    // The page's own entry template, beside the list (live.js takes it from there only).
    const ours = el.id === "entry-template" &&
      el.parentElement === document.getElementById("entries").parentElement;
    if (["iframe", "object", "embed", "base", "form", "svg", "math", "style",
         "template", "noscript"].includes(tag) && !ours ||
        (tag === "meta" && el.hasAttribute("http-equiv"))) {
      found.push(tag + ": " + el.outerHTML.slice(0, 120));
    }
    for (const attr of el.attributes) {
      const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (attr.name.startsWith("on")) found.push(tag + " " + attr.name + "=" + attr.value);
      if (urlAttrs.includes(attr.name) && /^(javascript|vbscript|data):/.test(value)) {
        found.push(tag + " " + attr.name + "=" + attr.value);
      }
    }
  }
  return found;
}"""


@pytest.fixture
def author(server: LiveServer) -> Iterator[httpx.Client]:
    """A reporter whose name is itself a payload, as a name from before the rule could be."""
    name, token = server.deployment.add_user("reporter")
    server.deployment.execute(
        "UPDATE users SET name = :payload WHERE name = :name",
        payload=f"<img src=x onerror=window.__xss=1> {secrets.token_hex(2)}",
        name=name,
    )
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        yield http


def new_story(editor: httpx.Client) -> str:
    """A live story whose title and description are payloads; returns its slug."""
    response = editor.post(
        "/api/stories",
        json={
            "title": PLAIN_TEXT_PAYLOADS[0],
            "slug": f"xss-{secrets.token_hex(4)}",
            "description": PLAIN_TEXT_PAYLOADS[1],
        },
    )
    assert response.status_code == 201, response.text
    slug = response.json()["slug"]
    assert editor.patch(f"/api/stories/{slug}", json={"status": "live"}).status_code == 200
    return slug


def post(client: httpx.Client, slug: str, **fields: object) -> dict:
    response = client.post(f"/api/stories/{slug}/entries", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def post_payloads(editor: httpx.Client, author: httpx.Client, slug: str) -> int:
    """Every payload as an entry body, some in plain-text fields too; returns entries posted."""
    for n, payload in enumerate(XSS_PAYLOADS):
        fields: dict[str, object] = {"body": payload}
        if n < len(PLAIN_TEXT_PAYLOADS):
            plain = PLAIN_TEXT_PAYLOADS[n]
            fields.update(title=plain, key_event=True, headline=plain)
        post(editor, slug, **fields)
    post(author, slug, body=XSS_PAYLOADS[0], title=PLAIN_TEXT_PAYLOADS[2])
    retracted = post(editor, slug, body=XSS_PAYLOADS[1])
    response = editor.request(
        "DELETE",
        f"/api/stories/{slug}/entries/{retracted['id']}",
        json={"reason": PLAIN_TEXT_PAYLOADS[3]},
    )
    assert response.status_code == 200, response.text
    return len(XSS_PAYLOADS) + 2


def assert_nothing_ran(page: Page, log: PageLog, url: str) -> None:
    page.wait_for_timeout(300)  # let late handlers (ontoggle, onerror of slow images) fire
    assert page.url == url, "the page navigated away (meta refresh, base href or a link)"
    assert log.dialogs == []
    for frame in page.frames:
        assert frame.evaluate("typeof window.__xss") == "undefined", frame.url
    noise = [m for m in log.console_errors() + log.errors if any(k in m for k in MARKERS)]
    assert noise == []
    assert [u for u in log.blocked if "evil.example" in u] == []
    assert page.evaluate(FIND_DANGER) == []


def assert_text_shown_literally(page: Page) -> None:
    """Plain-text fields come out as the very characters typed, not as markup."""
    assert page.locator("h1").inner_text() == PLAIN_TEXT_PAYLOADS[0]
    assert page.title().startswith(PLAIN_TEXT_PAYLOADS[0])
    assert page.locator(".description").inner_text() == PLAIN_TEXT_PAYLOADS[1]
    shown = page.locator("#entries").inner_text()
    for text in PLAIN_TEXT_PAYLOADS:
        assert text in shown


def test_no_payload_runs_on_the_story_page(
    server: LiveServer, editor: httpx.Client, author: httpx.Client, page: Page
) -> None:
    slug = new_story(editor)
    first, last = (
        f"Safe marker first {secrets.token_hex(4)}",
        f"Safe marker last {secrets.token_hex(4)}",
    )
    post(editor, slug, body=first)
    posted = post_payloads(editor, author, slug) + 2
    post(editor, slug, body=last)
    url = f"{server.url}/stories/{slug}"
    log = watch(page, server.url)

    response = page.goto(url, wait_until="load")

    assert response is not None and response.status == 200
    assert_nothing_ran(page, log, url)
    older = page.get_by_role("link", name="Load older updates")
    while older.count():  # the page shows 50 at first; the rest come a page at a time
        shown = page.locator("#entries > li").count()
        older.click()
        expect(page.locator("#entries > li")).not_to_have_count(shown, timeout=15_000)
    assert_nothing_ran(page, log, url)
    # Both ends of the list rendered, and every entry in between: no payload swallowed the page.
    entries = page.locator("#entries > li")
    assert entries.count() == posted
    assert entries.first.inner_text().find(last) >= 0
    assert entries.last.inner_text().find(first) >= 0
    assert page.locator("#entries li.retracted").count() == 1
    assert_text_shown_literally(page)


def test_no_payload_runs_when_it_arrives_live(
    server: LiveServer, editor: httpx.Client, author: httpx.Client, page: Page
) -> None:
    slug = new_story(editor)
    url = f"{server.url}/stories/{slug}"
    log = watch(page, server.url)
    page.goto(url, wait_until="load")
    page.locator("#live-status[data-state=live]").wait_for(timeout=10_000)
    last = f"Safe marker live {secrets.token_hex(4)}"

    posted = post_payloads(editor, author, slug)
    post(editor, slug, body=last)

    page.locator("#entries").get_by_text(last).wait_for(timeout=15_000)
    assert page.locator("#entries > li").count() == posted + 1
    assert_nothing_ran(page, log, url)
    assert_text_shown_literally(page)
