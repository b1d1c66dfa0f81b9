"""The app under uvicorn's standard WebSocket protocol: what `liveblog serve` falls back to
when its direct-writing protocol does not fit the installed uvicorn.

    python tests/standard_ws_server.py --port PORT    (settings from LIVEBLOG_*, as for serve)

Every WebSocket scope is logged with whether it carries the direct writer, so a test can
show which path served its readers."""

from __future__ import annotations

import argparse
import logging

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from liveblog.app import create_app
from liveblog.live.transport import EXTENSION, STANDARD_PROTOCOL
from liveblog.settings import load_settings

logger = logging.getLogger("standard_ws_server")


def logging_websocket_scopes(app: ASGIApp) -> ASGIApp:
    """app, logging for each WebSocket whether uvicorn handed it a direct writer."""

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            direct = EXTENSION in scope.get("extensions", {})
            logger.info("websocket %s direct writer: %s", scope["path"], "yes" if direct else "no")
        await app(scope, receive, send)

    return logged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    uvicorn.run(
        logging_websocket_scopes(create_app(settings)),
        host="127.0.0.1",
        port=port,
        log_config=None,
        ws=STANDARD_PROTOCOL,
        # As under `liveblog serve`.
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_interval,
    )


if __name__ == "__main__":
    main()
