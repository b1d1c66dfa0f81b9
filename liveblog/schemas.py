"""Request and response shapes of the JSON API; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from liveblog.accounts import NAME_LENGTH, NAME_PATTERN
from liveblog.passwords import MAX_LENGTH, MIN_LENGTH

# Text without NUL characters: PostgreSQL cannot store them.
NO_NUL = r"^[^\x00]*$"
Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=100)
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=NO_NUL)
]
Status = Literal["draft", "live", "ended"]
Description = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a UTC offset, e.g. 2026-11-25T10:00:00+00:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 is a valid timestamp but has no UTC equivalent to store.
        raise ValueError("is out of the supported range of dates") from None


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Strict(BaseModel):
    # strict: "yes" or 1 is not a boolean, "5" is not a number; JSON strings still parse as times.
    model_config = ConfigDict(extra="forbid", strict=True)


class StoryCreate(Strict):
    title: Title
    slug: Slug | None = None
    description: Description = ""


def _not_nullable(schema: dict[str, Any]) -> None:
    for field_schema in schema.get("properties", {}).values():
        options = [o for o in field_schema.pop("anyOf", []) if o != {"type": "null"}]
        if len(options) == 1:
            field_schema.update(options[0])
        elif options:
            field_schema["anyOf"] = options
        if "default" in field_schema and field_schema["default"] is None:
            del field_schema["default"]


class Patch(Strict):
    """A field left out stays as it is; null is refused, so the schema does not offer it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_not_nullable)


class StoryPatch(Patch):
    title: Title | None = None
    description: Description | None = None
    status: Status | None = None


Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000, pattern=NO_NUL)]
EntryTitle = Annotated[str, StringConstraints(max_length=300, pattern=NO_NUL)]
Headline = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]


class EntryCreate(Strict):
    body: Body
    title: EntryTitle = ""
    shown_at: AwareDatetime | None = None
    pinned: bool = False
    key_event: bool = False
    headline: Headline = ""
    draft: bool = False


class EntryPatch(Patch):
    body: Body | None = None
    title: EntryTitle | None = None
    shown_at: AwareDatetime | None = None
    pinned: bool | None = None
    key_event: bool | None = None
    headline: Headline | None = None
    draft: bool | None = None


class Retraction(Strict):
    reason: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] = ""


class StoryOut(BaseModel):
    slug: str
    title: str
    description: str
    status: Status
    seq: int
    started_at: datetime | None
    ended_at: datetime | None
    readers: int
    url: str


class EntryOut(BaseModel):
    id: int
    story: str
    author: str
    title: str
    body: str
    html: str
    shown_at: datetime
    created_at: datetime
    updated_at: datetime
    pinned: bool
    key_event: bool
    headline: str
    retracted: bool
    retracted_reason: str
    draft: bool
    version: int


class StoryList(BaseModel):
    items: list[StoryOut]
    next: str | None


class EntryList(BaseModel):
    items: list[EntryOut]
    next: str | None


class EventOut(BaseModel):
    seq: int
    type: str
    story: str
    created_at: datetime
    entry: EntryOut | None = None
    state: StoryOut | None = None


class EventList(BaseModel):
    items: list[EventOut]
    last_seq: int
    reload: bool = False


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


# Users and API tokens (/api/users, /api/tokens).

Role = Literal["admin", "editor", "reporter"]
UserName = Annotated[
    str, StringConstraints(min_length=1, max_length=NAME_LENGTH, pattern=NAME_PATTERN)
]
# Hashed, never stored as typed, so any character is fine; the cap bounds argon2's work.
Password = Annotated[str, StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
TokenLabel = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80, pattern=NO_NUL)]


class UserCreate(Strict):
    name: UserName
    role: Role
    password: Password


class UserPatch(Patch):
    role: Role | None = None
    disabled: bool | None = None
    password: Password | None = None
    # Needed when people change their own password.
    current_password: Annotated[str, StringConstraints(max_length=MAX_LENGTH)] | None = None


class UserOut(BaseModel):
    name: str
    role: Role
    disabled: bool
    created_at: datetime


class UserList(BaseModel):
    items: list[UserOut]
    next: str | None


class TokenCreate(Strict):
    label: TokenLabel = ""


class TokenOut(BaseModel):
    id: int
    label: str
    hint: str
    created_at: datetime


class NewTokenOut(TokenOut):
    token: str


class TokenList(BaseModel):
    items: list[TokenOut]
    next: str | None
