"""One log line per HTTP request, with its method, path, status and duration as fields.

It replaces uvicorn's access log, which knows no duration. It wraps the whole app from the
outside, so the client it names is the one uvicorn took from a trusted proxy's headers."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveblog.web.response_start import on_response_start

log = logging.getLogger("liveblog.access")


class RequestLog:
    """Logs each HTTP request when its answer is done (or has failed); sockets pass by."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        def note(start: Message) -> None:
            nonlocal status
            status = start["status"]

        try:
            await self.app(scope, receive, on_response_start(scope, send, note))
        finally:
            _log_request(scope, status, time.perf_counter() - began)


def _log_request(scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    fields = {
        "client": client[0] if client else None,
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
    }
    log.info(
        "%s %s %s %s %.1f ms",
        fields["client"],
        fields["method"],
        fields["path"],
        status,
        fields["duration_ms"],
        extra=fields,
    )
