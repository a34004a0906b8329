"""Every refusal (401, 403, 429) written to the audit log, whatever raised it.

A small ASGI middleware: it watches the status of each answer, and for a
refusal reads the JSON error body (``error``, ``message``) and writes a
``refused`` row (:func:`service.store.audit.record_refusal`): status, method, route
path, client address, and the key's id when it is a stored key (its prefix
otherwise, never the key). It works by status code, so refusals from the
error table, from a rate limiter or from a later middleware inside it are all
recorded. The write runs in a worker thread; a failure to write is logged and
never changes the answer.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from service.api.request_log import HttpMiddleware
from service.store.audit import REFUSAL_STATUSES, record_refusal
from service.store.engine import is_transient_error

log = logging.getLogger(__name__)

_BODY_LIMIT = 8192
_ATTEMPTS = 6  # with the driver's own 5 s wait: about a minute in all


class RefusalAuditMiddleware(HttpMiddleware):
    """Writes a ``refused`` audit row for every 401, 403 and 429 answer."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        status: int | None = None
        body = bytearray()

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif (message["type"] == "http.response.body" and status in REFUSAL_STATUSES
                  and len(body) < _BODY_LIMIT):
                body.extend(message.get("body", b"")[:_BODY_LIMIT - len(body)])
            await send(message)

        await self.app(scope, receive, watch)
        if status in REFUSAL_STATUSES:
            await self._record(scope, status, bytes(body))

    @staticmethod
    async def _record(scope: Scope, status: int, body: bytes) -> None:
        app = scope.get("app")
        store = getattr(getattr(app, "state", None), "store", None)
        if store is None:
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        error = message = None
        try:
            parsed: Any = json.loads(body) if body else None
            if isinstance(parsed, dict):
                error = str(parsed.get("error") or "") or None
                message = str(parsed.get("message") or parsed.get("detail") or "") or None
        except ValueError:
            pass
        client = scope.get("client")
        try:
            await run_in_threadpool(
                _record_with_retry, store, status=status, method=str(scope.get("method", "")),
                path=str(scope.get("path", "")), client=client[0] if client else None,
                presented_key=headers.get("x-api-key"), error=error, message=message)
        except Exception:  # noqa: BLE001 - the answer is already sent; never fail it
            log.exception("could not write the audit row for a %s refusal", status)


def _record_with_retry(store: Any, **kwargs: Any) -> None:
    """SQLite has one writer: a long import holds it for longer than the driver's 5 s
    wait, so try again for a while rather than lose the row."""
    for attempt in range(_ATTEMPTS):
        try:
            record_refusal(store, **kwargs)
            return
        except Exception as exc:
            if not is_transient_error(exc) or attempt == _ATTEMPTS - 1:
                raise
            time.sleep(min(0.5 * 2 ** attempt, 5.0))
