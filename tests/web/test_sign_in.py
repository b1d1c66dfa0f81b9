"""Desk sign-in through the real form: wrong passwords, CSRF, the failure limit, timing,
redirects, and sessions that end when their user signs out."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta

import httpx
import pytest

from liveblog.db.engine import open_database
from liveblog.db.models import SignInFailure, utcnow
from liveblog.settings import load_settings
from tests.support import LiveServer
from tests.web.desk_sessions import (
    PASSWORD,
    csrf_field,
    desk_client,
    desk_csrf,
    has_session,
    new_address,
    sign_in,
    signed_in,
)

TABLES = ("users", "api_tokens", "stories", "entries")
WINDOW_SECONDS = 15 * 60


def failures(server: LiveServer) -> int:
    return server.deployment.count_rows("sign_in_failures")["sign_in_failures"]


def fail_to_sign_in(http: httpx.Client, name: str, times: int) -> None:
    """Sign in as name with a wrong password, times over; each is refused with 401."""
    for _ in range(times):
        assert sign_in(http, name, "guess").status_code == 401


@pytest.fixture
def account(server: LiveServer) -> str:
    """A reporter of the test's own (password: PASSWORD)."""
    return server.deployment.add_user("reporter")[0]


def test_right_password_starts_a_session_and_opens_the_desk(
    server: LiveServer, account: str
) -> None:
    with desk_client(server) as http:
        assert not has_session(http)
        response = sign_in(http, account, PASSWORD)
        assert response.status_code == 303
        assert response.headers["location"] == "/desk"
        assert has_session(http)


def test_wrong_password_is_401_on_the_form_and_writes_nothing_but_the_failure(
    server: LiveServer, account: str
) -> None:
    before, failed_before = server.deployment.count_rows(*TABLES), failures(server)
    with desk_client(server) as http:
        response = sign_in(http, account, "not the password")
        assert response.status_code == 401
        assert "do not match" in response.text and 'name="password"' in response.text
        assert not has_session(http)
    assert server.deployment.count_rows(*TABLES) == before
    assert failures(server) == failed_before + 1


