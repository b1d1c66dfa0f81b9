"""The OpenAPI 3.1 document, generated from the operations the API modules declare."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response

from liveblog.schemas import ErrorOut
from liveblog.web.api.common import Operation, Param, json_response

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    304: "Not modified",
    401: "Not signed in, or the token is not valid",
    403: "Not allowed for this role",
    404: "No such story or entry",
    409: "Conflicts with the current state",
    412: "If-Match names an older version; nothing changed",
    413: "Request body too large",
    422: "Invalid input; the error names the field",
    429: "Too many failed password attempts; Retry-After says when to try again",
}


def build_openapi(operations: tuple[Operation, ...]) -> dict[str, Any]:
    """A complete OpenAPI 3.1 document for operations."""
    models = {m for op in operations for m in (op.body, op.response) if m is not None}
    models.add(ErrorOut)
    _, schemas = models_json_schema(
        [(m, _mode(m, operations)) for m in sorted(models, key=lambda m: m.__name__)],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Liveblog API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }


def _mode(model: type[BaseModel], operations: tuple[Operation, ...]) -> str:
    return "validation" if any(op.body is model for op in operations) else "serialization"


def _operation(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "summary": op.summary,
        "operationId": op.handler.__name__,
        "parameters": [_param(p) for p in (*op.params, *op.headers)],
        "responses": {str(op.status): _content(op.response, "Success")},
    }
    for status in op.errors:
        # A 304 repeats the cache headers of the answer it stands for, and has no body.
        model = None if status == 304 else ErrorOut
        spec["responses"][str(status)] = _content(model, ERROR_TEXT[status])
    for status in (op.status, 304):
        if op.response_headers and str(status) in spec["responses"]:
            spec["responses"][str(status)]["headers"] = _headers(op.response_headers)
    if op.body is not None:
        # Only a POST needs a body: an empty PATCH changes nothing, an empty DELETE has no reason.
        spec["requestBody"] = {
            "required": op.method == "POST",
            "content": {op.body_type: {"schema": _ref(op.body)}},
        }
    if op.auth:
        spec["security"] = [{"token": []}]
    return spec


def _param(param: Param) -> dict[str, Any]:
    spec = {"name": param.name, "in": param.where, "schema": param.schema}
    spec["required"] = param.where == "path"
    if param.description:
        spec["description"] = param.description
    return spec


def _headers(headers: tuple[Param, ...]) -> dict[str, Any]:
    return {
        h.name: {"schema": h.schema, "required": True, "description": h.description}
        for h in headers
    }


def _content(model: type[BaseModel] | None, description: str) -> dict[str, Any]:
    if model is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def openapi_endpoint(operations: tuple[Operation, ...]):  # type: ignore[no-untyped-def]
    """A handler serving the document built once for operations."""
    document = build_openapi(operations)

    async def openapi(request: Request) -> Response:
        """The OpenAPI document of this API."""
        return json_response(document)

    return openapi
