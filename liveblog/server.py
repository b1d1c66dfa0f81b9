"""Running the app under uvicorn: one process, or several sharing one port."""

from __future__ import annotations

import logging
import os

import uvicorn

from liveblog.app import create_app
from liveblog.errors import ConfigError
from liveblog.live.transport import LiveWebSocketProtocol
from liveblog.settings import SETTINGS, Settings, load_settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run_server(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve until interrupted."""
    if workers > 1 and settings.bus_url.startswith("memory"):
        raise ConfigError(
            "several workers need a shared bus: set LIVEBLOG_BUS_URL to redis:// or postgresql://"
        )
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    options = {
        "host": host,
        "port": port,
        "log_config": None,
        # uvicorn's sans-I/O websockets, letting the hub write frames to sockets directly.
        "ws": LiveWebSocketProtocol,
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_interval,
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
        "timeout_graceful_shutdown": 5,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    _export(settings)
    uvicorn.run("liveblog.server:app_from_environment", factory=True, workers=workers, **options)


def _export(settings: Settings) -> None:
    """Hand the settings to worker processes through their environment."""
    for setting in SETTINGS:
        value = getattr(settings, setting.name)
        if value is not None:
            os.environ[setting.env] = str(value)


def app_from_environment():  # type: ignore[no-untyped-def]
    """The app for a worker process, from the settings its parent exported."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    return create_app(load_settings())
