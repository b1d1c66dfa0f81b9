"""Users and their API tokens (stored only as hashes): the queries and the rules they keep."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog import passwords
from liveblog.db import user_reads
from liveblog.db.engine import Database
from liveblog.db.models import ROLES, ApiToken, User
from liveblog.errors import Conflict, InvalidInput, NotFound

TOKEN_PREFIX = "lb_"
HINT_LENGTH = 4
NAME_LENGTH = 80
# Names go in URLs (/api/users/{name}) and sign-in forms: no spaces, slashes or look-alikes.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$"


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    """A new user's name, stripped; InvalidInput naming `name` when it cannot be one."""
    name = name.strip()
    if not 1 <= len(name) <= NAME_LENGTH or not re.fullmatch(NAME_PATTERN, name):
        raise InvalidInput(
            "a user name is 1 to 80 letters, digits or . _ @ + -, starting with a letter or digit",
            field="name",
        )
    return name


def check_role(role: str) -> str:
    """role, when it is one; InvalidInput naming `role` otherwise."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    return role


async def create_user(session: AsyncSession, name: str, role: str, password: str) -> User:
    """Add a user; the name must be new and the password at least 8 characters."""
    name, role = check_name(name), check_role(role)
    return await insert_user(session, name, role, await passwords.hash_password(password))


async def insert_user(session: AsyncSession, name: str, role: str, password_hash: str) -> User:
    """Add a user whose name and role are checked and whose password is already hashed."""
    user = User(name=name, role=role, password_hash=password_hash)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a user named {name!r} already exists", field="name") from None
    return user


async def list_users(session: AsyncSession) -> Sequence[User]:
    """Every user, by name."""
    return (await session.scalars(select(User).order_by(User.name))).all()


async def find_user(session: AsyncSession, name: str) -> User | None:
    """The user with that name, or None (also for names no user can have)."""
    if "\x00" in name or len(name) > NAME_LENGTH:
        return None  # PostgreSQL cannot even compare text holding NUL
    return await session.scalar(select(User).where(User.name == name))


async def user_by_name(session: AsyncSession, name: str) -> User:
    """The user with that name, or NotFound."""
    user = await find_user(session, name)
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    """The user with that id, or None."""
    return await session.scalar(select(User).where(User.id == user_id))


async def update_user(
    session: AsyncSession,
    name: str,
    *,
    role: str | None = None,
    disabled: bool | None = None,
    password_hash: str | None = None,
) -> User:
    """Change a user's role, disabled flag or password (already hashed). Disabling or a new
    password ends the user's sessions; the last active admin can be neither demoted nor
    disabled (Conflict)."""
    if role is not None:
        check_role(role)
    admins: list[int] = []
    if role is not None or disabled is not None:
        admins = await _lock_active_admins(session)
    user = await user_by_name(session, name)
    if admins == [user.id] and (role not in (None, "admin") or disabled):
        field = "role" if role not in (None, "admin") else "disabled"
        what = "get another role" if field == "role" else "be disabled"
        raise Conflict(
            f"{name!r} is the last active admin and cannot {what}: make another user admin first",
            field=field,
        )
    user.role = role or user.role
    user.disabled = disabled if disabled is not None else user.disabled
    user.password_hash = password_hash or user.password_hash
    await session.flush()
    if disabled or password_hash:
        await end_sessions(session, user.id)
        await session.refresh(user, ["session_version"])
    return user


async def _lock_active_admins(session: AsyncSession) -> list[int]:
    # Locked in id order (PostgreSQL; SQLite has one writer anyway), so two admins demoting
    # each other at once queue up instead of both succeeding or deadlocking.
    query = (
        select(User.id)
        .where(User.role == "admin", User.disabled.is_(False))
        .order_by(User.id)
        .with_for_update()
    )
    return list((await session.scalars(query)).all())


async def end_sessions(session: AsyncSession, user_id: int) -> None:
    """End every desk session of a user: each one holds the version this moves past."""
    bump = User.session_version + 1
    await session.execute(update(User).where(User.id == user_id).values(session_version=bump))


async def create_token(session: AsyncSession, user_name: str) -> str:
    """Make a new API token for a user and return it; only its hash is kept."""
    _, token = await issue_token(session, await user_by_name(session, user_name))
    return token


async def issue_token(session: AsyncSession, user: User, label: str = "") -> tuple[ApiToken, str]:
    """A new API token for user: the stored row and the secret, which is never kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=hash_token(token), label=label, hint=token[-HINT_LENGTH:]
    )
    session.add(row)
    await session.flush()
    return row, token


async def list_tokens(session: AsyncSession, user: User) -> Sequence[ApiToken]:
    """A user's API tokens, newest first."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return (await session.scalars(query)).all()


async def revoke_token(session: AsyncSession, actor: User, token_id: int) -> None:
    """Delete an API token: one's own, or anyone's for an admin (NotFound otherwise, so
    nobody learns which ids other people's tokens have)."""
    row = await session.scalar(select(ApiToken).where(ApiToken.id == token_id))
    if row is None or (row.user_id != actor.id and actor.role != "admin"):
        raise NotFound(f"no API token {token_id} of yours")
    await session.delete(row)
    await session.flush()


async def user_for_token(db: Database, token: str) -> User | None:
    """The user an API token belongs to, or None (also when that user is disabled)."""
    return await user_reads.enabled_user_with_token(db, hash_token(token))
