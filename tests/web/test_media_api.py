"""POST /api/media and GET /media/{name}, on SQLite and PostgreSQL: images are checked by
their content, re-encoded without metadata, kept under a name made from their content, and
served to be cached for ever."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import ExifTags, Image, ImageCms
from sqlalchemy import select

from liveblog.db.engine import open_database
from liveblog.db.models import Media
from liveblog.settings import load_settings
from tests.media.samples import png_header_only
from tests.support import Deployment, LiveServer

UPLOAD_LIMIT = 1024 * 1024
MEDIA_URL = re.compile(r"/media/[0-9a-f]{32}\.(jpg|png|gif|webp)")


@pytest.fixture(scope="module")
def deployment(deployment: Deployment) -> Deployment:
    """The usual deployment, with an upload limit a test can cross quickly."""
    deployment.env["LIVEBLOG_MAX_UPLOAD_BYTES"] = str(UPLOAD_LIMIT)
    return deployment


# --- images made for the tests ----------------------------------------------------------------


def photo_with_gps(size: tuple[int, int] = (64, 32), orientation: int = 1) -> bytes:
    """A JPEG as a phone makes it: EXIF with camera, GPS position and orientation, a colour
    profile, a comment."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 7.0)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, icc_profile=srgb, comment=b"taken at the safe house")
    return out.getvalue()


def encoded(image_format: str, size: tuple[int, int] = (20, 10), **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 255)).convert(
        "RGB" if image_format == "JPEG" else "RGBA"
    ).save(out, image_format, **options)
    return out.getvalue()


# --- helpers ----------------------------------------------------------------------------------


def upload(
    http: httpx.Client, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg"
) -> httpx.Response:
    return http.post("/api/media", files={"file": (filename, data, content_type)})


def assert_refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == "file", error
    assert words in error["message"], error


def desk_session(server: LiveServer, role: str) -> tuple[httpx.Client, str]:
    """A client signed in to the desk with a session cookie, and its CSRF token."""
    name, _ = server.deployment.add_user(role)
    http = httpx.Client(base_url=server.url, timeout=30)
    signed_in = http.post(
        "/desk/sign-in",
        data={"csrf": _form_csrf(http), "name": name, "password": "correct horse battery"},
    )
    assert signed_in.status_code == 303, signed_in.text
    return http, _form_csrf(http)  # signing in starts the session with a new token


def _form_csrf(http: httpx.Client) -> str:
    page = http.get("/desk/sign-in").text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


@pytest.fixture
def desk(server: LiveServer) -> Iterator[tuple[httpx.Client, str]]:
    """A reporter signed in to the desk, and the session's CSRF token."""
    http, csrf = desk_session(server, "reporter")
    try:
        yield http, csrf
    finally:
        http.close()


# --- uploading --------------------------------------------------------------------------------


def test_upload_answers_url_size_and_bytes(reporter: httpx.Client) -> None:
    response = upload(reporter, photo_with_gps(size=(64, 32), orientation=6))
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"url", "width", "height", "bytes"}
    assert MEDIA_URL.fullmatch(body["url"]) and body["url"].endswith(".jpg"), body
    # Orientation 6: the camera was held upright, so the stored picture is turned to match.
    assert (body["width"], body["height"]) == (32, 64)
    served = reporter.get(body["url"])
    assert body["bytes"] == len(served.content)


def test_served_image_has_no_exif_gps_or_other_metadata(
    reporter: httpx.Client, client: httpx.Client
) -> None:
    original = photo_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    url = upload(reporter, original).json()["url"]
    served = client.get(url)  # anyone may fetch it: readers see it in published entries
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["etag"]
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "JPEG" and image.size == (64, 32)
    assert dict(image.getexif()) == {}
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(image.info)
    for text in (b"PhoneMaker", b"safe house", b"Exif"):
        assert text not in served.content
    # The pixels are still the picture: blue on the left, red on the right.
    rgb = image.convert("RGB")
    assert rgb.getpixel((4, 16))[2] > 150 and rgb.getpixel((60, 16))[0] > 150


@pytest.mark.parametrize(
    ("image_format", "extension", "content_type", "options"),
    [
        ("PNG", "png", "image/png", {}),
        ("GIF", "gif", "image/gif", {"comment": b"hidden"}),
        ("WEBP", "webp", "image/webp", {"xmp": b"<x:xmpmeta>hidden</x:xmpmeta>"}),
    ],
)
def test_png_gif_and_webp_are_accepted_and_cleaned(
    reporter: httpx.Client,
    image_format: str,
    extension: str,
    content_type: str,
    options: dict[str, object],
) -> None:
    # Named and declared as something else: only the content counts.
    response = upload(reporter, encoded(image_format, **options), "upload.bin", "text/plain")
    assert response.status_code == 201, response.text
    assert response.json()["url"].endswith(f".{extension}")
    assert (response.json()["width"], response.json()["height"]) == (20, 10)
    served = reporter.get(response.json()["url"])
    assert served.headers["content-type"] == content_type
    assert b"hidden" not in served.content
    assert Image.open(io.BytesIO(served.content)).format == image_format


