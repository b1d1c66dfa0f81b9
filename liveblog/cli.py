"""The `liveblog` command: serve, user, token and db."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from liveblog import accounts
from liveblog.db.engine import Database, open_database
from liveblog.db.migrate import upgrade_to_head
from liveblog.db.models import ROLES
from liveblog.errors import ConfigError, LiveblogError
from liveblog.settings import Settings, load_settings

T = TypeVar("T")
log = logging.getLogger("liveblog")


def _one_line_errors(command: Callable[..., T]) -> Callable[..., T]:
    """Turn our errors into one clear line and exit status 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return command(*args, **kwargs)
        except (ConfigError, OSError) as error:
            raise click.ClickException(str(error)) from None
        except LiveblogError as error:
            raise click.ClickException(error.message) from None
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise click.ClickException(f"database error: {reason}") from None

    return wrapper


def _settings(ctx: click.Context, **flags: Any) -> Settings:
    return load_settings(**ctx.obj, **flags)


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = open_database(settings)
        try:
            await upgrade_to_head(db)
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


@click.group()
@click.option("--database-url", envvar="LIVEBLOG_DATABASE_URL", help="Database URL.")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Liveblog: developing news stories, pushed live to every reader."""
    ctx.obj = {"database_url": database_url}


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--bus-url", envvar="LIVEBLOG_BUS_URL", help="Bus URL (memory://, redis://…).")
@click.option("--public-url", envvar="LIVEBLOG_PUBLIC_URL", help="The address readers use.")
@click.option("--demo", is_flag=True, help="Seed a demo story and keep posting to it.")
@click.option("--demo-interval", default=5.0, show_default=True, help="Seconds between demo posts.")
@click.pass_context
@_one_line_errors
def serve(ctx: click.Context, host: str, port: int, workers: int, **flags: Any) -> None:
    """Run the web server (applies database migrations first)."""
    from liveblog.server import run_server

    settings = _settings(ctx, **flags)
    run_server(settings, host=host, port=port, workers=workers)


@main.group()
def user() -> None:
    """Manage desk users."""


def _role(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # click.Choice would answer a typo with usage text around the error; one line is clearer.
    if value not in ROLES:
        raise click.ClickException(f"role must be one of {', '.join(ROLES)}, not {value!r}")
    return value


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    metavar="|".join(ROLES),
    callback=_role,
    help="reporter: posts and edits own entries; editor: also runs stories; admin: everything.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
@_one_line_errors
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a user with a role; the password is prompted for."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def add(db: Database) -> None:
        async with db.writing() as session:
            await accounts.create_user(session, name, role, password)

    _with_database(_settings(ctx), add)
    click.echo(f"added {role} {name}")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.argument("name")
@click.pass_context
@_one_line_errors
def token_create(ctx: click.Context, name: str) -> None:
    """Create an API token for user NAME and print it (as the last line, shown only once)."""

    async def create(db: Database) -> str:
        async with db.writing() as session:
            return await accounts.create_token(session, name)

    new_token = _with_database(_settings(ctx), create)
    click.echo(f"API token for {name} (shown only once; keep it secret):")
    click.echo(new_token)


@main.group()
def db() -> None:
    """Manage the database."""


@db.command("upgrade")
@click.pass_context
@_one_line_errors
def db_upgrade(ctx: click.Context) -> None:
    """Apply all database migrations."""

    async def nothing(_db: Database) -> None:
        return None

    _with_database(_settings(ctx), nothing)
    click.echo("database is up to date")
