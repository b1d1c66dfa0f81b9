"""An event rendered once per process: the bytes every reader of one format receives."""

from __future__ import annotations

import json
from dataclasses import dataclass

from jinja2 import Environment

from liveblog.live.transport import encode_text_frame
from liveblog.stories.events import StoryEvent

ENTRY_PARTIAL = "entries/_entry.html"


@dataclass(frozen=True, slots=True)
class Frame:
    """One event, ready to send: `json` is the API's event object, `html` the page's fragment
    with what a page needs to place it. Both are encoded text, shared by all readers."""

    seq: int
    type: str
    json: str
    html: str
    ends_story: bool = False
    wire_json: bytes = b""
    wire_html: bytes = b""

    def text(self, fmt: str) -> str:
        """The message for a reader who asked for fmt ("json" or "html")."""
        return self.html if fmt == "html" else self.json

    def wire(self, fmt: str) -> bytes:
        """The message as a complete WebSocket frame, for direct writes."""
        return self.wire_html if fmt == "html" else self.wire_json


@dataclass(frozen=True, slots=True)
class FrameBatch:
    """Consecutive frames fanned out together, with their wire bytes joined once per format."""

    frames: list[Frame]
    wire_json: bytes
    wire_html: bytes
    ends_story: bool

    @classmethod
    def of(cls, frames: list[Frame]) -> FrameBatch:
        return cls(
            frames,
            b"".join(f.wire_json for f in frames),
            b"".join(f.wire_html for f in frames),
            any(f.ends_story for f in frames),
        )

    def wire(self, fmt: str) -> bytes:
        """All the frames as WebSocket bytes for a reader of fmt."""
        return self.wire_html if fmt == "html" else self.wire_json


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
        wire_json=encode_text_frame(json_text),
        wire_html=encode_text_frame(html_text),
    )


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
