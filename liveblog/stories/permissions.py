"""Who may do what: reporters post and edit their own entries; editors and admins edit all."""

from __future__ import annotations

from liveblog.db.models import Entry, User
from liveblog.errors import Forbidden


def require_story_manager(user: User) -> None:
    """Only editors and admins create stories or change them."""
    if user.role not in ("admin", "editor"):
        raise Forbidden("only editors and admins can create or change stories")


def require_entry_editor(user: User, entry: Entry) -> None:
    """Reporters edit only their own entries."""
    if user.role == "reporter" and entry.author_id != user.id:
        raise Forbidden("reporters can only change their own entries")


def require_admin(user: User) -> None:
    """Only admins manage users."""
    if user.role != "admin":
        raise Forbidden("only admins can manage users")
