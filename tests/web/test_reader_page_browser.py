"""The reader's story page in Chromium: live arrivals that never move a reader who scrolled
down, edits, pins and the end shown live, catching up after a cut over each transport
(WebSocket, server-sent events, polling), and reading with JavaScript off."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import assert_accessible, save_screenshot, watch
from tests.live.readers import post
from tests.support import LiveServer

# Among the longest modules: started first, so parallel workers finish together.
# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]

DEADLINE_MS = 20_000
# The page cannot reach the live WebSocket: it is sent to a port where nothing listens, as a
# proxy that refuses the upgrade would leave it.
BLOCK_WEBSOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    return new Native(url.replace(/^(wss?:\\/\\/)[^/]+/, "$1127.0.0.1:9"), protocols);
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""
# Sums the page's layout shifts from now on (Cumulative Layout Shift, without user input).
OBSERVE_SHIFTS = """() => { window.__shift = 0; new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
}).observe({type: "layout-shift", buffered: false}); }"""


def entry_ids(page: Page) -> list[int]:
    return [
        int(i) for i in page.locator("#entries > li").evaluate_all("l => l.map(e => e.dataset.id)")
    ]


def open_story(
    new_page: Callable[..., Page], server: LiveServer, slug: str, **options: Any
) -> Page:
    page = new_page(**options)
    page.goto(f"{server.url}/stories/{slug}")
    return page


def wait_live(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_attribute(
        "data-state", "live", timeout=DEADLINE_MS
    )


def open_live(page: Page, server: LiveServer, slug: str, blocked: str) -> None:
    """Open the story with the transports `blocked` names cut off, and wait until it is live:
    "nothing", "websockets", or "websockets and events" (then the page polls)."""
    if blocked != "nothing":
        page.context.add_init_script(BLOCK_WEBSOCKETS)
    if blocked == "websockets and events":
        page.context.route("**/stream?*", lambda route: route.abort())
    page.goto(f"{server.url}/stories/{slug}")
    wait_live(page)


@pytest.fixture
def long_story(editor: httpx.Client, live_story: dict) -> Iterator[dict]:
    """A live story with a pinned summary, a key event and 30 entries."""
    slug = live_story["slug"]
    post(editor, slug, "What we know so far, kept at the top.", pinned=True, title="Summary")
    post(editor, slug, "Evacuation ordered.", key_event=True, headline="Evacuation ordered")
    for n in range(30):
        post(editor, slug, f"Update number {n}: the water is rising along the quay.")
    yield live_story


def test_a_reader_who_scrolled_down_is_not_moved_and_gets_a_new_updates_button(
    server: LiveServer, editor: httpx.Client, long_story: dict, new_page: Callable[..., Page]
) -> None:
    slug = long_story["slug"]
    page = open_story(new_page, server, slug, viewport={"width": 390, "height": 844})
    log = watch(page, server.url)
    wait_live(page)
    page.evaluate(OBSERVE_SHIFTS)
    page.locator("#entries > li").nth(12).scroll_into_view_if_needed()
    anchor = page.locator("#entries > li").nth(14)
    before = (page.evaluate("window.scrollY"), anchor.bounding_box()["y"])  # type: ignore[index]

    fresh = [post(editor, slug, f"Fresh news {n}") for n in range(2)]

    button = page.get_by_role("button", name="2 new updates")
    expect(button).to_be_visible(timeout=DEADLINE_MS)
    assert (page.evaluate("window.scrollY"), anchor.bounding_box()["y"]) == before  # type: ignore[index]
    assert page.locator(f"#entry-{fresh[0]['id']}").count() == 0
    shift = page.evaluate("window.__shift")
    save_screenshot(page, "reader-phone-new-updates", full_page=False)

    button.click()
    expect(page.locator(f"#entry-{fresh[1]['id']}")).to_be_visible(timeout=DEADLINE_MS)
    ids = entry_ids(page)
    assert ids[1:3] == [fresh[1]["id"], fresh[0]["id"]]  # after the pinned summary, newest first
    assert page.evaluate("window.scrollY") < before[0]
    assert shift == 0, f"entries arriving moved the page (layout shift {shift})"
    assert log.errors == []


def test_a_reader_at_the_top_sees_edits_pins_retractions_and_the_end_live(
    server: LiveServer, editor: httpx.Client, live_story: dict, new_page: Callable[..., Page]
) -> None:
    slug = live_story["slug"]
    first = post(editor, slug, "The bridge is open.")
    page = open_story(new_page, server, slug, viewport={"width": 1366, "height": 900})
    wait_live(page)
    page.evaluate("window.__notReloaded = true")
    url = f"/api/stories/{slug}/entries/{first['id']}"

    second = post(editor, slug, "Traffic is *heavy* on the ring road.")
    expect(page.locator(f"#entry-{second['id']}")).to_contain_text(
        "Traffic is heavy", timeout=DEADLINE_MS
    )
    expect(page.locator("#announcer")).to_contain_text("Traffic is heavy", timeout=DEADLINE_MS)

    editor.patch(url, json={"body": "The bridge is closed."})
    edited = page.locator(f"#entry-{first['id']}")
    expect(edited).to_contain_text("The bridge is closed.", timeout=DEADLINE_MS)
    expect(edited.locator(".updated")).to_contain_text("Updated", timeout=DEADLINE_MS)

    editor.patch(url, json={"pinned": True})
    expect(page.locator("#entries > li").first).to_have_id(
        f"entry-{first['id']}", timeout=DEADLINE_MS
    )
    editor.patch(url, json={"key_event": True, "headline": "Bridge closed"})
    expect(page.locator("#key-events")).to_contain_text("Bridge closed", timeout=DEADLINE_MS)

    editor.request(
        "DELETE", f"/api/stories/{slug}/entries/{second['id']}", json={"reason": "Wrong road"}
    )
    expect(page.locator(f"#entry-{second['id']}")).to_contain_text("retracted", timeout=DEADLINE_MS)

    editor.patch(f"/api/stories/{slug}", json={"status": "ended"})
    expect(page.locator("#live-status")).to_have_attribute(
        "data-state", "ended", timeout=DEADLINE_MS
    )
    expect(page.locator(".kicker .status")).to_have_text("Ended")
    assert page.evaluate("window.__notReloaded") is True


@pytest.mark.parametrize("blocked", ["nothing", "websockets", "websockets and events"])
def test_after_a_cut_the_page_shows_each_missed_entry_once_in_order(
    server: LiveServer,
    editor: httpx.Client,
    live_story: dict,
    new_page: Callable[..., Page],
    blocked: str,
) -> None:
    slug = live_story["slug"]
    page = new_page()
    open_live(page, server, slug, blocked)
    first = post(editor, slug, "Before the cut")
    expect(page.locator(f"#entry-{first['id']}")).to_have_count(1, timeout=DEADLINE_MS)

    server.stop()
    expect(page.locator("#live-status")).to_have_attribute(
        "data-state", "reconnecting", timeout=DEADLINE_MS
    )
    server.start()
    missed = [post(editor, slug, f"Missed {n}")["id"] for n in range(3)]
    last = post(editor, slug, "After the cut")

    expect(page.locator(f"#entry-{last['id']}")).to_have_count(1, timeout=DEADLINE_MS)
    assert entry_ids(page) == [last["id"], *reversed(missed), first["id"]]
    seq = editor.get(f"/api/stories/{slug}").json()["seq"]
    assert page.locator("article.story").get_attribute("data-seq") == str(seq)


# Each entry's markup, without what the page's own scripts change after the fact (the time's
# words, the arrival mark) and with the whitespace between tags folded.
ENTRY_MARKUP = """() => [...document.querySelectorAll("#entries > li")].map(li => {
  const copy = li.cloneNode(true);
  copy.classList.remove("arrived");
  copy.querySelectorAll("time").forEach(t => {
    t.textContent = ""; t.removeAttribute("title"); t.removeAttribute("data-exact");
  });
  return copy.outerHTML.replace(/>\\s+</g, "><").replace(/\\s+/g, " ");
})"""


# With WebSockets cut off, server-sent events carry the lean frames.
@pytest.mark.parametrize("blocked", ["nothing", "websockets"])
def test_entries_built_from_lean_frames_equal_the_server_rendered_ones(
    server: LiveServer, editor: httpx.Client, live_story: dict, page: Page, blocked: str
) -> None:
    """The page builds live entries from its template and a lean frame (format=page); after a
    reload, the server renders the same entries itself, and they must be the same markup."""
    slug = live_story["slug"]
    open_live(page, server, slug, blocked)
    log = watch(page, server.url)
    post(editor, slug, "Plain *news* with [a link](https://example.com/a?b=1&c=2).")
    post(editor, slug, "Sandbags <ok> & more.", title="A titled one", pinned=True)
    post(editor, slug, "The dam holds.", key_event=True, headline="Dam holds")
    edited = post(editor, slug, "First version.")
    editor.patch(f"/api/stories/{slug}/entries/{edited['id']}", json={"body": "Second."})
    retracted = post(editor, slug, "Wrong.", key_event=True, headline="Wrong")
    url = f"/api/stories/{slug}/entries/{retracted['id']}"
    editor.request("DELETE", url, json={"reason": "It was the other <dam>."})
    expect(page.locator(f"#entry-{retracted['id']} .retraction")).to_have_count(
        1, timeout=DEADLINE_MS
    )
    expect(page.locator(f"#entry-{edited['id']} .updated")).to_have_count(1)
    live = page.evaluate(ENTRY_MARKUP)
    page.reload()
    wait_live(page)
    assert len(live) == 5
    assert live == page.evaluate(ENTRY_MARKUP)
    assert log.errors == []


def test_with_javascript_off_the_story_and_its_older_pages_are_readable(
    server: LiveServer, editor: httpx.Client, live_story: dict, new_page: Callable[..., Page]
) -> None:
    slug = live_story["slug"]
    ids = [post(editor, slug, f"Entry {n}")["id"] for n in range(55)]
    page = new_page(java_script_enabled=False)
    page.goto(f"{server.url}/stories/{slug}")
    assert entry_ids(page) == list(reversed(ids))[:50]
    page.get_by_role("link", name="Load older updates").click()
    assert entry_ids(page) == list(reversed(ids))[50:]
    assert page.get_by_role("link", name="Back to the latest updates").is_visible()


def test_load_older_appends_without_losing_the_live_connection(
    server: LiveServer, editor: httpx.Client, live_story: dict, new_page: Callable[..., Page]
) -> None:
    slug = live_story["slug"]
    ids = [post(editor, slug, f"Entry {n}")["id"] for n in range(55)]
    page = open_story(new_page, server, slug)
    wait_live(page)
    page.get_by_role("link", name="Load older updates").click()
    expect(page.locator(f"#entry-{ids[0]}")).to_be_visible(timeout=DEADLINE_MS)
    assert entry_ids(page) == list(reversed(ids))
    expect(page.get_by_role("link", name="Load older updates")).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    fresh = post(editor, slug, "Still live")
    expect(page.locator(f"#entry-{fresh['id']}")).to_be_visible(timeout=DEADLINE_MS)
    assert page.locator("#live-status").get_attribute("data-state") == "live"


def test_screenshots_of_the_story_wide_phone_and_dark(
    server: LiveServer, long_story: dict, new_page: Callable[..., Page]
) -> None:
    slug = long_story["slug"]
    for name, context in (
        ("reader-wide", {"viewport": {"width": 1366, "height": 900}}),
        ("reader-phone", {"viewport": {"width": 390, "height": 844}}),
        ("reader-dark", {"viewport": {"width": 1366, "height": 900}, "color_scheme": "dark"}),
    ):
        page = open_story(new_page, server, slug, **context)
        wait_live(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= context["viewport"]["width"]  # type: ignore[index]
        save_screenshot(page, name, full_page=False)


def test_story_and_front_pages_pass_axe_and_arrivals_at_the_top_are_measured(
    server: LiveServer, editor: httpx.Client, long_story: dict, new_page: Callable[..., Page]
) -> None:
    slug = long_story["slug"]
    for scheme in ("light", "dark"):
        page = open_story(new_page, server, slug, color_scheme=scheme)
        wait_live(page)
        assert_accessible(page, f"story page ({scheme})")
    page.evaluate(OBSERVE_SHIFTS)
    fresh = post(editor, slug, "Arrives while the reader is at the top")
    expect(page.locator(f"#entry-{fresh['id']}")).to_be_visible(timeout=DEADLINE_MS)
    page.wait_for_timeout(1000)  # the arrival animation
    print(f"layout shift of one arrival at the top: {page.evaluate('window.__shift'):.4f}")
    page.goto(f"{server.url}/")
    assert_accessible(page, "front page")
