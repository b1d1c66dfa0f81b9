"""Images as files in a folder: the embedded deployment keeps them beside its SQLite file."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from liveblog.db.engine import Database
from liveblog.media.images import CleanImage
from liveblog.media.rows import add_row
from liveblog.media.store import MediaStore


class FolderStore(MediaStore):
    """A file per image in folder, and its row (without the bytes) in the media table."""

    def __init__(self, folder: Path, db: Database) -> None:
        self.folder = folder
        self._db = db

    async def save(self, image: CleanImage, uploader_id: int | None) -> None:
        # The file first: a row never names a file that is not there.
        await asyncio.to_thread(self._write, image)
        await add_row(self._db, image, uploader_id, data=None)

    async def load(self, name: str) -> bytes | None:
        return await asyncio.to_thread(self._read, name)

    def _write(self, image: CleanImage) -> None:
        path = self.folder / image.name
        if path.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then renamed into place: a reader never gets
        # half a file, and two uploads of one image at once both end with the same file.
        draft = self.folder / f".{image.name}.{secrets.token_hex(4)}"
        try:
            draft.write_bytes(image.data)
            os.replace(draft, path)
        finally:
            draft.unlink(missing_ok=True)

    def _read(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None
