"""Every bad request gets the status the contract names, a JSON error, and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support import Deployment, LiveServer

TABLES = ("stories", "entries", "story_events", "entry_revisions", "idempotency_keys")
LIMIT = 256 * 1024  # the default LIVEBLOG_MAX_BODY_BYTES
Writes = dict[str, tuple[str, str, dict]]
# Per write (see the writes fixture): bodies it refuses with a 422 naming the field.
INVALID_FIELDS: dict[str, list[tuple[dict, str]]] = {
    "create-story": [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 301}, "title"),
        ({"title": 7}, "title"),
        ({"title": "Fine", "slug": "Not A Slug"}, "slug"),
        ({"title": "Fine", "slug": "-edge-"}, "slug"),
        ({"title": "Fine", "description": "d" * 5001}, "description"),
        ({"title": "Fine", "status": "live"}, "status"),
    ],
    "edit-story": [
        ({"status": "archived"}, "status"),
        ({"status": "LIVE"}, "status"),
        ({"status": 1}, "status"),
        ({"title": None}, "title"),
        ({"title": "t" * 301}, "title"),
        ({"slug": "renamed"}, "slug"),
    ],
    "post-entry": [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": 5}, "body"),
        ({"body": ["a list"]}, "body"),
        ({"body": "x", "title": "t" * 301}, "title"),
        ({"body": "x", "headline": "h" * 201}, "headline"),
        ({"body": "x", "shown_at": "2026-11-25T10:00:00"}, "shown_at"),
        ({"body": "x", "shown_at": "yesterday"}, "shown_at"),
        ({"body": "x", "pinned": "maybe"}, "pinned"),
        ({"body": "x", "pinned": "yes"}, "pinned"),
        ({"body": "x", "key_event": 1}, "key_event"),
        ({"body": "x", "draft": {}}, "draft"),
        ({"body": "x", "author": "someone else"}, "author"),
        ({"body": "x", "id": 1}, "id"),
    ],
    "edit-entry": [
        ({"body": ""}, "body"),
        ({"body": None}, "body"),
        ({"pinned": None}, "pinned"),
        ({"shown_at": "2026-11-25 10:00"}, "shown_at"),
        ({"key_event": "maybe"}, "key_event"),
        ({"retracted": True}, "retracted"),
    ],
    "retract-entry": [({"reason": 1}, "reason"), ({"why": "x"}, "why")],
}


def row_counts(server: LiveServer) -> dict[str, int]:
    """Rows per table, read straight from the server's database."""
    return server.deployment.count_rows(*TABLES)


def story_state(desk: httpx.Client, slug: str) -> tuple[dict, list[dict]]:
    story = desk.get(f"/api/stories/{slug}")
    entries = desk.get(f"/api/stories/{slug}/entries", params={"limit": 100})
    assert story.status_code == 200 and entries.status_code == 200
    return story.json(), entries.json()["items"]


@contextmanager
def nothing_written(server: LiveServer, desk: httpx.Client, slug: str) -> Iterator[None]:
    """Assert the block leaves every table, the story and its entries exactly as they were."""
    before = row_counts(server), story_state(desk, slug)
    yield
    assert (row_counts(server), story_state(desk, slug)) == before


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict:
    """The response is a JSON error with that status (and naming that field)."""
    assert response.status_code == status, f"{response.request.content[:80]!r}: {response.text}"
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        assert error.get("field") == field, f"{response.request.content[:80]!r}: {error}"
    return error


def post_entry(desk: httpx.Client, slug: str, body: str = "An update") -> dict:
    response = desk.post(f"/api/stories/{slug}/entries", json={"body": body})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def writes(editor: httpx.Client, live_story: dict) -> Writes:
    """Every API write on the story and on a new entry of it: (method, URL, a JSON body)."""
    story = f"/api/stories/{live_story['slug']}"
    entry = f"{story}/entries/{post_entry(editor, live_story['slug'])['id']}"
    return {
        "create-story": ("POST", "/api/stories", {"title": "Sneaky"}),
        "edit-story": ("PATCH", story, {"status": "ended"}),
        "post-entry": ("POST", f"{story}/entries", {"body": "Sneaky"}),
        "edit-entry": ("PATCH", entry, {"body": "Sneaky"}),
        "retract-entry": ("DELETE", entry, {}),
    }


def test_body_that_is_not_a_json_object_is_422(
    server: LiveServer, editor: httpx.Client, live_story: dict, writes: Writes
) -> None:
    bodies = [b'{"body": "unclosed', b"{bad}", b'[{"body": "x"}]', b'"x"', b"null", b"42"]
    headers = {"Content-Type": "application/json"}
    with nothing_written(server, editor, live_story["slug"]):
        for method, url, _ in writes.values():
            for body in bodies:
                response = editor.request(method, url, content=body, headers=headers)
                error = assert_error(response, 422)
                assert "JSON" in error["message"], (method, url, body, error)


