"""/metrics and the details of /readyz only for the metrics token's bearer or, without a token,
loopback clients; the client address comes from X-Forwarded-For only through a trusted proxy
(LIVEBLOG_FORWARDED_ALLOW_IPS); /healthz stays open. Real servers on SQLite, real HTTP.

The trusted proxy of the server without a token is 127.0.0.2 (a loopback address too), so
requests sent from that address play the proxy, and those from 127.0.0.1 a client whose own
X-Forwarded-For counts for nothing."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Deployment, LiveServer, free_port

TOKEN = secrets.token_urlsafe(24)
PROXY = "127.0.0.2"
# Documentation addresses (TEST-NET-3): only ever named in a header, never contacted.
REMOTE_CLIENTS = ["203.0.113.7", f"203.0.113.7, {PROXY}", "unknown"]


def start(folder: Path, **env: str) -> LiveServer:
    environ = {"LIVEBLOG_DATABASE_URL": f"sqlite:///{folder}/lb.db", **env}
    return LiveServer(Deployment(folder=folder, env=environ)).start()


@pytest.fixture(scope="module")
def with_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """LIVEBLOG_METRICS_TOKEN set; its bus (in memory) is always up."""
    server = start(tmp_path_factory.mktemp("token"), LIVEBLOG_METRICS_TOKEN=TOKEN)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def without_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No token, PROXY trusted; its bus is a Redis nobody listens for, so it is never ready."""
    server = start(
        tmp_path_factory.mktemp("no-token"),
        LIVEBLOG_BUS_URL=f"redis://127.0.0.1:{free_port()}/0",
        LIVEBLOG_FORWARDED_ALLOW_IPS=PROXY,
    )
    yield server
    server.stop()


def get(server: LiveServer, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET from 127.0.0.1."""
    return httpx.get(f"{server.url}{path}", headers=headers or {}, timeout=30)


def via_proxy(server: LiveServer, path: str, client: str, **headers: str) -> httpx.Response:
    """GET from the trusted proxy's address, forwarding for client."""
    transport = httpx.HTTPTransport(local_address=PROXY)
    with httpx.Client(transport=transport, timeout=30) as http:
        return http.get(f"{server.url}{path}", headers={"X-Forwarded-For": client, **headers})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_metrics(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE liveblog_readers gauge" in response.text


@pytest.mark.parametrize("client", ["127.0.0.1", *REMOTE_CLIENTS])
def test_the_token_opens_metrics_from_anywhere(with_token: LiveServer, client: str) -> None:
    assert_metrics(get(with_token, "/metrics", {**bearer(TOKEN), "X-Forwarded-For": client}))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("wrong"),
        bearer(TOKEN[:-1]),
        bearer(TOKEN + "x"),
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
    ids=["missing", "wrong", "prefix", "longer", "basic", "no-scheme"],
)
def test_a_missing_or_wrong_token_is_401_even_from_loopback(
    with_token: LiveServer, headers: dict[str, str]
) -> None:
    response = get(with_token, "/metrics", headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer <LIVEBLOG_METRICS_TOKEN>" in response.text
    assert "liveblog_" not in response.text


def test_readyz_details_only_with_the_token(with_token: LiveServer) -> None:
    detailed = get(with_token, "/readyz", bearer(TOKEN))
    assert (detailed.status_code, detailed.json()) == (
        200,
        {"status": "ok", "database": "ok", "bus": "ok"},
    )
    for headers in ({}, bearer("wrong")):
        bare = get(with_token, "/readyz", headers)
        assert (bare.status_code, bare.text) == (200, "ready\n")


def test_without_a_token_loopback_clients_read_metrics(without_token: LiveServer) -> None:
    assert_metrics(get(without_token, "/metrics"))
    assert_metrics(via_proxy(without_token, "/metrics", "127.0.0.1"))
    assert_metrics(via_proxy(without_token, "/metrics", "::1"))


@pytest.mark.parametrize("client", REMOTE_CLIENTS)
def test_without_a_token_remote_clients_behind_a_trusted_proxy_get_403(
    without_token: LiveServer, client: str
) -> None:
    response = via_proxy(without_token, "/metrics", client)
    assert response.status_code == 403
    assert "loopback" in response.text and "LIVEBLOG_METRICS_TOKEN" in response.text
    assert "liveblog_" not in response.text
    # A token proves nothing while none is set.
    assert via_proxy(without_token, "/metrics", client, **bearer(TOKEN)).status_code == 403


@pytest.mark.parametrize("client", REMOTE_CLIENTS)
def test_readyz_says_which_part_is_down_only_to_loopback(
    without_token: LiveServer, client: str
) -> None:
    local = get(without_token, "/readyz")
    assert (local.status_code, local.json()) == (
        503,
        {"status": "unavailable", "database": "ok", "bus": "unavailable"},
    )
    remote = via_proxy(without_token, "/readyz", client)
    assert (remote.status_code, remote.text) == (503, "not ready\n")


@pytest.mark.parametrize("client", REMOTE_CLIENTS)
def test_healthz_stays_open(with_token: LiveServer, without_token: LiveServer, client: str) -> None:
    for server in (with_token, without_token):
        response = via_proxy(server, "/healthz", client)
        assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("client", REMOTE_CLIENTS)
def test_forwarded_for_counts_only_from_the_configured_proxies(
    without_token: LiveServer, client: str
) -> None:
    # 127.0.0.1 is not this server's proxy: what it says in X-Forwarded-For is ignored.
    assert_metrics(get(without_token, "/metrics", {"X-Forwarded-For": client}))
    local = get(without_token, "/readyz", {"X-Forwarded-For": client})
    assert local.json()["bus"] == "unavailable"


def test_logs_are_plain_text_by_default(with_token: LiveServer) -> None:
    get(with_token, "/healthz")
    deadline = time.monotonic() + 20
    lines = with_token.log().splitlines()
    while not any(" INFO liveblog.access: 127.0.0.1 GET /healthz 200 " in line for line in lines):
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)
        lines = with_token.log().splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert all(re.match(rf"{stamp} [A-Z]+ [\w.]+: ", line) for line in lines), lines
