"""One reader's place in the fan-out, and the one place that decides how a frame reaches it.

The hub calls `fan_out` (or `offer`), which never waits. A reader that is caught up and has a
direct writer gets the frame's pre-encoded bytes written to its socket there and then (the fast
path: no task wakes up). Otherwise the frame goes on a small bounded backlog that the
reader's own task drains (replay, gap filling, closing). Either way, a reader that cannot keep
up is dropped from the fan-out and told to reconnect from its last seq."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from liveblog.db.models import Story
from liveblog.live.frames import Frame, FrameBatch
from liveblog.live.transport import MAX_UNSENT


class DirectTransport(Protocol):
    """The asyncio transport (uvloop's or asyncio's) of one reader's connection."""

    def write(self, data: bytes) -> None: ...

    def is_closing(self) -> bool: ...

    def get_write_buffer_size(self) -> int: ...


class TransportWriter(Protocol):
    """Offers a reader's transport for direct writes (a WebSocket or an event stream)."""

    def ready_transport(self) -> DirectTransport | None:
        """The transport, once whole frames written to it reach the reader as the protocol's
        own would (the connection is open, the response has started); else None. It stays
        usable until it is closing: the writer's protocol closes it whenever the connection
        stops taking frames."""
        ...


def write_now(transport: DirectTransport, data: bytes) -> bool:
    """Write data now; False if the transport is closing or has MAX_UNSENT bytes pending."""
    if transport.is_closing() or transport.get_write_buffer_size() > MAX_UNSENT:
        return False
    transport.write(data)
    return True


# Frames a reader may fall behind by before it is asked to reconnect (about 50 KB of text
# at typical entry sizes); the transport's own buffer comes on top of this.
BACKLOG_FRAMES = 32


class CloseCode:
    """WebSocket close codes readers act on (documented in the README)."""

    RECONNECT = 4000  # fell behind or the server is going away: reconnect with ?after=SEQ
    RELOAD = 4001  # too far behind, or the log was reset: reload the page's snapshot
    ENDED = 4002  # the story has ended; nothing more will come
    NOT_FOUND = 4004  # no such story (or not visible to this reader)


@dataclass(frozen=True, slots=True)
class StoryRef:
    """What a reader's connection needs to know of its story (not a whole ORM object)."""

    id: int
    slug: str
    seq: int
    status: str

    @classmethod
    def of(cls, story: Story) -> StoryRef:
        return cls(story.id, story.slug, story.seq, story.status)


class Subscriber:
    """A reader's seq, direct writer and bounded backlog; kept small, there is one per reader."""

    __slots__ = (
        "_backlog",
        "_direct",
        "_notify",
        "_waiter",
        "closed_with",
        "fmt",
        "sent_seq",
        "wire_kind",
    )

    def __init__(
        self,
        after: int,
        fmt: str = "json",
        notify: Callable[[], None] | None = None,
        transport: str = "ws",
    ) -> None:
        self._backlog: list[Frame] = []
        self._direct: DirectTransport | None = None
        self.fmt = fmt
        self.wire_kind = f"{transport}-{fmt}"  # which of a frame's wire bytes it takes
        self._notify = notify  # wakes the reader's task; None: it waits in next_frames
        self._waiter: asyncio.Future[None] | None = None
        self.sent_seq = after
        self.closed_with: int | None = None

    def go_direct(self, writer: TransportWriter | None) -> None:
        """From now on write frames straight to the socket; only when nothing is queued."""
        if writer is not None and not self._backlog and self.closed_with is None:
            self._direct = writer.ready_transport()

    @property
    def is_direct(self) -> bool:
        """Whether frames go straight to the transport (the reader is caught up)."""
        return self._direct is not None

    def keep_alive(self, data: bytes) -> None:
        """Write data (a keep-alive) straight to the socket of a caught-up reader with nothing
        pending; any other reader's own task is awake, and sends what it needs to."""
        direct = self._direct
        if direct is not None and not direct.is_closing() and not direct.get_write_buffer_size():
            direct.write(data)

    def offer(self, frame: Frame) -> bool:
        """Deliver or queue a frame without waiting; False when the reader overflows, which
        closes the subscriber with RECONNECT. A closed subscriber ignores frames."""
        if self.closed_with is not None:
            return True
        if self._direct is not None:
            if frame.seq == self.sent_seq + 1:
                if not write_now(self._direct, frame.wire(self.wire_kind)):
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
        if len(self._backlog) == 1:
            self._wake()
        return True

    def offer_batch(self, batch: FrameBatch) -> bool:
        """offer() for consecutive frames; a caught-up direct reader gets them in one write."""
        first, last = batch.frames[0], batch.frames[-1]
        direct = self._direct
        if direct is None or first.seq != self.sent_seq + 1 or batch.ends_story:
            return all(self.offer(frame) for frame in batch.frames)
        if not write_now(direct, batch.wire(self.wire_kind)):
            self.close(CloseCode.RECONNECT)
            return False
        self.sent_seq = last.seq
        return True

    def close(self, code: int) -> None:
        """Stop this reader: drop what it had queued and wake its task to close with code."""
        if self.closed_with is None:
            self.closed_with = code
            self._direct = None
            self._backlog = []
            self._wake()

    def follow_past_end(self) -> None:
        """Keep receiving after the story's end (a desk: the story may be reopened)."""
        if self.closed_with == CloseCode.ENDED:
            self.closed_with = None

    def take(self) -> list[Frame]:
        """The queued frames, in seq order, leaving the backlog empty."""
        frames, self._backlog = self._backlog, []
        return frames

    async def next_frames(self, wait_at_most: float | None = None) -> list[Frame]:
        """Wait for frames (at most wait_at_most seconds) and take them; for readers
        without a notify callback."""
        if not self._backlog and self.closed_with is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, wait_at_most)
            except TimeoutError:
                return []
            finally:
                self._waiter = None
        return self.take()

    def _wake(self) -> None:
        if self._notify is not None:
            self._notify()
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def fan_out(subscribers: Iterable[Subscriber], batch: FrameBatch) -> list[Subscriber]:
    """offer_batch() to each subscriber; returns those that overflowed (closed with RECONNECT).

    This loop is the cost of an update, once per reader: caught-up direct readers, nearly all
    of them, are written here with offer_batch's fast path and write_now inlined, so that a
    reader costs no Python call of ours, only the transport's own three."""
    if batch.ends_story:  # every reader closes after it: offer_batch's own path
        return [s for s in subscribers if not s.offer_batch(batch)]
    before, last = batch.frames[0].seq - 1, batch.frames[-1].seq
    wires: dict[str, bytes] = {}
    dropped = []
    for subscriber in subscribers:
        transport = subscriber._direct
        if transport is None or subscriber.sent_seq != before:
            if not subscriber.offer_batch(batch):
                dropped.append(subscriber)
        elif transport.is_closing() or transport.get_write_buffer_size() > MAX_UNSENT:
            subscriber.close(CloseCode.RECONNECT)
            dropped.append(subscriber)
        else:
            kind = subscriber.wire_kind
            data = wires.get(kind)
            if data is None:
                data = wires[kind] = batch.wire(kind)
            transport.write(data)
            subscriber.sent_seq = last
    return dropped
