"""/api/users and /api/tokens: who may manage whom, bad input refused whole, tokens shown once,
and a disabled user or a new password ending access at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support import LiveServer
from tests.web.desk_sessions import (
    PASSWORD,
    desk_client,
    desk_csrf,
    has_session,
    sign_in,
    signed_in,
)

TABLES = ("users", "api_tokens")
USER_KEYS = {"name", "role", "disabled", "created_at"}
TOKEN_KEYS = {"id", "label", "hint", "created_at"}


@contextmanager
def account(server: LiveServer, role: str) -> Iterator[tuple[str, httpx.Client]]:
    """A new user with role: their name and a client using their API token."""
    name, token = server.deployment.add_user(role)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield name, http


@pytest.fixture
def person(server: LiveServer) -> Iterator[tuple[str, httpx.Client]]:
    """A reporter of the test's own, to be managed."""
    with account(server, "reporter") as pair:
        yield pair


@contextmanager
def nothing_written(server: LiveServer) -> Iterator[None]:
    before = server.deployment.count_rows(*TABLES)
    yield
    assert server.deployment.count_rows(*TABLES) == before


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, f"{response.request.content[:100]!r}: {response.text}"
    error = response.json()["error"]
    assert error["message"]
    if field is not None:
        assert error.get("field") == field, (response.request.content[:100], error)
        assert field.split("_")[0] in error["message"], error
    return error


def new_name(prefix: str = "user") -> str:
    import secrets

    return f"{prefix}-{secrets.token_hex(4)}"


def test_admin_adds_lists_and_reads_users_without_password_hashes(
    server: LiveServer, admin: httpx.Client
) -> None:
    name = new_name()
    created = admin.post("/api/users", json={"name": name, "role": "editor", "password": PASSWORD})
    assert created.status_code == 201, created.text
    assert created.json().keys() == USER_KEYS
    assert created.json() | {"created_at": None} == {
        "name": name,
        "role": "editor",
        "disabled": False,
        "created_at": None,
    }
    listed = admin.get("/api/users")
    assert listed.status_code == 200
    assert created.json() in listed.json()["items"]
    assert listed.json()["next"] is None
    assert admin.get(f"/api/users/{name}").json() == created.json()
    for response in (created, listed):
        assert "argon2" not in response.text and "password" not in response.text
    with desk_client(server) as http:
        assert sign_in(http, name, PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "two words", "role": "reporter", "password": PASSWORD}, "name"),
        ({"name": "", "role": "reporter", "password": PASSWORD}, "name"),
        ({"name": "x" * 81, "role": "reporter", "password": PASSWORD}, "name"),
        ({"name": "a/b", "role": "reporter", "password": PASSWORD}, "name"),
        ({"name": "nul\x00", "role": "reporter", "password": PASSWORD}, "name"),
        ({"role": "reporter", "password": PASSWORD}, "name"),
        ({"name": "fine", "role": "chief", "password": PASSWORD}, "role"),
        ({"name": "fine", "password": PASSWORD}, "role"),
        ({"name": "fine", "role": "reporter", "password": "short"}, "password"),
        ({"name": "fine", "role": "reporter", "password": 12345678}, "password"),
        ({"name": "fine", "role": "reporter"}, "password"),
        ({"name": "fine", "role": "reporter", "password": PASSWORD, "disabled": True}, "disabled"),
    ],
)
def test_bad_new_users_are_422_naming_the_field_and_write_nothing(
    server: LiveServer, admin: httpx.Client, body: dict, field: str
) -> None:
    with nothing_written(server):
        assert_error(admin.post("/api/users", json=body), 422, field)


def test_a_taken_name_is_409_and_writes_nothing(
    server: LiveServer, admin: httpx.Client, person: tuple[str, httpx.Client]
) -> None:
    name, _ = person
    with nothing_written(server):
        body = {"name": name, "role": "admin", "password": PASSWORD}
        assert_error(admin.post("/api/users", json=body), 409, "name")


