"""Settings: environment and flags, the stored secret key, and every setting documented."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from liveblog.errors import ConfigError
from liveblog.settings import SETTINGS, load_settings

README = Path(__file__).resolve().parent.parent / "README.md"
KEY_FILE = "liveblog-secret.key"


def test_secret_key_is_made_beside_the_database_for_its_owner_only(tmp_path: Path) -> None:
    environ = {"LIVEBLOG_DATABASE_URL": f"sqlite:///{tmp_path}/data/lb.db"}
    first = load_settings(environ=environ, cwd=tmp_path)
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert key_file.read_text().strip() == first.secret_key
    assert sorted(p.name for p in key_file.parent.iterdir()) == [KEY_FILE]  # no stray drafts
    assert not (tmp_path / KEY_FILE).exists()
    again = load_settings(environ=environ, cwd=tmp_path)
    assert again.secret_key == first.secret_key


def test_secret_key_for_the_default_database_is_in_the_working_folder(tmp_path: Path) -> None:
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'liveblog.db'}"
    assert (tmp_path / KEY_FILE).read_text().strip() == settings.secret_key
    assert load_settings(environ={}, cwd=tmp_path).secret_key == settings.secret_key


def test_each_folder_gets_its_own_secret_key(tmp_path: Path) -> None:
    one = load_settings(environ={}, cwd=tmp_path / "one")
    two = load_settings(environ={}, cwd=tmp_path / "two")
    assert one.secret_key != two.secret_key


def test_secret_key_from_the_environment_writes_no_file(tmp_path: Path) -> None:
    settings = load_settings(environ={"LIVEBLOG_SECRET_KEY": "from-the-environment"}, cwd=tmp_path)
    assert settings.secret_key == "from-the-environment"
    assert list(tmp_path.iterdir()) == []


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("\n")
    with pytest.raises(ConfigError, match=KEY_FILE):
        load_settings(environ={}, cwd=tmp_path)


def test_flags_override_the_environment(tmp_path: Path) -> None:
    environ = {
        "LIVEBLOG_DATABASE_URL": "sqlite:///from-env.db",
        "LIVEBLOG_BUS_URL": "redis://env-host:6379/0",
        "LIVEBLOG_SECRET_KEY": "env-key",
        "LIVEBLOG_PUBLIC_URL": "https://env.example.com",
        "LIVEBLOG_MAX_BODY_BYTES": "1000",
        "LIVEBLOG_DB_POOL_SIZE": "3",
    }
    from_env = load_settings(environ=environ, cwd=tmp_path)
    assert from_env.database_url == f"sqlite+aiosqlite:///{tmp_path / 'from-env.db'}"
    assert from_env.bus_url == "redis://env-host:6379/0"
    assert from_env.secret_key == "env-key"
    assert from_env.public_url == "https://env.example.com"
    assert (from_env.max_body_bytes, from_env.db_pool_size) == (1000, 3)
    flagged = load_settings(
        environ=environ,
        cwd=tmp_path,
        database_url="postgresql://flag@db-host/live",
        bus_url="memory://",
        public_url="https://flag.example.com",
        max_body_bytes=2000,
        secret_key=None,  # a flag not given leaves the environment's value
    )
    assert flagged.database_url == "postgresql+asyncpg://flag@db-host/live"
    assert flagged.bus_url == "memory://"
    assert flagged.public_url == "https://flag.example.com"
    assert flagged.max_body_bytes == 2000
    assert (flagged.secret_key, flagged.db_pool_size) == ("env-key", 3)


@pytest.mark.parametrize("value", ["abc", "1.5", "", "0", "-1", "256 KiB"])
def test_max_body_bytes_must_be_a_positive_whole_number(tmp_path: Path, value: str) -> None:
    environ = {"LIVEBLOG_MAX_BODY_BYTES": value, "LIVEBLOG_SECRET_KEY": "k"}
    if value == "":  # empty is the same as unset: the default
        assert load_settings(environ=environ, cwd=tmp_path).max_body_bytes == 256 * 1024
        return
    with pytest.raises(ConfigError, match="LIVEBLOG_MAX_BODY_BYTES"):
        load_settings(environ=environ, cwd=tmp_path)


def test_database_urls_are_checked_and_given_their_async_driver(tmp_path: Path) -> None:
    def url(value: str) -> str:
        environ = {"LIVEBLOG_DATABASE_URL": value, "LIVEBLOG_SECRET_KEY": "k"}
        return load_settings(environ=environ, cwd=tmp_path).database_url

    assert url("sqlite:///relative/lb.db") == f"sqlite+aiosqlite:///{tmp_path}/relative/lb.db"
    assert url("sqlite:////srv/liveblog/lb.db") == "sqlite+aiosqlite:////srv/liveblog/lb.db"
    assert url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert url("postgresql://u:p@h:5433/db") == "postgresql+asyncpg://u:p@h:5433/db"
    for bad in ["mysql://x", "lb.db", "oracle+cx://h/db"]:
        with pytest.raises(ConfigError):
            url(bad)


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = README.read_text()
    missing = [s.env for s in SETTINGS if not re.search(rf"\b{s.env}\b", readme)]
    assert missing == [], f"README.md does not mention {', '.join(missing)}"
