"""Who may read the operations endpoints (/metrics, and the details of /readyz): whoever sends
`Authorization: Bearer <LIVEBLOG_METRICS_TOKEN>`, or, while no token is set, loopback clients.

The client address is the one uvicorn took from X-Forwarded-For when the request came through
a trusted proxy (LIVEBLOG_FORWARDED_ALLOW_IPS), so a remote client behind a local reverse proxy
is remote here too."""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="liveblog-metrics"'}


def refusal(request: Request, token: str | None) -> Response | None:
    """None when the caller may read operations data; else the 401 or 403 to answer."""
    if token:
        if _bearer_matches(request, token):
            return None
        return PlainTextResponse(
            "401: send Authorization: Bearer <LIVEBLOG_METRICS_TOKEN>\n", 401, headers=_CHALLENGE
        )
    if _is_loopback(request):
        return None
    return PlainTextResponse(
        "403: served to loopback addresses only while LIVEBLOG_METRICS_TOKEN is unset\n", 403
    )


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    # Compared in constant time, so the answer's timing says nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name or garbage from a proxy's header: not provably local
    # A server listening on :: sees IPv4 clients as ::ffff:a.b.c.d.
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
