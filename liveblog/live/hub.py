"""The hub: one per process. On a doorbell it reads a story's new events once, renders each
once, and offers the same frames to every local reader of that story."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from jinja2 import Environment

from liveblog.db import reads
from liveblog.db.engine import Database
from liveblog.db.models import utcnow
from liveblog.live.bus import Bus, Doorbell
from liveblog.live.frames import Frame, FrameBatch, render_frame
from liveblog.live.subscriber import StoryRef, Subscriber, fan_out
from liveblog.metrics import Metrics
from liveblog.stories.events import StoryEvent, event_from_row
from liveblog.stories.visibility import visible_story

log = logging.getLogger("liveblog.hub")

# A reader further behind than this is told to reload instead of being sent the lot.
REPLAY_LIMIT = 500
# Recent frames kept per story, so reconnecting readers replay without a query or a render.
RECENT_FRAMES = 64
# The least time between two fan-outs of one story (see Hub._pace).
FANOUT_SPACING = 0.05
# How often a story with readers is checked for events whose doorbell never came.
CHECK_INTERVAL = 5.0


@dataclass(eq=False)
class Channel:
    """The readers of one story in this process, and how far this process has delivered."""

    story_id: int
    slug: str
    last_seq: int
    status: str
    subscribers: dict[Subscriber, None] = field(default_factory=dict)
    # Desk pages follow the story too, but are not counted as its readers.
    desks: set[Subscriber] = field(default_factory=set)
    recent: deque[Frame] = field(default_factory=lambda: deque(maxlen=RECENT_FRAMES))
    # Held while a replay fills `recent` from the log (see Hub.frames_between).
    filling: asyncio.Lock = field(default_factory=asyncio.Lock)
    fetching: bool = False
    again: bool = False
    delivered_at: float = 0.0


class Hub:
    """Fans story events out to this process's readers; a story without readers costs nothing."""

    def __init__(self, db: Database, bus: Bus, templates: Environment, metrics: Metrics) -> None:
        self._db = db
        self._templates = templates
        self._metrics = metrics
        self._channels: dict[int, Channel] = {}
        self._checker: asyncio.Task[None] | None = None
        self._fetches: set[asyncio.Task[None]] = set()
        self._story_reads: dict[str, asyncio.Future[StoryRef]] = {}
        metrics.readers.set_function(self.total_readers)
        metrics.direct_readers.set_function(self.direct_readers)
        bus.listen(self.on_doorbell)

    async def start(self) -> None:
        """Begin the periodic check for missed doorbells."""
        self._checker = asyncio.create_task(self._check_periodically())

    async def close(self) -> None:
        """Stop background work and ask every reader to reconnect (elsewhere or later)."""
        if self._checker is not None:
            self._checker.cancel()
        for task in list(self._fetches):
            task.cancel()
        for channel in self._channels.values():
            for subscriber in channel.subscribers:
                subscriber.close(4000)

    def readers(self, story_id: int) -> int:
        """How many readers of a story this process serves."""
        channel = self._channels.get(story_id)
        return len(channel.subscribers) - len(channel.desks) if channel else 0

    def total_readers(self) -> int:
        """How many readers this process serves."""
        return sum(len(c.subscribers) - len(c.desks) for c in self._channels.values())

    def direct_readers(self) -> int:
        """How many of this process's readers the fan-out writes to directly (counted when
        asked: a /metrics scrape)."""
        return sum(s.is_direct for c in self._channels.values() for s in c.subscribers)

    def subscribe(self, story: StoryRef, subscriber: Subscriber, desk: bool = False) -> int:
        """Start offering the story's new frames to subscriber (a desk page when desk is
        true). Returns the seq up to which the subscriber must replay from the log itself;
        later ones arrive as frames."""
        channel = self._channels.get(story.id)
        if channel is None:
            channel = Channel(story.id, story.slug, last_seq=story.seq, status=story.status)
            self._channels[story.id] = channel
            # An event committed since `story` was read rang while nobody listened here.
            self._schedule(channel)
        channel.subscribers[subscriber] = None
        if desk:
            channel.desks.add(subscriber)
        return channel.last_seq

    async def story_for_readers(self, slug: str, after: int) -> StoryRef:
        """The story readers may follow (not drafts), or NotFound: as this process knows it,
        else read once for every reader asking meanwhile (after a restart, thousands ask in
        the same second). A reader claiming a seq this process has not seen is checked
        against the database, which may know it (or not, and then the reader must reload)."""
        known = self.known_story(slug)
        if known is not None and known.status != "draft" and after <= known.seq:
            return known
        story = await self._read_story_once(slug)
        if after > story.seq:  # the shared read may have begun before that seq was written
            story = await self._read_story(slug)
        return story

    async def _read_story_once(self, slug: str) -> StoryRef:
        reading = self._story_reads.get(slug)
        if reading is None:
            reading = asyncio.ensure_future(self._read_story(slug))
            self._story_reads[slug] = reading
            reading.add_done_callback(lambda _: self._story_reads.pop(slug, None))
        # One reader leaving must not cancel the read the others wait for.
        return await asyncio.shield(reading)

    async def _read_story(self, slug: str) -> StoryRef:
        async with self._db.reading() as session:
            return StoryRef.of(await visible_story(session, slug, None))

    def known_story(self, slug: str) -> StoryRef | None:
        """The story as this process last saw it, if it has readers here: lets a reader
        join a busy story (or a reconnect storm hit it) without a database query."""
        for channel in self._channels.values():
            if channel.slug == slug:
                return StoryRef(channel.story_id, slug, channel.last_seq, channel.status)
        return None

    def unsubscribe(self, story_id: int, subscriber: Subscriber) -> None:
        """Stop offering frames; the story's channel goes when its last reader does."""
        channel = self._channels.get(story_id)
        if channel is None:
            return
        channel.subscribers.pop(subscriber, None)
        channel.desks.discard(subscriber)
        if not channel.subscribers and not channel.fetching:
            del self._channels[story_id]

    async def frames_between(self, story_id: int, slug: str, after: int, upto: int) -> list[Frame]:
        """Frames with after < seq <= upto: from the recent cache when it covers them, else
        from the log, keeping what the cache has room for."""
        if upto <= after:
            return []
        channel = self._channels.get(story_id)
        if channel is None or upto > channel.last_seq:  # a gap ahead of this process
            return await self._read_frames(story_id, slug, after, upto)
        cached = _cached(channel, after, upto)
        if cached is not None:
            return cached
        # One replay at a time fills the cache: after a restart, thousands of readers come
        # back with about the same seq, and each event is then read and rendered once, not
        # once per reader.
        async with channel.filling:
            cached = _cached(channel, after, upto)
            if cached is not None:
                return cached
            return await self._fill_recent(channel, after, upto)

    async def _fill_recent(self, channel: Channel, after: int, upto: int) -> list[Frame]:
        recent = channel.recent
        end = recent[0].seq - 1 if recent else channel.last_seq
        start = max(0, min(after, end - (RECENT_FRAMES - len(recent))))
        older = await self._read_frames(channel.story_id, channel.slug, start, end)
        newer = list(channel.recent)  # it may have moved on during the read
        if len(older) != end - start or (newer and newer[0].seq != end + 1):
            return await self._read_frames(channel.story_id, channel.slug, after, upto)
        frames = older + newer
        channel.recent = deque(frames, maxlen=RECENT_FRAMES)
        return [frame for frame in frames if after < frame.seq <= upto]

    async def _read_frames(self, story_id: int, slug: str, after: int, upto: int) -> list[Frame]:
        if upto <= after:
            return []
        rows = await reads.new_events(self._db, story_id, after, upto - after)
        return [self._render(event_from_row(row, slug)) for row in rows]

    def on_doorbell(self, doorbell: Doorbell) -> None:
        """A story has new events: fetch them, if anyone here reads it."""
        channel = self._channels.get(doorbell.story_id)
        if channel is not None and doorbell.seq > channel.last_seq:
            self._schedule(channel)

    def _schedule(self, channel: Channel) -> None:
        if channel.fetching:
            channel.again = True
            return
        channel.fetching = True
        task = asyncio.create_task(self._fetch(channel))
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)

    async def _fetch(self, channel: Channel) -> None:
        try:
            while True:
                await self._pace(channel)
                channel.again = False
                await self._deliver_new(channel)
                channel.delivered_at = time.monotonic()
                if not channel.again:
                    break
        except Exception:
            log.exception(
                "could not fetch events of story %s",
                channel.slug,
                extra={"story": channel.story_id, "seq": channel.last_seq},
            )
        finally:
            channel.fetching = False
            if not channel.subscribers:
                self._channels.pop(channel.story_id, None)

    async def _pace(self, channel: Channel) -> None:
        # A lone update goes out at once. In a burst, fan-outs of one story are spaced by
        # FANOUT_SPACING, each carrying every event committed meanwhile in one write per
        # reader: so the cost of fan-out follows the readers, not the rate of posting.
        wait = channel.delivered_at + FANOUT_SPACING - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _deliver_new(self, channel: Channel) -> None:
        rows = await reads.new_events(self._db, channel.story_id, channel.last_seq, REPLAY_LIMIT)
        frames = []
        for row in rows:
            frame = self._render(event_from_row(row, channel.slug))
            channel.recent.append(frame)
            channel.last_seq = frame.seq
            if row.type == "story.updated":
                channel.status = str(row.data["status"])
            frames.append(frame)
        if frames:
            self._fan_out(channel, frames)
        now = utcnow()
        for row in rows:
            self._metrics.fanout_seconds.observe((now - row.created_at).total_seconds())
        if len(rows) == REPLAY_LIMIT:
            channel.again = True

    def _fan_out(self, channel: Channel, frames: list[Frame]) -> None:
        # Events that arrived together go out together: one write per reader, not one per
        # event, which is what lets a busy story take many entries a second.
        dropped = fan_out(channel.subscribers, FrameBatch.of(frames))
        for subscriber in dropped:
            channel.subscribers.pop(subscriber, None)
            channel.desks.discard(subscriber)
            self._metrics.slow_readers_dropped.inc()

    def _render(self, event: StoryEvent) -> Frame:
        self._metrics.frames_rendered.inc()
        return render_frame(event, self._templates)

    async def _check_periodically(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            try:
                await self._check_once()
            except Exception:
                if not failing:  # log an outage once, not every interval
                    log.warning("periodic check for missed events failed", exc_info=True)
                failing = True
                continue
            if failing:
                log.info("periodic check for missed events works again")
            failing = False

    async def _check_once(self) -> None:
        if not self._channels:
            return
        for story_id, seq in await reads.story_seqs(self._db, list(self._channels)):
            self.on_doorbell(Doorbell(story_id, seq))


def _cached(channel: Channel, after: int, upto: int) -> list[Frame] | None:
    # The cache holds consecutive seqs, so it serves the replay only if it spans all of it.
    recent = channel.recent
    if not recent or recent[0].seq > after + 1 or recent[-1].seq < upto:
        return None
    return [frame for frame in recent if after < frame.seq <= upto]
