"""Apply Alembic migrations on an open engine, once even when many workers start together."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from liveblog.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: workers starting together queue on this lock instead of racing.
_MIGRATION_LOCK = 7_414_201


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the migrations shipped in this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(db: Database) -> None:
    """Bring the schema up to the newest migration."""
    async with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
