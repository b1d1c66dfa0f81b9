"""Where uploaded images are kept: one small interface, one module per backend."""

from __future__ import annotations

from abc import ABC, abstractmethod

from liveblog.media.images import CleanImage


class MediaStore(ABC):
    """Keeps cleaned images under their names and hands their bytes back."""

    @abstractmethod
    async def save(self, image: CleanImage, uploader_id: int | None) -> None:
        """Keep image under image.name; saving the same image again changes nothing."""

    @abstractmethod
    async def load(self, name: str) -> bytes | None:
        """The bytes kept under name (a name is_media_name accepts); None when there are none."""
