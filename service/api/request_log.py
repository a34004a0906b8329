"""One log line per request, with a request id, on the logger ``remap.request``.

A small ASGI middleware, outermost, so the line covers every answer (refusals,
upload limits, errors). The line holds the request id, the method, the path,
the status and the duration in milliseconds, and nothing else: never the query
string (it can hold restricted values, e.g. a category or a unit of a health
layer) and never a header (``X-API-Key``). The same fields are passed as
``extra`` for structured handlers.

The request id is the caller's ``X-Request-ID`` when that is a short safe token
(letters, digits, ``.``, ``_``, ``-``; at most 64 characters), so a proxy's id
follows the request; otherwise a new one. It is echoed in the ``X-Request-ID``
response header and kept in ``scope["state"]["request_id"]``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("remap.request")

HEADER = b"x-request-id"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PATH_MAX = 300
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` if it is a safe short token, else a new one."""
    for name, value in headers:
        if name.lower() == HEADER:
            text = value.decode("latin-1")
            if SAFE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def loggable_path(path: str) -> str:
    """The path with control characters escaped (no forged log lines), shortened."""
    clean = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", path)
    return clean if len(clean) <= _PATH_MAX else clean[:_PATH_MAX] + "..."


class HttpMiddleware:
    """An ASGI middleware that acts on HTTP requests only (:meth:`http`); other
    scopes (lifespan, websockets) pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (subclasses)."""
        raise NotImplementedError


class RequestLogMiddleware(HttpMiddleware):
    """Logs each HTTP request once it is answered; echoes its id."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = request_id(scope.get("headers", []))
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before it starts one

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []),
                                      (HEADER, rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):  # build the line only when it is written
                self._log(scope, rid, status, (time.perf_counter() - started) * 1000.0)

    @staticmethod
    def _log(scope: Scope, rid: str, status: int, ms: float) -> None:
        method = str(scope.get("method", ""))
        path = loggable_path(str(scope.get("path", "")))
        log.info("request_id=%s method=%s path=%s status=%d duration_ms=%.1f",
                 rid, method, path, status, ms,
                 extra={"request_id": rid, "method": method, "path": path,
                        "status": status, "duration_ms": round(ms, 1)})
