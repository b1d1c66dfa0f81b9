"""Uploaded images: checked by their content, never by name or declared type, and re-encoded
from their pixels, so that no metadata (EXIF and its GPS position, XMP, colour profiles,
comments, text chunks) reaches a reader."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from PIL import Image, ImageCms, ImageOps, ImageSequence

from liveblog.errors import InvalidInput

# Pillow's format name -> (content type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
CONTENT_TYPES = {extension: content_type for content_type, extension in FORMATS.values()}
# Formats whose frames are all kept; of any other (a phone's MPO, a JPEG with a second
# picture inside) only the first picture is.
ANIMATED = frozenset({"GIF", "WEBP"})
# Decoded pixels take 4 bytes each or more: 40 megapixels (a 7,700 × 5,200 photo, or all the
# frames of an animation together) is already ~160 MB of memory while it is cleaned.
MAX_PIXELS = 40_000_000
# What Image.info may keep: how to draw the pixels. Everything else is metadata.
DRAWING_INFO = frozenset({"transparency", "duration", "loop", "background"})
SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 90, "optimize": True},
    "WEBP": {"quality": 90},
}
# 128 bits of the SHA-256 of the stored bytes: collisions are out of reach, URLs stay short.
HASH_CHARS = 32
MEDIA_NAME = re.compile(rf"[0-9a-f]{{{HASH_CHARS}}}\.(?:{'|'.join(CONTENT_TYPES)})")
NOT_ACCEPTED = "the file is not an image we accept: send a JPEG, PNG, GIF or WebP image"


@dataclass(frozen=True)
class CleanImage:
    """An image re-encoded without metadata, named by its content."""

    data: bytes
    content_type: str
    width: int
    height: int
    name: str


def clean_image(data: bytes, max_pixels: int = MAX_PIXELS) -> CleanImage:
    """The image in data, checked and re-encoded without metadata. InvalidInput (field `file`)
    when it is not a JPEG, PNG, GIF or WebP, or has more than max_pixels pixels in all its
    frames together: counted from the header, before any pixel is decoded."""
    with _open(data) as image:
        # Pillow names JPEGs with a second picture inside (phones make them) "MPO".
        image_format = str(image.format) if image.format in FORMATS else "JPEG"
        frames = _frame_count(image) if image_format in ANIMATED else 1
        _check_pixels(image, frames, max_pixels)
        pixels, options = _decode(image, frames)
    return _encode(pixels, image_format, options)


def is_media_name(name: str) -> bool:
    """Whether name is one clean_image could have given (a hash and a known extension)."""
    return MEDIA_NAME.fullmatch(name) is not None


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (above twice its MAX_IMAGE_PIXELS, a warning above it), met
        # before our stricter count for absurd sizes; the warning is raised where warnings
        # are errors, as in the tests.
        raise _too_many_pixels(MAX_PIXELS) from None
    except Exception:  # Pillow raises many kinds of errors on data it cannot read
        raise InvalidInput(NOT_ACCEPTED, field="file") from None


def _frame_count(image: Image.Image) -> int:
    try:
        return getattr(image, "n_frames", 1)
    except Exception:  # counting GIF frames reads the whole file: it may be broken
        raise InvalidInput(NOT_ACCEPTED, field="file") from None


def _check_pixels(image: Image.Image, frames: int, max_pixels: int) -> None:
    width, height = image.size
    if width * height * frames > max_pixels:
        raise _too_many_pixels(max_pixels, f"{width} × {height}", frames)


def _too_many_pixels(max_pixels: int, size: str = "", frames: int = 1) -> InvalidInput:
    what = f" ({size} pixels{f' × {frames} frames' if frames > 1 else ''})" if size else ""
    limit = f"{max_pixels / 1_000_000:g} megapixels"
    return InvalidInput(f"the image is too big{what}; the limit is {limit}", field="file")


def _decode(image: Image.Image, frames: int) -> tuple[list[Image.Image], dict[str, Any]]:
    try:
        if frames > 1:
            return _animation(image)
        return [_still(image)], {}
    except Exception:  # a truncated or corrupt file fails only when its pixels are decoded
        raise InvalidInput(NOT_ACCEPTED, field="file") from None


def _still(image: Image.Image) -> Image.Image:
    # Turned as the camera meant it: the EXIF orientation goes with the rest of the EXIF.
    upright = ImageOps.exif_transpose(image)
    return _without_metadata(_in_srgb(upright))


def _animation(image: Image.Image) -> tuple[list[Image.Image], dict[str, Any]]:
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(frame.info.get("duration", 100))
        frames.append(_without_metadata(frame.copy()))
    options: dict[str, Any] = {"duration": durations}
    if "loop" in image.info:  # absent: play once
        options["loop"] = image.info["loop"]
    return frames, options


def _in_srgb(image: Image.Image) -> Image.Image:
    """The pixels in sRGB: the colour profile is dropped with the metadata, so a photo taken
    in a wider colour space (a phone's Display P3) is converted first, or it would look dull."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(profile))
            mode = "RGBA" if image.mode == "RGBA" else "RGB"
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, srgb, outputMode=mode)
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile: keep the pixels as they are
    # Browsers draw CMYK JPEGs badly or not at all.
    return image.convert("RGB") if image.mode == "CMYK" else image


def _without_metadata(image: Image.Image) -> Image.Image:
    # Encoders fall back on Image.info for EXIF, ICC, XMP and comments: keep only drawing keys.
    image.info = {key: value for key, value in image.info.items() if key in DRAWING_INFO}
    return image


def _encode(frames: list[Image.Image], image_format: str, options: dict[str, Any]) -> CleanImage:
    first, rest = frames[0], frames[1:]
    if rest:
        options = {**options, "save_all": True, "append_images": rest}
    out = BytesIO()
    first.save(out, image_format, **options, **SAVE_OPTIONS.get(image_format, {}))
    data = out.getvalue()
    content_type, extension = FORMATS[image_format]
    digest = hashlib.sha256(data).hexdigest()[:HASH_CHARS]
    return CleanImage(data, content_type, first.width, first.height, f"{digest}.{extension}")
