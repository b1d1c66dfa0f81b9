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
from liveblog.settings import SETTINGS, Setting, Settings, load_settings

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


def _setting_options(command: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """A flag for each setting of SETTINGS that command takes; None when not given, so that
    load_settings falls back to the variable, then the default, and checks every value."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        for setting in reversed([s for s in SETTINGS if s.option_of == command and not s.secret]):
            function = _setting_option(setting)(function)
        return function

    return decorate


def _setting_option(setting: Setting) -> Callable[[Callable[..., T]], Callable[..., T]]:
    help_text = f"{setting.help} [env: {setting.env}; default: {setting.shown}]".replace("`", "")
    if setting.kind is bool:
        names = f"{setting.flag}/--no-{setting.flag[2:]}"
        return click.option(names, setting.name, default=None, help=help_text)
    metavar = {int: "INTEGER", float: "SECONDS"}.get(setting.kind, "TEXT")
    if setting.choices:
        metavar = "|".join(setting.choices)
    return click.option(setting.flag, setting.name, metavar=metavar, help=help_text)


@click.group()
@_setting_options("main")
@click.pass_context
def main(ctx: click.Context, **flags: Any) -> None:
    """Liveblog: developing news stories, pushed live to every reader."""
    ctx.obj = flags


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes sharing the port (more than 1 needs a redis:// or postgresql:// bus).",
)
@_setting_options("serve")
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


@db.command("backup")
@click.argument("path", type=click.Path())
@click.pass_context
@_one_line_errors
def db_backup(ctx: click.Context, path: str) -> None:
    """Copy the SQLite database (also while it serves), its media and its secret key into the
    new folder PATH, a data folder a server can start on. PostgreSQL: use pg_dump."""
    from pathlib import Path

    from liveblog.backup import back_up_sqlite

    report = back_up_sqlite(_settings(ctx), Path(path))
    key = ", the secret key" if report.secret_key else ""
    click.echo(
        f"backed up {report.database.name} ({report.database_bytes:,} bytes), "
        f"{report.media_files} media files{key} into {report.folder}"
    )


@main.command("export")
@click.argument("slug")
@click.pass_context
@_one_line_errors
def export_story(ctx: click.Context, slug: str) -> None:
    """Write story SLUG, with every entry, revision, event and image, as JSON on standard
    output (for `liveblog import`)."""
    import json

    from liveblog.media import open_media_store
    from liveblog.transfer.exporter import export_story as export

    settings = _settings(ctx)

    async def read(db: Database) -> dict[str, object]:
        return await export(db, open_media_store(settings, db), slug)

    click.echo(json.dumps(_with_database(settings, read), ensure_ascii=False, indent=1))


@main.command("import")
@click.argument("file", type=click.Path(allow_dash=True))
@click.pass_context
@_one_line_errors
def import_story(ctx: click.Context, file: str) -> None:
    """Load a story written by `liveblog export` from FILE (- for standard input): new ids, the
    same seqs, times and words; refused when its slug is taken here."""
    from pathlib import Path

    from liveblog.media import open_media_store
    from liveblog.transfer.file_format import read_story_file
    from liveblog.transfer.importer import import_story as load

    text = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    story_file = read_story_file(text)  # all checked before the database is touched
    settings = _settings(ctx)

    async def write(db: Database):  # type: ignore[no-untyped-def]
        return await load(db, open_media_store(settings, db), story_file)

    report = _with_database(settings, write)
    click.echo(
        f"imported story {report.slug}: {report.entries} entries, {report.events} events, "
        f"{report.images} images"
    )
    if report.new_users:
        click.echo(f"new disabled users (authors unknown here): {', '.join(report.new_users)}")


@main.command("archive")
@click.argument("slug")
@click.argument("folder", metavar="DIR", type=click.Path())
@click.option(
    "--public-url",
    envvar="LIVEBLOG_PUBLIC_URL",
    help="The site's address (e.g. https://live.example.com): canonical links and feeds keep "
    "naming the story there. [env: LIVEBLOG_PUBLIC_URL]",
)
@click.pass_context
@_one_line_errors
def archive_story(ctx: click.Context, slug: str, folder: str, public_url: str | None) -> None:
    """Write ended story SLUG as static files into the new folder DIR: its pages, entry pages,
    feeds and images, linked relatively, for any static web server."""
    import dataclasses
    from pathlib import Path

    from liveblog.archive.story_archive import archive_story as archive

    settings = _settings(ctx)
    address = (public_url or settings.public_url or "").rstrip("/")
    settings = dataclasses.replace(settings, public_url=address)
    report = asyncio.run(archive(settings, slug, Path(folder)))
    click.echo(
        f"archived story {slug}: {report.files} files ({report.entry_pages} entry pages) "
        f"into {report.folder}"
    )
    for target in report.missing:
        click.echo(f"not archived (no answer from the site): {target}", err=True)
