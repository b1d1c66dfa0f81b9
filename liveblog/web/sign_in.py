"""Desk sign-in and sign-out: a password form that starts a session cookie.

Failed attempts are limited (liveblog/sign_in_limits.py); signing out ends every session of
the user, on every device.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from liveblog import accounts, sign_in_limits
from liveblog.db.models import User
from liveblog.errors import Forbidden, TooManyRequests
from liveblog.web.auth import check_csrf, csrf_token, session_user, start_session
from liveblog.web.pages import render
from liveblog.web.services import services

DESK = "/desk"
WRONG = "that name and password do not match"


async def sign_in_form(request: Request) -> Response:
    """The sign-in form."""
    return _form(request, request.query_params.get("next", ""), None, 200)


async def sign_in(request: Request) -> Response:
    """Check name and password; on success start a session and go to the desk (or `next`)."""
    form = await request.form()
    target = str(form.get("next", ""))
    try:
        check_csrf(request, str(form.get("csrf", "")))
    except Forbidden as error:
        return _form(request, target, error.message, 403)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    db, address = services(request).db, client_address(request)
    try:
        user = await sign_in_limits.check_password(db, name, password, address)
    except TooManyRequests as error:
        return _form(request, target, error.message, 429, {"Retry-After": str(error.retry_after)})
    if user is None:
        return _form(request, target, WRONG, 401)
    start_session(request, user)
    return RedirectResponse(safe_next(target), status_code=303)


async def sign_out(request: Request) -> Response:
    """End every session of the signed-in user (this one and any other), then sign in again."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    user = await session_user(request)
    if user is not None:
        async with services(request).db.writing() as session:
            await accounts.end_sessions(session, user.id)
    request.session.clear()
    return RedirectResponse(f"{DESK}/sign-in", status_code=303)


def safe_next(target: str) -> str:
    """Where to go after signing in: a desk path of this site, never another site."""
    parts = urlsplit(target)
    local = not parts.scheme and not parts.netloc and "\\" not in target
    printable = target.isprintable()
    on_desk = parts.path == DESK or parts.path.startswith(DESK + "/")
    return target if local and printable and on_desk else DESK


def client_address(connection: HTTPConnection) -> str:
    """The client's address as uvicorn reports it (after its trusted-proxy handling)."""
    return connection.client.host if connection.client else "unknown"


def keep_session(connection: HTTPConnection, user: User) -> None:
    """After a change that ended user's sessions (a new password), keep this one going,
    when it is user's own: the others stay ended."""
    if connection.session.get("user_id") == user.id and not user.disabled:
        connection.session["v"] = user.session_version


def _form(
    request: Request,
    target: str,
    error: str | None,
    status: int,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {"csrf": csrf_token(request), "error": error, "next": safe_next(target)}
    response = render(request, "pages/sign_in.html", status, **context)
    response.headers.update(headers or {})
    return response


ROUTES = [
    Route("/desk/sign-in", sign_in_form, methods=["GET"], name="sign_in"),
    Route("/desk/sign-in", sign_in, methods=["POST"]),
    Route("/desk/sign-out", sign_out, methods=["POST"], name="sign_out"),
]
