"""Pieces every API module uses: operations, JSON bodies with a size limit, query values."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from liveblog.errors import InvalidInput, NotFound, TooLarge
from liveblog.schemas import NO_NUL
from liveblog.stories.idempotency import IdempotentRequest
from liveblog.web.services import services

# Ids are 32-bit on PostgreSQL; a larger one cannot exist.
MAX_ID = 2**31 - 1
Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Param:
    """A path, query or header parameter, for the OpenAPI document."""

    name: str
    where: str  # "path", "query" or "header"
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """One API endpoint: its route and everything OpenAPI says about it."""

    method: str
    path: str
    handler: Handler
    summary: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    body_type: str = "application/json"  # or "multipart/form-data", for uploads
    params: tuple[Param, ...] = ()
    auth: bool = False
    errors: tuple[int, ...] = field(default=())
    headers: tuple[Param, ...] = ()
    response_headers: tuple[Param, ...] = ()


async def read_json(request: Request, model: type[Model]) -> Model:
    """The request body parsed into model; 413 past the size limit, 422 when invalid."""
    return parse_json(await read_body(request), model)


async def read_body(request: Request) -> bytes:
    """The raw body, refusing to read more than the configured limit."""
    limit = services(request).settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body is over the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_idempotent(
    request: Request, model: type[Model]
) -> tuple[Model, IdempotentRequest | None]:
    """The body parsed into model, and the request as its Idempotency-Key (if any) names it."""
    body = await read_body(request)
    data = parse_json(body, model)
    key = request.headers.get("idempotency-key")
    return data, IdempotentRequest.from_request(key, request.method, request.url.path, body)


def parse_json(body: bytes, model: type[Model]) -> Model:
    """Validate body as model, naming the first bad field in the error."""
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as error:
        raise invalid_input(error) from None


def invalid_input(error: ValidationError) -> InvalidInput:
    """The first problem of a failed validation, as a 422 naming its field."""
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return InvalidInput("the request body is not valid JSON")
    if first["type"] == "model_type":
        return InvalidInput("the request body must be a JSON object")
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "is not a field this endpoint accepts"
    if first["type"] == "string_pattern_mismatch" and first["ctx"]["pattern"] == NO_NUL:
        message = "must not contain NUL characters"
    return InvalidInput(f"{where}: {message}", field=where)


def int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or 422 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}", field=name)
    return value


def path_id(request: Request, name: str) -> int:
    """A numeric id from the path (the route's {name:int} guarantees digits)."""
    value = request.path_params[name]
    if value > MAX_ID:
        raise NotFound(f"no {name.replace('_', ' ')} {value}")
    return value


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON response."""
    return JSONResponse(body, status_code=status, headers=headers)
