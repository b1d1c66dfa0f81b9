"""What desk forms share: who posted one (CSRF checked), its fields, and checking them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request

from liveblog.db.models import User, utcnow
from liveblog.errors import InvalidInput
from liveblog.web.api.common import invalid_input
from liveblog.web.auth import CSRF_HEADER, check_csrf
from liveblog.web.desk.common import desk_user

Model = TypeVar("Model", bound=BaseModel)
# A clock a little ahead of the server's is not a time in the future.
FUTURE_SLACK = timedelta(minutes=2)


async def posted_form(
    request: Request, who: Callable[[Request], Awaitable[User]] = desk_user
) -> tuple[User, FormData]:
    """Who posted (as `who` requires: signed in, or an admin) and their form's fields, after
    checking its CSRF token (form field or htmx header)."""
    user = await who(request)
    form = await request.form()
    check_csrf(request, request.headers.get(CSRF_HEADER) or str(form.get("csrf", "")))
    return user, form


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
