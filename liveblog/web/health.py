"""/healthz: the process is up and answering."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


ROUTES = [Route("/healthz", healthz, name="healthz")]
