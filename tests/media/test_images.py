"""Checking and cleaning images, in-process: formats by content, the pixel limit read from the
header, metadata gone, orientation applied, animations kept; the library over the memory store."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

from liveblog.errors import InvalidInput
from liveblog.media import MediaLibrary, MemoryStore
from liveblog.media.images import NOT_ACCEPTED, clean_image, is_media_name
from tests.media.samples import png_header_only


def saved(image: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def two_tone(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Red with a blue left half: which way up it is shows."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))
    return image.convert(mode)


def exif(orientation: int = 1) -> Image.Exif:
    tags = Image.Exif()
    tags[ExifTags.Base.Orientation] = orientation
    tags[ExifTags.Base.Model] = "Phone 15"
    tags.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 0.0)
    return tags


def refused(data: bytes, **options: object) -> str:
    with pytest.raises(InvalidInput) as raised:
        clean_image(data, **options)  # type: ignore[arg-type]
    assert raised.value.field == "file"
    return raised.value.message


@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_each_format_is_kept_and_named_by_its_content(image_format: str, content_type: str) -> None:
    data = saved(two_tone(), image_format)
    image = clean_image(data)
    assert (image.content_type, image.width, image.height) == (content_type, 40, 20)
    assert is_media_name(image.name)
    assert clean_image(data).name == image.name  # the same picture, the same name
    assert Image.open(io.BytesIO(image.data)).format == image_format


@pytest.mark.parametrize(("orientation", "size"), [(1, (40, 20)), (3, (40, 20)), (6, (20, 40))])
def test_the_exif_orientation_is_applied_then_dropped(
    orientation: int, size: tuple[int, int]
) -> None:
    image = clean_image(saved(two_tone(), "JPEG", exif=exif(orientation), comment=b"note"))
    assert (image.width, image.height) == size
    served = Image.open(io.BytesIO(image.data))
    assert dict(served.getexif()) == {}
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(served.info)
    assert b"Phone 15" not in image.data


def test_metadata_of_png_and_webp_is_dropped() -> None:
    text = PngInfo()
    text.add_text("Author", "Ana")
    cleaned = clean_image(saved(two_tone(), "PNG", exif=exif(), pnginfo=text))
    assert b"Ana" not in cleaned.data and b"Phone 15" not in cleaned.data
    webp = clean_image(saved(two_tone(), "WEBP", exif=exif(), xmp=b"<x:xmpmeta>Ana</x:xmpmeta>"))
    assert b"Ana" not in webp.data and b"Phone 15" not in webp.data


def test_a_cmyk_jpeg_and_a_broken_colour_profile_still_make_an_image() -> None:
    cmyk = clean_image(saved(two_tone(mode="CMYK"), "JPEG"))
    assert Image.open(io.BytesIO(cmyk.data)).mode == "RGB"
    broken = clean_image(saved(two_tone(), "JPEG", icc_profile=b"not a profile"))
    assert "icc_profile" not in Image.open(io.BytesIO(broken.data)).info


def test_a_jpeg_with_a_second_picture_keeps_the_first() -> None:
    mpo = saved(two_tone(), "MPO", save_all=True, append_images=[two_tone((80, 80))])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    image = clean_image(mpo)
    assert (image.content_type, image.width, image.height) == ("image/jpeg", 40, 20)
    assert getattr(Image.open(io.BytesIO(image.data)), "n_frames", 1) == 1


def test_animations_keep_their_frames_timing_and_loop() -> None:
    frames = [Image.new("RGB", (16, 16), (60 * n, 0, 0)) for n in range(3)]
    gif = saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=150, loop=0)
    served = Image.open(io.BytesIO(clean_image(gif).data))
    assert (served.n_frames, served.info["duration"], served.info["loop"]) == (3, 150, 0)
    webp = saved(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=90, loop=2)
    served = Image.open(io.BytesIO(clean_image(webp).data))
    assert (served.n_frames, served.info["loop"]) == (3, 2)


def test_too_many_pixels_are_refused_from_the_header() -> None:
    # No pixel data at all: only the header was read.
    message = refused(png_header_only(10_000, 5_000))
    assert message == "the image is too big (10000 × 5000 pixels); the limit is 40 megapixels"
    assert "40 megapixels" in refused(png_header_only(100_000, 100_000))  # Pillow's own guard
    assert "0.0007 megapixels" in refused(saved(two_tone(), "PNG"), max_pixels=700)


def test_the_frames_of_an_animation_count_together() -> None:
    frames = [Image.new("RGB", (10, 10), (n, 0, 0)) for n in range(5)]
    gif = saved(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert "(10 × 10 pixels × 5 frames)" in refused(gif, max_pixels=499)
    assert clean_image(gif, max_pixels=500).width == 10


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"just some notes\n",
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        saved(two_tone(), "BMP"),
        saved(two_tone(), "TIFF"),
        saved(two_tone(), "ICO"),
        saved(two_tone(), "JPEG")[:300],  # truncated: fails only when decoded
        png_header_only(10, 10),
    ],
    ids=["empty", "text", "svg", "bmp", "tiff", "ico", "truncated jpeg", "png without pixels"],
)
def test_anything_else_is_not_an_image_we_accept(data: bytes) -> None:
    assert refused(data) == NOT_ACCEPTED


async def test_the_library_keeps_one_copy_and_finds_only_proper_names() -> None:
    store = MemoryStore()
    library = MediaLibrary(store)
    data = saved(two_tone(), "PNG")
    first, again = await library.add(data, 1), await library.add(data, 2)
    assert first == again and list(store.images) == [first.name]
    assert await library.load(first.name) == first.data
    assert await library.load("0" * 32 + ".png") is None
    store.images["../secret"] = b"x"
    assert await library.load("../secret") is None  # never asked of the store