@pytest.mark.parametrize("write", INVALID_FIELDS)
def test_invalid_fields_are_422_naming_the_field(
    server: LiveServer, editor: httpx.Client, live_story: dict, writes: Writes, write: str
) -> None:
    method, url, _ = writes[write]
    with nothing_written(server, editor, live_story["slug"]):
        for payload, field in INVALID_FIELDS[write]:
            assert_error(editor.request(method, url, json=payload), 422, field)


def test_bad_query_values_are_422_naming_the_parameter(
    editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    cases = [
        ("/api/stories", {"limit": "0"}, "limit"),
        ("/api/stories", {"limit": "101"}, "limit"),
        ("/api/stories", {"before": "soon"}, "before"),
        (f"/api/stories/{slug}/entries", {"limit": "ten"}, "limit"),
        (f"/api/stories/{slug}/entries", {"before": "0"}, "before"),
        (f"/api/stories/{slug}/entries", {"before": str(2**31)}, "before"),
        (f"/api/stories/{slug}/events", {"after": "-1"}, "after"),
        (f"/api/stories/{slug}/events", {"after": "1.5"}, "after"),
    ]
    for url, query, field in cases:
        assert_error(editor.get(url, params=query), 422, field)


def test_unknown_story_is_404(server: LiveServer, editor: httpx.Client, live_story: dict) -> None:
    missing = "no-such-story"
    with nothing_written(server, editor, live_story["slug"]):
        for method, url, payload in [
            ("GET", f"/api/stories/{missing}", None),
            ("PATCH", f"/api/stories/{missing}", {"title": "New"}),
            ("GET", f"/api/stories/{missing}/entries", None),
            ("POST", f"/api/stories/{missing}/entries", {"body": "x"}),
            ("GET", f"/api/stories/{missing}/entries/1", None),
            ("PATCH", f"/api/stories/{missing}/entries/1", {"body": "x"}),
            ("DELETE", f"/api/stories/{missing}/entries/1", None),
            ("GET", f"/api/stories/{missing}/events", None),
        ]:
            assert_error(editor.request(method, url, json=payload), 404)


def test_unknown_entry_is_404(server: LiveServer, editor: httpx.Client, live_story: dict) -> None:
    slug = live_story["slug"]
    # An entry that exists, but in another story, is not found under this one.
    other = editor.post("/api/stories", json={"title": "Another story"}).json()["slug"]
    elsewhere = post_entry(editor, other)["id"]
    own = post_entry(editor, slug)["id"]
    ids = [own + 1000, elsewhere, 2**31, 2**63, 10**30]
    with nothing_written(server, editor, slug):
        for entry_id in ids:
            url = f"/api/stories/{slug}/entries/{entry_id}"
            assert_error(editor.get(url), 404)
            assert_error(editor.patch(url, json={"body": "x"}), 404)
            assert_error(editor.request("DELETE", url, json={}), 404)
    assert editor.get(f"/api/stories/{other}/entries/{elsewhere}").json()["body"] == "An update"


def test_missing_or_invalid_credentials_are_401(
    server: LiveServer, editor: httpx.Client, live_story: dict, writes: Writes
) -> None:
    slug = live_story["slug"]
    bad_headers = [
        {},
        {"Authorization": "Bearer lb_not-a-real-token"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic ZWRpdG9yOmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ=="},
        {"Authorization": editor.headers["Authorization"].removeprefix("Bearer ")},
    ]
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        with nothing_written(server, editor, slug):
            for headers in bad_headers:
                for method, url, payload in writes.values():
                    response = stranger.request(method, url, json=payload, headers=headers)
                    assert_error(response, 401)
                    assert response.headers["WWW-Authenticate"].startswith("Bearer")
        # Reads are public, but a token that is sent must be valid.
        assert stranger.get(f"/api/stories/{slug}").status_code == 200
        for headers in bad_headers[1:]:
            assert_error(stranger.get(f"/api/stories/{slug}", headers=headers), 401)


def test_wrong_role_is_403(
    server: LiveServer, editor: httpx.Client, reporter: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    with nothing_written(server, editor, slug):
        assert_error(reporter.post("/api/stories", json={"title": "Mine now"}), 403)
        assert_error(reporter.patch(f"/api/stories/{slug}", json={"status": "ended"}), 403)


def test_body_over_the_limit_is_413(
    server: LiveServer, editor: httpx.Client, live_story: dict, writes: Writes
) -> None:
    slug = live_story["slug"]
    too_big = b'{"body": "' + b"x" * LIMIT + b'"}'

    def chunked():  # no Content-Length: the server must count as it reads
        yield b'{"body": "'
        for _ in range(LIMIT // 8192 + 1):
            yield b"x" * 8192
        yield b'"}'

    headers = {"Content-Type": "application/json"}
    with nothing_written(server, editor, slug):
        for method, url, _ in writes.values():
            response = editor.request(method, url, content=too_big, headers=headers)
            assert response.request.headers["content-length"] == str(len(too_big))
            assert_error(response, 413)
            response = editor.request(method, url, content=chunked(), headers=headers)
            assert "content-length" not in response.request.headers
            assert response.request.headers["transfer-encoding"] == "chunked"
            assert_error(response, 413)
    # A large body within the limit is fine.
    fits = editor.post(f"/api/stories/{slug}/entries", json={"body": "y" * 90_000})
    assert fits.status_code == 201, fits.text


def test_body_limit_comes_from_the_setting(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    # A second server on the same database, started with a small LIVEBLOG_MAX_BODY_BYTES.
    env = {**server.deployment.env, "LIVEBLOG_MAX_BODY_BYTES": "1000"}
    small = LiveServer(Deployment(folder=server.deployment.folder, env=env)).start()
    try:
        url = f"{small.url}/api/stories/{live_story['slug']}/entries"
        headers = {"Authorization": editor.headers["Authorization"]}
        with nothing_written(server, editor, live_story["slug"]):
            assert_error(httpx.post(url, json={"body": "z" * 1000}, headers=headers), 413)
        fits = httpx.post(url, json={"body": "z" * 900}, headers=headers)
        assert fits.status_code == 201, fits.text
    finally:
        small.stop()


def test_duplicate_slug_is_409(server: LiveServer, editor: httpx.Client, live_story: dict) -> None:
    slug = live_story["slug"]
    with nothing_written(server, editor, slug):
        response = editor.post("/api/stories", json={"title": "Same again", "slug": slug})
        assert_error(response, 409, "slug")
    assert editor.get(f"/api/stories/{slug}").json()["title"] == live_story["title"]


def test_posting_to_an_ended_story_is_409(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    assert editor.patch(f"/api/stories/{slug}", json={"status": "ended"}).status_code == 200
    with nothing_written(server, editor, slug):
        assert_error(editor.post(f"/api/stories/{slug}/entries", json={"body": "Late"}), 409)
    assert editor.patch(f"/api/stories/{slug}", json={"status": "live"}).status_code == 200
    assert editor.post(f"/api/stories/{slug}/entries", json={"body": "Reopened"}).status_code == 201


def test_changing_a_retracted_entry_is_409(
    server: LiveServer, editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    url = f"/api/stories/{slug}/entries/{post_entry(editor, slug)['id']}"
    assert editor.request("DELETE", url, json={"reason": "wrong"}).status_code == 200
    with nothing_written(server, editor, slug):
        assert_error(editor.patch(url, json={"body": "Back from the dead"}), 409)
        assert_error(editor.patch(url, json={"pinned": True}), 409)
        assert_error(editor.request("DELETE", url, json={"reason": "again"}), 409)
    assert editor.get(url).json()["retracted_reason"] == "wrong"


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_api_path_is_404_json(client: httpx.Client, method: str) -> None:
    for path in ["/api/nothing-here", "/api/stories/a/b/c/d", "/api/stories/x/entries/abc"]:
        error = assert_error(client.request(method, path), 404)
        assert error["code"] == "not_found"


def test_wrong_method_is_405_json_with_allow(client: httpx.Client, live_story: dict) -> None:
    slug = live_story["slug"]
    cases = [
        ("PUT", "/api/stories", {"GET", "POST"}),
        ("DELETE", f"/api/stories/{slug}", {"GET", "PATCH"}),
        ("PATCH", f"/api/stories/{slug}/entries", {"GET", "POST"}),
        ("POST", f"/api/stories/{slug}/events", {"GET"}),
    ]
    for method, url, allowed in cases:
        response = client.request(method, url)
        error = assert_error(response, 405)
        assert error["code"] == "method_not_allowed"
        assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_missing_story_page_is_a_404_page(client: httpx.Client) -> None:
    response = client.get("/stories/no-such-story")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower() and "no-such-story" in response.text


def test_entry_cursor_walks_every_entry_once_in_stable_order(
    editor: httpx.Client, live_story: dict
) -> None:
    slug = live_story["slug"]
    url = f"/api/stories/{slug}/entries"
    posted = [post_entry(editor, slug, f"n{n}")["id"] for n in range(7)]
    seen: list[int] = []
    pages = 0
    query: dict[str, object] = {"limit": 2}
    while True:
        page = editor.get(url, params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if pages == 2:  # a new entry mid-walk is newer than the cursor: no repeat, no shift
            post_entry(editor, slug, "late")
        if body["next"] is None:
            break
        query = {"limit": 2, "before": body["next"]}
        assert pages < 10, "the cursor never ended"
    assert seen == sorted(posted, reverse=True)
    assert pages == 4
