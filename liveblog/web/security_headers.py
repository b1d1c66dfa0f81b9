"""Security headers on every HTTP response, as a pure ASGI middleware.

Every response gets `X-Content-Type-Options: nosniff` and a `Referrer-Policy`; an HTML one
also gets a Content-Security-Policy (our own scripts and styles only) that refuses framing,
with `X-Frame-Options: DENY` for older browsers. A response that brings its own policy keeps
it: the iframe embed (web/embeds.py) does, to allow `frame-ancestors *`. WebSocket scopes
pass straight through, untouched."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveblog.web.response_start import on_response_start

_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self' ws: wss:; frame-ancestors {frame_ancestors}; base-uri 'self'; "
    "form-action 'self'"
)
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
_CSP = b"content-security-policy"


def page_policy(frame_ancestors: str = "'none'") -> str:
    """The Content-Security-Policy of our pages, with who may frame them."""
    return _POLICY.format(frame_ancestors=frame_ancestors)


_PAGE_HEADERS = (
    (_CSP, page_policy().encode()),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeadersMiddleware:
    """Adds the headers above to each HTTP response the app sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, on_response_start(scope, send, _add_headers))


def _add_headers(start: Message) -> None:
    start["headers"] = with_security_headers(list(start.get("headers", ())))


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """headers plus what is missing of ours; HTML without its own policy refuses framing."""
    names = {name.lower() for name, _ in headers}
    added = [header for header in _ALWAYS if header[0] not in names]
    if _is_html(headers) and _CSP not in names:
        added.extend(_PAGE_HEADERS)
    return headers + added


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name.lower() == b"content-type" and value.lower().startswith(b"text/html")
        for name, value in headers
    )
