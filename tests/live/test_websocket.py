"""WebSocket and SSE readers receive every kind of event with the right seq, and resume."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.live.readers import WsReader, post, read_sse, story_seq, ws_url
from tests.reader_counts import until_story_readers

KINDS = [
    "entry.published",
    "entry.updated",
    "entry.pinned",
    "entry.unpinned",
    "entry.key_event",
    "entry.key_event_cleared",
    "entry.retracted",
    "story.updated",
]


def make_every_kind_of_change(editor: httpx.Client, slug: str) -> None:
    entry = post(editor, slug, "The bridge is *closed*.")
    url = f"/api/stories/{slug}/entries/{entry['id']}"
    for change in (
        {"body": "The north bridge is closed."},
        {"pinned": True},
        {"pinned": False},
        {"key_event": True, "headline": "Bridge closed"},
        {"key_event": False},
    ):
        assert editor.patch(url, json=change).status_code == 200
    assert editor.request("DELETE", url, json={"reason": "wrong bridge"}).status_code == 200
    assert editor.patch(f"/api/stories/{slug}", json={"status": "ended"}).status_code == 200


@pytest.mark.parametrize("fmt", ["json", "html", "page"])
async def test_socket_receives_each_kind_of_event(
    server, editor: httpx.Client, live_story: dict, fmt: str
) -> None:
    slug, base = live_story["slug"], live_story["seq"]
    reader = WsReader(server.url, slug, fmt)
    reading = asyncio.create_task(reader.read_until_closed(after=base))
    await until_story_readers([server.url], slug, 1)  # subscribed: every event comes live
    await asyncio.to_thread(make_every_kind_of_change, editor, slug)
    await asyncio.wait_for(reading, 30)
    assert [m["type"] for m in reader.messages] == KINDS
    assert reader.seqs == list(range(base + 1, base + 1 + len(KINDS)))
    assert reader.close_code == 4002  # ended, after the last event
    first = reader.messages[0]
    if fmt == "json":
        assert first["entry"]["html"] == "<p>The bridge is <em>closed</em>.</p>"
        assert first["story"] == slug
    elif fmt == "html":
        assert first["html"].startswith(f'<li class="entry" id="entry-{first["id"]}"')
        assert "<em>closed</em>" in first["html"]
        assert "This entry was retracted." in reader.messages[6]["html"]
    else:  # the page's lean frame: the content, and only the fields its template lacks
        assert first["html"] == '<div class="body"><p>The bridge is <em>closed</em>.</p></div>'
        assert set(first) == {"seq", "type", "id", "author", "shown_at", "html"}
        edited, pinned, key_event = reader.messages[1], reader.messages[2], reader.messages[4]
        assert edited["updated_at"] > edited["shown_at"]
        assert pinned["pinned"] is True and "pinned" not in reader.messages[3]
        assert key_event["key_event"] is True
        assert key_event["html"].startswith('<h3 class="headline">Bridge closed</h3>')
        retracted = reader.messages[6]
        assert retracted["retracted"] is True and "updated_at" not in retracted
        retraction = '<p class="retraction">This entry was retracted. wrong bridge</p>'
        assert retracted["html"] == retraction
    assert reader.messages[-1]["state"]["status"] == "ended"


async def test_sse_receives_each_kind_of_event(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug, base = live_story["slug"], live_story["seq"]
    reading = asyncio.create_task(read_sse(server.url, slug, base + len(KINDS), last_event_id=base))
    await until_story_readers([server.url], slug, 1)  # subscribed: every event comes live
    await asyncio.to_thread(make_every_kind_of_change, editor, slug)
    events = await asyncio.wait_for(reading, 30)
    assert [int(e["id"]) for e in events] == list(range(base + 1, base + 1 + len(KINDS)))
    assert [json.loads(e["data"])["type"] for e in events] == KINDS


async def test_socket_resumes_with_exactly_the_missed_entries(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    reader = WsReader(server.url, slug)
    first = post(editor, slug, "before the drop")
    await reader.read_until(story_seq(editor, slug), after=live_story["seq"])
    assert reader.messages[-1]["entry"]["id"] == first["id"]
    missed = [post(editor, slug, f"missed {n}")["id"] for n in range(3)]
    await reader.read_until(story_seq(editor, slug))
    assert [m["entry"]["id"] for m in reader.messages[-3:]] == missed
    assert reader.seqs == sorted(set(reader.seqs))  # in order, once each


async def test_sse_resumes_from_last_event_id(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    post(editor, slug, "seen")
    seen = story_seq(editor, slug)
    missed = [post(editor, slug, f"missed {n}")["id"] for n in range(3)]
    events = await read_sse(server.url, slug, seen + 3, last_event_id=seen)
    assert [int(e["id"]) for e in events] == [seen + 1, seen + 2, seen + 3]
    assert [json.loads(e["data"])["entry"]["id"] for e in events] == missed


async def test_reader_far_behind_is_told_to_reload(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    post(editor, slug, "one")
    ahead = story_seq(editor, slug) + 1000  # a seq the log never had: the client must reload
    reader = WsReader(server.url, slug)
    await reader.read_until_closed(after=ahead)
    assert reader.close_code == 4001
    assert reader.messages == [{"type": "reload", "seq": ahead - 1000}]


async def test_unknown_story_closes_with_not_found(server) -> None:
    async with websockets.connect(ws_url(server.url, "no-such-story")) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4004


async def test_bad_after_is_refused(server, live_story: dict) -> None:
    url = ws_url(server.url, live_story["slug"]).replace("after=0", "after=x")
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 1008
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{server.url}/stories/{live_story['slug']}/stream?after=-1")
    assert response.status_code == 422


async def test_reader_more_than_a_page_behind_is_told_to_reload(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug, base = live_story["slug"], live_story["seq"]
    headers = dict(editor.headers)
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:

        async def write(numbers: range) -> None:
            for n in numbers:
                response = await client.post(f"/api/stories/{slug}/entries", json={"body": f"{n}"})
                assert response.status_code == 201

        await asyncio.gather(*(write(range(w, 510, 5)) for w in range(5)))
    reader = WsReader(server.url, slug)
    await reader.read_until_closed(after=base)  # 510 events behind: more than a page
    assert reader.close_code == 4001
    assert reader.messages == [{"type": "reload", "seq": base + 510}]
    events = await read_sse(server.url, slug, 0, last_event_id=base)
    assert events == [{"event": "reload", "data": json.dumps({"seq": base + 510})}]


async def test_a_reopened_story_keeps_its_readers(
    server, editor: httpx.Client, live_story: dict
) -> None:
    slug, base = live_story["slug"], live_story["seq"]
    for status in ("ended", "live"):
        response = await asyncio.to_thread(
            editor.patch, f"/api/stories/{slug}", json={"status": status}
        )
        assert response.status_code == 200
    reader = WsReader(server.url, slug)
    await reader.read_until(base + 2, after=base)  # replays the end and the reopening
    entry = post(editor, slug, "back on air")
    await reader.read_until(base + 3)
    assert [m["type"] for m in reader.messages] == ["story.updated"] * 2 + ["entry.published"]
    assert reader.messages[-1]["entry"]["id"] == entry["id"]
