"""What the live endpoints tell a reader this process has no room for: come back later."""

from __future__ import annotations

import random

from starlette.responses import PlainTextResponse, Response

from liveblog.live.admission import reader_admitted
from liveblog.web.services import Services

# WebSocket close code 1013 (RFC 6455 registry): "try again later".
TRY_AGAIN_LATER = 1013
BUSY_REASON = "too many readers: try again later"
# Seconds a turned-away reader waits; spread, so the refused do not all come back together.
RETRY_AFTER = (3, 10)


def admit_reader(services: Services, transport: str) -> bool:
    """Whether this process takes one more reader; a refusal is counted by transport."""
    if reader_admitted(services.hub, services.settings.max_readers):
        return True
    services.metrics.readers_refused.labels(transport).inc()
    return False


def busy_response() -> Response:
    """503 for a reader turned away, with when to try again."""
    headers = {"Retry-After": str(random.randint(*RETRY_AFTER)), "Cache-Control": "no-store"}
    return PlainTextResponse(
        "Too many readers on this server right now; try again in a few seconds.\n",
        status_code=503,
        headers=headers,
    )
