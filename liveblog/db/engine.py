"""The database engine: one per process, with SQLite tuned for one writer and many readers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, Executable, Row, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

from liveblog.settings import Settings, sqlite_file

T = TypeVar("T")

SQLITE_READ_CONNECTIONS = 16
SQLITE_READER_THREADS = 4  # for read_rows; each query is short, so few keep up
PING_AFTER_IDLE = 1.0  # seconds a pooled PostgreSQL connection may idle before it is checked


@dataclass(slots=True)
class WriteTimes:
    """When a write waited for its turn, ran its statements and committed (perf_counter)."""

    asked: float = 0.0
    started: float = 0.0
    done: float = 0.0
    committed: float = 0.0


@dataclass(frozen=True)
class Database:
    """The engine, the two ways to open a session (to read, and to write), and the lightest
    read of one query (read_rows)."""

    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    # SQLite has one writer at a time anyway: queueing them here, in order, beats each
    # polling SQLite's lock with growing sleeps (its busy handler), which made slow outliers.
    write_lock: asyncio.Lock | None = None
    # SQLite only: whole write transactions run here, in one hop to one thread (see write).
    sqlite_writer: SqliteWriter | None = None
    # Reads of one statement (see read_rows): SQLite's run whole in a thread of this pool,
    # PostgreSQL's on a connection without a transaction.
    sqlite_reader: SqliteReader | None = None
    statement_reads: AsyncEngine | None = None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only."""
        async with self.read_sessions() as session:
            yield session

    async def read_rows(self, query: Executable, parameters: dict[str, Any]) -> Sequence[Row[Any]]:
        """The rows of one query, read the lightest way: no ORM session; on SQLite one hop to
        a reader thread (aiosqlite makes one per cursor call, six for a lookup); on PostgreSQL
        no transaction (its BEGIN and ROLLBACK are two round trips more than the query). The
        reads every publish makes use it: the API token's user, and the new events."""
        if self.sqlite_reader is not None:
            return await self.sqlite_reader.run(query, parameters)
        async with (self.statement_reads or self.engine).connect() as connection:
            return (await connection.execute(query, parameters)).all()

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error."""
        async with (
            self.write_lock or nullcontext(),
            self.write_sessions() as session,
            session.begin(),
        ):
            yield session

    async def write(self, work: Callable[[Session], T], times: WriteTimes | None = None) -> T:
        """Run work(session) as one transaction: committed when it returns, rolled back
        when it raises. work is plain synchronous code, so that on SQLite the whole
        transaction is one hop to the writer thread instead of one per statement (with the
        event loop in between each, and the write lock held across them all)."""
        times = times or WriteTimes()
        times.asked = time.perf_counter()
        if self.sqlite_writer is not None:
            async with self.write_lock or nullcontext():
                return await self.sqlite_writer.run(work, times)
        async with self.write_sessions() as session:
            async with session.begin():
                times.started = time.perf_counter()
                result = await session.run_sync(work)
                times.done = time.perf_counter()
            times.committed = time.perf_counter()
            return result

    def sync_engines(self) -> list[Engine]:
        """Every engine statements go through (for instrumentation)."""
        engines = [self.engine.sync_engine]
        for thread in (self.sqlite_writer, self.sqlite_reader):
            if thread is not None:
                engines.append(thread.engine)
        return engines

    async def close(self) -> None:
        for thread in (self.sqlite_writer, self.sqlite_reader):
            if thread is not None:
                thread.close()
        await self.engine.dispose()


class _SqliteThreads:
    """Threads with their own synchronous connections to one SQLite file: work handed to
    them runs whole, one hop from the event loop (aiosqlite hops once per cursor call)."""

    def __init__(self, path: str, threads: int, name: str) -> None:
        # Any thread may take any pooled connection: each is used by one thread at a time.
        self.engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=threads,
        )
        _tune_sqlite(self.engine)
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self.engine.dispose()


class SqliteWriter(_SqliteThreads):
    """One thread with its own synchronous connection, running write transactions whole."""

    def __init__(self, path: str) -> None:
        super().__init__(path, 1, "liveblog-sqlite-writer")
        self._sessions = sessionmaker(
            self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )

    async def run(self, work: Callable[[Session], T], times: WriteTimes) -> T:
        """work's transaction, in the writer thread."""
        return await self._in_thread(self._transaction, work, times)

    def _transaction(self, work: Callable[[Session], T], times: WriteTimes) -> T:
        with self._sessions() as session:
            with session.begin():
                times.started = time.perf_counter()
                result = work(session)
                times.done = time.perf_counter()
            times.committed = time.perf_counter()
            return result


class SqliteReader(_SqliteThreads):
    """Threads with their own synchronous connections, each running one query whole."""

    def __init__(self, path: str, threads: int) -> None:
        super().__init__(path, threads, "liveblog-sqlite-reader")

    async def run(self, query: Executable, parameters: dict[str, Any]) -> Sequence[Row[Any]]:
        """query's rows, read in one of the threads."""
        return await self._in_thread(self._read, query, parameters)

    def _read(self, query: Executable, parameters: dict[str, Any]) -> Sequence[Row[Any]]:
        with self.engine.connect() as connection:
            return connection.execute(query, parameters).all()


def open_database(settings: Settings) -> Database:
    """Create the engine for settings.database_url; connections open lazily."""
    sqlite_writer = sqlite_reader = None
    if settings.is_sqlite:
        # Enough pooled connections for every concurrent read: past the pool, each read
        # would open (and tune) a connection, with a thread of its own, and close it again.
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": 30},
            pool_size=SQLITE_READ_CONNECTIONS,
            max_overflow=SQLITE_READ_CONNECTIONS,
        )
        _tune_sqlite(engine.sync_engine)
        path = sqlite_file(settings.database_url)
        # An in-memory database is private to its connection: its writes stay on it.
        if path is not None:
            sqlite_writer = SqliteWriter(str(path))
            sqlite_reader = SqliteReader(str(path), SQLITE_READER_THREADS)
        # BEGIN IMMEDIATE takes the write lock up front, so concurrent writers wait on the
        # busy timeout instead of failing when a read transaction tries to upgrade.
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    else:
        engine = create_async_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            pool_timeout=10,
            # A server that stops answering (not refusing) must not hang a request forever.
            connect_args={"timeout": 5, "command_timeout": 60},
        )
        _report_refused_connections(engine)
        _ping_idle_connections(engine)
        writer = engine
    return Database(
        engine=engine,
        read_sessions=async_sessionmaker(engine, expire_on_commit=False),
        write_sessions=async_sessionmaker(writer, expire_on_commit=False),
        write_lock=asyncio.Lock() if settings.is_sqlite else None,
        sqlite_writer=sqlite_writer,
        sqlite_reader=sqlite_reader,
        statement_reads=None
        if settings.is_sqlite
        else engine.execution_options(isolation_level="AUTOCOMMIT"),
    )


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Check a pooled connection that sat idle before handing it out; a failed check makes
    the pool open a new one instead, so a database restart costs no request an error.

    Not pool_pre_ping: on asyncpg that is three round trips (BEGIN, a ping, ROLLBACK) at every
    checkout, and a POST checks out three connections: nine round trips of about twenty. A
    connection in steady use has just proved itself; and when one fails anyway, SQLAlchemy
    drops every connection pooled before the failure."""
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError(
                f"an idle pooled connection failed its check: {error}"
            ) from error


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


def _tune_sqlite(sync_engine: Engine) -> None:
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
