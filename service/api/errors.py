"""Domain errors to HTTP responses, in one table.

Core code raises :mod:`spatial.errors` classes; only this module knows HTTP.
Request validation errors are answered in the same shape, naming the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.store import StoreBusyError
from spatial.errors import (
    AuthenticationError,
    ConflictError,
    InputFormatError,
    InsufficientDataError,
    NotFoundError,
    ParameterError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RemapError,
    TooLargeError,
)

#: Domain error class -> HTTP status. The most specific class wins.
STATUS_BY_ERROR: dict[type[RemapError], int] = {
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    TooLargeError: 413,
    PayloadTooLargeError: 413,
    InputFormatError: 422,
    ParameterError: 422,
    InsufficientDataError: 422,
    RateLimitError: 429,
    RemapError: 400,
}


def status_for(exc: RemapError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]  # type: ignore[index]
    return 400


class ErrorBody(BaseModel):
    """Every error answer: a stable code, a sentence, and what it concerns."""

    error: str = Field(description="a stable code: unauthenticated, forbidden, not_found, "
                                   "conflict, payload_too_large, invalid_parameter, "
                                   "input_format, insufficient_data, rate_limited, ...")
    message: str = Field(description="what went wrong, naming the parameter, file, row or "
                                     "field")
    details: dict[str, Any] = Field(description="e.g. {parameter, reason} or {file, row, "
                                                "field}; {} when there is nothing to add")


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be served",
    401: "No X-API-Key header, or an unknown or revoked key",
    403: "The key's role may not do or see this",
    404: "The named layer, boundary set, result, operation, collection or feature does not "
         "exist",
    409: "Conflicts with stored state (a name taken by another user, a concurrent write): "
         "nothing was written",
    413: "An upload larger than REMAP_UPLOAD_MAX_BYTES, or a request above a size limit",
    422: "A parameter, body field or input file is invalid; the message names it",
    429: "Too many requests (see the Retry-After header)",
}


ERROR_SCHEMA_REF = {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries: each status answers an :class:`ErrorBody` as JSON.

    The schema is referenced under ``application/json`` explicitly (FastAPI would
    document a ``model`` under the route's own media type, e.g. ``text/html`` for
    maps); :func:`install_error_handlers` puts :class:`ErrorBody` in the components.
    """
    return {s: {"description": ERROR_DESCRIPTIONS[s],
                "content": {"application/json": {"schema": ERROR_SCHEMA_REF}}}
            for s in statuses}


#: The statuses every route behind an API key can answer (on the routers).
KEYED_RESPONSES = error_responses(401, 403, 413, 422, 429)
#: Routes that look up something by name or id (on the routers or routes).
LOOKUP_RESPONSES = error_responses(404)
#: Routes that write (uploads, saves, state changes).
WRITE_RESPONSES = error_responses(409)
#: Routes that take an upload.
UPLOAD_RESPONSES = error_responses(409, 413)


def error_body(code: str, message: str, details: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


async def _remap_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RemapError)
    headers: dict[str, str] | None = None
    if isinstance(exc, AuthenticationError):
        headers = {"WWW-Authenticate": "X-API-Key"}
    elif isinstance(exc, RateLimitError):
        headers = {"Retry-After": str(max(1, int(exc.retry_after)))}
    return JSONResponse(error_body(exc.code, exc.message, exc.details),
                        status_code=status_for(exc), headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body")),
                 "reason": e.get("msg", "")} for e in exc.errors()]
    message = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
    return JSONResponse(error_body("invalid_parameter", message, {"problems": problems}),
                        status_code=422)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               429: "rate_limited"}


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (no such route, wrong method) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(error_body(_HTTP_CODES.get(exc.status_code, "http_error"),
                                   str(exc.detail)),
                        status_code=exc.status_code, headers=exc.headers)


async def _store_busy(_request: Request, exc: Exception) -> JSONResponse:
    """Every connection to the store busy for the pool's whole timeout: try again."""
    assert isinstance(exc, StoreBusyError)
    return JSONResponse(error_body("store_busy", "every connection to the store is busy; "
                                                 "try again shortly"),
                        status_code=503, headers={"Retry-After": "5"})


def install_error_handlers(app: FastAPI) -> None:
    """The handlers, and :class:`ErrorBody` in the OpenAPI components."""
    app.add_exception_handler(RemapError, _remap_error)
    app.add_exception_handler(StoreBusyError, _store_busy)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = plain_openapi()  # built once, then cached by FastAPI: the same dict
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            ErrorBody.__name__, ErrorBody.model_json_schema())
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
