"""Settings: declared once in a table, read once from flags and LIVEBLOG_* variables."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveblog.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One documented setting: its field name, environment variable, default and help text.

    `option_of` names the command whose flag (`--name-with-dashes`) overrides the variable:
    `main` (before any command) or `serve`. A secret has no flag, as flags show in `ps`, and
    stays out of reprs. `shown_default` is how the README words a default that is not a plain
    value."""

    name: str
    env: str
    default: str | int | float | bool | None
    help: str
    option_of: str = "serve"
    secret: bool = False
    shown_default: str | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[str, str], None] | None = None

    @property
    def kind(self) -> type:
        """The Python type of its value: that of the default, text when there is none."""
        return str if self.default is None else type(self.default)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def shown(self) -> str:
        """The default in words, as the README and `--help` show it."""
        if self.shown_default is not None:
            return self.shown_default
        if isinstance(self.default, bool):
            return "`yes`" if self.default else "`no`"
        if isinstance(self.default, float):
            return f"`{self.default:g}`"
        return f"`{self.default}`"


def _addresses(label: str, text: str) -> None:
    """Refuse what uvicorn would silently take for a host name that never matches."""
    for item in text.split(","):
        try:
            if item.strip() != "*":
                ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise ConfigError(
                f"{label} must be IP addresses or networks separated by commas, or *, not {text!r}"
            ) from None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        "LIVEBLOG_DATABASE_URL",
        None,
        "Where the data lives: `sqlite:///path/to/file.db` or `postgresql://user@host/db`.",
        option_of="main",
        shown_default="`liveblog.db` in the working folder",
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
        secret=True,
        shown_default="generated",
    ),
    Setting(
        "public_url",
        "LIVEBLOG_PUBLIC_URL",
        None,
        "The address readers use, e.g. `https://live.example.com`; used for absolute links, "
        "feeds, embeds and allowed WebSocket origins. With `https://`, session cookies are sent "
        "over HTTPS only.",
        shown_default="from each request",
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
        "db_pool_size",
        "LIVEBLOG_DB_POOL_SIZE",
        5,
        "Database connections each process keeps open (PostgreSQL).",
    ),
    Setting(
        "ws_ping_interval",
        "LIVEBLOG_WS_PING_INTERVAL",
        20,
        "Seconds between pings on live sockets; a reader that has not answered the previous "
        "ping within the same time is disconnected.",
    ),
    Setting(
        "sse_keepalive_interval",
        "LIVEBLOG_SSE_KEEPALIVE_INTERVAL",
        15,
        "Seconds between keep-alive comments on event streams, so that proxies and readers "
        "do not take a quiet stream for a dead one.",
    ),
    Setting(
        "max_readers",
        "LIVEBLOG_MAX_READERS",
        0,  # 0: from the open-file limit at start-up (live/admission.py)
        "Live readers (WebSocket and event-stream) each process serves at most; more are "
        "turned away at once (503 with `Retry-After`, or WebSocket close 1013) and come back "
        "later. The desk, the API and health checks are never turned away.",
        shown_default="the open-file limit (raised to its hard limit) less a tenth, at least "
        "256, kept for the rest",
    ),
    Setting(
        "show_readers",
        "LIVEBLOG_SHOW_READERS",
        False,
        "Show readers how many people are reading a live story (`yes` or `no`); the desk "
        "always shows it.",
    ),
    Setting(
        "demo",
        "LIVEBLOG_DEMO",
        False,
        "Seed a demo story (and a first admin when there is none) and keep posting to it "
        "(`yes` or `no`). With several workers the parent process posts, once.",
    ),
    Setting(
        "demo_interval",
        "LIVEBLOG_DEMO_INTERVAL",
        5.0,
        "Seconds between demo posts.",
    ),
    Setting(
        "metrics_token",
        "LIVEBLOG_METRICS_TOKEN",
        None,
        "Bearer token that `/metrics` (and the details of `/readyz`) require: `Authorization: "
        "Bearer TOKEN`. Unset: they answer loopback clients only.",
        secret=True,
        shown_default="unset",
    ),
    Setting(
        "forwarded_allow_ips",
        "LIVEBLOG_FORWARDED_ALLOW_IPS",
        "127.0.0.1",
        "Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: IP "
        "addresses or networks separated by commas, or `*` for any. A request through them "
        "counts as coming from the client they name.",
        check=_addresses,
    ),
    Setting(
        "log_format",
        "LIVEBLOG_LOG_FORMAT",
        "plain",
        "`plain` lines for people, or `json`: one JSON object per line for log collectors.",
        choices=("plain", "json"),
    ),
)


def _field(setting: Setting) -> Any:
    return field(default=setting.default, repr=not setting.secret)


# One field per setting, with its default: the table above is the only declaration.
Settings = dataclasses.make_dataclass(
    "Settings",
    [(s.name, s.kind if s.default is not None else s.kind | None, _field(s)) for s in SETTINGS],
    frozen=True,
    namespace={
        "__doc__": "Everything the application needs to know, read once at start-up and "
        "passed in: one field per entry of SETTINGS.",
        "__module__": __name__,
        "is_sqlite": property(lambda self: self.database_url.startswith("sqlite")),
    },
)


def load_settings(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None, **flags: object
) -> Settings:
    """Build Settings from LIVEBLOG_* variables, with non-None flags taking precedence."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    unknown = set(flags) - {s.name for s in SETTINGS}
    if unknown:
        raise TypeError(f"no such settings: {', '.join(sorted(unknown))}")
    values = {setting.name: _value(setting, environ, flags) for setting in SETTINGS}
    values["database_url"] = normalize_database_url(values["database_url"], cwd)
    if not values["secret_key"]:
        values["secret_key"] = _stored_secret_key(_secret_key_folder(values["database_url"], cwd))
    return Settings(**values)


def _value(setting: Setting, environ: Mapping[str, str], flags: Mapping[str, object]) -> object:
    """The flag if given, else the variable if set and not empty, else the default."""
    if flags.get(setting.name) is not None:
        return _coerce(setting, flags[setting.name], setting.flag)
    if environ.get(setting.env):
        return _coerce(setting, environ[setting.env], setting.env)
    return setting.default


def _coerce(setting: Setting, raw: object, label: str) -> object:
    """raw as the setting's type; label (the variable or the flag) names it in errors."""
    if setting.kind is bool:
        return _flag(raw, label)
    if setting.kind in (int, float):
        return _positive_number(setting.kind, raw, label)
    text = str(raw)
    if setting.choices and text not in setting.choices:
        raise ConfigError(f"{label} must be {' or '.join(setting.choices)}, not {raw!r}")
    if setting.check is not None:
        setting.check(label, text)
    return text


def _positive_number(kind: type, raw: object, label: str) -> int | float:
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    # Every number setting is a size, a count or an interval: none makes sense at 0 or below,
    # nor an endless interval.
    if kind is int and value < 1:
        raise ConfigError(f"{label} must be a whole number above 0, not {raw!r}")
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{label} must be a number above 0, not {raw!r}")
    return value


def _flag(raw: object, label: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "yes", "true", "on"):
        return True
    if text in ("0", "no", "false", "off", ""):
        return False
    raise ConfigError(f"{label} must be yes or no, not {raw!r}")


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
