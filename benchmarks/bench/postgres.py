"""A fresh PostgreSQL database for one benchmark run, dropped afterwards. The tests make
theirs with the same create_database and drop_database."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

POSTGRES_ADMIN_URL = os.environ.get(
    "LIVEBLOG_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LIVEBLOG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """Create a database beside POSTGRES_ADMIN_URL's; yields its URL, drops it at the end."""
    url = await create_database(POSTGRES_ADMIN_URL, "liveblog_bench")
    try:
        yield url
    finally:
        await drop_database(POSTGRES_ADMIN_URL, url)


async def create_database(admin_url: str, prefix: str) -> str:
    """A new, empty database (prefix and a random tag) beside admin_url's; its URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _admin_sql(admin_url, f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(admin_url: str, url: str) -> None:
    """Drop the database of url (made by create_database), even while clients are connected."""
    name = url.rsplit("/", 1)[1]
    await _admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin_sql(admin_url: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
