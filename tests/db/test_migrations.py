"""The shipped Alembic migrations build exactly the schema the models describe, both ways.

They run on every database `database_url` (tests/conftest.py) gives: a new SQLite file, and a
new PostgreSQL database when one is reachable. Each test starts from, and leaves, it empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from liveblog.db.engine import Database, open_database
from liveblog.db.migrate import alembic_config, upgrade_to_head
from liveblog.db.models import Base
from liveblog.settings import load_settings

VERSION_TABLE = "alembic_version"


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An open database that must start empty; emptied again (downgrade to base) afterwards."""
    database = open_database(
        load_settings(environ={"LIVEBLOG_DATABASE_URL": database_url}, cwd=tmp_path)
    )
    try:
        assert await run(database, table_names) == set(), "the database must start empty"
        yield database
        await run(database, lambda c: command.downgrade(alembic_config(c), "base"))
    finally:
        await database.close()


async def run(db: Database, work):  # type: ignore[no-untyped-def]
    """work(sync connection) inside one transaction, as upgrade_to_head runs migrations."""
    async with db.engine.begin() as connection:
        return await connection.run_sync(work)


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {VERSION_TABLE}


def schema_snapshot(connection: Connection) -> dict[str, object]:
    """Tables with their columns, indexes, unique and foreign keys, as the database reports."""
    inspector = inspect(connection)
    return {
        name: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
            sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(name)),
            sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(name)
            ),
            sorted(
                (f["name"], tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(name)
            ),
        )
        for name in sorted(inspector.get_table_names())
    }


def differences(connection: Connection) -> list[object]:
    """What autogenerate would put in a new migration: nothing, when models and schema agree."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must form one line, found heads {heads}"
    return heads[0]


async def test_upgrade_from_empty_matches_the_models(db: Database) -> None:
    await upgrade_to_head(db)
    assert await run(db, current_revision) == head_revision()
    assert await run(db, table_names) == set(Base.metadata.tables)
    assert await run(db, differences) == []


async def test_upgrading_twice_changes_nothing(db: Database) -> None:
    await upgrade_to_head(db)
    before = await run(db, schema_snapshot)
    await run(
        db,
        lambda c: c.execute(
            text(
                "INSERT INTO users (name, role, password_hash, created_at) "
                "VALUES ('kept', 'admin', 'x', '2026-11-25 10:00:00')"
            )
        ),
    )
    await upgrade_to_head(db)
    assert await run(db, schema_snapshot) == before
    assert await run(db, current_revision) == head_revision()
    names = await run(db, lambda c: c.execute(text("SELECT name FROM users")).scalars().all())
    assert names == ["kept"]


async def test_downgrade_to_base_then_upgrade_again(db: Database) -> None:
    await upgrade_to_head(db)
    migrated = await run(db, schema_snapshot)
    await run(db, lambda c: command.downgrade(alembic_config(c), "base"))
    assert await run(db, table_names) == set()
    assert await run(db, current_revision) is None
    await run(db, lambda c: command.upgrade(alembic_config(c), "head"))
    assert await run(db, current_revision) == head_revision()
    assert await run(db, schema_snapshot) == migrated
    assert await run(db, differences) == []
