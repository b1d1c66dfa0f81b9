"""An event rendered once per process: the bytes every reader of one format receives."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from jinja2 import Environment

from liveblog.live.transport import encode_text_frame
from liveblog.stories.events import StoryEvent

ENTRY_PARTIAL = "entries/_entry.html"


@dataclass(frozen=True, slots=True)
class Frame:
    """One event, ready to send: `json` is the API's event object, `html` the page's fragment
    with what a page needs to place it. Both are encoded text, shared by all readers, and so
    are the wire bytes of each kind (see wire)."""

    seq: int
    type: str
    json: str
    html: str
    ends_story: bool = False
    # By how a reader takes them, transport and format: "ws-json", "ws-html", "sse-json"…
    wires: dict[str, bytes] = field(default_factory=dict)

    def text(self, fmt: str) -> str:
        """The message for a reader who asked for fmt ("json" or "html")."""
        return self.html if fmt == "html" else self.json

    def wire(self, kind: str) -> bytes:
        """The message as bytes written straight to a reader's transport: a complete
        WebSocket frame ("ws-…"), or an event-stream event as one HTTP chunk ("sse-…")."""
        return self.wires[kind]


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
            joined = self._joined[kind] = b"".join(f.wires[kind] for f in self.frames)
        return joined


def render_frame(event: StoryEvent, templates: Environment) -> Frame:
    """Render an event once: its JSON, and its HTML fragment from the page's own partial."""
    json_text = _dumps(event.to_json())
    html_text = _dumps(_html_message(event, templates))
    return Frame(
        seq=event.seq,
        type=event.type,
        json=json_text,
        html=html_text,
        ends_story=event.type == "story.updated" and event.data.get("status") == "ended",
        wires={
            "ws-json": encode_text_frame(json_text),
            "ws-html": encode_text_frame(html_text),
            "sse-json": encode_chunk(sse_event(event.seq, json_text)),
            "sse-html": encode_chunk(sse_event(event.seq, html_text)),
        },
    )


def sse_event(seq: int, text: str) -> bytes:
    """An event-stream event (one line of JSON, so one data line)."""
    return f"id: {seq}\ndata: {text}\n\n".encode()


def encode_chunk(data: bytes) -> bytes:
    """data as one chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _html_message(event: StoryEvent, templates: Environment) -> dict[str, object]:
    message: dict[str, object] = {"seq": event.seq, "type": event.type}
    if event.type.startswith("story."):
        message["state"] = event.data
        return message
    entry = event.data
    message.update(id=entry["id"], pinned=entry["pinned"], shown_at=entry["shown_at"])
    if event.type != "entry.hidden":
        message["html"] = templates.get_template(ENTRY_PARTIAL).render(entry=entry)
    return message


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
