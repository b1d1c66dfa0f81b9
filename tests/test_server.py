"""`liveblog serve` in one process: uvicorn's server with a main loop that wakes once a second
and still exits at once when asked."""

from __future__ import annotations

import time

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from liveblog.server import OnceASecondServer, main_loop_fits
from tests.support import free_port, serving_in_thread, until

DEADLINE = 30.0


def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


class CountingServer(OnceASecondServer):
    """Counts the main loop's wake-ups."""

    ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


def test_the_main_loop_wakes_once_a_second_and_exits_at_once_when_asked() -> None:
    port = free_port()
    app = Starlette(routes=[Route("/", _hello)])
    server = CountingServer(uvicorn.Config(app, port=port, lifespan="off", log_level="error"))
    with serving_in_thread(server, DEADLINE) as thread:
        response = httpx.get(f"http://127.0.0.1:{port}/")
        assert response.text == "hello"
        assert "date" in response.headers  # on_tick's once-a-second work still happens
        time.sleep(2.5)
        ticks = server.ticks
        assert 2 <= ticks <= 5  # uvicorn's own main loop wakes about 25 times in this time
        until(lambda: server.ticks > ticks, "the next tick", DEADLINE)
        asked = time.monotonic()
        server.should_exit = True  # just after a tick: a loop sleeping its second out is late
        thread.join(DEADLINE)
        assert not thread.is_alive()
        assert time.monotonic() - asked < 0.5


def test_the_once_a_second_loop_is_used_only_where_it_fits() -> None:
    assert main_loop_fits(uvicorn.Server)  # the uvicorn this suite runs on

    class SyncMainLoop(uvicorn.Server):
        def main_loop(self) -> None:  # type: ignore[override]
            pass

    class OtherTick(uvicorn.Server):
        async def on_tick(self, counter: int, now: float) -> bool:  # type: ignore[override]
            return True

    class NoExitFlag:
        async def main_loop(self) -> None:
            pass

        async def on_tick(self, counter: int) -> bool:
            return True

    for server in (SyncMainLoop, OtherTick, NoExitFlag):
        assert not main_loop_fits(server), server
