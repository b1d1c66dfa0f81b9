"""`liveblog db backup PATH`: a consistent copy of a SQLite database, taken while it serves, with
its media and secret key, in a new folder that is itself a data folder a server can start on.

PATH/
  <name>.db              the database, copied by SQLite's online backup API (one snapshot)
  media/                 the uploaded images (named by their content)
  liveblog-secret.key    the key that signs desk sessions, when it is kept in a file
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from liveblog.errors import ConfigError
from liveblog.new_folder import new_folder
from liveblog.settings import Settings, sqlite_file

MEDIA_FOLDER = "media"
SECRET_KEY_FILE = "liveblog-secret.key"
POSTGRES_REFUSAL = (
    "liveblog db backup copies a SQLite database; back up PostgreSQL with "
    "`pg_dump -Fc -f liveblog.dump $LIVEBLOG_DATABASE_URL` (README: Backup, restore, export "
    "and archive)"
)


@dataclass(frozen=True)
class BackupReport:
    """What a backup holds."""

    folder: Path
    database: Path
    database_bytes: int
    media_files: int
    secret_key: bool


def back_up_sqlite(settings: Settings, destination: Path) -> BackupReport:
    """Copy the database, its media and its key into the new folder destination (written
    whole or not at all)."""
    source = _sqlite_source(settings)
    with new_folder(destination) as draft:
        # The database first: every media row in the snapshot names a file written before
        # the row, so the folder copied afterwards holds it (files are never deleted).
        _copy_database(source, draft / source.name)
        media = _copy_media(source.parent / MEDIA_FOLDER, draft / MEDIA_FOLDER)
        key = _copy_secret_key(source.parent / SECRET_KEY_FILE, draft / SECRET_KEY_FILE)
    database = destination / source.name
    return BackupReport(destination, database, database.stat().st_size, media, key)


def _sqlite_source(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise ConfigError(POSTGRES_REFUSAL)
    path = sqlite_file(settings.database_url)
    if path is None:
        raise ConfigError("the database lives in memory: there is nothing on disk to back up")
    if not path.is_file():
        raise ConfigError(f"there is no database at {path}")
    return path


def _copy_database(source: Path, target: Path) -> None:
    # mode=rw: a file that vanished is an error, not a new empty database.
    uri = f"{source.as_uri()}?mode=rw"
    try:
        with (
            closing(sqlite3.connect(uri, uri=True, timeout=30)) as reader,
            closing(sqlite3.connect(target)) as copy,
        ):
            # All pages in one step, inside one read transaction: a consistent snapshot, and
            # in WAL mode the server's writers go on meanwhile.
            reader.backup(copy)
            # One self-contained file: no -wal file beside it that could be left behind.
            copy.execute("PRAGMA journal_mode=DELETE")
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as error:
        raise ConfigError(f"cannot back up {source}: {error}") from None
    if check != "ok":
        raise ConfigError(f"the copy of {source} fails SQLite's check: {check}")


def _copy_media(source: Path, target: Path) -> int:
    target.mkdir()
    if not source.is_dir():
        return 0
    count = 0
    for path in source.iterdir():
        # Dot files are uploads still being written; their rows come only after the rename.
        if path.is_file() and not path.name.startswith("."):
            shutil.copy2(path, target / path.name)
            count += 1
    return count


def _copy_secret_key(source: Path, target: Path) -> bool:
    if not source.is_file():
        return False  # the key comes from LIVEBLOG_SECRET_KEY, not a file
    shutil.copy2(source, target)
    target.chmod(0o600)
    return True
