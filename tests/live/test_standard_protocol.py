"""Live sockets and event streams work under uvicorn's standard protocols, serve's fallback
when its direct-writing protocols do not fit the installed uvicorn: the WebSocket and SSE
tests of test_websocket.py, the slow-reader test and the hung-up streams test run again
here, against such a server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live.readers import WsReader, post, story_seq
from tests.live.test_delivery_under_load import (  # noqa: F401 - run again, on this server
    test_slow_reader_is_dropped_and_others_keep_up,
)
from tests.live.test_event_stream import (  # noqa: F401 - run again, on this server
    test_clients_gone_before_their_stream_starts_leave_no_reader_behind,
)
from tests.live.test_websocket import (  # noqa: F401 - run again, on this server
    test_a_reopened_story_keeps_its_readers,
    test_bad_after_is_refused,
    test_reader_far_behind_is_told_to_reload,
    test_socket_receives_each_kind_of_event,
    test_socket_resumes_with_exactly_the_missed_entries,
    test_sse_receives_each_kind_of_event,
    test_sse_resumes_from_last_event_id,
    test_unknown_story_closes_with_not_found,
)
from tests.support import Deployment, LiveServer


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only: the protocol, not the database, is what differs here."""
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/lb.db"


@pytest.fixture(scope="module")
def server(deployment: Deployment) -> Iterator[LiveServer]:
    """The app under uvicorn's standard WebSocket protocol, for this module's tests."""
    live = LiveServer(deployment, standard_ws=True).start()
    yield live
    live.stop()


async def test_readers_here_have_no_direct_writer(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    post(editor, slug, "through ASGI send()")
    await WsReader(server.url, slug).read_until(story_seq(editor, slug), after=live_story["seq"])
    served = [line for line in server.log().splitlines() if "direct writer:" in line]
    assert served, "the server logged no WebSocket"
    assert all(line.endswith("direct writer: no") for line in served), served
