"""The OpenAPI document is valid OpenAPI 3.1 and tells the truth about the running server.

Schemathesis generates requests for every operation from the document the server serves
(valid and invalid input, random and real slugs and ids), sends them with an admin's token,
and checks each answer: no 5xx, a documented status code, the documented content type,
headers and body schema.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from liveblog.web.routes import API
from tests.support import LiveServer

# Among the longest modules: started first, so parallel workers finish together.
pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
OPERATIONS = [pytest.param(op.method, op.path, id=f"{op.method} {op.path}") for op in API]
EXAMPLES_PER_OPERATION = 40


def new_live_story(http: httpx.Client, entries: int = 0) -> tuple[str, list[int]]:
    """A live story of its own with some entries: its slug and the entry ids."""
    story = http.post("/api/stories", json={"title": f"OpenAPI {secrets.token_hex(4)}"})
    assert story.status_code == 201, story.text
    slug = story.json()["slug"]
    assert http.patch(f"/api/stories/{slug}", json={"status": "live"}).status_code == 200
    ids = []
    for n in range(entries):
        entry = http.post(f"/api/stories/{slug}/entries", json={"body": f"entry {n}"})
        assert entry.status_code == 201, entry.text
        ids.append(entry.json()["id"])
    return slug, ids


@pytest.fixture(scope="module")
def admin_account(server: LiveServer) -> tuple[str, str]:
    """An admin's name and API token, so every operation, authenticated or not, is exercised."""
    return server.deployment.add_user("admin")


@pytest.fixture(scope="module")
def token(admin_account: tuple[str, str]) -> str:
    """The admin's API token."""
    return admin_account[1]


@pytest.fixture(scope="module")
def known(server: LiveServer, admin_account: tuple[str, str]) -> dict[str, Any]:
    """Real data for fuzzed paths: one story for story operations, one for entry operations,
    and a user of its own (with tokens) for user and token operations."""
    admin_name, token = admin_account
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        story_slug, _ = new_live_story(http)
        entries_slug, entry_ids = new_live_story(http, entries=5)
        user = server.deployment.add_user("reporter")[0]
        tokens = [http.post(f"/api/users/{user}/tokens", json={}).json()["id"] for _ in range(3)]
        own_tokens = http.get(f"/api/users/{admin_name}/tokens").json()["items"]
    return {
        "story": story_slug,
        "entries": entries_slug,
        "entry_ids": entry_ids,
        "user": user,
        "token_ids": tokens,
        # Fuzzing must not revoke the token it calls with.
        "protected_token_ids": {t["id"] for t in own_tokens},
    }


@pytest.fixture(scope="module")
def api_schema(server: LiveServer, token: str, known: dict[str, Any]) -> schemathesis.BaseSchema:
    """The document the running server serves, set up to call that server as an admin."""
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    schema.config.update(base_url=server.url, headers={"Authorization": f"Bearer {token}"})

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
        # Random slugs and ids only ever 404; half the time, aim at real ones instead.
        if isinstance(path_parameters, dict) and "slug" not in path_parameters:
            return _aim_at_accounts(path_parameters, known)
        if not isinstance(path_parameters, dict):
            return st.just(path_parameters)
        on_entries = "/entries" in context.operation.path or "/events" in context.operation.path
        real = {"slug": st.just(known["entries" if on_entries else "story"])}
        if "entry_id" in path_parameters:
            real["entry_id"] = st.sampled_from(known["entry_ids"])
        aimed = st.fixed_dictionaries(real).map(lambda values: {**path_parameters, **values})
        return st.one_of(st.just(path_parameters), aimed)

    return schema


def _aim_at_accounts(path_parameters: dict, known: dict[str, Any]) -> st.SearchStrategy:
    """Users and tokens: half the time the test's own user and tokens, never the admin's
    own token (revoking it would turn every later call into a 401)."""
    real = {"name": st.just(known["user"]), "id": st.sampled_from(known["token_ids"])}
    aimed = {key: real[key] for key in path_parameters if key in real}
    if not aimed:
        return st.just(path_parameters)
    if str(path_parameters.get("id")) in {str(i) for i in known["protected_token_ids"]}:
        path_parameters = {**path_parameters, "id": known["token_ids"][0]}
    chosen = st.fixed_dictionaries(aimed).map(lambda values: {**path_parameters, **values})
    return st.one_of(st.just(path_parameters), chosen)


