"""Passwords: argon2 hashes, made and checked on a worker thread so the event loop keeps serving."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from liveblog.db.models import User
from liveblog.errors import InvalidInput

MIN_LENGTH = 8
# argon2 reads the whole password; a cap keeps a huge one from costing more than a normal one.
MAX_LENGTH = 1024
_hasher = PasswordHasher()


def check_rules(password: str, field: str = "password") -> None:
    """A new password must be 8 to 1024 characters; InvalidInput naming field otherwise."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters", field=field)
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_LENGTH} characters", field=field)


async def hash_password(password: str, field: str = "password") -> str:
    """The argon2 hash of a new password that follows the rules."""
    check_rules(password, field)
    return await asyncio.to_thread(_hasher.hash, password)


async def verify(user: User | None, password: str) -> bool:
    """True when password is user's. Without a user it checks against a dummy hash, so an
    unknown name costs as much time as a wrong password (no telling names apart by timing)."""
    stored = user.password_hash if user is not None else None
    matches = await asyncio.to_thread(_verify, stored, password)
    return matches and user is not None


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    # Made once per process, with the same parameters as real hashes, so it costs the same.
    return _hasher.hash("no user has this password")
