"""The sequencing of live delivery, in-process and fast: a reader's subscriber (the direct path,
its backlog, dropping a reader that falls behind), putting frames in order (gaps filled from
the log, duplicates skipped, Reload when the log no longer holds them) and the hub's cache of
recent frames. Frames are real; the socket is a writer that collects bytes, the log a hub
whose frames_between serves a list, and the cache's hub is real, on a SQLite file."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from liveblog.db.engine import Database, open_database
from liveblog.db.migrate import upgrade_to_head
from liveblog.db.models import StoredEvent, Story
from liveblog.live.bus import Doorbell, MemoryBus
from liveblog.live.frames import Frame, FrameBatch, render_frame
from liveblog.live.hub import RECENT_FRAMES, REPLAY_LIMIT, Hub
from liveblog.live.reader_stream import Reload, in_order, replay
from liveblog.live.subscriber import BACKLOG_FRAMES, CloseCode, StoryRef, Subscriber, fan_out
from liveblog.live.transport import MAX_UNSENT
from liveblog.metrics import Metrics
from liveblog.render.templates import template_environment
from liveblog.settings import load_settings
from liveblog.stories.events import StoryUpdated

SLUG = "sequencing"
TEMPLATES = template_environment()
WAIT = 5.0


def frame(seq: int, status: str = "live") -> Frame:
    """A real frame: the story.updated event of seq (status "ended" ends the story)."""
    event = StoryUpdated(seq, SLUG, "2026-01-01T00:00:00+00:00", {"status": status})
    return render_frame(event, TEMPLATES)


def frames(first: int, last: int) -> list[Frame]:
    return [frame(seq) for seq in range(first, last + 1)]


class CollectingWriter:
    """The socket boundary, a writer and its transport: keeps what was written; `accepts`
    False makes it a socket whose buffer is full, `closing` True one on its way out."""

    def __init__(self, accepts: bool = True, closing: bool = False) -> None:
        self.accepts = accepts
        self.closing = closing
        self.writes: list[bytes] = []

    def ready_transport(self) -> CollectingWriter | None:
        return None if self.closing else self

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0 if self.accepts else MAX_UNSENT + 1

    def write(self, data: bytes) -> None:
        assert self.accepts and not self.closing, "written past the checks"
        self.writes.append(data)

    def wake(self) -> None:
        pass

    @property
    def seqs(self) -> list[int]:
        """The seqs of the WebSocket text frames written, in order."""
        return [json.loads(text)["seq"] for data in self.writes for text in _texts(data)]


def _texts(data: bytes) -> list[str]:
    # Server frames are unmasked: opcode byte, length (7 bits, or 126/127 and 2/8 bytes).
    texts, at = [], 0
    while at < len(data):
        assert data[at] == 0x81, "a final text frame"
        length, at = data[at + 1] & 0x7F, at + 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length, at = int.from_bytes(data[at : at + size], "big"), at + size
        texts.append(data[at : at + length].decode())
        at += length
    return texts


def direct_subscriber(after: int, writer: CollectingWriter | None = None) -> Subscriber:
    subscriber = Subscriber(after)
    subscriber.go_direct(writer or CollectingWriter())
    return subscriber


# --- Subscriber.offer and offer_batch -------------------------------------------------------


def test_the_next_frame_goes_straight_to_the_socket() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    assert subscriber.offer(frame(6)) and subscriber.offer(frame(7))
    assert writer.seqs == [6, 7]
    assert subscriber.sent_seq == 7
    assert subscriber.take() == []  # nothing waited in the backlog


def test_a_frame_already_sent_is_not_sent_again() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    assert subscriber.offer(frame(5)) and subscriber.offer(frame(4))
    assert writer.writes == [] and subscriber.take() == []
    assert subscriber.closed_with is None


def test_a_gap_moves_the_reader_off_the_direct_path_into_its_backlog() -> None:
    writer, woken = CollectingWriter(), []
    subscriber = Subscriber(5, notify=lambda: woken.append(True))
    subscriber.go_direct(writer)
    assert subscriber.offer(frame(7))  # 6 is missing: the reader's task must fill it
    assert subscriber.offer(frame(8))  # and later frames queue behind it
    assert writer.writes == []
    assert [f.seq for f in subscriber.take()] == [7, 8]
    assert woken == [True]  # woken once, when the backlog stopped being empty
    assert subscriber.sent_seq == 5
    assert subscriber.offer(frame(9)) and writer.writes == []  # still off the direct path


def test_the_direct_path_is_taken_only_with_an_empty_backlog() -> None:
    subscriber = Subscriber(5)
    subscriber.offer(frame(7))
    writer = CollectingWriter()
    subscriber.go_direct(writer)
    subscriber.offer(frame(6))  # must not overtake what waits in the backlog
    assert writer.writes == []
    assert [f.seq for f in subscriber.take()] == [7, 6]


async def test_after_a_gap_nothing_overtakes_the_frames_being_filled_in() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    subscriber.offer(frame(7))
    # The reader's task takes its backlog and fills the gap from the log: 6 and 7 are now
    # on their way (sent_seq says so), but not yet written when the hub offers 8.
    filled = await in_order(LogHub(frames(1, 7)), story(7), subscriber, subscriber.take())  # type: ignore[arg-type]
    assert [f.seq for f in filled] == [6, 7]
    subscriber.offer(frame(8))
    assert writer.writes == []
    assert [f.seq for f in subscriber.take()] == [8]


def test_a_full_backlog_drops_the_reader_with_reconnect() -> None:
    subscriber = Subscriber(0)
    assert all(subscriber.offer(f) for f in frames(1, BACKLOG_FRAMES))
    assert subscriber.closed_with is None
    assert not subscriber.offer(frame(BACKLOG_FRAMES + 1))
    assert subscriber.closed_with == CloseCode.RECONNECT
    assert subscriber.take() == []  # what it had queued is dropped: it resumes from its seq


def test_a_socket_that_cannot_take_more_drops_the_reader_with_reconnect() -> None:
    writer = CollectingWriter(accepts=False)
    subscriber = direct_subscriber(5, writer)
    assert not subscriber.offer(frame(6))
    assert subscriber.closed_with == CloseCode.RECONNECT
    assert subscriber.sent_seq == 5  # not sent: the reader resumes from 5


def test_keep_alives_go_only_to_caught_up_readers_with_nothing_pending() -> None:
    caught_up, full = CollectingWriter(), CollectingWriter(accepts=False)
    direct_subscriber(5, caught_up).keep_alive(b"ka")
    direct_subscriber(5, full).keep_alive(b"ka")  # data pending: it is not idle
    gap = CollectingWriter()
    behind = direct_subscriber(5, gap)
    behind.offer(frame(7))  # a gap: its task fills it, and is awake
    behind.keep_alive(b"ka")
    closed = CollectingWriter()
    subscriber = direct_subscriber(5, closed)
    subscriber.close(CloseCode.RECONNECT)
    subscriber.keep_alive(b"ka")
    assert caught_up.writes == [b"ka"]
    assert full.writes == gap.writes == closed.writes == []


def test_a_closed_reader_takes_no_more_frames() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    subscriber.close(CloseCode.RECONNECT)
    assert subscriber.offer(frame(6))
    assert writer.writes == [] and subscriber.take() == []
    assert subscriber.closed_with == CloseCode.RECONNECT


def test_the_end_of_the_story_is_sent_then_closes_the_reader() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    assert subscriber.offer(frame(6, "ended"))
    assert writer.seqs == [6]
    assert subscriber.closed_with == CloseCode.ENDED
    assert subscriber.offer(frame(7)) and writer.seqs == [6]


def test_a_caught_up_reader_gets_a_batch_in_one_write() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    assert subscriber.offer_batch(FrameBatch.of(frames(6, 9)))
    assert len(writer.writes) == 1
    assert writer.seqs == [6, 7, 8, 9]
    assert subscriber.sent_seq == 9


def test_a_batch_after_a_gap_waits_in_the_backlog() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    assert subscriber.offer_batch(FrameBatch.of(frames(8, 9)))
    assert writer.writes == []
    assert [f.seq for f in subscriber.take()] == [8, 9]


def test_a_batch_overlapping_what_was_sent_sends_only_the_new_frames() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    assert subscriber.offer_batch(FrameBatch.of(frames(4, 7)))
    assert writer.seqs == [6, 7]
    assert subscriber.sent_seq == 7


def test_a_batch_ending_the_story_closes_the_reader_after_the_end() -> None:
    writer = CollectingWriter()
    subscriber = direct_subscriber(5, writer)
    batch = FrameBatch.of([frame(6), frame(7, "ended"), frame(8)])
    assert subscriber.offer_batch(batch)
    assert writer.seqs == [6, 7]
    assert subscriber.closed_with == CloseCode.ENDED


def test_a_batch_the_socket_refuses_drops_the_reader_with_reconnect() -> None:
    subscriber = direct_subscriber(5, CollectingWriter(accepts=False))
    assert not subscriber.offer_batch(FrameBatch.of(frames(6, 8)))
    assert subscriber.closed_with == CloseCode.RECONNECT
    assert subscriber.sent_seq == 5


# --- fan_out: the hub's loop over a story's readers ----------------------------------------


def test_fan_out_writes_each_caught_up_reader_once_and_offers_the_rest() -> None:
    first, second, html = CollectingWriter(), CollectingWriter(), CollectingWriter()
    full, closing, closed = CollectingWriter(False), CollectingWriter(), CollectingWriter()
    caught_up = [direct_subscriber(5, first), direct_subscriber(5, second)]
    html_reader = Subscriber(5, "html")
    html_reader.go_direct(html)
    queued = Subscriber(5)  # no direct writer: its task takes the batch from the backlog
    behind = direct_subscriber(3, CollectingWriter())  # 4 and 5 missing: its task fills them
    too_slow = direct_subscriber(5, full)
    leaving = direct_subscriber(5, closing)
    closing.closing = True  # the reader left after its subscriber went direct
    gone = direct_subscriber(5, closed)
    gone.close(CloseCode.RECONNECT)
    everyone = [*caught_up, html_reader, queued, behind, too_slow, leaving, gone]

    dropped = fan_out(everyone, FrameBatch.of(frames(6, 8)))

    assert dropped == [too_slow, leaving]
    assert too_slow.closed_with == leaving.closed_with == CloseCode.RECONNECT
    assert too_slow.sent_seq == leaving.sent_seq == 5  # nothing sent: they resume from 5
    assert first.seqs == second.seqs == html.seqs == [6, 7, 8]
    assert first.writes[0] is second.writes[0]  # one format's bytes are encoded once
    assert json.loads(_texts(html.writes[0])[0]) == json.loads(frame(6).text("html"))
    assert [s.sent_seq for s in (*caught_up, html_reader)] == [8, 8, 8]
    assert [f.seq for f in queued.take()] == [6, 7, 8]
    assert [f.seq for f in behind.take()] == [6, 7, 8] and behind.sent_seq == 3
    assert gone.take() == [] and closed.writes == []


def test_fan_out_of_a_batch_ending_the_story_closes_every_reader_after_the_end() -> None:
    writers = [CollectingWriter(), CollectingWriter()]
    readers = [direct_subscriber(5, writer) for writer in writers]
    batch = FrameBatch.of([frame(6), frame(7, "ended"), frame(8)])
    assert fan_out(readers, batch) == []
    assert [w.seqs for w in writers] == [[6, 7], [6, 7]]
    assert [r.closed_with for r in readers] == [CloseCode.ENDED, CloseCode.ENDED]


# --- in_order and replay ----------------------------------------------------------------------


class LogHub:
    """The hub's frames_between over a list: what the story's log still holds."""

    def __init__(self, held: list[Frame]) -> None:
        self.held = held
        self.asked: list[tuple[int, int]] = []

    async def frames_between(self, story_id: int, slug: str, after: int, upto: int) -> list[Frame]:
        self.asked.append((after, upto))
        return [f for f in self.held if after < f.seq <= upto]


def story(seq: int, status: str = "live") -> StoryRef:
    return StoryRef(1, SLUG, seq, status)


async def ordered(hub: LogHub, subscriber: Subscriber, given: list[Frame], seq: int) -> list[int]:
    return [f.seq for f in await in_order(hub, story(seq), subscriber, given)]  # type: ignore[arg-type]


async def test_frames_in_order_pass_as_they_are() -> None:
    hub, subscriber = LogHub([]), Subscriber(5)
    assert await ordered(hub, subscriber, frames(6, 8), 8) == [6, 7, 8]
    assert subscriber.sent_seq == 8
    assert hub.asked == []  # no gap, no reading of the log


async def test_frames_already_sent_and_repeats_are_skipped() -> None:
    hub, subscriber = LogHub([]), Subscriber(5)
    given = [frame(4), frame(5), frame(6), frame(6), frame(7), frame(7)]
    assert await ordered(hub, subscriber, given, 7) == [6, 7]
    assert subscriber.sent_seq == 7


async def test_a_gap_is_filled_from_the_log_in_order() -> None:
    hub, subscriber = LogHub(frames(1, 20)), Subscriber(5)
    assert await ordered(hub, subscriber, [frame(9), frame(10)], 10) == [6, 7, 8, 9, 10]
    assert hub.asked == [(5, 8)]
    assert subscriber.sent_seq == 10


async def test_two_gaps_are_each_filled() -> None:
    hub, subscriber = LogHub(frames(1, 20)), Subscriber(5)
    assert await ordered(hub, subscriber, [frame(7), frame(10)], 10) == [6, 7, 8, 9, 10]
    assert hub.asked == [(5, 6), (7, 9)]


async def test_a_gap_the_log_no_longer_holds_means_reload() -> None:
    subscriber = Subscriber(5)
    with pytest.raises(Reload):
        await ordered(LogHub(frames(8, 20)), subscriber, [frame(9)], 9)  # 6 and 7 pruned


async def test_a_gap_the_log_holds_only_the_start_of_means_reload() -> None:
    held = [frame(6)]  # 7 and 8 not (yet) in the log this process reads
    with pytest.raises(Reload):
        await ordered(LogHub(held), Subscriber(5), [frame(9)], 9)


async def test_the_end_as_the_last_frame_closes_the_reader() -> None:
    subscriber = Subscriber(5)
    assert await ordered(LogHub([]), subscriber, [frame(6), frame(7, "ended")], 7) == [6, 7]
    assert subscriber.closed_with == CloseCode.ENDED


async def test_an_end_followed_by_a_reopening_is_history() -> None:
    subscriber = Subscriber(5)
    given = [frame(6, "ended"), frame(7, "live")]  # both came after the reader joined at 5
    assert await ordered(LogHub([]), subscriber, given, 5) == [6, 7]
    assert subscriber.closed_with is None
    reopened_since = Subscriber(5)  # the story knows a later reopening the frames lack
    assert await ordered(LogHub([]), reopened_since, [frame(6, "ended")], 7) == [6]
    assert reopened_since.closed_with is None


async def test_replay_sends_what_the_reader_missed() -> None:
    hub, subscriber = LogHub(frames(1, 12)), Subscriber(5)
    replayed = await replay(hub, story(12), subscriber, 10)  # type: ignore[arg-type]
    assert [f.seq for f in replayed] == [6, 7, 8, 9, 10]  # 11 and 12 arrive as frames
    assert subscriber.sent_seq == 10


async def test_replay_of_a_reader_too_far_behind_or_ahead_means_reload() -> None:
    hub = LogHub([])
    with pytest.raises(Reload):
        await replay(hub, story(REPLAY_LIMIT + 6), Subscriber(5), REPLAY_LIMIT + 6)  # type: ignore[arg-type]
    with pytest.raises(Reload):
        await replay(hub, story(10), Subscriber(11), 10)  # type: ignore[arg-type]
    assert hub.asked == []


async def test_replay_to_the_end_of_an_ended_story_closes_the_reader() -> None:
    hub, subscriber = LogHub([frame(6), frame(7, "ended")]), Subscriber(5)
    replayed = await replay(hub, story(7, "ended"), subscriber, 7)  # type: ignore[arg-type]
    assert [f.seq for f in replayed] == [6, 7]
    assert subscriber.closed_with == CloseCode.ENDED


# --- the hub's recent frames ------------------------------------------------------------------


class LiveStory:
    """A real hub on a SQLite file, following one story whose events the test appends."""

    def __init__(self, db: Database, hub: Hub, bus: MemoryBus, metrics: Metrics, ref: StoryRef):
        self.db, self.hub, self.bus, self.metrics, self.ref = db, hub, bus, metrics, ref
        self.seq = ref.seq

    async def append(self, count: int, ring: bool = True) -> None:
        """Commit count events to the story's log, then ring its doorbell (unless not)."""
        async with self.db.writing() as session:
            story_row = await session.get(Story, self.ref.id)
            assert story_row is not None
            for _ in range(count):
                self.seq += 1
                session.add(
                    StoredEvent(
                        story_id=self.ref.id,
                        seq=self.seq,
                        type="story.updated",
                        data={"status": "live"},
                    )
                )
            story_row.seq = self.seq
        if ring:
            await self.bus.ring(Doorbell(self.ref.id, self.seq))

    def rendered(self) -> float:
        value = self.metrics.registry.get_sample_value("liveblog_frames_rendered_total")
        return value or 0.0

    def queries(self) -> float:
        value = self.metrics.registry.get_sample_value("liveblog_db_queries_total")
        return value or 0.0


