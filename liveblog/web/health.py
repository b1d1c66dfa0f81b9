"""/healthz and /metrics: is the process up, and what is it doing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from liveblog.web.services import services


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    """This process's metrics in the Prometheus text format."""
    body = services(request).metrics.exposition()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES = [
    Route("/healthz", healthz, name="healthz"),
    Route("/metrics", metrics, name="metrics"),
]