@pytest.mark.parametrize("role", ["reporter", "editor"])
def test_reporters_and_editors_cannot_manage_users(
    server: LiveServer, admin: httpx.Client, person: tuple[str, httpx.Client], role: str
) -> None:
    target, _ = person
    before = admin.get(f"/api/users/{target}").json()
    with account(server, role) as (me, http), nothing_written(server):
        attempts = [
            http.get("/api/users"),
            http.post(
                "/api/users", json={"name": new_name(), "role": "admin", "password": PASSWORD}
            ),
            http.get(f"/api/users/{target}"),
            http.patch(f"/api/users/{target}", json={"disabled": True}),
            http.patch(f"/api/users/{target}", json={"password": "a new password"}),
            http.patch(f"/api/users/{me}", json={"role": "admin"}),
            http.patch(f"/api/users/{me}", json={"disabled": False}),
            http.get(f"/api/users/{target}/tokens"),
            http.post(f"/api/users/{target}/tokens", json={}),
        ]
        for response in attempts:
            assert_error(response, 403)
        assert http.get(f"/api/users/{me}").json()["role"] == role
    assert admin.get(f"/api/users/{target}").json() == before


def test_anonymous_callers_get_401(client: httpx.Client, person: tuple[str, httpx.Client]) -> None:
    name, _ = person
    for method, url in [
        ("GET", "/api/users"),
        ("POST", "/api/users"),
        ("GET", f"/api/users/{name}"),
        ("PATCH", f"/api/users/{name}"),
        ("POST", f"/api/users/{name}/tokens"),
        ("DELETE", "/api/tokens/1"),
    ]:
        assert_error(client.request(method, url, json={}), 401)