def test_unknown_name_and_disabled_user_get_the_same_answer_as_a_wrong_password(
    server: LiveServer, account: str, admin: httpx.Client
) -> None:
    assert admin.patch(f"/api/users/{account}", json={"disabled": True}).status_code == 200
    with desk_client(server) as http:
        answers = [
            sign_in(http, "nobody-by-this-name", PASSWORD),
            sign_in(http, account, PASSWORD),  # right password, but disabled
            sign_in(http, account, "wrong password"),
        ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert all("that name and password do not match" in a.text for a in answers)


def test_missing_or_wrong_csrf_is_403_and_counts_nothing(server: LiveServer, account: str) -> None:
    failed_before = failures(server)
    with desk_client(server) as http:
        http.get("/desk/sign-in")
        for csrf in (None, "forged"):
            data = {"name": account, "password": PASSWORD, **({"csrf": csrf} if csrf else {})}
            response = http.post("/desk/sign-in", data=data)
            assert response.status_code == 403
            assert "CSRF" in response.text
        assert not has_session(http)
    assert failures(server) == failed_before


def test_the_sixth_failed_sign_in_for_a_name_is_refused_with_retry_after(
    server: LiveServer, account: str
) -> None:
    with desk_client(server) as http:
        fail_to_sign_in(http, account, 5)
        counted = failures(server)
        refused = sign_in(http, account, PASSWORD)  # even the right password, from anywhere
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
        assert "too many failed sign-ins" in refused.text
        assert 'name="password"' in refused.text  # the form again, with the message
        assert not has_session(http)
    with desk_client(server) as elsewhere:
        assert sign_in(elsewhere, account, PASSWORD).status_code == 429
    assert failures(server) == counted  # refusals are not failures: the lock does not grow


def test_the_twenty_first_failure_from_one_address_is_refused_across_names(
    server: LiveServer, account: str
) -> None:
    address = new_address()
    with desk_client(server, address) as http:
        for n in range(20):
            assert sign_in(http, f"guess-{n}", "guess").status_code == 401
        refused = sign_in(http, account, PASSWORD)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > WINDOW_SECONDS - 120
    with desk_client(server) as other_address:
        assert sign_in(other_address, account, PASSWORD).status_code == 303


def add_failures(server: LiveServer, name: str, count: int, age: timedelta) -> None:
    """Failed sign-ins for name made age ago, written straight into the database."""

    async def add() -> None:
        deployment = server.deployment
        db = open_database(load_settings(environ=deployment.env, cwd=deployment.folder))
        try:
            async with db.writing() as session:
                at = utcnow() - age
                session.add_all(
                    SignInFailure(name=name, address="10.0.0.1", at=at) for _ in range(count)
                )
        finally:
            await db.close()

    asyncio.run(add())


def test_retry_after_is_when_the_oldest_counted_failure_leaves_the_window(
    server: LiveServer, account: str
) -> None:
    add_failures(server, account, 5, timedelta(minutes=14))
    with desk_client(server) as http:
        refused = sign_in(http, account, PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "wait a minute" in refused.text


def test_failures_older_than_the_window_do_not_count_and_are_pruned(
    server: LiveServer, account: str
) -> None:
    add_failures(server, account, 5, timedelta(minutes=16))
    before = failures(server)
    with desk_client(server) as http:
        assert sign_in(http, account, PASSWORD).status_code == 303
    assert failures(server) <= before - 5


def test_a_success_forgets_earlier_failures_from_that_address(
    server: LiveServer, account: str
) -> None:
    with desk_client(server) as http:
        fail_to_sign_in(http, account, 4)
        assert sign_in(http, account, PASSWORD).status_code == 303
        fail_to_sign_in(http, account, 5)


def test_an_unknown_name_takes_about_as_long_as_a_wrong_password(
    server: LiveServer, account: str
) -> None:
    def timed(name: str) -> float:
        with desk_client(server) as http:
            form = http.get("/desk/sign-in")
            data = {"csrf": csrf_field(form.text), "name": name, "password": "wrong"}
            start = time.perf_counter()
            assert http.post("/desk/sign-in", data=data).status_code == 401
            return time.perf_counter() - start

    wrong = [timed(account) for _ in range(4)]  # 4 failures: under the limit of 5
    unknown = [timed(f"nobody-{n}") for n in range(4)]
    # Loose on purpose (a shared machine): without the dummy hash, unknown names take a
    # small fraction of a wrong password's argon2 check.
    assert statistics.median(unknown) >= statistics.median(wrong) / 2, (unknown, wrong)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/desk/tokens", "/desk/tokens"),
        ("/desk/stories/x?tab=1", "/desk/stories/x?tab=1"),
        ("https://evil.example/desk", "/desk"),
        ("//evil.example/desk", "/desk"),
        ("/\\evil.example", "/desk"),
        ("/desktop", "/desk"),
        ("/", "/desk"),
    ],
)
def test_after_sign_in_only_a_desk_path_is_followed(
    server: LiveServer, account: str, target: str, expected: str
) -> None:
    with desk_client(server) as http:
        response = sign_in(http, account, PASSWORD, next=target)
        assert response.status_code == 303
        assert response.headers["location"] == expected


def test_a_desk_page_sends_a_signed_out_visitor_to_the_form_and_back(
    server: LiveServer, account: str
) -> None:
    with desk_client(server) as http:
        bounced = http.get("/desk/tokens")
        assert bounced.status_code == 303
        form = http.get(bounced.headers["location"])
        assert 'name="next" value="/desk/tokens"' in form.text
        response = sign_in(http, account, PASSWORD, next="/desk/tokens")
        assert response.headers["location"] == "/desk/tokens"


def test_sign_out_ends_every_session_of_that_user(server: LiveServer, account: str) -> None:
    other_user = server.deployment.add_user("reporter")[0]
    with (
        signed_in(server, account) as laptop,
        signed_in(server, account) as phone,
        signed_in(server, other_user) as colleague,
    ):
        response = laptop.post("/desk/sign-out", data={"csrf": desk_csrf(laptop)})
        assert response.status_code == 303
        assert response.headers["location"] == "/desk/sign-in"
        assert not has_session(laptop)
        assert not has_session(phone)
        assert has_session(colleague)


def test_sign_out_without_csrf_is_403_and_keeps_the_session(
    server: LiveServer, account: str
) -> None:
    with signed_in(server, account) as http:
        assert http.post("/desk/sign-out", data={}).status_code == 403
        assert http.post("/desk/sign-out", data={"csrf": "forged"}).status_code == 403
        assert has_session(http)


def test_api_with_a_session_needs_the_csrf_header(server: LiveServer, account: str) -> None:
    with signed_in(server, account) as http:
        me = f"/api/users/{account}/tokens"
        assert http.post(me, json={"label": "x"}).status_code == 403
        created = http.post(me, json={"label": "x"}, headers={"X-CSRF-Token": desk_csrf(http)})
        assert created.status_code == 201, created.text
