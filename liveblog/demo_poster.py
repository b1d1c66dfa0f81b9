"""The demo of `liveblog serve --workers N --demo`, run once by the parent process.

Every worker running the demo would race to seed it and post N times as often; the parent
seeds it before the workers start, then posts from a thread of its own while they serve.
Its doorbells go out on the shared bus like any worker's."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from liveblog.db.engine import open_database
from liveblog.db.migrate import upgrade_to_head
from liveblog.demo import keep_posting, seed_demo
from liveblog.live.bus import open_bus
from liveblog.metrics import Metrics
from liveblog.settings import Settings
from liveblog.stories.writer import StoryWriter

T = TypeVar("T")
log = logging.getLogger("liveblog.demo")
STOP_TIMEOUT = 10.0


@contextmanager
def demo_in_background(settings: Settings) -> Iterator[None]:
    """Seed the demo story (errors are raised here), then post to it every
    settings.demo_interval seconds until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="liveblog-demo", daemon=True)
    thread.start()
    try:
        stop = _call(loop, _start(settings))
        try:
            yield
        finally:
            _call(loop, stop(), STOP_TIMEOUT)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _call(
    loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T], timeout: float | None = None
) -> T:
    return asyncio.run_coroutine_threadsafe(work, loop).result(timeout)


async def _start(settings: Settings) -> Callable[[], Awaitable[None]]:
    """Seed, start posting, and return how to stop."""
    db, bus = open_database(settings), open_bus(settings.bus_url)

    async def close() -> None:
        await bus.close()
        await db.close()

    try:
        await upgrade_to_head(db)
        writer = StoryWriter(db, bus, Metrics())
        author = await seed_demo(db, writer)
    except BaseException:
        await close()
        raise
    poster = asyncio.create_task(keep_posting(writer, author, settings.demo_interval))
    poster.add_done_callback(_report_failure)

    async def stop() -> None:
        poster.cancel()
        with suppress(asyncio.CancelledError, Exception):  # a failure was logged when it came
            await poster
        await close()

    return stop


def _report_failure(poster: asyncio.Task[None]) -> None:
    if not poster.cancelled() and poster.exception() is not None:
        log.error("the demo stopped posting", exc_info=poster.exception())
