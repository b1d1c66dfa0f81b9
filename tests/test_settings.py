"""Settings: environment and flags, the stored secret key, and every setting documented."""

from __future__ import annotations

import dataclasses
import re
import stat
from pathlib import Path

import pytest

from liveblog.errors import ConfigError
from liveblog.settings import SETTINGS, Setting, Settings, load_settings

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


def readme_row(setting: Setting) -> str:
    """The README's configuration table row for a setting."""
    flag = f"`{setting.flag}`"
    if setting.kind is bool:
        flag += f", `--no-{setting.flag[2:]}`"
    if setting.option_of == "main":
        flag += " (before the command)"
    if setting.secret:
        flag = "none (a secret)"
    return f"| `{setting.env}` | {flag} | {setting.shown} | {setting.help} |"


def test_the_readme_configuration_table_is_the_settings_table() -> None:
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `LIVEBLOG_")]
    expected = [readme_row(setting) for setting in SETTINGS]
    table = "\n".join(expected)
    assert rows == expected, f"README.md's configuration table should read:\n{table}"


def test_settings_has_one_field_per_setting_with_its_default() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert fields == {s.name: s.default for s in SETTINGS}
    assert "secret_key" not in repr(Settings(secret_key="hush", metrics_token="quiet"))
    assert "hush" not in repr(Settings(secret_key="hush", metrics_token="quiet"))


def load(environ: dict[str, str], tmp_path: Path, **flags: object) -> Settings:
    return load_settings(environ={"LIVEBLOG_SECRET_KEY": "k", **environ}, cwd=tmp_path, **flags)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LIVEBLOG_DEMO_INTERVAL", "0.5", ("demo_interval", 0.5)),
        ("LIVEBLOG_DEMO", "yes", ("demo", True)),
        ("LIVEBLOG_LOG_FORMAT", "json", ("log_format", "json")),
        ("LIVEBLOG_METRICS_TOKEN", "t0ken", ("metrics_token", "t0ken")),
        ("LIVEBLOG_FORWARDED_ALLOW_IPS", "10.0.0.1, 192.168.0.0/16,::1", None),
        ("LIVEBLOG_FORWARDED_ALLOW_IPS", "*", ("forwarded_allow_ips", "*")),
    ],
)
def test_settings_read_from_the_environment(
    tmp_path: Path, variable: str, value: str, expected: tuple[str, object] | None
) -> None:
    name, wanted = expected or ("forwarded_allow_ips", value)
    assert getattr(load({variable: value}, tmp_path), name) == wanted


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("LIVEBLOG_DEMO_INTERVAL", "0", "a number above 0"),
        ("LIVEBLOG_DEMO_INTERVAL", "soon", "a number above 0"),
        ("LIVEBLOG_DEMO_INTERVAL", "nan", "a number above 0"),
        ("LIVEBLOG_SHOW_READERS", "maybe", "yes or no"),
        ("LIVEBLOG_LOG_FORMAT", "xml", "plain or json"),
        ("LIVEBLOG_FORWARDED_ALLOW_IPS", "proxy.internal", "IP addresses or networks"),
        ("LIVEBLOG_FORWARDED_ALLOW_IPS", "127.0.0.1,,", "IP addresses or networks"),
    ],
)
def test_bad_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, words: str
) -> None:
    with pytest.raises(
        ConfigError, match=rf"^{variable} must be {words}.*{re.escape(repr(value))}"
    ):
        load({variable: value}, tmp_path)


def test_a_bad_flag_is_named_as_a_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--log-format must be plain or json, not 'xml'$"):
        load({"LIVEBLOG_LOG_FORMAT": "json"}, tmp_path, log_format="xml")
    with pytest.raises(ConfigError, match=r"^--max-body-bytes must be a whole number above 0"):
        load({}, tmp_path, max_body_bytes="lots")
    assert load({"LIVEBLOG_DEMO": "yes"}, tmp_path, demo=False).demo is False
