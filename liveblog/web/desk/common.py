"""What every desk page shares: the signed-in user, CSRF on every change, desk rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from liveblog.db.models import User, utcnow
from liveblog.errors import Forbidden, InvalidInput, SignInRequired
from liveblog.web.api.common import invalid_input
from liveblog.web.auth import CSRF_HEADER, check_csrf, csrf_token, session_user
from liveblog.web.services import services

Model = TypeVar("Model", bound=BaseModel)
# A clock a little ahead of the server's is not a time in the future.
FUTURE_SLACK = timedelta(minutes=2)


async def desk_user(request: Request) -> User:
    """The user signed in to the desk by session cookie, or SignInRequired."""
    user = await session_user(request)
    if user is None:
        raise SignInRequired("sign in to use the desk")
    return user


async def desk_admin(request: Request) -> User:
    """The signed-in user, who must be an admin."""
    user = await desk_user(request)
    if user.role != "admin":
        raise Forbidden("only admins can manage users")
    return user


async def read_form(request: Request) -> FormData:
    """A desk form's fields, after checking its CSRF token (form field or htmx header)."""
    form = await request.form()
    check_csrf(request, request.headers.get(CSRF_HEADER) or str(form.get("csrf", "")))
    return form


def is_htmx(request: Request) -> bool:
    """True for a request htmx made (it swaps a fragment rather than loading a page)."""
    return request.headers.get("hx-request") == "true"


def go_to(request: Request, url: str) -> Response:
    """Send the browser to url: a full load for htmx (HX-Redirect), a 303 for a plain form."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def render_desk(
    request: Request, template: str, user: User | None, status: int = 200, **context: object
) -> Response:
    """Render a desk template (a page or a fragment) with the user and the CSRF token."""
    page = services(request).templates.get_template(template)
    html = page.render(request=request, user=user, csrf=csrf_token(request), **context)
    return HTMLResponse(html, status_code=status)


def validated(model: type[Model], fields: dict[str, object]) -> Model:
    """Desk form fields checked by the API's own schema (one set of rules), 422 naming a field."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise invalid_input(error) from None


def checked(form: FormData, name: str) -> bool:
    """Whether a checkbox was ticked."""
    return form.get(name) in ("on", "true", "1")


def text(form: FormData, name: str) -> str:
    """A text field's value ('' when absent), with the browser's CRLF line ends made LF."""
    return str(form.get(name, "")).replace("\r\n", "\n")


def shown_at(form: FormData) -> datetime | None:
    """The shown time from a datetime-local field and the browser's UTC offset (tz_offset:
    minutes, as JavaScript's getTimezoneOffset gives it); None when left empty (now)."""
    raw = text(form, "shown_at").strip()
    if not raw:
        return None
    try:
        local = datetime.fromisoformat(raw)
        offset = int(text(form, "tz_offset") or 0)
    except ValueError:
        raise InvalidInput("the shown time is not a date and time", field="shown_at") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=timezone(-timedelta(minutes=offset)))
    if local > utcnow() + FUTURE_SLACK:
        raise InvalidInput("the shown time cannot be in the future", field="shown_at")
    return local.astimezone(UTC)
