"""Queries of users that no account rule needs: who a freshly seeded site posts as, and whose
API token a request carries."""

from __future__ import annotations

from sqlalchemy import bindparam, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from liveblog.db.engine import Database
from liveblog.db.models import ApiToken, User

_USERS, _TOKENS = User.__table__, ApiToken.__table__
_TOKEN_USER = (
    select(_USERS)
    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), _USERS.c.disabled == false())
)


async def first_admin(session: AsyncSession) -> User | None:
    """The oldest admin, else the oldest user of any role; None when there are no users."""
    query = select(User).order_by((User.role != "admin"), User.id).limit(1)
    return await session.scalar(query)


async def enabled_user_with_token(db: Database, token_hash: str) -> User | None:
    """The enabled user whose API token has this hash, or None, as a detached User.

    Every API request asks this, so it is one prebuilt Core statement and one object, not
    a session's joined load of the token and its user."""
    rows = await db.read_rows(_TOKEN_USER, {"token_hash": token_hash})
    if not rows:
        return None
    user = User(**rows[0]._mapping)
    make_transient_to_detached(user)
    return user
