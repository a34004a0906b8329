"""Uploads streamed to disk, and the worker pool that imports them off the event loop.

An upload is copied in chunks to a temporary file (never held whole in
memory); the size limit (``REMAP_UPLOAD_MAX_BYTES``) is enforced while
copying, so an over-large upload is refused (413, naming the file) after at
most the limit plus one chunk has been read, and nothing is written to the
store. Imports then run in a bounded thread pool (``REMAP_IMPORT_WORKERS``),
so ``/healthz`` and other requests keep being answered while they run.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request, UploadFile

from service.api.proxy import route_path
from service.settings import Settings
from spatial.errors import TooLargeError

CHUNK = 1024 * 1024
T = TypeVar("T")


async def save_upload(upload: UploadFile, folder: Path, settings: Settings, *,
                      index: int = 0) -> Path:
    """Copy ``upload`` to a file in ``folder`` chunk by chunk, enforcing the size limit."""
    name = upload.filename or f"upload-{index + 1}"
    suffix = "".join(Path(name).suffixes[-1:])[:16]
    path = folder / f"{index:04d}{suffix if suffix.isascii() else ''}"
    limit = settings.upload_max_bytes
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLargeError(
                    f"{name}: upload larger than {limit:,} bytes (REMAP_UPLOAD_MAX_BYTES)",
                    details={"file": name, "limit": "upload_max_bytes",
                             "limit_value": limit})
            out.write(chunk)
    return path


@asynccontextmanager
async def upload_folder() -> AsyncIterator[Path]:
    """A temporary folder for one request's uploads, removed afterwards."""
    tmp = tempfile.TemporaryDirectory(prefix="remap-upload-")
    try:
        yield Path(tmp.name)
    finally:
        # removing a large file can take a moment: not on the event loop
        await asyncio.get_running_loop().run_in_executor(None, tmp.cleanup)


def import_pool(request: Request) -> ThreadPoolExecutor:
    """The application's bounded pool of import workers (made on first use)."""
    pool: ThreadPoolExecutor | None = getattr(request.app.state, "import_pool", None)
    if pool is None:
        workers = request.app.state.settings.import_workers
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="remap-import")
        request.app.state.import_pool = pool
    return pool


async def run_off_loop(request: Request, fn: Callable[..., T], /, *args: Any,
                       **kwargs: Any) -> T:
    """Run ``fn`` in the import pool and await it; the event loop stays free."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(import_pool(request), partial(fn, *args, **kwargs))


#: POST routes whose bodies are uploads; their request bodies are capped while they stream
UPLOAD_PATHS = ("/v1/imports", "/v1/boundaries", "/v1/gazetteers")


class _BodyTooLarge(Exception):
    pass


class UploadBodyLimit:
    """ASGI middleware: refuse an upload request whose body exceeds
    ``REMAP_UPLOAD_REQUEST_MAX_BYTES`` with 413, from ``Content-Length`` before
    reading anything, or while the body streams (chunked uploads), so a huge
    upload never fills the disk spool the multipart parser writes to."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.limit = settings.upload_request_max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope.get("method") != "POST"
                or route_path(scope) not in UPLOAD_PATHS):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, int(declared))
            return
        seen = 0
        started = False

        async def counting_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send, seen)

    async def _refuse(self, send: Any, size: int) -> None:
        body = json.dumps({
            "error": TooLargeError.code,
            "message": f"upload request of {size:,}+ bytes is larger than {self.limit:,} "
                       "bytes (REMAP_UPLOAD_REQUEST_MAX_BYTES)",
            "details": {"limit": "upload_request_max_bytes", "limit_value": self.limit}}
        ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
