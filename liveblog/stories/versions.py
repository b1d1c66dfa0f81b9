"""Entry versions as ETags: a change based on an old version is refused, never merged blindly."""

from __future__ import annotations

from liveblog.db.models import Entry
from liveblog.errors import PreconditionFailed


def etag(entry_id: int, version: int) -> str:
    """The strong ETag of an entry at a version."""
    return f'"{entry_id}-{version}"'


def require_match(if_match: str | None, entry: Entry) -> None:
    """Refuse (412) a change whose If-Match names another version of the entry."""
    if if_match is None:
        return
    current = etag(entry.id, entry.version)
    given = [tag.strip() for tag in if_match.split(",")]
    if "*" in given or current in given:
        return
    raise PreconditionFailed(
        f"entry {entry.id} was changed by someone else since you loaded it; "
        "load the newer version and apply your change to it"
    )
