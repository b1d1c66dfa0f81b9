"""An event rendered once per process: the bytes every reader of one format receives."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment

from liveblog.live.transport import encode_text_frame
from liveblog.stories.events import StoryEvent

ENTRY_PARTIAL = "entries/_entry.html"
CONTENT_PARTIAL = "entries/_content.html"
# What a reader may ask for: the API's event, the page's fragment (a whole entry), or the
# page's lean frame (an entry's content and fields; its chrome comes from the page's template).
FORMATS = ("json", "html", "page")


@dataclass(frozen=True, slots=True)
class Frame:
    """One event, ready to send in every format (see FORMATS): encoded text shared by all
    readers, and so are the wire bytes of each kind, encoded when a reader first takes that
    kind (see wire)."""

    seq: int
    type: str
    texts: dict[str, str]
    ends_story: bool = False
    # By how readers take them, transport and format: "ws-json", "sse-page"…
    wires: dict[str, bytes] = field(default_factory=dict)

    @property
    def json(self) -> str:
        """The API's event object."""
        return self.texts["json"]

    def text(self, fmt: str) -> str:
        """The message for a reader who asked for fmt (one of FORMATS)."""
        return self.texts[fmt]

    def wire(self, kind: str) -> bytes:
        """The message as bytes written straight to a reader's transport: a complete
        WebSocket frame ("ws-…"), or an event-stream event as one HTTP chunk ("sse-…")."""
        wire = self.wires.get(kind)
        if wire is None:
            transport, _, fmt = kind.partition("-")
            text = self.texts[fmt]
            wire = (
                encode_text_frame(text)
                if transport == "ws"
                else encode_chunk(sse_event(self.seq, text))
            )
            self.wires[kind] = wire
        return wire


@dataclass(slots=True)
class FrameBatch:
    """Consecutive frames fanned out together; their wire bytes are joined once per kind."""

    frames: list[Frame]
    ends_story: bool
    _joined: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, frames: list[Frame]) -> FrameBatch:
        return cls(frames, any(f.ends_story for f in frames))

    def wire(self, kind: str) -> bytes:
        """All the frames' bytes for a reader of kind (WebSocket frames and HTTP chunks can
        both simply follow one another)."""
        joined = self._joined.get(kind)
        if joined is None:
            joined = self._joined[kind] = b"".join(f.wire(kind) for f in self.frames)
        return joined


def render_frame(event: StoryEvent, templates: Environment) -> Frame:
    """Render an event once in every format, from the page's own partials."""
    head: dict[str, object] = {"seq": event.seq, "type": event.type}
    texts = {"json": _dumps(event.to_json())}
    if event.type.startswith("story."):
        story = _dumps({**head, "state": event.data})  # the same for the html and page formats
        texts.update(html=story, page=story)
    else:
        texts["html"] = _dumps({**head, **_html_fields(event.data, event.type, templates)})
        texts["page"] = _dumps({**head, **_page_fields(event.data, event.type, templates)})
    return Frame(
        seq=event.seq,
        type=event.type,
        texts=texts,
        ends_story=event.type == "story.updated" and event.data.get("status") == "ended",
    )


def sse_event(seq: int, text: str) -> bytes:
    """An event-stream event (one line of JSON, so one data line)."""
    return f"id: {seq}\ndata: {text}\n\n".encode()


def encode_chunk(data: bytes) -> bytes:
    """data as one chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _html_fields(entry: dict[str, Any], kind: str, templates: Environment) -> dict[str, object]:
    """The whole entry as the page renders it, with what places it."""
    fields = {"id": entry["id"], "pinned": entry["pinned"], "shown_at": entry["shown_at"]}
    if kind != "entry.hidden":
        fields["html"] = templates.get_template(ENTRY_PARTIAL).render(entry=entry)
    return fields


def _page_fields(entry: dict[str, Any], kind: str, templates: Environment) -> dict[str, object]:
    """Only what the page's entry template lacks: the entry's fields where the chrome shows
    them (flags only when set) and its rendered content. About 1.1x the entry's HTML, where the
    whole fragment is about 1.4x."""
    message: dict[str, object] = {"id": entry["id"]}
    if kind == "entry.hidden":
        return message
    message.update(author=entry["author"], shown_at=entry["shown_at"])
    for flag in ("pinned", "key_event", "retracted"):
        if entry[flag]:
            message[flag] = True
    if entry["version"] > 1 and not entry["retracted"]:
        message["updated_at"] = entry["updated_at"]
    message["html"] = templates.get_template(CONTENT_PARTIAL).render(entry=entry)
    return message


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
