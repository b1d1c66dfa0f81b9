"""Putting one reader's frames in order, whatever the transport: the replay of what it missed,
then live frames, each seq exactly once, with any gap filled from the log."""

from __future__ import annotations

from liveblog.live.frames import Frame
from liveblog.live.hub import REPLAY_LIMIT, Hub
from liveblog.live.subscriber import CloseCode, StoryRef, Subscriber


class Reload(Exception):
    """The reader is too far behind (or ahead of the log) to catch up by replay."""


async def replay(hub: Hub, story: StoryRef, subscriber: Subscriber, upto: int) -> list[Frame]:
    """What the reader missed before it subscribed (`upto` is what hub.subscribe returned),
    ready to send; an ended story it has seen to the end closes the subscriber with ENDED."""
    after = subscriber.sent_seq
    if after > story.seq or upto - after > REPLAY_LIMIT:
        raise Reload
    frames = await in_order(
        hub, story, subscriber, await hub.frames_between(story.id, story.slug, after, upto)
    )
    if story.status == "ended" and subscriber.sent_seq >= story.seq:
        subscriber.close(CloseCode.ENDED)
    return frames


async def in_order(
    hub: Hub, story: StoryRef, subscriber: Subscriber, frames: list[Frame]
) -> list[Frame]:
    """The frames to send next, in seq order, each once: fills gaps from the log, and closes
    the subscriber with ENDED when the story's end is the last of them. Advances
    subscriber.sent_seq as if they were sent."""
    ready: list[Frame] = []
    for frame in frames:
        if frame.seq <= subscriber.sent_seq:
            continue
        if frame.seq > subscriber.sent_seq + 1:
            missed = await hub.frames_between(
                story.id, story.slug, subscriber.sent_seq, frame.seq - 1
            )
            if not missed or missed[0].seq != subscriber.sent_seq + 1:
                raise Reload  # the log no longer holds them
            ready += missed
            subscriber.sent_seq = missed[-1].seq
            if subscriber.sent_seq + 1 != frame.seq:
                raise Reload
        ready.append(frame)
        subscriber.sent_seq = frame.seq
        # An end followed by a reopening (later in the list, or known to the story) is history.
        if frame.ends_story and frame is frames[-1] and frame.seq >= story.seq:
            subscriber.close(CloseCode.ENDED)
    return ready
