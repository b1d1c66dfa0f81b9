"""Fixtures chain deployment -> server -> client; users and tokens are made per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support import Deployment, LiveServer, postgres_database

# The browser fixtures (browser, new_page, page) for every module that asks for them.
pytest_plugins = ["tests.browser"]

BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each module's tests run once per backend: both, unless the module is marked
    `backends("sqlite")`. Pages and browsers take that mark: what they show comes from the same
    queries the API tests run on both, and a browser run costs ten API calls."""
    if "database_url" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        backends = marker.args if marker else BACKENDS
        metafunc.parametrize("database_url", backends, indirect=True, scope="module")


@pytest.fixture(scope="module")
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database of the backend the test runs on: SQLite or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/lb.db"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Deployment:
    """A fresh data folder and database."""
    folder = tmp_path_factory.mktemp("deployment")
    return Deployment(folder=folder, env={"LIVEBLOG_DATABASE_URL": database_url})


@pytest.fixture(scope="module")
def server(deployment: Deployment) -> Iterator[LiveServer]:
    """A real server for the tests of one module, stopped after them."""
    live = LiveServer(deployment).start()
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    """An anonymous HTTP client of the server."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def _authorized(server: LiveServer, role: str) -> Iterator[httpx.Client]:
    _, token = server.deployment.add_user(role)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield http


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    """A client signed in with a new admin's API token."""
    yield from _authorized(server, "admin")


@pytest.fixture
def editor(server: LiveServer) -> Iterator[httpx.Client]:
    """A client signed in with a new editor's API token."""
    yield from _authorized(server, "editor")


@pytest.fixture
def reporter(server: LiveServer) -> Iterator[httpx.Client]:
    """A client signed in with a new reporter's API token."""
    yield from _authorized(server, "reporter")


@pytest.fixture
def live_story(editor: httpx.Client) -> dict:
    """A new live story of this test's own."""
    import secrets

    response = editor.post("/api/stories", json={"title": f"Test story {secrets.token_hex(4)}"})
    assert response.status_code == 201, response.text
    slug = response.json()["slug"]
    response = editor.patch(f"/api/stories/{slug}", json={"status": "live"})
    assert response.status_code == 200, response.text
    return response.json()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked slow run first: pytest-xdist hands each worker whole modules in this
    order, so the workers end together instead of one finishing a long module alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