def test_admin_changes_role_and_bad_patches_change_nothing(
    server: LiveServer, admin: httpx.Client, person: tuple[str, httpx.Client]
) -> None:
    name, _ = person
    url = f"/api/users/{name}"
    changed = admin.patch(url, json={"role": "editor"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "editor"
    before = admin.get(url).json()
    with nothing_written(server):
        assert_error(admin.patch(url, json={"role": "chief"}), 422, "role")
        assert_error(admin.patch(url, json={"role": None}), 422, "role")
        assert_error(admin.patch(url, json={"disabled": "yes"}), 422, "disabled")
        assert_error(admin.patch(url, json={"password": "short"}), 422, "password")
        assert_error(admin.patch(url, json={"name": "renamed"}), 422, "name")
        # One bad field and the good ones are not applied either.
        assert_error(admin.patch(url, json={"role": "admin", "password": "short"}), 422, "password")
        assert_error(admin.patch("/api/users/nobody-here", json={"role": "admin"}), 404)
    assert admin.get(url).json() == before
    assert admin.patch(url, json={}).json() == before


def test_a_user_changes_their_own_password_with_the_current_one(
    server: LiveServer, person: tuple[str, httpx.Client]
) -> None:
    name, http = person
    url = f"/api/users/{name}"
    assert http.get(url).json()["name"] == name
    new = {"password": "a brand new password"}
    assert_error(http.patch(url, json=new), 422, "current_password")
    assert_error(
        http.patch(url, json={**new, "current_password": "wrong"}), 422, "current_password"
    )
    changed = http.patch(url, json={**new, "current_password": PASSWORD})
    assert changed.status_code == 200, changed.text
    with desk_client(server) as browser:
        assert sign_in(browser, name, PASSWORD).status_code == 401
        assert sign_in(browser, name, new["password"]).status_code == 303
    assert http.get(url).status_code == 200  # the token keeps working


def test_wrong_current_passwords_count_as_failed_sign_ins(
    person: tuple[str, httpx.Client],
) -> None:
    name, http = person
    body = {"password": "a brand new password", "current_password": "guess"}
    for _ in range(5):
        assert_error(http.patch(f"/api/users/{name}", json=body), 422, "current_password")
    refused = http.patch(f"/api/users/{name}", json={**body, "current_password": PASSWORD})
    assert_error(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0


def test_token_create_list_use_and_revoke(person: tuple[str, httpx.Client]) -> None:
    name, http = person
    created = http.post(f"/api/users/{name}/tokens", json={"label": "  newsroom bot  "})
    assert created.status_code == 201, created.text
    token = created.json()
    assert token.keys() == {*TOKEN_KEYS, "token"}
    assert token["label"] == "newsroom bot"
    assert token["token"].startswith("lb_") and token["token"].endswith(token["hint"])
    assert len(token["hint"]) == 4
    listed = http.get(f"/api/users/{name}/tokens").json()["items"]
    assert listed[0] == {k: v for k, v in token.items() if k != "token"}
    assert token["token"] not in http.get(f"/api/users/{name}/tokens").text
    bot = {"Authorization": f"Bearer {token['token']}"}
    assert http.get(f"/api/users/{name}", headers=bot).status_code == 200
    assert http.delete(f"/api/tokens/{token['id']}").status_code == 204
    assert_error(http.get(f"/api/users/{name}", headers=bot), 401)
    assert_error(http.delete(f"/api/tokens/{token['id']}"), 404)
    assert token["id"] not in [
        t["id"] for t in http.get(f"/api/users/{name}/tokens").json()["items"]
    ]


def test_a_token_without_a_label_and_bad_labels(
    server: LiveServer, person: tuple[str, httpx.Client]
) -> None:
    name, http = person
    url = f"/api/users/{name}/tokens"
    assert http.post(url, json={}).json()["label"] == ""
    with nothing_written(server):
        assert_error(http.post(url, json={"label": "x" * 81}), 422, "label")
        assert_error(http.post(url, json={"label": "a\x00b"}), 422, "label")
        assert_error(http.post(url, json={"label": 7}), 422, "label")
        assert_error(http.post(url, json={"secret": "mine"}), 422, "secret")
        assert_error(http.post("/api/users/nobody-here/tokens", json={}), 403)


def test_only_the_owner_or_an_admin_revokes_a_token(
    server: LiveServer, admin: httpx.Client, person: tuple[str, httpx.Client]
) -> None:
    name, http = person
    token = http.post(f"/api/users/{name}/tokens", json={"label": "mine"}).json()
    own = {"Authorization": f"Bearer {token['token']}"}
    with account(server, "editor") as (_, other), nothing_written(server):
        assert_error(other.delete(f"/api/tokens/{token['id']}"), 404)
        assert_error(other.delete("/api/tokens/abc"), 404)
        assert_error(other.delete("/api/tokens/99999999999"), 404)
    assert http.get(f"/api/users/{name}", headers=own).status_code == 200
    by_admin = admin.post(f"/api/users/{name}/tokens", json={"label": "made by an admin"})
    assert by_admin.status_code == 201
    assert admin.delete(f"/api/tokens/{token['id']}").status_code == 204
    assert_error(http.get(f"/api/users/{name}", headers=own), 401)


def test_a_disabled_users_token_and_session_stop_at_once(
    server: LiveServer, admin: httpx.Client, person: tuple[str, httpx.Client]
) -> None:
    name, http = person
    with signed_in(server, name) as desk:
        disabled = admin.patch(f"/api/users/{name}", json={"disabled": True})
        assert disabled.status_code == 200 and disabled.json()["disabled"] is True
        assert_error(http.get(f"/api/users/{name}"), 401)
        assert not has_session(desk)
        assert sign_in(desk, name, PASSWORD).status_code == 401
        assert admin.patch(f"/api/users/{name}", json={"disabled": False}).status_code == 200
        assert http.get(f"/api/users/{name}").status_code == 200  # the token works again
        assert not has_session(desk)  # but the old session stays ended
        assert sign_in(desk, name, PASSWORD).status_code == 303


def test_a_password_reset_ends_the_users_sessions(
    server: LiveServer, admin: httpx.Client, person: tuple[str, httpx.Client]
) -> None:
    name, http = person
    with signed_in(server, name) as desk:
        reset = admin.patch(f"/api/users/{name}", json={"password": "reset by the desk"})
        assert reset.status_code == 200, reset.text
        assert not has_session(desk)
        assert sign_in(desk, name, "reset by the desk").status_code == 303
    assert http.get(f"/api/users/{name}").status_code == 200


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(
    server: LiveServer, person: tuple[str, httpx.Client]
) -> None:
    name, _ = person
    with signed_in(server, name) as laptop, signed_in(server, name) as phone:
        body = {"password": "changed on the laptop", "current_password": PASSWORD}
        headers = {"X-CSRF-Token": desk_csrf(laptop)}
        changed = laptop.patch(f"/api/users/{name}", json=body, headers=headers)
        assert changed.status_code == 200, changed.text
        assert has_session(laptop)
        assert not has_session(phone)


def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(
    server: LiveServer,
) -> None:
    with account(server, "admin") as (me, http):
        for user in http.get("/api/users").json()["items"]:
            if user["role"] == "admin" and user["name"] != me and not user["disabled"]:
                assert http.patch(f"/api/users/{user['name']}", json={"role": "editor"}).is_success
        with nothing_written(server):
            assert (
                "last active admin"
                in assert_error(
                    http.patch(f"/api/users/{me}", json={"disabled": True}), 409, "disabled"
                )["message"]
            )
            assert_error(http.patch(f"/api/users/{me}", json={"role": "editor"}), 409, "role")
        assert http.get(f"/api/users/{me}").json()["role"] == "admin"
        other = new_name("admin")
        body = {"name": other, "role": "admin", "password": PASSWORD}
        assert http.post("/api/users", json=body).status_code == 201
        assert http.patch(f"/api/users/{me}", json={"role": "editor"}).status_code == 200


def test_desk_user_forms_work_without_javascript_and_need_csrf(
    server: LiveServer, person: tuple[str, httpx.Client]
) -> None:
    target, _ = person
    with account(server, "admin") as (me, api), signed_in(server, me) as desk:
        csrf = desk_csrf(desk)
        name = new_name()
        with nothing_written(server):
            form = {"name": name, "role": "editor", "password": PASSWORD}
            assert desk.post("/desk/users", data=form).status_code == 403
            role = {"role": "editor"}
            assert desk.post(f"/desk/users/{target}/role", data=role).status_code == 403
        added = desk.post("/desk/users", data={**form, "csrf": csrf})
        assert (added.status_code, added.headers["location"]) == (303, "/desk/users")
        assert name in desk.get("/desk/users").text
        changed = desk.post(f"/desk/users/{target}/role", data={"role": "editor", "csrf": csrf})
        assert changed.status_code == 303
        assert api.get(f"/api/users/{target}").json()["role"] == "editor"
        made = desk.post("/desk/tokens", data={"label": "from the form", "csrf": csrf})
        assert made.status_code == 200 and "copy it now" in made.text
        assert made.headers["cache-control"] == "no-store"


def test_the_users_page_is_for_admins_only(
    server: LiveServer, person: tuple[str, httpx.Client]
) -> None:
    name, _ = person
    with signed_in(server, name) as desk:
        assert desk.get("/desk/users").status_code == 403
        csrf = desk_csrf(desk)
        with nothing_written(server):
            form = {"name": new_name(), "role": "admin", "password": PASSWORD, "csrf": csrf}
            assert desk.post("/desk/users", data=form).status_code == 403
            access = {"disabled": "1", "csrf": csrf}
            assert desk.post(f"/desk/users/{name}/access", data=access).status_code == 403
