"""One reader's place in the fan-out: a small bounded backlog between the hub and its socket.

The hub only ever calls `offer`, which never waits: a reader that cannot keep up overflows
its backlog, is dropped from the fan-out, and is told to reconnect from its last seq."""

from __future__ import annotations

import asyncio
from collections import deque

from liveblog.live.frames import Frame

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

    __slots__ = ("_backlog", "_wakeup", "closed_with", "sent_seq")

    def __init__(self, after: int) -> None:
        self._backlog: deque[Frame] = deque()
        self._wakeup = asyncio.Event()
        self.sent_seq = after
        self.closed_with: int | None = None

    def offer(self, frame: Frame) -> bool:
        """Queue a frame without waiting; False when this overflows the backlog, which closes
        the subscriber with RECONNECT. A closed subscriber ignores frames."""
        if self.closed_with is not None:
            return True
        if len(self._backlog) >= BACKLOG_FRAMES:
            self.close(CloseCode.RECONNECT)
            return False
        self._backlog.append(frame)
        self._wakeup.set()
        return True

    def close(self, code: int) -> None:
        """Stop this reader: drop what it had queued and wake its socket to close with code."""
        self.closed_with = code
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
