"""One reader's place in the fan-out, and the one place that decides how a frame reaches it.

The hub calls `offer`, which never waits. A reader that is caught up and has a direct
writer gets the frame's pre-encoded bytes written to its socket there and then (the fast
path: no task wakes up). Otherwise the frame goes on a small bounded backlog that the
reader's own task drains (replay, gap filling, SSE). Either way, a reader that cannot keep
up is dropped from the fan-out and told to reconnect from its last seq."""

from __future__ import annotations

import asyncio
from collections import deque

from liveblog.live.frames import Frame
from liveblog.live.transport import DirectWriter

# Frames a reader may fall behind by before it is asked to reconnect (about 50 KB of text
# at typical entry sizes); the transport's own buffer comes on top of this.
BACKLOG_FRAMES = 32


class CloseCode:
    """WebSocket close codes readers act on (documented in the README)."""

    RECONNECT = 4000  # fell behind or the server is going away: reconnect with ?after=SEQ
    RELOAD = 4001  # too far behind, or the log was reset: reload the page's snapshot
    ENDED = 4002  # the story has ended; nothing more will come
    NOT_FOUND = 4004  # no such story (or not visible to this reader)


class Subscriber:
    """A bounded queue of frames for one reader, filled by the hub, drained by its socket."""

    __slots__ = ("_backlog", "_direct", "_fmt", "_wakeup", "closed_with", "sent_seq")

    def __init__(self, after: int, fmt: str = "json") -> None:
        self._backlog: deque[Frame] = deque()
        self._wakeup = asyncio.Event()
        self._direct: DirectWriter | None = None
        self._fmt = fmt
        self.sent_seq = after
        self.closed_with: int | None = None

    def go_direct(self, writer: DirectWriter | None) -> None:
        """From now on write frames straight to the socket; only when nothing is queued."""
        if writer is not None and not self._backlog and self.closed_with is None:
            self._direct = writer

    def offer(self, frame: Frame) -> bool:
        """Deliver or queue a frame without waiting; False when the reader overflows, which
        closes the subscriber with RECONNECT. A closed subscriber ignores frames."""
        if self.closed_with is not None:
            return True
        if self._direct is not None:
            if frame.seq == self.sent_seq + 1:
                if not self._direct.write(frame.wire(self._fmt)):
                    self.close(CloseCode.RECONNECT)
                    return False
                self.sent_seq = frame.seq
                if frame.ends_story:
                    self.close(CloseCode.ENDED)
                return True
            if frame.seq <= self.sent_seq:
                return True
            self._direct = None  # a gap: let the reader's task fill it from the log
        if len(self._backlog) >= BACKLOG_FRAMES:
            self.close(CloseCode.RECONNECT)
            return False
        self._backlog.append(frame)
        self._wakeup.set()
        return True

    def close(self, code: int) -> None:
        """Stop this reader: drop what it had queued and wake its socket to close with code."""
        self.closed_with = code
        self._direct = None
        self._backlog.clear()
        self._wakeup.set()

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    async def next_frames(self, wait_at_most: float | None = None) -> list[Frame]:
        """Wait for frames (at most wait_at_most seconds) and take them all, in seq order."""
        if not self._backlog and self.closed_with is None:
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), wait_at_most)
            except TimeoutError:
                return []
        frames = list(self._backlog)
        self._backlog.clear()
        return frames