def test_document_is_valid_openapi_3_1(client: httpx.Client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_document_describes_every_routed_operation(client: httpx.Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    documented = {(method.upper(), path) for path, item in paths.items() for method in item}
    assert documented == {(op.method, op.path) for op in API}


def test_document_says_which_operations_need_a_token(
    client: httpx.Client, admin: httpx.Client
) -> None:
    """Anonymous calls: 401 exactly where the document asks for a token, else they work."""
    slug, (entry_id,) = new_live_story(admin, entries=1)
    paths = client.get("/api/openapi.json").json()["paths"]
    for path, item in paths.items():
        url = path.format(slug=slug, entry_id=entry_id, name="someone", id=1)
        for method, spec in item.items():
            response = client.request(method.upper(), url, json={})
            expected = 401 if spec.get("security") else 200
            assert response.status_code == expected, (method, path, response.text)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_keeps_its_documented_promises(
    api_schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None)
    @given(case=cases)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    check()


def test_edge_cases_keep_the_documented_promises(
    api_schema: schemathesis.BaseSchema, admin: httpx.Client, token: str
) -> None:
    """Answers random generation rarely reaches: each must be documented and as expected."""
    slug, (entry_id,) = new_live_story(admin, entries=1)
    auth = {"Authorization": f"Bearer {token}"}
    entries = api_schema["/api/stories/{slug}/entries"]["POST"]
    entry = api_schema["/api/stories/{slug}/entries/{entry_id}"]["PATCH"]
    story = api_schema["/api/stories/{slug}"]["PATCH"]
    events = api_schema["/api/stories/{slug}/events"]["GET"]

    def expect(case: schemathesis.Case, status: int, at: str = slug) -> schemathesis.Response:
        case.path_parameters = {"slug": at, "entry_id": entry_id}
        case.headers = {**auth, **(case.headers or {})}
        response = case.call_and_validate(checks=CHECKS)
        assert response.status_code == status, (case.method, case.path, case.body, response.text)
        return response

    # Valid timestamps whose UTC time is out of range: refused, not a 500.
    expect(entries.Case(body={"body": "x", "shown_at": "0001-01-01T00:00:00+01:00"}), 422)
    expect(entries.Case(body={"body": "x", "shown_at": "9999-12-31T23:59:59-05:00"}), 422)
    # Times come back in UTC whatever offset they were given in.
    posted = expect(entries.Case(body={"body": "x", "shown_at": "2026-11-25T10:00:00+05:00"}), 201)
    assert posted.json()["shown_at"] == "2026-11-25T05:00:00+00:00"
    # PostgreSQL cannot store or even compare text with NUL characters: 422 and 404, not 500.
    refused = expect(entries.Case(body={"body": "a\x00b"}), 422).json()["error"]
    assert refused["field"] == "body" and "NUL" in refused["message"]
    expect(story.Case(body={"title": "a\x00b"}), 422)
    expect(entry.Case(body={"headline": "\x00"}), 422)
    expect(api_schema["/api/stories/{slug}"]["GET"].Case(), 404, at="a\x00b")
    expect(events.Case(), 404, at="a\x00b")
    expect(story.Case(body={"title": "t"}), 404, at="a\x00b")
    expect(entries.Case(body={"body": "b"}), 404, at="a\x00b")
    # An empty PATCH changes nothing; a null field is refused.
    expect(story.Case(), 200)
    expect(entry.Case(), 200)
    expect(story.Case(body={"title": None}), 422)
    expect(entry.Case(body={"body": None}), 422)
    # Polling with the last ETag: 304 with the cache headers and no body.
    etag = expect(events.Case(), 200).headers["etag"][0]
    not_modified = expect(events.Case(headers={"If-None-Match": etag}), 304)
    assert not_modified.content == b""
