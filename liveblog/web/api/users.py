"""/api/users and /api/tokens: users and their API tokens."""

from __future__ import annotations

import re

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from liveblog import user_admin
from liveblog.accounts import NAME_LENGTH, NAME_PATTERN
from liveblog.db.models import ApiToken, User
from liveblog.errors import InvalidInput, NotFound
from liveblog.schemas import (
    NewTokenOut,
    TokenCreate,
    TokenList,
    UserCreate,
    UserList,
    UserOut,
    UserPatch,
)
from liveblog.web.api.common import MAX_ID, Handler, Operation, Param, json_response, read_json
from liveblog.web.auth import required_user
from liveblog.web.services import services
from liveblog.web.sign_in import client_address, keep_session

NAME = Param("name", "path", {"type": "string", "pattern": NAME_PATTERN, "maxLength": NAME_LENGTH})
TOKEN_ID = Param("id", "path", {"type": "integer", "minimum": 1, "maximum": MAX_ID})
# What the API shows of each: never a password hash, nor a token's secret (only its hint).
USER_FIELDS = ("name", "role", "disabled")
TOKEN_FIELDS = ("id", "label", "hint")


def user_json(user: User) -> dict[str, object]:
    """A user as the API shows it: never the password hash."""
    return _shown(user, USER_FIELDS)


def token_json(token: ApiToken) -> dict[str, object]:
    """An API token as the API shows it: never the secret (only its last characters)."""
    return _shown(token, TOKEN_FIELDS)


async def list_users(request: Request) -> Response:
    """Every user, by name (admins)."""
    actor = await required_user(request)
    users = await user_admin.list_users(services(request).db, actor)
    return json_response({"items": [user_json(u) for u in users], "next": None})


async def create_user(request: Request) -> Response:
    """Add a user with a role and a password (admins)."""
    actor = await required_user(request)
    data = await read_json(request, UserCreate)
    db = services(request).db
    user = await user_admin.create_user(db, actor, data.name, data.role, data.password)
    return json_response(user_json(user), 201)


async def get_user(request: Request) -> Response:
    """One user (admins, or the user themself)."""
    actor = await required_user(request)
    user = await user_admin.get_user(services(request).db, actor, request.path_params["name"])
    return json_response(user_json(user))


async def patch_user(request: Request) -> Response:
    """Change a user's role, disabled flag or password."""
    actor = await required_user(request)
    data = await read_json(request, UserPatch)
    change = _user_change(data)
    name = request.path_params["name"]
    db = services(request).db
    user = await user_admin.change_user(db, actor, name, change, client_address(request))
    keep_session(request, user)
    return json_response(user_json(user))


async def create_token(request: Request) -> Response:
    """A new API token for a user (themself or an admin); the secret is shown only now."""
    actor = await required_user(request)
    data = await read_json(request, TokenCreate)
    name = request.path_params["name"]
    row, secret = await user_admin.create_token(services(request).db, actor, name, data.label)
    return json_response({**token_json(row), "token": secret}, 201)


async def list_tokens(request: Request) -> Response:
    """A user's API tokens, newest first (themself or an admin)."""
    actor = await required_user(request)
    name = request.path_params["name"]
    rows = await user_admin.list_tokens(services(request).db, actor, name)
    return json_response({"items": [token_json(t) for t in rows], "next": None})


async def revoke_token(request: Request) -> Response:
    """Revoke an API token (its owner or an admin); it stops working at once."""
    actor = await required_user(request)
    await user_admin.revoke_token(services(request).db, actor, _token_id(request))
    return Response(status_code=204)


def _user_change(data: UserPatch) -> user_admin.UserChange:
    given = data.model_dump(exclude_unset=True)
    for name, value in given.items():
        if value is None:
            # Silently skipping a null would answer 200 to a change that never happened.
            raise InvalidInput(f"{name} cannot be null", field=name)
    return user_admin.UserChange(**given)


def _shown(row: User | ApiToken, names: tuple[str, ...]) -> dict[str, object]:
    shown = {name: getattr(row, name) for name in names}
    return {**shown, "created_at": row.created_at.isoformat()}


def _token_id(request: Request) -> int:
    raw = request.path_params["id"]
    # Only the canonical form: "01" or "+1" names no token.
    if not re.fullmatch(r"[1-9][0-9]{0,9}", raw) or int(raw) > MAX_ID:
        raise NotFound(f"no API token {raw!r}")
    return int(raw)


def _user_read(path: str, handler: Handler, summary: str, response: type[BaseModel]) -> Operation:
    """A GET of what belongs to the user the path names (admins, or the user themself)."""
    return Operation(
        "GET", path, handler, summary, response, params=(NAME,), auth=True, errors=(401, 403, 404)
    )


WRITE_ERRORS = (401, 403, 404, 409, 413, 422)
OPERATIONS = (
    Operation(
        "GET", "/api/users", list_users, "List users", UserList, auth=True, errors=(401, 403)
    ),
    Operation(
        "POST",
        "/api/users",
        create_user,
        "Add a user",
        UserOut,
        status=201,
        body=UserCreate,
        auth=True,
        errors=(401, 403, 409, 413, 422),
    ),
    _user_read("/api/users/{name}", get_user, "Read a user", UserOut),
    Operation(
        "PATCH",
        "/api/users/{name}",
        patch_user,
        "Change a user's role, disabled flag or password",
        UserOut,
        body=UserPatch,
        params=(NAME,),
        auth=True,
        errors=(*WRITE_ERRORS, 429),
    ),
    _user_read("/api/users/{name}/tokens", list_tokens, "List a user's API tokens", TokenList),
    Operation(
        "POST",
        "/api/users/{name}/tokens",
        create_token,
        "Create an API token (the secret is in this answer only)",
        NewTokenOut,
        status=201,
        body=TokenCreate,
        params=(NAME,),
        auth=True,
        errors=(401, 403, 404, 413, 422),
    ),
    Operation(
        "DELETE",
        "/api/tokens/{id}",
        revoke_token,
        "Revoke an API token",
        None,
        status=204,
        params=(TOKEN_ID,),
        auth=True,
        errors=(401, 404),
    ),
)