@pytest.fixture
async def live_story(tmp_path: Path) -> AsyncIterator[LiveStory]:
    settings = load_settings(environ={"LIVEBLOG_DATABASE_URL": f"sqlite:///{tmp_path}/lb.db"})
    db = open_database(settings)
    bus, metrics = MemoryBus(), Metrics()
    hub = Hub(db, bus, TEMPLATES, metrics)
    try:
        await upgrade_to_head(db)
        async with db.writing() as session:
            row = Story(slug=SLUG, title="Sequencing", status="live", seq=0)
            session.add(row)
            await session.flush()
            ref = StoryRef(row.id, SLUG, 0, "live")
        yield LiveStory(db, hub, bus, metrics, ref)
    finally:
        await hub.close()
        await db.close()


async def follow(live: LiveStory) -> tuple[Subscriber, CollectingWriter]:
    """A caught-up direct reader of the story, as the hub counts it."""
    writer = CollectingWriter()
    subscriber = Subscriber(live.seq)
    subscriber.go_direct(writer)
    assert live.hub.subscribe(live.ref, subscriber) == live.seq
    return subscriber, writer


async def delivered(subscriber: Subscriber, seq: int) -> None:
    """Wait until the hub has delivered seq to subscriber."""
    deadline = time.monotonic() + WAIT
    while subscriber.sent_seq < seq:
        assert time.monotonic() < deadline, f"seq {seq} not delivered ({subscriber.sent_seq})"
        await asyncio.sleep(0.005)


