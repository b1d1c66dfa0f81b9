"""Uploaded images: checked and cleaned by content (images.py), kept by a store (store.py and
one module per backend), reached through the library (library.py)."""

from __future__ import annotations

from liveblog.db.engine import Database
from liveblog.media.database import DatabaseStore
from liveblog.media.folder import FolderStore
from liveblog.media.library import MediaLibrary
from liveblog.media.memory import MemoryStore
from liveblog.media.store import MediaStore
from liveblog.settings import Settings, sqlite_file

__all__ = ["MediaLibrary", "MediaStore", "MemoryStore", "open_media", "open_media_store"]


def open_media(settings: Settings, db: Database) -> MediaLibrary:
    """The media library of this deployment."""
    return MediaLibrary(open_media_store(settings, db))


def open_media_store(settings: Settings, db: Database) -> MediaStore:
    """Files in `media/` beside a SQLite database; on PostgreSQL the bytes in the database,
    where every process of the deployment, on any machine, can serve them."""
    if not settings.is_sqlite:
        return DatabaseStore(db)
    path = sqlite_file(settings.database_url)
    return MemoryStore() if path is None else FolderStore(path.parent / "media", db)
