"""The database engine: one per process, with SQLite tuned for one writer and many readers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from liveblog.settings import Settings


@dataclass(frozen=True)
class Database:
    """The engine and the two ways to open a session: to read, and to write."""

    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    # SQLite has one writer at a time anyway: queueing them here, in order, beats each
    # polling SQLite's lock with growing sleeps (its busy handler), which made slow outliers.
    write_lock: asyncio.Lock | None = None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only."""
        async with self.read_sessions() as session:
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error."""
        async with (
            self.write_lock or nullcontext(),
            self.write_sessions() as session,
            session.begin(),
        ):
            yield session

    async def close(self) -> None:
        await self.engine.dispose()


def open_database(settings: Settings) -> Database:
    """Create the engine for settings.database_url; connections open lazily."""
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, connect_args={"timeout": 30})
        _tune_sqlite(engine)
        # BEGIN IMMEDIATE takes the write lock up front, so concurrent writers wait on the
        # busy timeout instead of failing when a read transaction tries to upgrade.
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    else:
        engine = create_async_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            pool_pre_ping=True,
            pool_timeout=10,
            # A server that stops answering (not refusing) must not hang a request forever.
            connect_args={"timeout": 5, "command_timeout": 60},
        )
        _report_refused_connections(engine)
        writer = engine
    return Database(
        engine=engine,
        read_sessions=async_sessionmaker(engine, expire_on_commit=False),
        write_sessions=async_sessionmaker(writer, expire_on_commit=False),
        write_lock=asyncio.Lock() if settings.is_sqlite else None,
    )


def _report_refused_connections(engine: AsyncEngine) -> None:
    """Make an unreachable server an OperationalError, like every other database failure.

    asyncpg raises a bare OSError (refused, unreachable, timed out) when it cannot connect,
    which SQLAlchemy passes on unwrapped, so it would escape the 503 "database unavailable"
    handler and answer 500."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as error:
            raise dialect.loaded_dbapi.OperationalError(f"cannot connect: {error}") from error


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
