"""The story file: one story with every entry, revision and event, and the images its entries
show. `version` changes whenever a field changes meaning; a reader refuses other versions."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import Counter
from io import BytesIO
from typing import Annotated, Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic import model_validator as after_fields

from liveblog.accounts import NAME_LENGTH, NAME_PATTERN
from liveblog.errors import InvalidInput
from liveblog.media.images import CONTENT_TYPES, FORMATS, HASH_CHARS, is_media_name
from liveblog.schemas import (
    NO_NUL,
    AwareDatetime,
    Body,
    Description,
    EntryTitle,
    Headline,
    Slug,
    Status,
    Title,
)
from liveblog.stories.events import EVENT_KINDS

FORMAT = "liveblog-story"
VERSION = 1

UserName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=NAME_LENGTH)
]
Count = Annotated[int, Field(ge=0)]
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StoryFields(_Strict):
    slug: Slug
    title: Title
    description: Description
    status: Status
    seq: Count
    started_at: AwareDatetime | None
    ended_at: AwareDatetime | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class RevisionFields(_Strict):
    editor: UserName
    created_at: AwareDatetime
    action: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    fields: dict[str, Any]


class EntryFields(_Strict):
    # The entry's id where it was exported: events name entries by it. Imports get new ids.
    id: Count
    author: UserName
    title: EntryTitle
    body: Body
    html: Text
    shown_at: AwareDatetime
    created_at: AwareDatetime
    updated_at: AwareDatetime
    pinned: bool
    key_event: bool
    headline: Headline
    retracted: bool
    retracted_reason: Text
    draft: bool
    version: Annotated[int, Field(ge=1)]
    revisions: list[RevisionFields]


class EventFields(_Strict):
    seq: Annotated[int, Field(ge=1)]
    type: str
    entry: Count | None
    created_at: AwareDatetime
    data: dict[str, Any]


class MediaFile(_Strict):
    name: str
    content_type: str
    width: Annotated[int, Field(ge=1)]
    height: Annotated[int, Field(ge=1)]
    data: str  # base64

    def content(self) -> bytes:
        """The image's bytes."""
        return base64.b64decode(self.data)


class StoryFile(_Strict):
    format: Literal["liveblog-story"]
    version: Literal[1]
    exported_at: AwareDatetime
    story: StoryFields
    entries: list[EntryFields]
    events: list[EventFields]
    media: list[MediaFile]

    @after_fields(mode="after")
    def _consistent(self) -> StoryFile:
        _check_entries(self.entries)
        _check_events(self.events, self.story.seq, {entry.id for entry in self.entries})
        for image in self.media:
            _check_image(image)
        return self


def read_story_file(text: str | bytes) -> StoryFile:
    """The story file in text; InvalidInput with one line saying what is wrong otherwise."""
    try:
        head = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"not a story file: it is not JSON ({error})") from None
    _check_head(head)
    try:
        return StoryFile.model_validate_json(text)
    except ValidationError as error:
        raise InvalidInput(f"not a valid story file: {_first_problem(error)}") from None


def _check_head(head: object) -> None:
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise InvalidInput(f'not a story file: it lacks "format": "{FORMAT}"')
    if head.get("version") != VERSION:
        raise InvalidInput(
            f"this story file is version {head.get('version')!r}; this liveblog reads "
            f"version {VERSION} (export it again with a liveblog of the same version)"
        )


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    problem = first["msg"].removeprefix("Value error, ")
    more = error.error_count() - 1
    return (f"{where}: " if where else "") + problem + (f" (and {more} more)" if more else "")


def _check_entries(entries: list[EntryFields]) -> None:
    twice = [key for key, n in Counter(entry.id for entry in entries).items() if n > 1]
    if twice:
        raise ValueError(f"entry id {twice[0]} appears twice")


def _check_events(events: list[EventFields], story_seq: int, entry_ids: set[int]) -> None:
    twice = [key for key, n in Counter(event.seq for event in events).items() if n > 1]
    if twice:
        raise ValueError(f"event seq {twice[0]} appears twice")
    for event in events:
        if event.type not in EVENT_KINDS:
            raise ValueError(f"event seq {event.seq} has an unknown type {event.type!r}")
        if event.seq > story_seq:
            raise ValueError(f"event seq {event.seq} is after the story's seq {story_seq}")
        if event.type.startswith("entry.") != (event.entry is not None):
            raise ValueError(f"event seq {event.seq}: only entry events name an entry")
        if event.entry is not None and event.entry not in entry_ids:
            raise ValueError(f"event seq {event.seq} names entry {event.entry}, not in the file")
        if event.entry is not None and event.data.get("id") != event.entry:
            raise ValueError(f"event seq {event.seq}: its data is not entry {event.entry}")


def _check_image(image: MediaFile) -> None:
    if not is_media_name(image.name):
        raise ValueError(f"{image.name!r} is not an image name")
    expected_type = CONTENT_TYPES[image.name.rpartition(".")[2]]
    if image.content_type != expected_type:
        raise ValueError(f"image {image.name} has type {image.content_type}, not {expected_type}")
    try:
        data = base64.b64decode(image.data, validate=True)
    except binascii.Error:
        raise ValueError(f"image {image.name}: its data is not base64") from None
    if hashlib.sha256(data).hexdigest()[:HASH_CHARS] != image.name.partition(".")[0]:
        raise ValueError(f"image {image.name}: its data does not match its name")
    if _image_size(data, expected_type) != (image.width, image.height):
        raise ValueError(f"image {image.name} is not a {image.width} × {image.height} image")


def _image_size(data: bytes, content_type: str) -> tuple[int, int] | None:
    # Served under the type its name says: it must be an image of that type (its header is
    # enough; the exporting instance cleaned its pixels when it was uploaded).
    pillow_format = next(name for name, (kind, _) in FORMATS.items() if kind == content_type)
    try:
        with Image.open(BytesIO(data), formats=[pillow_format]) as image:
            return image.size
    except Exception:  # Pillow raises many kinds of errors on data it cannot read
        return None
