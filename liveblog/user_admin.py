"""Managing users and tokens as a signed-in person may: the rules the API and the desk share.

Admins manage everyone; anyone may change their own password (giving the current one) and
create, list and revoke their own API tokens. Passwords are hashed before a write
transaction opens, so the database is never held while argon2 works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from liveblog import accounts, passwords, sign_in_limits
from liveblog.db.engine import Database
from liveblog.db.models import ApiToken, User
from liveblog.errors import InvalidInput
from liveblog.stories.permissions import require_admin


@dataclass(frozen=True)
class UserChange:
    """What a PATCH of a user asks for; None leaves a field as it is."""

    role: str | None = None
    disabled: bool | None = None
    password: str | None = None
    current_password: str | None = None


def require_self_or_admin(actor: User, name: str) -> None:
    """Only admins act on other people's accounts."""
    if actor.name != name:
        require_admin(actor)


async def create_user(db: Database, actor: User, name: str, role: str, password: str) -> User:
    """Add a user (admins only)."""
    require_admin(actor)
    name, role = accounts.check_name(name), accounts.check_role(role)
    password_hash = await passwords.hash_password(password)
    async with db.writing() as session:
        return await accounts.insert_user(session, name, role, password_hash)


async def change_user(
    db: Database, actor: User, name: str, change: UserChange, address: str
) -> User:
    """Apply change to user `name`: role and disabled by admins only; a password by an admin,
    or by the user themself with their current password (a limited password attempt)."""
    if change.role is not None or change.disabled is not None:
        require_admin(actor)
        if change.role is not None:
            accounts.check_role(change.role)
    require_self_or_admin(actor, name)
    password_hash = None
    if change.password is not None:
        passwords.check_rules(change.password)
        if actor.name == name:
            await _confirm_current_password(db, actor, change.current_password, address)
        password_hash = await passwords.hash_password(change.password)
    async with db.writing() as session:
        return await accounts.update_user(
            session, name, role=change.role, disabled=change.disabled, password_hash=password_hash
        )


async def _confirm_current_password(
    db: Database, actor: User, current: str | None, address: str
) -> None:
    # Whoever holds a session or token must not be able to lock its owner out for good.
    if not current:
        raise InvalidInput(
            "current_password is needed to change your own password", field="current_password"
        )
    if await sign_in_limits.check_password(db, actor.name, current, address) is None:
        raise InvalidInput(
            "current_password is not your current password", field="current_password"
        )


async def get_user(db: Database, actor: User, name: str) -> User:
    """A user, for an admin or for the user themself."""
    require_self_or_admin(actor, name)
    async with db.reading() as session:
        return await accounts.user_by_name(session, name)


async def list_users(db: Database, actor: User) -> Sequence[User]:
    """Every user (admins only)."""
    require_admin(actor)
    async with db.reading() as session:
        return await accounts.list_users(session)


async def create_token(db: Database, actor: User, name: str, label: str) -> tuple[ApiToken, str]:
    """A new API token for user `name` (themself or an admin): the row and the secret."""
    require_self_or_admin(actor, name)
    async with db.writing() as session:
        return await accounts.issue_token(
            session, await accounts.user_by_name(session, name), label
        )


async def list_tokens(db: Database, actor: User, name: str) -> Sequence[ApiToken]:
    """User `name`'s API tokens (themself or an admin), newest first."""
    require_self_or_admin(actor, name)
    async with db.reading() as session:
        return await accounts.list_tokens(session, await accounts.user_by_name(session, name))


async def revoke_token(db: Database, actor: User, token_id: int) -> None:
    """Delete an API token: one's own, or any for an admin."""
    async with db.writing() as session:
        await accounts.revoke_token(session, actor, token_id)
