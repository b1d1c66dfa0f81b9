"""Settings: declared once in a table, read once from flags and LIVEBLOG_* variables."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from liveblog.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One documented setting: its field name, environment variable and help text."""

    name: str
    env: str
    default: str | int | bool | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        "LIVEBLOG_DATABASE_URL",
        None,
        "Where the data lives: `sqlite:///path/to/file.db` or `postgresql://user@host/db`. "
        "Default: `liveblog.db` in the working folder.",
    ),
    Setting(
        "bus_url",
        "LIVEBLOG_BUS_URL",
        "memory://",
        "How processes ring each other's doorbell: `memory://` (one process), `redis://…` "
        "or `postgresql://…`.",
    ),
    Setting(
        "secret_key",
        "LIVEBLOG_SECRET_KEY",
        None,
        "Signs desk sessions. Default: generated on first run and kept beside the SQLite "
        "database (or in the working folder) as `liveblog-secret.key`, readable by its owner only.",
    ),
    Setting(
        "public_url",
        "LIVEBLOG_PUBLIC_URL",
        None,
        "The address readers use, e.g. `https://live.example.com`; used for absolute links, "
        "feeds, embeds and allowed WebSocket origins. Default: taken from each request.",
    ),
    Setting(
        "max_body_bytes",
        "LIVEBLOG_MAX_BODY_BYTES",
        256 * 1024,
        "Largest request body the API accepts, in bytes; larger ones get 413.",
    ),
    Setting(
        "max_upload_bytes",
        "LIVEBLOG_MAX_UPLOAD_BYTES",
        10 * 1024 * 1024,
        "Largest image a reporter may upload (`POST /api/media`), in bytes; larger ones get "
        "413, refused while they arrive.",
    ),
    Setting(
        "ws_ping_interval",
        "LIVEBLOG_WS_PING_INTERVAL",
        20,
        "Seconds between pings on live sockets; a reader that has not answered the previous "
        "ping within the same time is disconnected.",
    ),
    Setting(
        "show_readers",
        "LIVEBLOG_SHOW_READERS",
        False,
        "Show readers how many people are reading a live story (`yes` or `no`).",
    ),
    Setting(
        "db_pool_size",
        "LIVEBLOG_DB_POOL_SIZE",
        5,
        "Database connections each process keeps open (PostgreSQL).",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Everything the application needs to know, read once at start-up and passed in."""

    database_url: str
    bus_url: str = "memory://"
    secret_key: str = ""
    public_url: str | None = None
    max_body_bytes: int = 256 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    db_pool_size: int = 5
    ws_ping_interval: int = 20
    show_readers: bool = False
    demo: bool = False
    demo_interval: float = 5.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def load_settings(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None, **flags: object
) -> Settings:
    """Build Settings from LIVEBLOG_* variables, with non-None flags taking precedence."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    values: dict[str, object] = {}
    for setting in SETTINGS:
        raw = flags.get(setting.name)
        if raw is None:
            raw = environ.get(setting.env) or setting.default
        values[setting.name] = _coerce(setting, raw)
    extra = {k: v for k, v in flags.items() if k not in values and v is not None}
    values["database_url"] = normalize_database_url(values["database_url"], cwd)
    if not values["secret_key"]:
        values["secret_key"] = _stored_secret_key(_secret_key_folder(values["database_url"], cwd))
    return Settings(**values, **extra)  # type: ignore[arg-type]


def _coerce(setting: Setting, raw: object) -> object:
    if isinstance(setting.default, bool):
        return _flag(setting, raw)
    if isinstance(setting.default, int) and raw is not None:
        try:
            value = int(raw)  # type: ignore[call-overload]
        except ValueError:
            value = 0
        # Every number setting is a size, a count or an interval: below 1 none makes sense.
        if value < 1:
            raise ConfigError(f"{setting.env} must be a whole number above 0, not {raw!r}")
        return value
    return raw


def _flag(setting: Setting, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "yes", "true", "on"):
        return True
    if text in ("0", "no", "false", "off", ""):
        return False
    raise ConfigError(f"{setting.env} must be yes or no, not {raw!r}")


def normalize_database_url(url: object, cwd: Path) -> str:
    """Turn a user's database URL into one naming the async driver we use."""
    if not url:
        return f"sqlite+aiosqlite:///{cwd / 'liveblog.db'}"
    text = str(url)
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise ConfigError(f"database URL {text!r} has no scheme; use sqlite:/// or postgresql://")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if path and path != ":memory:" and not Path(path).is_absolute():
            path = str(cwd / path)
        return f"sqlite+aiosqlite:///{path}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise ConfigError(f"unsupported database {scheme!r}; use sqlite:/// or postgresql://")


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL or an in-memory database."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            return Path(path)
    return None


def _secret_key_folder(database_url: str, cwd: Path) -> Path:
    path = sqlite_file(database_url)
    return cwd if path is None else path.parent


def _stored_secret_key(folder: Path) -> str:
    """Read the key kept in folder, creating it (owner-only) on first run."""
    path = folder / "liveblog-secret.key"
    folder.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create_secret_key(path)
    key = path.read_text().strip()
    if not key:
        # An empty key would sign sessions anyone can forge.
        raise ConfigError(f"{path} is empty; delete it for a new key, or set LIVEBLOG_SECRET_KEY")
    return key


def _create_secret_key(path: Path) -> None:
    # Written whole under a private name, then linked into place: a process starting at the
    # same moment sees either no key or the complete one, never a half-written file.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made the key first; use theirs
    finally:
        draft.unlink()


def redact_url(url: str) -> str:
    """A URL fit for logs: without the user and password part."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
