"""Request and response shapes of the JSON API; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=100)
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Status = Literal["draft", "live", "ended"]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a UTC offset, e.g. 2026-11-25T10:00:00+00:00")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoryCreate(Strict):
    title: Title
    slug: Slug | None = None
    description: Annotated[str, Field(max_length=5000)] = ""


class StoryPatch(Strict):
    title: Title | None = None
    description: Annotated[str | None, Field(max_length=5000)] = None
    status: Status | None = None


Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
EntryTitle = Annotated[str, Field(max_length=300)]
Headline = Annotated[str, Field(max_length=200)]


class EntryCreate(Strict):
    body: Body
    title: EntryTitle = ""
    shown_at: AwareDatetime | None = None
    pinned: bool = False
    key_event: bool = False
    headline: Headline = ""
    draft: bool = False


class EntryPatch(Strict):
    body: Body | None = None
    title: EntryTitle | None = None
    shown_at: AwareDatetime | None = None
    pinned: bool | None = None
    key_event: bool | None = None
    headline: Headline | None = None
    draft: bool | None = None


class Retraction(Strict):
    reason: Annotated[str, Field(max_length=2000)] = ""


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
