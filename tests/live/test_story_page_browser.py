"""The story page in headless Chromium: live entries appear without a reload, and after a
server restart the page catches up on what it missed, each entry exactly once."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser import watch
from tests.live.readers import post

# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = pytest.mark.backends("sqlite")

DEADLINE_MS = 20_000


def _entry_ids(page: Page) -> list[int]:
    return [
        int(i)
        for i in page.locator("#entries > li").evaluate_all("els => els.map(e => e.dataset.id)")
    ]


def test_posted_entry_appears_without_reload(
    server, editor: httpx.Client, live_story, page: Page
) -> None:
    slug = live_story["slug"]
    first = post(editor, slug, "Already there")
    log = watch(page, server.url)
    page.goto(f"{server.url}/stories/{slug}")
    expect(page.locator("#live-status")).to_have_attribute(
        "data-state", "live", timeout=DEADLINE_MS
    )
    page.evaluate("window.__notReloaded = true")
    entry = post(editor, slug, "Breaking: the *dam* holds")
    fresh = page.locator(f"#entry-{entry['id']}")
    expect(fresh).to_contain_text("Breaking: the dam holds", timeout=DEADLINE_MS)
    assert fresh.locator("em").inner_text() == "dam"
    assert _entry_ids(page) == [entry["id"], first["id"]]  # newest first
    assert page.evaluate("window.__notReloaded") is True
    editor.patch(f"/api/stories/{slug}/entries/{first['id']}", json={"pinned": True})
    expect(page.locator("#entries > li").first).to_have_id(
        f"entry-{first['id']}", timeout=DEADLINE_MS
    )
    editor.request(
        "DELETE", f"/api/stories/{slug}/entries/{entry['id']}", json={"reason": "wrong dam"}
    )
    expect(fresh).to_contain_text("This entry was retracted. wrong dam", timeout=DEADLINE_MS)
    assert log.errors == [] and log.dialogs == []


def test_page_catches_up_after_server_restart(
    server, editor: httpx.Client, live_story, page: Page
) -> None:
    slug = live_story["slug"]
    page.goto(f"{server.url}/stories/{slug}")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live", timeout=DEADLINE_MS)
    before = post(editor, slug, "before the restart")
    expect(page.locator(f"#entry-{before['id']}")).to_be_visible(timeout=DEADLINE_MS)
    server.stop()
    expect(status).to_have_attribute("data-state", "reconnecting", timeout=DEADLINE_MS)
    server.start()
    missed = [post(editor, slug, f"missed {n}")["id"] for n in range(3)]
    for entry_id in missed:
        expect(page.locator(f"#entry-{entry_id}")).to_have_count(1, timeout=DEADLINE_MS)
    expect(status).to_have_attribute("data-state", "live", timeout=DEADLINE_MS)
    after = post(editor, slug, "after the restart")
    expect(page.locator(f"#entry-{after['id']}")).to_be_visible(timeout=DEADLINE_MS)
    ids = _entry_ids(page)
    assert ids == [after["id"], *reversed(missed), before["id"]]  # each once, newest first
    seq = editor.get(f"/api/stories/{slug}").json()["seq"]
    assert page.locator("article.story").get_attribute("data-seq") == str(seq)
