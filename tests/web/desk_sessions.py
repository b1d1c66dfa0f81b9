"""Signing in to the desk the way a browser does: the real form, its CSRF field and cookie."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support import LiveServer

PASSWORD = "correct horse battery"  # what Deployment.add_user gives every user
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def new_address() -> str:
    """A client address of the test's own (sent as X-Forwarded-For, which the server trusts
    from 127.0.0.1), so one test's failed sign-ins never count against another's."""
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


def csrf_field(html: str) -> str:
    """The value of a page's hidden csrf field."""
    match = _CSRF.search(html)
    assert match, html[:500]
    return match.group(1)


def desk_client(server: LiveServer, address: str | None = None) -> httpx.Client:
    """A browser-like client: keeps cookies, does not follow redirects, comes from address."""
    headers = {"X-Forwarded-For": address or new_address()}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def sign_in(http: httpx.Client, name: str, password: str, **fields: str) -> httpx.Response:
    """Fetch the sign-in form and post it."""
    form = http.get("/desk/sign-in")
    assert form.status_code == 200, form.text
    data = {"csrf": csrf_field(form.text), "name": name, "password": password, **fields}
    return http.post("/desk/sign-in", data=data)


@contextmanager
def signed_in(server: LiveServer, name: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """A new client with a desk session of user name, closed on exit."""
    with desk_client(server) as http:
        response = sign_in(http, name, password)
        assert response.status_code == 303, response.text
        yield http


def desk_csrf(http: httpx.Client) -> str:
    """The CSRF token of http's desk session, from a desk page."""
    page = http.get("/desk/tokens")
    assert page.status_code == 200, page.text
    return csrf_field(page.text)


def has_session(http: httpx.Client) -> bool:
    """Whether http's desk session still works (a revoked one is sent to the sign-in form)."""
    page = http.get("/desk/tokens")
    if page.status_code == 303:
        assert page.headers["location"].startswith("/desk/sign-in")
        return False
    assert page.status_code == 200, page.text
    return True
