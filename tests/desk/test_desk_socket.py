"""The desk's live socket: only a signed-in desk page of our own origin may open it; it
follows the story's events (drafts included) and shows who else is here, and it is not
counted among the story's readers."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.support import LiveServer
from tests.web.desk_sessions import signed_in


def desk_socket(server: LiveServer, slug: str, client: httpx.Client | None, origin: str | None):  # type: ignore[no-untyped-def]
    url = f"{server.url.replace('http://', 'ws://')}/desk/stories/{slug}/live?after=0"
    headers = {}
    if client is not None:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return connect(url, origin=origin, additional_headers=headers, open_timeout=10)  # type: ignore[arg-type]


def next_event(socket: ClientConnection) -> dict:
    return json.loads(socket.recv(timeout=20))


def test_a_signed_in_desk_follows_the_story_and_is_present_but_not_a_reader(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    name, _ = server.deployment.add_user("reporter")
    presence = f"/desk/stories/{slug}/presence"
    with signed_in(server, name) as desk:
        with desk_socket(server, slug, desk, server.url) as socket:
            assert next_event(socket)["type"] == "story.updated"  # the story going live
            posted = editor.post(f"/api/stories/{slug}/entries", json={"body": "Road closed"})
            event = next_event(socket)
            assert (event["type"], event["entry"]["id"]) == (
                "entry.published",
                posted.json()["id"],
            )
            assert name in desk.get(presence).text
            assert editor.get(f"/api/stories/{slug}").json()["readers"] == 0
        # Closing the socket removes the presence row, well before the 45 s timeout.
        deadline = time.monotonic() + 10
        while name in desk.get(presence).text:
            assert time.monotonic() < deadline, "presence outlived its socket"
            time.sleep(0.1)


@pytest.mark.parametrize("origin", ["http://evil.example", None])
def test_another_origin_or_none_is_refused(
    server: LiveServer, live_story: dict, origin: str | None
) -> None:
    name, _ = server.deployment.add_user("reporter")
    with signed_in(server, name) as desk, pytest.raises(InvalidStatus) as refused:
        desk_socket(server, live_story["slug"], desk, origin)
    assert refused.value.response.status_code == 403


def test_without_a_session_the_socket_is_refused(server: LiveServer, live_story: dict) -> None:
    with pytest.raises(InvalidStatus) as refused:
        desk_socket(server, live_story["slug"], None, server.url)
    assert refused.value.response.status_code == 403
