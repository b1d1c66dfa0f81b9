"""A fresh PostgreSQL database for one benchmark run, dropped afterwards."""

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
    name = f"liveblog_bench_{secrets.token_hex(6)}"
    await _admin_sql(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
