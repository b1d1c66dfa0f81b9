"""What the pure ASGI middlewares share: acting on an HTTP response's start as it is sent."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Message, Scope, Send


def on_response_start(scope: Scope, send: Send, act: Callable[[Message], None]) -> Send:
    """send, calling act on the http.response.start message (act may change it) before it
    goes; for a scope that is not HTTP (a WebSocket, the lifespan), send itself, untouched."""
    if scope["type"] != "http":
        return send

    async def send_started(message: Message) -> None:
        if message["type"] == "http.response.start":
            act(message)
        await send(message)

    return send_started
