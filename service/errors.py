"""Domain errors to HTTP responses, in one table.

Core code raises :mod:`spatial.errors` classes; only this module knows HTTP.
Request validation errors are answered in the same shape, naming the field.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from spatial.errors import (
    AuthenticationError,
    ConflictError,
    InputFormatError,
    InsufficientDataError,
    NotFoundError,
    ParameterError,
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


async def _remap_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RemapError)
    headers: dict[str, str] | None = None
    if isinstance(exc, AuthenticationError):
        headers = {"WWW-Authenticate": "X-API-Key"}
    elif isinstance(exc, RateLimitError):
        headers = {"Retry-After": str(max(1, int(exc.retry_after)))}
    return JSONResponse(exc.as_dict(), status_code=status_for(exc), headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "body")),
                 "reason": e.get("msg", "")} for e in exc.errors()]
    message = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
    return JSONResponse({"error": "invalid_parameter", "message": message,
                         "details": {"problems": problems}}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RemapError, _remap_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
