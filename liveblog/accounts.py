"""Users, their passwords (argon2) and their API tokens (stored only as hashes)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import ROLES, ApiToken, User
from liveblog.errors import Conflict, InvalidInput, NotFound

_hasher = PasswordHasher()
TOKEN_PREFIX = "lb_"
MIN_PASSWORD_LENGTH = 8


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(user: User, password: str) -> bool:
    """True when password is the user's."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_user(session: AsyncSession, name: str, role: str, password: str) -> User:
    """Add a user; the name must be new and the password at least 8 characters."""
    name = name.strip()
    if not name or len(name) > 80:
        raise InvalidInput("a user name is 1 to 80 characters", field="name")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    user = User(name=name, role=role, password_hash=_hasher.hash(password))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a user named {name!r} already exists", field="name") from None
    return user


async def create_token(session: AsyncSession, user_name: str) -> str:
    """Make a new API token for a user and return it; only its hash is kept."""
    user = await user_by_name(session, user_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    await session.flush()
    return token


async def user_by_name(session: AsyncSession, name: str) -> User:
    """The user with that name, or NotFound."""
    user = await session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    """The user with that id, or None."""
    return await session.scalar(select(User).where(User.id == user_id))


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    """The user an API token belongs to, or None (also when that user is disabled)."""
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.user.disabled:
        return None
    return row.user


async def user_count(session: AsyncSession) -> int:
    """How many users exist."""
    return await session.scalar(select(func.count()).select_from(User)) or 0
