"""A limit on failed password attempts, kept in the database so every process shares it.

More than PER_NAME failures for one name, or PER_ADDRESS from one address, within WINDOW:
further attempts are refused before any password is looked at, until the oldest counted
failure leaves the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from liveblog import accounts, passwords
from liveblog.db.engine import Database
from liveblog.db.models import SignInFailure, User, utcnow
from liveblog.errors import TooManyRequests

WINDOW = timedelta(minutes=15)
PER_NAME = 5
PER_ADDRESS = 20


@dataclass(frozen=True)
class Attempt:
    """One password attempt, recorded as a failure until it proves right."""

    name: str
    address: str


async def check_password(db: Database, name: str, password: str, address: str) -> User | None:
    """The user when name and password match an enabled user; None (a counted failure)
    otherwise. TooManyRequests while name or address is locked out."""
    attempt = await begin(db, name, address)
    async with db.reading() as session:
        user = await accounts.find_user(session, name)
    # Verify even without a user, and before looking at `disabled`: every refusal costs the same.
    if await passwords.verify(user, password) and user is not None and not user.disabled:
        await forget(db, attempt)
        return user
    return None


async def begin(db: Database, name: str, address: str) -> Attempt:
    """Refuse a locked-out name or address; otherwise record the attempt as a failure now,
    so attempts made at the same time count against each other."""
    attempt = Attempt(_fit(name, 80), _fit(address, 64))
    async with db.writing() as session:
        now = utcnow()
        await session.execute(delete(SignInFailure).where(SignInFailure.at <= now - WINDOW))
        wait = max(
            await _locked_for(session, SignInFailure.name == attempt.name, PER_NAME, now),
            await _locked_for(session, SignInFailure.address == attempt.address, PER_ADDRESS, now),
        )
        if wait:
            raise TooManyRequests(_message(wait), retry_after=wait)
        session.add(SignInFailure(name=attempt.name, address=attempt.address, at=now))
    return attempt


async def forget(db: Database, attempt: Attempt) -> None:
    """A right password: the name's failures from this address, this attempt's included, no
    longer count (failures from elsewhere still do: they may be someone else guessing)."""
    same = (SignInFailure.name == attempt.name, SignInFailure.address == attempt.address)
    async with db.writing() as session:
        await session.execute(delete(SignInFailure).where(*same))


async def _locked_for(
    session: AsyncSession, which: ColumnElement[bool], limit: int, now: datetime
) -> int:
    """Seconds until fewer than limit failures of `which` are in the window (0: not locked)."""
    query = (
        select(SignInFailure.at)
        .where(which, SignInFailure.at > now - WINDOW)
        .order_by(SignInFailure.at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    oldest_counted = await session.scalar(query)
    if oldest_counted is None:
        return 0
    return max(1, math.ceil((oldest_counted + WINDOW - now).total_seconds()))


def _message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    when = f"{minutes} minutes" if minutes > 1 else "a minute"
    return f"too many failed sign-ins; wait {when} and try again"


def _fit(value: str, length: int) -> str:
    # The columns are this long, and PostgreSQL refuses NUL characters in text.
    return value.replace("\x00", "\ufffd")[:length]
