"""A new entry reads its story without the story's lock and takes the seq last (so the lock is
held only for that statement and the commit): a story that ended in between is still refused,
with nothing written."""

from __future__ import annotations

import httpx
import pytest

from liveblog import accounts
from liveblog.db.engine import open_database
from liveblog.errors import Conflict
from liveblog.schemas import EntryCreate
from liveblog.settings import load_settings
from liveblog.stories import entry_changes
from liveblog.stories.lookup import story_for_new_entry
from tests.support import LiveServer, run_async


def test_an_entry_for_a_story_that_ended_after_it_was_read_is_refused(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    posted = editor.post(f"/api/stories/{slug}/entries", json={"body": "Before"})
    assert posted.status_code == 201, posted.text
    before = editor.get(f"/api/stories/{slug}").json()
    assert editor.patch(f"/api/stories/{slug}", json={"status": "ended"}).status_code == 200
    ended = editor.get(f"/api/stories/{slug}").json()
    author = posted.json()["author"]

    with pytest.raises(Conflict, match="has ended"):
        run_async(_post_as_if_read_while_live(server, slug, author))

    after = editor.get(f"/api/stories/{slug}").json()
    assert after["seq"] == ended["seq"] == before["seq"] + 1  # only the end took a seq
    entries = editor.get(f"/api/stories/{slug}/entries").json()["items"]
    assert [entry["body"] for entry in entries] == ["Before"]


async def _post_as_if_read_while_live(server: LiveServer, slug: str, author: str) -> None:
    deployment = server.deployment
    db = open_database(load_settings(environ=deployment.env, cwd=deployment.folder))
    try:
        async with db.reading() as session:
            user = await accounts.user_by_name(session, author)
        data = EntryCreate(body="After the end")
        rendered = entry_changes.prepare_entry(data)

        def change(session):  # type: ignore[no-untyped-def]
            story = story_for_new_entry(session, slug)
            assert story.status == "ended"
            story.status = "live"  # as this writer read it, just before the story ended
            return entry_changes.create_entry(session, user, story, data, rendered)

        await db.write(change)
    finally:
        await db.close()
