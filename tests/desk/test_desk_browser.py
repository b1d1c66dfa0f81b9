"""The reporters' desk in headless Chromium against a real server: publishing with Ctrl+Enter
reaches readers live, two colleagues see each other's work and never lose an edit, nothing
typed is lost to a reload or a dropped answer, refusals change nothing, and the desk works on
a phone, with the keyboard alone, and without serious accessibility faults."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from liveblog.stories.story_changes import slugify
from tests.browser import PageLog, assert_accessible
from tests.desk.support import (
    PHONE,
    Desk,
    DeskUser,
    new_story,
    unique,
)
from tests.support import LiveServer

# Among the longest modules: started first, so parallel workers finish together.
# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]

COUNTED = ("entries", "entry_revisions", "story_events")


def row_counts(server: LiveServer) -> dict[str, int]:
    return server.deployment.count_rows(*COUNTED)


def in_stream(page: Page, text: str) -> Locator:
    """The desk entry (or entries) showing text."""
    return page.locator("#desk-stream > li.desk-entry", has_text=text)


def entry_box(page: Page) -> Locator:
    return page.get_by_label("Entry", exact=True)


def publish_by_keyboard(page: Page, text: str) -> None:
    """Type into Entry and press Ctrl+Enter; wait until the desk says it is published."""
    entry_box(page).click()
    page.keyboard.type(text)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#composer-saved")).to_contain_text("Published")
    expect(in_stream(page, text)).to_have_count(1)


def entry_id(page: Page, text: str) -> int:
    return int(in_stream(page, text).get_attribute("data-id") or 0)


def bodies(user: DeskUser, slug: str) -> list[str]:
    response = user.api.get(f"/api/stories/{slug}/entries", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [item["body"] for item in response.json()["items"]]


def post_entry(user: DeskUser, slug: str, body: str, **fields: object) -> dict:
    response = user.api.post(f"/api/stories/{slug}/entries", json={"body": body, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def reader_page(new_context: Callable[..., tuple[Page, PageLog]], url: str, slug: str) -> Page:
    """The public story page, live, marked so a reload would show."""
    page, _ = new_context()
    page.goto(f"{url}/stories/{slug}")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    return page


def reader_entry(page: Page, text: str) -> Locator:
    return page.locator("#entries > li.entry", has_text=text)


def test_publish_with_ctrl_enter_reaches_reader_without_reload(
    server: LiveServer, open_desk, new_context
) -> None:
    editor = open_desk("editor")
    page = editor.page
    title = unique("Flood warning for the Lower Valley")
    page.get_by_label("Title", exact=True).fill(title)
    slug = slugify(title)
    expect(page.get_by_label("Address")).to_have_value(slug)  # suggested from the title
    page.get_by_label("Description").fill("Rivers are rising after two days of rain.")
    page.get_by_role("button", name="Create story").click()
    page.wait_for_url(f"**/desk/stories/{slug}")
    head = page.locator("#story-head")
    expect(head.locator(".pill")).to_have_text("draft")
    head.get_by_role("button", name="Start").click()
    expect(head.locator(".pill")).to_have_text("live")
    expect(page.locator("#desk-connection")).to_have_attribute("data-state", "live")

    reader = reader_page(new_context, server.url, slug)
    first = unique("The river gauge at Millbrook reads 4.2 metres")
    publish_by_keyboard(page, first)
    expect(reader_entry(reader, first)).to_have_count(1)
    expect(entry_box(page)).to_have_value("")
    assert page.evaluate("key => localStorage.getItem(key)", _draft_key(page)) is None

    reporter = open_desk("reporter")
    expect(reporter.page.get_by_role("button", name="Create story")).to_have_count(0)
    reporter.page.get_by_role("link", name=title).click()
    expect(reporter.page.locator("#desk-connection")).to_have_attribute("data-state", "live")
    second = unique("Police have closed the Millbrook bridge")
    publish_by_keyboard(reporter.page, second)
    expect(reader_entry(reader, second)).to_have_count(1)
    expect(in_stream(page, second)).to_have_count(1)  # the editor's desk follows too
    assert reader.evaluate("window.__notReloaded") is True
    _no_page_errors(editor, reporter)


def test_two_colleagues_see_each_other_live_and_never_lose_an_edit(
    server: LiveServer, open_desk
) -> None:
    reporter, editor = open_desk("reporter"), open_desk("editor")
    slug = new_story(editor.user.api)
    mine, theirs = reporter.open_story(server.url, slug), editor.open_story(server.url, slug)

    a_text = unique("Reporter: the mayor arrives at the town hall")
    publish_by_keyboard(mine, a_text)
    expect(in_stream(theirs, a_text)).to_have_count(1)
    a = entry_id(mine, a_text)
    b_text = unique("Editor: a statement is expected at noon")
    publish_by_keyboard(theirs, b_text)
    expect(in_stream(mine, b_text)).to_have_count(1)
    b = entry_id(theirs, b_text)

    b_edited = unique("Editor: the statement is now expected at 1 pm")
    _edit(theirs, b, b_edited)
    expect(mine.locator(f"#desk-entry-{b}")).to_contain_text(b_edited)
    a_edited = unique("Reporter: the mayor has arrived at the town hall")
    _edit(mine, a, a_edited)
    expect(theirs.locator(f"#desk-entry-{a}")).to_contain_text(a_edited)

    # Both open entry A; the reporter saves first, the editor's save then meets a 412.
    _open_edit(theirs, a)
    by_reporter = unique("Reporter: the mayor has arrived, with two aides")
    _edit(mine, a, by_reporter)
    expect(theirs.locator(f"#desk-entry-{a}.stale")).to_have_count(1)
    by_editor = unique("Editor: the mayor arrived at 10:40 with two aides")
    conflict = _save_edit(theirs, a, by_editor)
    expect(conflict.locator(".conflict-note")).to_contain_text(
        "Someone changed this entry while you were editing"
    )
    expect(conflict.locator(".theirs pre.source")).to_have_text(by_reporter)
    expect(conflict.get_by_label("Entry text")).to_have_value(by_editor)
    assert _api_entry(editor.user, slug, a)["body"] == by_reporter  # nothing overwritten
    conflict.get_by_role("button", name="Save mine over theirs").click()
    expect(theirs.locator(f"#desk-entry-{a}:not(.editing)")).to_contain_text(by_editor)
    expect(mine.locator(f"#desk-entry-{a}")).to_contain_text(by_editor)
    assert _api_entry(editor.user, slug, a)["body"] == by_editor
    theirs.locator(f"#desk-entry-{a}").get_by_role("button", name="History").click()
    history = theirs.locator(f"#history-{a} .revisions")
    for text in (a_text, a_edited, by_reporter, by_editor):
        expect(history.locator("pre.source", has_text=text)).to_have_count(1)

    _retract(theirs, b, "The statement was cancelled")
    expect(mine.locator(f"#desk-entry-{b}.retracted")).to_contain_text(
        "The statement was cancelled"
    )
    _retract(mine, a, "Duplicate of a later entry")
    expect(theirs.locator(f"#desk-entry-{a}.retracted")).to_contain_text("Duplicate")

    expect(mine.locator("#presence")).to_contain_text(editor.user.name)
    expect(theirs.locator("#presence")).to_contain_text(reporter.user.name)
    _no_page_errors(reporter, editor)


def test_draft_survives_reload_and_a_retried_publish_posts_once(
    server: LiveServer, open_desk, make_user
) -> None:
    editor_api = make_user("editor")
    slug = new_story(editor_api.api)
    reporter = open_desk("reporter")
    page = reporter.open_story(server.url, slug)

    text = unique("Half-written: the evacuation order covers")
    entry_box(page).fill(text)
    page.reload()
    expect(entry_box(page)).to_have_value(text)
    expect(page.locator("#composer-saved")).to_contain_text("kept")

    # (a) The request reaches the server, which posts the entry, but its answer is lost.
    keys: list[str | None] = []

    def lose_first_answer(route: Route) -> None:
        keys.append(route.request.header_value("Idempotency-Key"))
        if len(keys) == 1:
            route.fetch()
            route.abort()
        else:
            route.continue_()

    page.route(f"{server.url}/desk/stories/{slug}/entries", lose_first_answer)
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#composer-saved")).to_contain_text("No answer from the server")
    expect(entry_box(page)).to_have_value(text)
    assert bodies(editor_api, slug).count(text) == 1  # the server did post it
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#composer-saved")).to_contain_text("Published")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert bodies(editor_api, slug).count(text) == 1
    expect(in_stream(page, text)).to_have_count(1)
    page.unroute(f"{server.url}/desk/stories/{slug}/entries")

    # (b) The server is down when Publish is pressed, and back for the retry.
    offline = unique("Written while the server was down")
    entry_box(page).fill(offline)
    server.stop()
    try:
        page.get_by_role("button", name="Publish", exact=True).click()
        expect(page.locator("#composer-saved")).to_contain_text("No answer from the server")
        expect(entry_box(page)).to_have_value(offline)
        _poll_presence(page, slug)  # a background request fails: the page says so on top
        expect(page.locator("#desk-notice")).to_have_text(re.compile("Could not reach"))
    finally:
        server.start()
    expect(page.locator("#desk-connection")).to_have_attribute("data-state", "live")
    _poll_presence(page, slug)
    expect(page.locator("#desk-notice")).to_be_hidden()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#composer-saved")).to_contain_text("Published")
    expect(in_stream(page, offline)).to_have_count(1)
    assert bodies(editor_api, slug).count(offline) == 1
    assert bodies(editor_api, slug).count(text) == 1


def test_refusals_change_nothing(
    server: LiveServer, open_desk, make_user, screenshot: Callable[..., Path]
) -> None:
    editor_api = make_user("editor")
    slug = new_story(editor_api.api)
    theirs = post_entry(editor_api, slug, "The editor's own words")
    reporter = open_desk("reporter")
    page = reporter.open_story(server.url, slug)
    expect(page.locator(f"#desk-entry-{theirs['id']}")).to_have_count(1)
    expect(page.locator(f"#desk-entry-{theirs['id']} .entry-actions")).to_have_count(0)
    csrf = page.locator("#composer input[name=csrf]").input_value()
    before = row_counts(server)

    edit = f"/desk/stories/{slug}/entries/{theirs['id']}"
    status, _ = _desk_post(page, edit, {"body": "Rewritten by someone else", "version": "1"}, csrf)
    assert status == 403
    assert row_counts(server) == before
    assert _api_entry(editor_api, slug, theirs["id"])["body"] == "The editor's own words"

    create = f"/desk/stories/{slug}/entries"
    status, _ = _desk_post(page, create, {"body": "No token with this one"}, None)
    assert status == 403
    assert row_counts(server) == before
    wrong = secrets.token_urlsafe(32)
    status, _ = _desk_post(page, create, {"body": "A token that is not ours"}, wrong)
    assert status == 403
    assert row_counts(server) == before

    image = "![](https://example.com/a.png)"
    entry_box(page).fill(image)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#composer .form-error")).to_contain_text("alt text")
    expect(page.locator("#composer-saved")).to_contain_text("Not sent")
    expect(entry_box(page)).to_have_value(image)
    screenshot(page.locator("#composer"), "composer-refused")
    assert row_counts(server) == before

    status, _ = _desk_post(page, create, {"body": "The same request with the token"}, csrf)
    assert status == 201  # the refusals above were for the reasons named, not the request
    assert row_counts(server)["entries"] == before["entries"] + 1


def test_phone_and_keyboard_alone(
    server: LiveServer, open_desk, make_user, screenshot: Callable[..., Path]
) -> None:
    editor_api = make_user("editor")
    slug = new_story(editor_api.api, unique("Harbour fire"))
    post_entry(
        editor_api,
        slug,
        "Smoke seen over the harbour. Details: https://example.com/"
        + "a-very-long-address-without-any-break-" * 4,
    )
    post_entry(editor_api, slug, "Two fire crews are on the quay.", pinned=True)
    reporter = open_desk("reporter", viewport=PHONE, is_mobile=True, has_touch=True)
    page = reporter.page
    _assert_fits(page)
    screenshot(page, "desk-stories-phone")

    page = reporter.open_story(server.url, slug)
    _assert_fits(page)
    presses = _tab_to(page, "entry-body")
    assert presses <= 40
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "keyboard focus must be visible"
    text = unique("Keyboard only: the fire is under control")
    page.keyboard.type(text)
    page.keyboard.press("Control+Enter")
    expect(in_stream(page, text)).to_have_count(1)
    expect(page.locator("#composer-saved")).to_contain_text("Published")

    tapped = unique("Tapped Publish: crews stay overnight")
    entry_box(page).fill(tapped)
    publish = page.get_by_role("button", name="Publish", exact=True)
    _assert_inside(page, "#composer button[type=submit]", PHONE["width"])
    publish.tap()
    expect(in_stream(page, tapped)).to_have_count(1)
    _assert_inside(page, "#desk-stream > li, #desk-stream .entry-actions button", PHONE["width"])
    _assert_fits(page)
    screenshot(page, "story-desk-phone")
    assert bodies(editor_api, slug).count(text) == 1


def test_accessibility_and_wide_screenshots(
    server: LiveServer, open_desk, make_user, new_context, screenshot
) -> None:
    editor_api, reporter_api = make_user("editor"), make_user("reporter")
    slug = _newsroom_story(editor_api, reporter_api)

    signed_out, _ = new_context()
    signed_out.goto(f"{server.url}/desk/sign-in")
    assert_accessible(signed_out, "sign-in")

    editor = open_desk(editor_api)
    page = editor.page
    assert_accessible(page, "stories list")
    screenshot(page, "desk-stories-wide")

    editor.open_story(server.url, slug)
    page.locator("#composer details.options summary").click()
    entry_box(page).fill("**Preview:** the ferry service resumes at 6 am.")
    expect(page.locator("#preview strong")).to_have_text("Preview:")
    expect(page.locator("#presence")).to_contain_text(editor_api.name)
    assert_accessible(page, "story desk")
    screenshot(page, "story-desk-wide")

    target = entry_id(page, "Residents on Quay Street")
    pinned = page.locator("#desk-stream > li.pinned")
    pinned.get_by_role("button", name="History").click()
    expect(pinned.locator(".revisions")).to_be_visible()
    _open_edit(page, target)
    assert_accessible(page, "edit form")
    changed = reporter_api.api.patch(
        f"/api/stories/{slug}/entries/{target}",
        json={"body": "Residents on Quay Street and Mill Lane are being evacuated."},
    )
    assert changed.status_code == 200, changed.text
    conflict = _save_edit(page, target, "Residents on Quay Street must leave by 9 pm.")
    expect(conflict.locator(".conflict-note")).to_be_visible()
    assert_accessible(page, "412 view")
    screenshot(page, "conflict-412-wide")
    screenshot(conflict, "conflict-412-entry")


# --- steps ---------------------------------------------------------------------------------


def _draft_key(page: Page) -> str:
    return page.locator("#composer").get_attribute("data-draft-key") or ""


def _open_edit(page: Page, entry: int) -> Locator:
    item = page.locator(f"#desk-entry-{entry}")
    item.get_by_role("button", name="Edit", exact=True).click()
    expect(page.locator(f"#desk-entry-{entry}.editing")).to_have_count(1)
    return item


def _save_edit(page: Page, entry: int, text: str) -> Locator:
    """Fill the open edit form and save; the entry's li as the answer left it."""
    item = page.locator(f"#desk-entry-{entry}")
    item.get_by_label("Entry text").fill(text)
    item.get_by_role("button", name="Save", exact=True).click()
    expect(item.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    return item


def _edit(page: Page, entry: int, text: str) -> None:
    _open_edit(page, entry)
    _save_edit(page, entry, text)
    expect(page.locator(f"#desk-entry-{entry}:not(.editing)")).to_contain_text(text)


def _retract(page: Page, entry: int, reason: str) -> None:
    item = page.locator(f"#desk-entry-{entry}")
    item.locator("summary", has_text="Retract").click()
    item.get_by_label("Reason readers will see").fill(reason)
    item.get_by_role("button", name="Retract entry").click()
    expect(page.locator(f"#desk-entry-{entry}.retracted")).to_contain_text(reason)


def _api_entry(user: DeskUser, slug: str, entry: int) -> dict:
    response = user.api.get(f"/api/stories/{slug}/entries/{entry}")
    assert response.status_code == 200, response.text
    return response.json()


def _desk_post(page: Page, path: str, fields: dict[str, str], csrf: str | None) -> tuple[int, str]:
    """POST a desk form from the signed-in page with fetch, with or without the CSRF header."""
    return tuple(
        page.evaluate(
            """async ([path, fields, csrf]) => {
                const headers = csrf ? {"X-CSRF-Token": csrf} : {};
                const answer = await fetch(path, {method: "POST", headers,
                    body: new URLSearchParams(fields), credentials: "same-origin"});
                return [answer.status, await answer.text()];
            }""",
            [path, fields, csrf],
        )
    )  # type: ignore[return-value]


def _poll_presence(page: Page, slug: str) -> None:
    """Make the presence list's poll now rather than within 10 s."""
    page.evaluate(
        "path => { htmx.ajax('GET', path, {source: '#presence', target: '#presence'})"
        ".catch(() => null); }",
        f"/desk/stories/{slug}/presence",
    )


def _tab_to(page: Page, element_id: str, limit: int = 60) -> int:
    page.locator("body").focus()
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return presses
    raise AssertionError(f"#{element_id} not reached with {limit} presses of Tab")


def _assert_fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px wide"


def _assert_inside(page: Page, selector: str, width: int) -> None:
    """Every element matching selector lies within width (measured in one go, so an entry
    the live stream swaps meanwhile is not caught half-replaced)."""
    edges = page.evaluate(
        """selector => [...document.querySelectorAll(selector)].map(el => {
            const box = el.getBoundingClientRect();
            return [box.left, box.right];
        })""",
        selector,
    )
    assert edges and all(left >= 0 and right <= width for left, right in edges), edges


def _newsroom_story(editor: DeskUser, reporter: DeskUser) -> str:
    """A story that looks like a night's work: pinned, key event, quote, draft, retraction."""
    slug = new_story(editor.api, unique("Storm Ada makes landfall"))
    editor.api.patch(
        f"/api/stories/{slug}",
        json={"description": "Live updates as the storm reaches the coast tonight."},
    )
    post_entry(
        editor,
        slug,
        "Follow our live coverage here. **Call 112** in an emergency.",
        pinned=True,
        title="How to follow this story",
    )
    post_entry(reporter, slug, "Wind gusts of 140 km/h were measured at the lighthouse.")
    post_entry(
        editor,
        slug,
        "The coastguard has closed the harbour to all traffic.",
        key_event=True,
        headline="Harbour closed",
    )
    post_entry(reporter, slug, '> "We have never seen the sea this high."\n>\n> — A harbour master')
    wrong = post_entry(reporter, slug, "The bridge has collapsed.")
    editor.api.request(
        "DELETE",
        f"/api/stories/{slug}/entries/{wrong['id']}",
        json={"reason": "The bridge is closed, not collapsed."},
    )
    post_entry(reporter, slug, "Residents on Quay Street are being evacuated.")
    post_entry(reporter, slug, "Draft: power cuts reported in the old town (checking)", draft=True)
    return slug


def _no_page_errors(*desks: Desk) -> None:
    for desk in desks:
        assert desk.log.errors == [], desk.log.errors
