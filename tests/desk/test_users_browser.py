"""The users and API tokens pages in headless Chromium: an admin manages people in place, a
reporter's new token is shown once and works, revoked and disabled access stops at once, the
sign-in form refuses the 6th failure, and the pages are usable on a phone and by everyone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.desk.support import PASSWORD, PHONE, Desk, DeskUser
from tests.support import LiveServer

# Among the longest modules: started first, so parallel workers finish together.
# What pages show, on SQLite only (see pytest_generate_tests in conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]

BLOCKING = ("serious", "critical")


def row_counts(server: LiveServer) -> dict[str, int]:
    return server.deployment.count_rows("users", "api_tokens")


def user_row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator("tr.user-row", has=page.locator(".user-name", has_text=name))


def api_user(admin: DeskUser, name: str) -> dict:
    response = admin.api.get(f"/api/users/{name}")
    assert response.status_code == 200, response.text
    return response.json()


def test_admin_adds_and_manages_a_user_in_place(
    server: LiveServer, open_desk: Callable[..., Desk]
) -> None:
    desk = open_desk("admin")
    page = desk.open(server.url, "/desk/users")
    name = f"new-{desk.user.name[-8:]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Role", exact=True).select_option("reporter")
    page.get_by_label("First password").fill(PASSWORD)
    page.get_by_role("button", name="Add user").click()
    row = user_row(page, name)
    expect(row).to_have_count(1)
    expect(page.get_by_label("Name", exact=True)).to_have_value("")  # a fresh form

    before = row_counts(server)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("First password").fill(PASSWORD)
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#users form[action='/desk/users'] .form-error")).to_contain_text(
        "already exists"
    )
    assert row_counts(server) == before

    row.get_by_label(f"Role of {name}").select_option("editor")
    with page.expect_response(f"{server.url}/desk/users/{name}/role") as answer:
        row.get_by_role("button", name=f"Save role of {name}").click()
    assert answer.value.status == 200
    expect(row.get_by_label(f"Role of {name}")).to_have_value("editor")
    assert api_user(desk.user, name)["role"] == "editor"

    row.get_by_role("button", name=f"Disable {name}").click()
    expect(row.locator(".pill")).to_have_text("disabled")
    assert api_user(desk.user, name)["disabled"] is True
    row.get_by_role("button", name=f"Enable {name}").click()
    expect(row.locator(".pill")).to_have_count(0)

    row.get_by_text("Reset password").click()
    row.get_by_label(f"New password for {name}").fill("a new password for them")
    row.get_by_role("button", name="Set password").click()
    expect(row.get_by_role("status")).to_contain_text("Password changed")

    mine = user_row(page, desk.user.name)
    mine.get_by_text("Change your password").click()
    mine.get_by_label("Your current password").fill("not my password")
    mine.get_by_label("New password").fill("a new password for me")
    mine.get_by_role("button", name="Set password").click()
    expect(mine.locator(".form-error").last).to_contain_text("not your current password")
    assert not desk.log.errors, desk.log.errors


def test_a_new_token_is_shown_once_works_and_revoking_stops_it(
    server: LiveServer, open_desk: Callable[..., Desk]
) -> None:
    desk = open_desk("reporter")
    page = desk.open(server.url, "/desk/tokens")
    page.get_by_label("Label").fill("newsroom bot")
    page.get_by_label("Label").press("Enter")  # the keyboard alone
    box = page.locator(".new-token")
    expect(box).to_contain_text("copy it now")
    token = page.get_by_label("Token", exact=True).input_value()
    assert token.startswith("lb_")
    bot = {"Authorization": f"Bearer {token}"}
    me = f"{server.url}/api/users/{desk.user.name}"
    assert httpx.get(me, headers=bot).status_code == 200

    page.reload()
    expect(page.locator(".new-token")).to_have_count(0)
    assert token not in page.content()
    row = page.locator("tr", has_text="newsroom bot")
    expect(row).to_contain_text(token[-4:])
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text="newsroom bot")).to_have_count(0)
    assert httpx.get(me, headers=bot).status_code == 401
    assert not desk.log.errors, desk.log.errors


def test_a_disabled_users_open_desk_is_sent_to_sign_in(
    server: LiveServer, open_desk: Callable[..., Desk], make_user: Callable[[str], DeskUser]
) -> None:
    admin = make_user("admin")
    desk = open_desk("reporter")
    desk.open(server.url, "/desk/tokens")
    response = admin.api.patch(f"/api/users/{desk.user.name}", json={"disabled": True})
    assert response.status_code == 200, response.text
    before = row_counts(server)
    desk.page.get_by_label("Label").fill("made after being disabled")
    desk.page.get_by_role("button", name="Create token").click()
    expect(desk.page).to_have_url(f"{server.url}/desk/sign-in?next=%2Fdesk%2Ftokens")
    assert row_counts(server) == before


def test_the_sixth_failed_sign_in_is_refused_on_the_form(
    server: LiveServer,
    make_user: Callable[[str], DeskUser],
    new_context: Callable[..., tuple[Page, object]],
) -> None:
    user = make_user("reporter")
    page, _ = new_context()
    page.goto(f"{server.url}/desk/sign-in")
    for attempt in range(6):
        page.get_by_label("Name", exact=True).fill(user.name)
        page.get_by_label("Password", exact=True).fill(PASSWORD if attempt == 5 else "guess")
        with page.expect_response(f"{server.url}/desk/sign-in") as answer:
            page.get_by_role("button", name="Sign in").click()
        expected = 429 if attempt == 5 else 401
        assert answer.value.status == expected
    expect(page.get_by_role("alert")).to_contain_text("too many failed sign-ins")
    assert page.url.startswith(f"{server.url}/desk/sign-in")


def test_users_and_tokens_pages_on_a_phone_and_for_everyone(
    server: LiveServer,
    open_desk: Callable[..., Desk],
    make_user: Callable[[str], DeskUser],
    screenshot: Callable[..., Path],
) -> None:
    for role in ("reporter", "editor"):
        make_user(role)
    axe = Axe()
    for viewport, label in ((None, "wide"), (PHONE, "phone")):
        page = open_desk("admin", viewport).open(server.url, "/desk/users")
        _assert_fits_and_accessible(axe, page, f"users page ({label})")
        screenshot(page, f"desk-users-{label}")
        page.goto(f"{server.url}/desk/tokens")
        page.get_by_label("Label").fill("wire feed")
        page.get_by_role("button", name="Create token").click()
        expect(page.locator(".new-token")).to_be_visible()
        _assert_fits_and_accessible(axe, page, f"tokens page ({label})")
        screenshot(page, f"desk-tokens-{label}")
        # The new token has the focus (ready to copy); Tab moves on with a visible outline.
        expect(page.get_by_label("Token", exact=True)).to_be_focused()
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"


def _assert_fits_and_accessible(axe: Axe, page: Page, what: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what}: {overflow}px wider than the screen"
    violations = axe.run(page).response["violations"]
    bad = [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in BLOCKING]
    assert not bad, f"{what}: {bad}"
