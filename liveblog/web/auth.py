"""Who is asking: an API token (Authorization: Bearer) or a desk session with a CSRF token."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import HTTPConnection, Request

from liveblog import accounts
from liveblog.db.models import User
from liveblog.errors import Forbidden, NotAuthenticated
from liveblog.web.services import services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


async def optional_user(request: Request) -> User | None:
    """The signed-in user, None for an anonymous reader; a bad token is 401."""
    header = request.headers.get("authorization")
    if header is not None:
        return await _token_user(request, header)
    if request.session.get("user_id") is None:
        return None
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return await session_user(request)


async def session_user(connection: HTTPConnection) -> User | None:
    """The user of this desk session, None when there is none or it has been revoked
    (the user was disabled, signed out elsewhere or had the password reset)."""
    user_id = connection.session.get("user_id")
    if user_id is None:
        return None
    async with services(connection).db.reading() as session:
        user = await accounts.user_by_id(session, user_id)
    if user is None or user.disabled or user.session_version != connection.session.get("v"):
        connection.session.clear()
        return None
    return user


def start_session(connection: HTTPConnection, user: User) -> None:
    """Sign user in on this connection's session, with a new CSRF token."""
    connection.session.clear()
    connection.session["user_id"] = user.id
    connection.session["v"] = user.session_version
    csrf_token(connection)


async def required_user(request: Request) -> User:
    """The signed-in user, or 401."""
    user = await optional_user(request)
    if user is None:
        raise NotAuthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")
    return user


async def _token_user(request: Request, header: str) -> User:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
    user = await accounts.user_for_token(services(request).db, token.strip())
    if user is None:
        raise NotAuthenticated(
            "this API token is not valid; create one with 'liveblog token create'"
        )
    return user


def csrf_token(connection: HTTPConnection) -> str:
    """This session's CSRF token, made on first use."""
    token = connection.session.get("csrf")
    if token is None:
        token = connection.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(connection: HTTPConnection, given: str | None) -> None:
    """A session-authenticated change must echo the session's CSRF token."""
    expected = connection.session.get("csrf")
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise Forbidden("the CSRF token is missing or wrong; reload the page and try again")
