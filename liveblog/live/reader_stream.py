"""The frames one reader receives, whatever the transport: the replay of what it missed, then
live frames, each seq exactly once and in order, with any gap filled from the log."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

from liveblog.db.models import Story
from liveblog.live.frames import Frame
from liveblog.live.hub import REPLAY_LIMIT, Hub
from liveblog.live.subscriber import CloseCode, Subscriber
from liveblog.live.transport import DirectWriter


class Reload(Exception):
    """The reader is too far behind (or ahead of the log) to catch up by replay."""


async def reader_frames(
    hub: Hub,
    story: Story,
    subscriber: Subscriber,
    upto: int,
    keepalive: float | None = None,
    direct: DirectWriter | None = None,
) -> AsyncIterator[Frame | None]:
    """Yield frames for subscriber (None as a keep-alive tick) until it is closed.

    `upto` is what hub.subscribe returned. With a direct writer, once the reader is caught
    up the hub writes to it directly and this only wakes to fill a gap or to finish. The
    story's end closes the subscriber with ENDED."""
    after = subscriber.sent_seq
    if after > upto or upto - after > REPLAY_LIMIT:
        raise Reload
    pending = deque(await hub.replay(story.id, story.slug, after, upto))
    if story.status == "ended" and not pending and after >= story.seq:
        subscriber.close(CloseCode.ENDED)
    while subscriber.closed_with is None or pending:
        if not pending:
            # Everything yielded so far has been sent: the reader is caught up.
            subscriber.go_direct(direct)
            frames = await subscriber.next_frames(keepalive)
            if not frames and subscriber.closed_with is None:
                yield None
            pending.extend(frames)
            continue
        frame = pending.popleft()
        if frame.seq <= subscriber.sent_seq:
            continue
        if frame.seq > subscriber.sent_seq + 1:
            pending.appendleft(frame)
            await _fill_gap(hub, story, subscriber, pending, frame.seq)
            continue
        subscriber.sent_seq = frame.seq
        yield frame
        if frame.ends_story:
            subscriber.close(CloseCode.ENDED)
            return


async def _fill_gap(
    hub: Hub, story: Story, subscriber: Subscriber, pending: deque[Frame], before: int
) -> None:
    missed = await hub.replay(story.id, story.slug, subscriber.sent_seq, before - 1)
    if not missed or missed[0].seq != subscriber.sent_seq + 1:
        raise Reload  # the log no longer holds them
    pending.extendleft(reversed(missed))