def test_an_animated_gif_keeps_its_frames(reporter: httpx.Client) -> None:
    frames = [Image.new("RGB", (16, 16), (80 * n, 0, 0)) for n in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    response = upload(reporter, out.getvalue(), "cat.gif", "image/gif")
    assert response.status_code == 201, response.text
    served = Image.open(io.BytesIO(reporter.get(response.json()["url"]).content))
    assert served.n_frames == 3


def test_the_same_image_twice_has_one_url_and_one_row(
    server: LiveServer, reporter: httpx.Client, editor: httpx.Client
) -> None:
    image = photo_with_gps(size=(48, 48))
    first = upload(reporter, image)
    assert first.status_code == 201, first.text
    rows = server.deployment.count_rows("media")
    again = upload(editor, image, "same-picture-other-name.jpg")
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert server.deployment.count_rows("media") == rows


def test_sqlite_keeps_files_beside_it_and_postgresql_keeps_bytes_inside(
    server: LiveServer, reporter: httpx.Client, database_url: str
) -> None:
    url = upload(reporter, encoded("PNG", size=(7, 7))).json()["url"]
    name = url.rsplit("/", 1)[1]
    served = reporter.get(url).content
    in_database = stored_in_database(server.deployment, name)
    if database_url.startswith("sqlite"):
        folder = Path(database_url.removeprefix("sqlite:///")).parent / "media"
        assert (folder / name).read_bytes() == served
        assert in_database is None
    else:
        assert in_database == served


def stored_in_database(deployment: Deployment, name: str) -> bytes | None:
    """The media.data column of the image called name."""

    async def query() -> bytes | None:
        db = open_database(load_settings(environ=deployment.env, cwd=deployment.folder))
        try:
            async with db.reading() as session:
                return await session.scalar(select(Media.data).where(Media.name == name))
        finally:
            await db.close()

    return asyncio.run(query())


def test_a_desk_session_uploads_with_its_csrf_token(desk: tuple[httpx.Client, str]) -> None:
    http, csrf = desk
    image = {"file": ("desk.png", encoded("PNG", size=(9, 9)), "image/png")}
    refused = http.post("/api/media", files=image)
    assert refused.status_code == 403, refused.text
    response = http.post("/api/media", files=image, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text


# --- refusals ---------------------------------------------------------------------------------


def test_a_text_file_named_png_is_refused(server: LiveServer, reporter: httpx.Client) -> None:
    rows = server.deployment.count_rows("media")
    response = upload(reporter, b"these are notes, not a picture\n", "photo.png", "image/png")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid"
    assert_refused(response, 422, "not an image we accept")
    # Images of other kinds are refused alike, whatever they are called.
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert_refused(upload(reporter, svg, "x.png", "image/png"), 422, "not an image we accept")
    assert_refused(upload(reporter, encoded("BMP"), "x.bmp"), 422, "not an image we accept")
    # A truncated photo is not an image either.
    half = photo_with_gps()[:400]
    assert_refused(upload(reporter, half), 422, "not an image we accept")
    assert server.deployment.count_rows("media") == rows


def test_a_missing_file_field_is_refused(reporter: httpx.Client) -> None:
    other_field = reporter.post(
        "/api/media", files={"image": ("x.png", encoded("PNG"), "image/png")}
    )
    assert_refused(other_field, 422, "'file'")
    not_a_file = reporter.post("/api/media", files={"file": (None, "just text")})
    assert_refused(not_a_file, 422, "'file'")
    assert_refused(reporter.post("/api/media", json={"file": "abc"}), 422, "'file'")
    assert_refused(reporter.post("/api/media"), 422, "'file'")
    broken = reporter.post(
        "/api/media",
        content=b"--xyz\r\nnot a part",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code == 422, broken.text


@pytest.mark.parametrize(
    "size", [(10_000, 5_000), (100_000, 100_000)], ids=["over our limit", "over Pillow's"]
)
def test_a_decompression_bomb_is_refused_from_its_header(
    server: LiveServer, reporter: httpx.Client, size: tuple[int, int]
) -> None:
    rows = server.deployment.count_rows("media")
    response = upload(reporter, png_header_only(*size), "bomb.png", "image/png")
    assert_refused(response, 422, "the limit is 40 megapixels")
    assert server.deployment.count_rows("media") == rows


def test_an_upload_over_the_limit_is_413(server: LiveServer, reporter: httpx.Client) -> None:
    rows = server.deployment.count_rows("media")
    too_big = b"\0" * (UPLOAD_LIMIT + 1)
    response = upload(reporter, too_big)
    assert response.request.headers["content-length"]
    assert_refused(response, 413, f"{UPLOAD_LIMIT:,} bytes")

    def chunked() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for _ in range(UPLOAD_LIMIT // 65536 + 2):
            yield b"\0" * 65536
        yield b"\r\n--b--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    response = reporter.post("/api/media", content=chunked(), headers=headers)
    assert "content-length" not in response.request.headers
    assert_refused(response, 413, f"{UPLOAD_LIMIT:,} bytes")
    # A file of exactly the limit is read, and then judged by its content.
    assert_refused(upload(reporter, b"\0" * UPLOAD_LIMIT), 422, "not an image we accept")
    assert server.deployment.count_rows("media") == rows


def test_anonymous_uploads_are_401(server: LiveServer, client: httpx.Client) -> None:
    rows = server.deployment.count_rows("media")
    response = upload(client, photo_with_gps())
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "not_authenticated"
    assert server.deployment.count_rows("media") == rows


# --- serving ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "0123456789abcdef0123456789abcdef.jpg",  # well formed, never uploaded
        "0123456789abcdef0123456789abcdef.svg",
        "0123456789ABCDEF0123456789ABCDEF.jpg",
        "..%2F..%2Fliveblog.db",
        "lb.db",
        "x",
    ],
)
def test_unknown_names_are_404(client: httpx.Client, name: str) -> None:
    assert client.get(f"/media/{name}").status_code == 404


def test_a_cached_image_is_revalidated_with_304(
    reporter: httpx.Client, client: httpx.Client
) -> None:
    url = upload(reporter, encoded("PNG", size=(5, 3))).json()["url"]
    etag = client.get(url).headers["etag"]
    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == "public, max-age=31536000, immutable"
    among_others = client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert among_others.status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