async def test_the_hub_fans_each_event_out_once_in_order(live_story: LiveStory) -> None:
    subscriber, writer = await follow(live_story)
    for _ in range(3):
        await live_story.append(2)
    await delivered(subscriber, 6)
    assert writer.seqs == [1, 2, 3, 4, 5, 6]
    assert live_story.rendered() == 6


async def test_recent_frames_are_served_from_the_cache(live_story: LiveStory) -> None:
    subscriber, _ = await follow(live_story)
    await live_story.append(10)
    await delivered(subscriber, 10)
    rendered = live_story.rendered()
    first = await live_story.hub.frames_between(live_story.ref.id, SLUG, 3, 8)
    again = await live_story.hub.frames_between(live_story.ref.id, SLUG, 3, 8)
    assert [f.seq for f in first] == [4, 5, 6, 7, 8]
    assert all(a is b for a, b in zip(first, again, strict=True))  # the same frames, kept
    assert live_story.rendered() == rendered  # nothing read or rendered again
    assert await live_story.hub.frames_between(live_story.ref.id, SLUG, 8, 8) == []


async def test_a_range_older_than_the_cache_is_read_from_the_log(live_story: LiveStory) -> None:
    subscriber, _ = await follow(live_story)
    total = RECENT_FRAMES + 6
    await live_story.append(total)
    await delivered(subscriber, total)
    rendered = live_story.rendered()
    newest = await live_story.hub.frames_between(live_story.ref.id, SLUG, 6, total)
    assert [f.seq for f in newest] == list(range(7, total + 1))
    assert live_story.rendered() == rendered  # exactly what the cache spans
    older = await live_story.hub.frames_between(live_story.ref.id, SLUG, 5, total)
    assert [f.seq for f in older] == list(range(6, total + 1))
    assert live_story.rendered() == rendered + 1  # only the one frame the cache lacks


