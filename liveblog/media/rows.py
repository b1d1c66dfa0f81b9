"""The media table: one row per image, whichever store keeps its bytes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from liveblog.db.engine import Database
from liveblog.db.models import Media
from liveblog.media.images import CleanImage


async def add_row(
    db: Database, image: CleanImage, uploader_id: int | None, data: bytes | None
) -> None:
    """Record image (with its bytes when data is given), unless a row of its name exists."""
    if await has_row(db, image.name):
        return  # the same image again: its name is its content, so nothing is new
    row = Media(
        name=image.name,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size=len(image.data),
        uploader_id=uploader_id,
        data=data,
    )
    try:
        async with db.writing() as session:
            session.add(row)
    except IntegrityError:
        pass  # a concurrent upload of the same image came first, with the same bytes


async def has_row(db: Database, name: str) -> bool:
    """Whether an image of this name is recorded."""
    async with db.reading() as session:
        return await session.scalar(select(Media.id).where(Media.name == name)) is not None
