"""Images in memory: for a database that lives in memory too, and the test double."""

from __future__ import annotations

from liveblog.media.images import CleanImage
from liveblog.media.store import MediaStore


class MemoryStore(MediaStore):
    """One process's images in a dict, gone when it stops."""

    def __init__(self) -> None:
        self.images: dict[str, bytes] = {}

    async def save(self, image: CleanImage, uploader_id: int | None) -> None:
        self.images.setdefault(image.name, image.data)

    async def load(self, name: str) -> bytes | None:
        return self.images.get(name)
