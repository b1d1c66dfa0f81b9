"""/healthz, /readyz and /metrics: is the process up, can it work, and what is it doing."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from liveblog.web.ops_access import refusal
from liveblog.web.services import services

READY_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Whether the database answers and the bus is connected; 503 when either is not. Which
    part is down is told only to those who may read /metrics."""
    parts = services(request)
    database = await _database_state(request)
    bus = "ok" if parts.bus.connected else "unavailable"
    ready = database == "ok" and bus == "ok"
    status = 200 if ready else 503
    if refusal(request, parts.settings.metrics_token) is not None:
        return PlainTextResponse("ready\n" if ready else "not ready\n", status)
    body = {"status": "ok" if ready else "unavailable", "database": database, "bus": bus}
    return JSONResponse(body, status_code=status)


async def _database_state(request: Request) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT), services(request).db.reading() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # any failure means: not ready
        return "unavailable"
    return "ok"


async def metrics(request: Request) -> Response:
    """This process's metrics in the Prometheus text format, for the metrics token's bearer
    (or, without a token, loopback clients)."""
    parts = services(request)
    refused = refusal(request, parts.settings.metrics_token)
    if refused is not None:
        return refused
    body = parts.metrics.exposition()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES = [
    Route("/healthz", healthz, name="healthz"),
    Route("/readyz", readyz, name="readyz"),
    Route("/metrics", metrics, name="metrics"),
]
