"""Images in the database: on PostgreSQL every process, on any machine, serves every image."""

from __future__ import annotations

from sqlalchemy import select

from liveblog.db.engine import Database
from liveblog.db.models import Media
from liveblog.media.images import CleanImage
from liveblog.media.rows import add_row
from liveblog.media.store import MediaStore


class DatabaseStore(MediaStore):
    """The bytes of each image in its row of the media table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, image: CleanImage, uploader_id: int | None) -> None:
        await add_row(self._db, image, uploader_id, data=image.data)

    async def load(self, name: str) -> bytes | None:
        async with self._db.reading() as session:
            return await session.scalar(select(Media.data).where(Media.name == name))
