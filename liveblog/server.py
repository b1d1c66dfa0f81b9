"""Running the app under uvicorn: one process, or several sharing one port."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging.config
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext, suppress

import uvicorn
from starlette.types import ASGIApp
from uvicorn.main import STARTUP_FAILURE

from liveblog.app import create_app
from liveblog.demo_poster import demo_in_background
from liveblog.errors import ConfigError
from liveblog.live.stream_transport import live_http_protocol
from liveblog.live.transport import live_protocol, stored_attributes
from liveblog.log_format import logging_config
from liveblog.settings import Settings, load_settings
from liveblog.web.request_log import RequestLog

# How the parent hands its settings, resolved once, to the worker processes uvicorn starts.
WORKER_SETTINGS = "LIVEBLOG_WORKER_SETTINGS"


def run_server(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve until interrupted."""
    if workers > 1 and settings.bus_url.startswith("memory"):
        raise ConfigError(
            "several workers need a shared bus: set LIVEBLOG_BUS_URL to redis:// or postgresql://"
        )
    log_config = logging_config(settings.log_format)
    logging.config.dictConfig(log_config)
    logging.captureWarnings(True)  # warnings too come out as log lines, in the same format
    options = {
        "host": host,
        "port": port,
        "log_config": log_config,
        "access_log": False,  # RequestLog logs each request, with its duration
        # Letting the hub write frames to sockets directly, when this uvicorn allows it.
        "ws": live_protocol(),
        "http": live_http_protocol(),
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_interval,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_graceful_shutdown": 5,
        # After a restart every reader reconnects at once: a longer accept queue than
        # uvicorn's 2048 (the kernel caps it at net.core.somaxconn) turns fewer away.
        "backlog": 8192,
    }
    if workers == 1:
        serve_one_process(uvicorn.Config(serving_app(settings), **options))
        return
    with demo_in_background(settings) if settings.demo else nullcontext():
        # Spawned workers inherit the environment; the demo is this process's alone.
        os.environ[WORKER_SETTINGS] = json.dumps(dataclasses.asdict(settings) | {"demo": False})
        uvicorn.run(
            "liveblog.server:app_from_environment", factory=True, workers=workers, **options
        )


class OnceASecondServer(uvicorn.Server):
    """uvicorn's server with its main loop waking once a second, not ten times: what the loop
    does (the Date header, the exit check) is once a second anyway, and each wake-up costs
    about 0.13 ms of CPU, idle or not. Asked to exit (a signal, or should_exit set from
    anywhere), it wakes at once."""

    _wake: Callable[[], object] | None = None

    @property  # type: ignore[override]
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._wake is not None:
            self._wake()

    async def main_loop(self) -> None:
        loop = asyncio.get_running_loop()
        asked = asyncio.Event()
        self._wake = lambda: loop.call_soon_threadsafe(asked.set)
        counter = 0  # uvicorn's on_tick does its once-a-second work when this is a multiple of 10
        try:
            while not await self.on_tick(counter):
                counter = (counter + 10) % 864000
                with suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await asked.wait()
        finally:
            self._wake = None


def main_loop_fits(server: type) -> bool:
    """Whether OnceASecondServer's overrides fit this uvicorn's Server: main_loop and
    on_tick(counter) coroutines, should_exit an attribute its code sets."""
    on_tick = getattr(server, "on_tick", None)
    return (
        inspect.iscoroutinefunction(getattr(server, "main_loop", None))
        and inspect.iscoroutinefunction(on_tick)
        and list(inspect.signature(on_tick).parameters) == ["self", "counter"]
        and "should_exit" in stored_attributes(server)
    )


def serve_one_process(config: uvicorn.Config) -> None:
    """What uvicorn.run does for one process, with OnceASecondServer where it fits."""
    server_class = OnceASecondServer if main_loop_fits(uvicorn.Server) else uvicorn.Server
    server = server_class(config)
    with suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serving_app(settings: Settings) -> ASGIApp:
    """The app for these settings, each request logged."""
    return RequestLog(create_app(settings))


def app_from_environment() -> ASGIApp:
    """The app for a worker process, with the settings its parent resolved (uvicorn has
    applied the parent's logging configuration); started by hand, from LIVEBLOG_*."""
    logging.captureWarnings(True)
    handed_over = os.environ.get(WORKER_SETTINGS)
    if handed_over is None:
        return serving_app(load_settings())
    return serving_app(Settings(**json.loads(handed_over)))
