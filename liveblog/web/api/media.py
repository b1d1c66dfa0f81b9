"""/api/media: image uploads, for any signed-in user (the desk's composer uses it too)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, Field
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from liveblog.errors import InvalidInput, TooLarge
from liveblog.web.api.common import Operation, json_response
from liveblog.web.auth import required_user
from liveblog.web.services import services

FIELD = "file"
# Room in the request body for the multipart boundaries and part headers around the file,
# so that a file of exactly the limit still fits.
MULTIPART_ROOM = 16 * 1024
MULTIPART = "multipart/form-data"


class MediaUpload(BaseModel):
    """The multipart body: the image in the field `file`."""

    file: bytes


class MediaOut(BaseModel):
    url: str = Field(description="Where the image is served: /media/<content hash>.<extension>")
    width: int = Field(description="In pixels, after turning the image upright")
    height: int = Field(description="In pixels, after turning the image upright")
    bytes: int = Field(description="Size of the stored image, without its metadata")


async def upload_media(request: Request) -> Response:
    """Upload an image: checked by its content, stripped of metadata, kept under a name made
    from its content (the same image twice gives the same URL)."""
    user = await required_user(request)
    data = await _read_file(request, services(request).settings.max_upload_bytes)
    image = await services(request).media.add(data, user.id)
    body = {"url": f"/media/{image.name}", "width": image.width, "height": image.height}
    return json_response({**body, "bytes": len(image.data)}, status=201)


async def _read_file(request: Request, limit: int) -> bytes:
    """The bytes of the multipart field `file`, refused (413) as soon as the body outgrows limit."""
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != MULTIPART:
        raise _missing_file()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_ROOM:
        raise _too_large(limit)
    stream = _capped(request.stream(), limit + MULTIPART_ROOM, limit)
    try:
        form = await MultiPartParser(request.headers, stream, max_files=1, max_fields=10).parse()
    except MultiPartException as error:
        message = f"the body is not valid {MULTIPART}: {error.message}"
        raise InvalidInput(message, field=FIELD) from None
    try:
        return await _file_bytes(form, limit)
    finally:
        await form.close()


async def _capped(chunks: AsyncIterator[bytes], cap: int, limit: int) -> AsyncIterator[bytes]:
    # Counted as it arrives, so an endless or lying body is cut off instead of spooled to disk.
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise _too_large(limit)
        yield chunk


async def _file_bytes(form: FormData, limit: int) -> bytes:
    upload = form.get(FIELD)
    if not isinstance(upload, UploadFile):
        raise _missing_file()
    if upload.size is not None and upload.size > limit:
        raise _too_large(limit)
    return await upload.read()


def _missing_file() -> InvalidInput:
    return InvalidInput(
        f"send the image as {MULTIPART}, in a file field named '{FIELD}'", field=FIELD
    )


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the image is over the upload limit of {limit:,} bytes", field=FIELD)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/api/media",
        upload_media,
        "Upload an image (JPEG, PNG, GIF or WebP)",
        MediaOut,
        status=201,
        body=MediaUpload,
        body_type=MULTIPART,
        auth=True,
        errors=(401, 403, 413, 422),
    ),
)
