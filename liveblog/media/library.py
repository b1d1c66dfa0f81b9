"""The media library: what the upload and serving routes use."""

from __future__ import annotations

import asyncio

from liveblog.media.images import CleanImage, clean_image, is_media_name
from liveblog.media.store import MediaStore

# Cleaning decodes every pixel (up to ~160 MB each for the largest images we accept) and keeps
# a core busy: a few at a time, so a burst of uploads cannot exhaust memory or starve readers.
CLEANED_AT_ONCE = 2


class MediaLibrary:
    """Uploaded images: checked and cleaned off the event loop, kept by a store, found by name."""

    def __init__(self, store: MediaStore) -> None:
        self.store = store
        self._cleaning = asyncio.Semaphore(CLEANED_AT_ONCE)

    async def add(self, data: bytes, uploader_id: int | None) -> CleanImage:
        """Check and clean data (InvalidInput when it is not an image we accept), then keep it."""
        async with self._cleaning:
            image = await asyncio.to_thread(clean_image, data)
        await self.store.save(image, uploader_id)
        return image

    async def load(self, name: str) -> bytes | None:
        """The bytes of the image called name; None for an unknown or malformed name."""
        if not is_media_name(name):
            return None
        return await self.store.load(name)