async def test_a_reconnect_storm_reads_and_renders_each_event_once(live_story: LiveStory) -> None:
    await live_story.append(40, ring=False)  # posted while this process was down
    restarted = Hub(live_story.db, MemoryBus(), TEMPLATES, live_story.metrics)
    ref = StoryRef(live_story.ref.id, SLUG, live_story.seq, "live")
    readers = [Subscriber(after) for after in [30] * 50 + [12] * 50 + [35] * 50]
    upto = [restarted.subscribe(ref, subscriber) for subscriber in readers]
    replays = await asyncio.gather(
        *(
            restarted.frames_between(ref.id, SLUG, subscriber.sent_seq, end)
            for subscriber, end in zip(readers, upto, strict=True)
        )
    )
    for subscriber, frames_ in zip(readers, replays, strict=True):
        assert [f.seq for f in frames_] == list(range(subscriber.sent_seq + 1, 41))
    assert live_story.rendered() == 40  # each event once, for 150 readers
    await restarted.close()


async def test_a_range_newer_than_the_cache_is_read_from_the_log(live_story: LiveStory) -> None:
    subscriber, _ = await follow(live_story)
    await live_story.append(4)
    await delivered(subscriber, 4)
    await live_story.append(2, ring=False)  # committed; its doorbell has not come yet
    rendered = live_story.rendered()
    frames_ = await live_story.hub.frames_between(live_story.ref.id, SLUG, 2, 6)
    assert [f.seq for f in frames_] == [3, 4, 5, 6]
    assert live_story.rendered() == rendered + 4
    assert subscriber.sent_seq == 4  # reading the log delivers nothing by itself


async def test_readers_arriving_together_share_one_read_of_their_story(
    live_story: LiveStory,
) -> None:
    # After a restart the process knows no story, and thousands of readers ask at once.
    live_story.metrics.count_database_queries(live_story.db.sync_engines())
    before = live_story.queries()
    refs = await asyncio.gather(*(live_story.hub.story_for_readers(SLUG, 0) for _ in range(200)))
    assert {(r.id, r.seq, r.status) for r in refs} == {(live_story.ref.id, 0, "live")}
    assert live_story.queries() - before <= 2  # BEGIN and one SELECT, not 200 of them
