"""Queries of users that no account rule needs: who a freshly seeded site posts as."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog.db.models import User


async def first_admin(session: AsyncSession) -> User | None:
    """The oldest admin, else the oldest user of any role; None when there are no users."""
    query = select(User).order_by((User.role != "admin"), User.id).limit(1)
    return await session.scalar(query)
