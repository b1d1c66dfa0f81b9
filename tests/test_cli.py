"""The `liveblog` command as operators run it: clear one-line errors, tokens that work."""

from __future__ import annotations

import secrets
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from liveblog.cli import main
from liveblog.settings import SETTINGS
from tests.support import Deployment, LiveServer

# Among the longest modules: started first, so parallel workers finish together.
pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery\n"


def new_name() -> str:
    return f"cli-{secrets.token_hex(4)}"


def assert_one_line_failure(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    """Exit status non-zero, and stderr one line that says what is wrong, without a traceback."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0], lines[0]


def tables(database: Path) -> set[str]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_user_add_and_token_create_give_a_working_token(
    server: LiveServer, live_story: dict
) -> None:
    cli = server.deployment.cli
    name = new_name()
    added = cli("user", "add", name, "--role", "reporter", "--password-stdin", stdin=PASSWORD)
    assert name in added.stdout and added.stderr == ""
    created = cli("token", "create", name)
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("lb_") and " " not in token
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        response = http.post(f"/api/stories/{live_story['slug']}/entries", json={"body": "Via CLI"})
        assert response.status_code == 201, response.text
        assert response.json()["author"] == name
        # The role came from the command line: a reporter cannot create stories.
        assert http.post("/api/stories", json={"title": "Nope"}).status_code == 403


def test_duplicate_user_is_one_line(deployment: Deployment) -> None:
    name = new_name()
    deployment.cli("user", "add", name, "--role", "editor", "--password-stdin", stdin=PASSWORD)
    again = deployment.cli(
        "user", "add", name, "--role", "admin", "--password-stdin", stdin=PASSWORD, check=False
    )
    assert_one_line_failure(again, name, "already exists")


def fresh_deployment(folder: Path) -> Deployment:
    return Deployment(folder=folder, env={"LIVEBLOG_DATABASE_URL": f"sqlite:///{folder}/lb.db"})


def test_bad_role_is_one_line(tmp_path: Path) -> None:
    result = fresh_deployment(tmp_path).cli(
        "user", "add", "someone", "--role", "chief", "--password-stdin", stdin=PASSWORD, check=False
    )
    assert_one_line_failure(result, "role", "chief", "reporter")


def test_short_password_is_one_line(tmp_path: Path) -> None:
    fresh = fresh_deployment(tmp_path)
    result = fresh.cli(
        "user",
        "add",
        "someone",
        "--role",
        "reporter",
        "--password-stdin",
        stdin="short\n",
        check=False,
    )
    assert_one_line_failure(result, "password", "8")
    assert_one_line_failure(fresh.cli("token", "create", "someone", check=False), "someone")


def test_token_for_unknown_user_is_one_line(deployment: Deployment) -> None:
    result = deployment.cli("token", "create", "nobody-by-this-name", check=False)
    assert_one_line_failure(result, "nobody-by-this-name")
    assert result.stdout == ""


@pytest.mark.parametrize("url", ["sqlite:///data/lb.db", None])
def test_db_upgrade_creates_a_fresh_database(tmp_path: Path, url: str | None) -> None:
    # An empty LIVEBLOG_DATABASE_URL means the default: liveblog.db in the working folder.
    fresh = Deployment(folder=tmp_path, env={"LIVEBLOG_DATABASE_URL": url or ""})
    database = tmp_path / ("data/lb.db" if url else "liveblog.db")
    assert not database.exists()
    result = fresh.cli("db", "upgrade")
    assert result.stderr == ""
    assert {"alembic_version", "users", "stories", "entries", "story_events"} <= tables(database)


def test_unsupported_database_url_is_one_line(tmp_path: Path) -> None:
    mysql = Deployment(folder=tmp_path, env={"LIVEBLOG_DATABASE_URL": "mysql://x"})
    assert_one_line_failure(mysql.cli("db", "upgrade", check=False), "mysql")
    flag = Deployment(folder=tmp_path, env={}).cli(
        "--database-url",
        "mysql://x",
        *("user", "add", "someone", "--role", "admin", "--password-stdin"),
        stdin=PASSWORD,
        check=False,
    )
    assert_one_line_failure(flag, "mysql")
    assert list(tmp_path.iterdir()) == []  # nothing made on the way to the error


def test_serve_has_a_flag_for_every_setting_but_the_secrets() -> None:
    serve_help = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200).output
    main_help = CliRunner().invoke(main, ["--help"], terminal_width=200).output
    for setting in SETTINGS:
        shown = f"{setting.flag} " in (main_help if setting.option_of == "main" else serve_help)
        assert shown is not setting.secret, setting.flag
        assert (setting.env in serve_help + main_help) is not setting.secret, setting.env


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (("--log-format", "xml"), {}, ("--log-format", "plain or json", "xml")),
        ((), {"LIVEBLOG_FORWARDED_ALLOW_IPS": "proxy.internal"}, ("LIVEBLOG_FORWARDED_ALLOW_IPS",)),
        (("--workers", "2"), {"LIVEBLOG_BUS_URL": "memory://"}, ("shared bus", "redis://")),
    ],
)
def test_bad_serve_settings_are_one_line_and_serve_nothing(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], words: tuple[str, ...]
) -> None:
    database = {"LIVEBLOG_DATABASE_URL": f"sqlite:///{tmp_path}/lb.db"}
    fresh = Deployment(folder=tmp_path, env={**database, **env})
    result = fresh.cli("serve", "--port", "9", *args, check=False)
    assert_one_line_failure(result, *words)
    assert not (tmp_path / "lb.db").exists()
