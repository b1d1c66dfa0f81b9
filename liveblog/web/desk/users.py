"""Desk: users (admins add, change role, disable and reset passwords) and one's own API tokens.

Every form posts with htmx and swaps its row or section in place; without JavaScript the same
forms post normally and the page comes back.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from liveblog import user_admin
from liveblog.db.models import ROLES, User
from liveblog.schemas import TokenCreate, UserCreate
from liveblog.user_admin import UserChange
from liveblog.web.desk.common import desk_admin, desk_user, go_to, is_htmx, render_desk
from liveblog.web.desk.forms import posted_form, text, validated
from liveblog.web.services import services
from liveblog.web.sign_in import client_address, keep_session

USERS = "/desk/users"
TOKENS = "/desk/tokens"


async def users_page(request: Request) -> Response:
    """Every user with their role, access and password controls, and a form to add one."""
    return await _users(request, await desk_admin(request), "desk/users.html")


async def add_user(request: Request) -> Response:
    """Add a user with a role and a first password."""
    actor, form = await posted_form(request, desk_admin)
    fields = {"name": text(form, "name").strip(), "role": text(form, "role")}
    data = validated(UserCreate, {**fields, "password": text(form, "password")})
    await user_admin.create_user(services(request).db, actor, data.name, data.role, data.password)
    if not is_htmx(request):
        return RedirectResponse(USERS, status_code=303)
    return await _users(request, actor, "desk/_users.html")


async def change_role(request: Request) -> Response:
    """Give a user another role."""
    return await _change(request, lambda form: UserChange(role=text(form, "role")))


async def change_access(request: Request) -> Response:
    """Disable a user (their sessions and tokens stop working at once) or enable them again."""
    return await _change(request, lambda form: UserChange(disabled=text(form, "disabled") == "1"))


async def reset_password(request: Request) -> Response:
    """Set a user's password; their sessions end (for oneself: the other sessions)."""

    def change(form: FormData) -> UserChange:
        current = text(form, "current_password") or None
        return UserChange(password=text(form, "password"), current_password=current)

    return await _change(request, change, note="password")


async def _change(
    request: Request, change: Callable[[FormData], UserChange], note: str = ""
) -> Response:
    actor, form = await posted_form(request, desk_admin)
    db, name = services(request).db, request.path_params["name"]
    person = await user_admin.change_user(db, actor, name, change(form), client_address(request))
    keep_session(request, person)
    if person.id == actor.id and (person.role != "admin" or person.disabled):
        return go_to(request, "/desk")  # no longer allowed here
    if not is_htmx(request):
        return RedirectResponse(USERS, status_code=303)
    context = {"person": person, "roles": ROLES, "note": note}
    return render_desk(request, "desk/_user_row.html", actor, **context)


async def _users(request: Request, actor: User, template: str) -> Response:
    people = await user_admin.list_users(services(request).db, actor)
    return render_desk(request, template, actor, users=people, roles=ROLES)


async def tokens_page(request: Request) -> Response:
    """The signed-in user's API tokens, and a form to create one."""
    return await _tokens(request, await desk_user(request), "desk/tokens.html")


async def create_token(request: Request) -> Response:
    """Create an API token and show its secret, this once."""
    user, form = await posted_form(request)
    label = validated(TokenCreate, {"label": text(form, "label")}).label
    row, secret = await user_admin.create_token(services(request).db, user, user.name, label)
    template = "desk/_tokens.html" if is_htmx(request) else "desk/tokens.html"
    response = await _tokens(request, user, template, new_token=secret, new_row=row)
    response.headers["Cache-Control"] = "no-store"  # the secret must not linger in a cache
    return response


async def revoke_token(request: Request) -> Response:
    """Revoke one of one's API tokens: it stops working at once."""
    user, _ = await posted_form(request)
    await user_admin.revoke_token(services(request).db, user, request.path_params["token_id"])
    if not is_htmx(request):
        return RedirectResponse(TOKENS, status_code=303)
    return await _tokens(request, user, "desk/_tokens.html")


async def _tokens(request: Request, user: User, template: str, **context: object) -> Response:
    rows = await user_admin.list_tokens(services(request).db, user, user.name)
    return render_desk(request, template, user, tokens=rows, **context)


ROUTES: list[BaseRoute] = [
    Route(USERS, users_page, name="desk_users"),
    Route(USERS, add_user, methods=["POST"]),
    Route(USERS + "/{name}/role", change_role, methods=["POST"]),
    Route(USERS + "/{name}/access", change_access, methods=["POST"]),
    Route(USERS + "/{name}/password", reset_password, methods=["POST"]),
    Route(TOKENS, tokens_page, name="desk_tokens"),
    Route(TOKENS, create_token, methods=["POST"]),
    Route(TOKENS + "/{token_id:int}/revoke", revoke_token, methods=["POST"]),
]
