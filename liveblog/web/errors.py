"""Errors as users should meet them: JSON under /api, a page elsewhere, never a traceback."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from liveblog.errors import LiveblogError, SignInRequired, TooManyRequests, Unavailable
from liveblog.web.services import services

log = logging.getLogger("liveblog.web")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _respond(request: Request, status: int, code: str, message: str, **extra: object) -> Response:
    if _wants_json(request):
        body: dict[str, object] = {"code": code, "message": message, **extra}
        return JSONResponse({"error": body}, status_code=status)
    if request.headers.get("hx-request") == "true":
        # htmx shows the message inline beside the control that failed (static/desk.js).
        return PlainTextResponse(message, status_code=status)
    page = services(request).templates.get_template("pages/error.html")
    return HTMLResponse(page.render(status=status, message=message), status_code=status)


async def liveblog_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveblogError)
    if isinstance(exc, SignInRequired) and not _wants_json(request):
        return _to_sign_in(request)
    extra = {"field": exc.field} if exc.field else {}
    response = _respond(request, exc.status, exc.code, exc.message, **extra)
    if exc.status == 401:
        # HTTP requires a 401 to name the scheme that would be accepted.
        response.headers["WWW-Authenticate"] = 'Bearer realm="liveblog"'
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _to_sign_in(request: Request) -> Response:
    target = "/desk/sign-in?" + urlencode({"next": request.url.path})
    if request.headers.get("hx-request") == "true":
        # A fragment request cannot show a page: htmx follows HX-Redirect with a full load.
        return PlainTextResponse("sign in again", 401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = "nothing here" if exc.status_code == 404 else str(exc.detail)
    response = _respond(request, exc.status_code, code, message)
    # Keep the headers the status needs, such as Allow on a 405.
    response.headers.update(exc.headers or {})
    return response


async def database_error(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", exc.__class__.__name__)
    error = Unavailable("the database is unavailable; nothing was written, please retry shortly")
    response = await liveblog_error(request, error)
    response.headers["Retry-After"] = "5"
    return response


async def driver_error(request: Request, exc: Exception) -> Response:
    # Some drivers report a connection lost mid-query as a plain DBAPI error (asyncpg:
    # "connection was closed in the middle of operation"); SQLAlchemy marks those.
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated:
        return await database_error(request, exc)
    return await server_error(request, exc)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _respond(request, 500, "server_error", "something went wrong on our side")


EXCEPTION_HANDLERS = {
    LiveblogError: liveblog_error,
    HTTPException: http_error,
    OperationalError: database_error,
    PoolTimeout: database_error,
    TimeoutError: database_error,
    InterfaceError: database_error,
    DBAPIError: driver_error,
    Exception: server_error,
}
