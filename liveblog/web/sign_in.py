"""Desk sign-in and sign-out: a password form that starts a session cookie."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from liveblog import accounts
from liveblog.db.models import User
from liveblog.errors import Forbidden
from liveblog.web.auth import check_csrf, csrf_token, start_session
from liveblog.web.pages import render
from liveblog.web.services import services


async def sign_in_form(request: Request) -> Response:
    """The sign-in form."""
    return render(request, "pages/sign_in.html", csrf=csrf_token(request), error=None)


async def sign_in(request: Request) -> Response:
    """Check name and password; on success start a session and go to the front page."""
    form = await request.form()
    try:
        check_csrf(request, str(form.get("csrf", "")))
    except Forbidden as error:
        return _form_again(request, error.message, 403)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    async with services(request).db.reading() as session:
        user = await session.scalar(select(User).where(User.name == name))
    if user is None or not accounts.check_password(user, password):
        return _form_again(request, "that name and password do not match", 401)
    start_session(request, user)
    return RedirectResponse("/desk", status_code=303)


async def sign_out(request: Request) -> Response:
    """End the session."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    request.session.clear()
    return RedirectResponse("/", status_code=303)


def _form_again(request: Request, message: str, status: int) -> Response:
    return render(request, "pages/sign_in.html", status, csrf=csrf_token(request), error=message)


ROUTES = [
    Route("/desk/sign-in", sign_in_form, methods=["GET"], name="sign_in"),
    Route("/desk/sign-in", sign_in, methods=["POST"]),
    Route("/desk/sign-out", sign_out, methods=["POST"], name="sign_out"),
]
