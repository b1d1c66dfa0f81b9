"""Fixtures of the scale-out tests; what they use, and the tests too, is in support.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale.support import (
    REDIS_SERVER,
    Cluster,
    PrivateRedis,
    Processes,
    TcpProxy,
    new_cluster,
    proxy_to,
)
from tests.support import (
    POSTGRES_ADMIN_URL,
    _host_port,
    free_port,
    redis_url,
    skip_or_fail,
)


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Servers started by one test, all stopped after it."""
    started = Processes()
    yield started
    started.stop_all()


@pytest.fixture(scope="module")
def module_processes() -> Iterator[Processes]:
    """Servers shared by the tests of one module, all stopped after them."""
    started = Processes()
    yield started
    started.stop_all()


@pytest.fixture
def two_workers(tmp_path: Path, processes: Processes) -> Iterator[Cluster]:
    """`liveblog serve --workers 2`: one port, two processes, on PostgreSQL and Redis."""
    with new_cluster(processes, tmp_path, 1, ("--workers", "2")) as cluster:
        yield cluster


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running redis-server of this test's own, killed after it."""
    if not os.access(REDIS_SERVER, os.X_OK):
        skip_or_fail("redis", f"there is no redis-server at {REDIS_SERVER} to start and stop")
    redis = PrivateRedis(tmp_path, free_port())
    redis.start()
    yield redis
    redis.kill()


@pytest.fixture
def postgres_proxy() -> Iterator[TcpProxy]:
    """A running TCP proxy to the machine's PostgreSQL, closed after the test."""
    yield from proxy_to(_host_port(POSTGRES_ADMIN_URL, 5432))


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    """A running TCP proxy to the machine's Redis, closed after the test."""
    yield from proxy_to(_host_port(redis_url(), 6379))
