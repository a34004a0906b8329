"""Answers of GET routes kept in memory while the data they were made from are unchanged.

A route takes the dependency :func:`response_cache` and hands its work to
:meth:`CacheScope.answer`::

    def counts(..., who: Principal = Depends(expensive()),
               cache: CacheScope = Depends(response_cache)) -> Any:
        return cache.answer(lambda store: counts_collection(store, req, ...))

The key of an answer is the route, its query parameters (sorted by name, the
order of repeated values kept), the caller's **role** (what a role may see is
decided before anything is cached: one role's answer is never another's), the
running disclosure policy and the store's :meth:`~service.store.Store.data_version`
(every write that can change an answer changes it). The answer is kept as the
bytes the route's response model makes (exactly what FastAPI would send), in an
in-process LRU bounded by bytes (``REMAP_RESPONSE_CACHE_MB``; 0 turns all of
this off). Every answer it handles carries a strong ``ETag`` made from its key,
``Cache-Control: private, no-cache`` (clients may keep it, and must ask again,
with ``If-None-Match``, which answers 304 while it holds) and ``X-Remap-Cache``
(``hit``, ``miss`` or ``bypass``).

What is not cached (``bypass``, ``Cache-Control: private, no-store``): an
answer the route says is not deterministic. Gi*, LISA and Moran's I without an
explicit ``seed`` draw a new seed for every request: such a request asks for a
fresh Monte Carlo draw, and serving an earlier one (with its seed) would make a
random answer look fixed, and hide its variability from whoever repeats the
request to see it. Keying on the drawn seed instead would be useless: the
next request cannot name a seed it has not seen. A client that wants a
repeatable, cacheable answer sends ``seed``; the answer reports it either way.

Audit: reads of protected layers are audited by the work itself
(:func:`service.app.disclosure.audit_read`). While an answer is made the
store's ``audit`` calls are recorded with it, and each later request served
from the cache (or answered 304 from it) writes the same entries again under
its own actor: the audit log has one entry per read, hit or not.

Identical requests arriving together are made once: the first computes, the
others wait for it and are then served from the cache (with their audit).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from fastapi import Depends, Request, Response

from service.api.auth import Principal, get_store, principal
from service.app.disclosure import current_policy
from service.store import Store

#: ``Cache-Control`` of cached answers: kept only by the caller, revalidated each use.
REVALIDATE = "private, no-cache"
#: ``Cache-Control`` of answers that are not deterministic.
NO_STORE = "private, no-store"
#: Bytes counted for an entry beyond its body (key, headers, bookkeeping).
ENTRY_OVERHEAD = 512


@dataclass(frozen=True)
class CachedAnswer:
    """One answer: its JSON bytes, its ``ETag`` and the audit entries its making wrote
    (``action``, ``detail``), to be written again for each request it serves."""

    body: bytes
    etag: str
    audits: tuple[tuple[str, dict[str, Any]], ...] = ()
    #: made by a route counted against the expensive-route rate limit (every request
    #: it serves is counted too, also on the fast path: :mod:`service.api.fastpath`)
    expensive: bool = False

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD


@dataclass
class CacheStats:
    hits: int = 0
    #: of the hits, those answered by :mod:`service.api.fastpath` (before routing)
    fast_hits: int = 0
    misses: int = 0
    bypasses: int = 0
    not_modified: int = 0
    evictions: int = 0
    too_large: int = 0


@dataclass
class _Pending:
    """An answer being made: the others asking for it wait on ``done``."""

    done: threading.Event = field(default_factory=threading.Event)


class ResponseCache:
    """A thread-safe LRU of :class:`CachedAnswer` bounded by ``max_bytes``, with one
    maker per key (:meth:`get_or_make`)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._pending: dict[str, _Pending] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        #: the paths of the routes that have kept an answer (the fast path's routes)
        self.paths: frozenset[str] = frozenset()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def add_path(self, path: str) -> None:
        if path not in self.paths:
            with self._lock:
                self.paths = self.paths | {path}

    def count_hit(self, *, fast: bool = False) -> None:
        with self._lock:
            self.stats.hits += 1
            self.stats.fast_hits += fast

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def count_bypass(self) -> None:
        with self._lock:
            self.stats.bypasses += 1

    def get(self, key: str) -> CachedAnswer | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: CachedAnswer) -> None:
        with self._lock:
            self._put(key, entry)

    def _put(self, key: str, entry: CachedAnswer) -> None:
        if entry.size > self.max_bytes:
            self.stats.too_large += 1
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._entries[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size
            self.stats.evictions += 1

    def get_or_make(self, key: str, make: Callable[[], CachedAnswer]
                    ) -> tuple[CachedAnswer, bool]:
        """The answer under ``key`` and whether it was made by this call (a miss).

        Of several callers asking for the same missing key at once one makes it
        while the others wait, then find it. When the making fails (the error goes
        to its caller) or the answer is too large to keep, a waiting caller makes
        it itself."""
        with self._lock:
            entry = self._hit(key)
            if entry is not None:
                return entry, False
            pending = self._pending.get(key)
            mine = pending is None
            if pending is None:
                pending = self._pending[key] = _Pending()
        if not mine:
            pending.done.wait()
            with self._lock:
                entry = self._hit(key)
                if entry is not None:
                    return entry, False
            entry = make()  # the maker failed, or its answer was too large to keep
            with self._lock:
                self.stats.misses += 1
                self._put(key, entry)
            return entry, True
        try:
            entry = make()
            with self._lock:
                self.stats.misses += 1
                self._put(key, entry)
            return entry, True
        finally:
            with self._lock:
                del self._pending[key]
            pending.done.set()

    def _hit(self, key: str) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.stats.hits += 1
        return entry


_CREATE_LOCK = threading.Lock()


def cache_of(request: Request) -> ResponseCache:
    """The application's cache (``app.state.response_cache``), made on first use from
    ``REMAP_RESPONSE_CACHE_MB``."""
    state = request.app.state
    cache: ResponseCache | None = getattr(state, "response_cache", None)
    if cache is None:
        with _CREATE_LOCK:
            cache = getattr(state, "response_cache", None)
            if cache is None:
                mb = state.settings.response_cache_mb
                cache = state.response_cache = ResponseCache(int(mb) * 1024 * 1024)
    return cache


class _AuditRecorder:
    """The store, with its ``audit`` calls also recorded (to be written again on hits)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.audits: list[tuple[str, dict[str, Any]]] = []

    def audit(self, conn: Any, actor: str, action: str, detail: dict[str, Any]) -> None:
        self._store.audit(conn, actor, action, detail)
        self.audits.append((action, dict(detail)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def normalised_query(request: Request) -> tuple[tuple[str, str], ...]:
    """The query parameters sorted by name; repeated values keep their order (the
    order of ``category=`` values is part of the answer)."""
    return tuple(sorted(request.query_params.multi_items(), key=lambda kv: kv[0]))


def etag_matches(header: str | None, etag: str) -> bool:
    """Does an ``If-None-Match`` header name ``etag`` (weak comparison, RFC 9110 13.1.2)?"""
    if not header:
        return False
    bare = etag.removeprefix("W/")
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == bare:
            return True
    return False


def answer_key(request: Request, role: str, data_version: str) -> str:
    """The cache key of ``request`` for a caller of ``role`` at ``data_version``: the
    route's path, the normalised query, the role, the disclosure policy and the
    version, hashed."""
    parts = (request.url.path, normalised_query(request), role, repr(current_policy()),
             data_version)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def cache_headers(entry: CachedAnswer, *, made: bool) -> dict[str, str]:
    return {"ETag": entry.etag, "Cache-Control": REVALIDATE,
            "X-Remap-Cache": "miss" if made else "hit"}


def answer_response(request: Request, entry: CachedAnswer, *, made: bool) -> Response:
    """The response of a kept answer: 304 when ``If-None-Match`` names it, else its bytes."""
    headers = cache_headers(entry, made=made)
    if etag_matches(request.headers.get("if-none-match"), entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=entry.body, media_type="application/json", headers=headers)


@dataclass
class CacheScope:
    """What one request needs to be answered through the cache."""

    request: Request
    response: Response
    store: Store
    who: Principal
    cache: ResponseCache

    def key(self) -> str:
        """The request's key: route, normalised query, role, disclosure policy, data
        version (one query of the store)."""
        return answer_key(self.request, self.who.role, self.store.data_version())

    def answer(self, work: Callable[[Store], Any], *, deterministic: bool = True) -> Any:
        """The route's answer: ``work(store)`` (the content the route would return),
        made or served from the cache; 304 when ``If-None-Match`` names it.

        ``deterministic=False`` (a random draw the caller did not fix) answers afresh
        and is not kept."""
        if not self.cache.enabled:
            return work(self.store)
        if not deterministic:
            self.cache.count_bypass()
            self.response.headers["Cache-Control"] = NO_STORE
            self.response.headers["X-Remap-Cache"] = "bypass"
            return work(self.store)
        key = self.key()
        etag = f'"{key[:40]}"'

        def make() -> CachedAnswer:
            recorder = _AuditRecorder(self.store)
            content = work(cast(Store, recorder))
            return CachedAnswer(body=self._serialise(content), etag=etag,
                                audits=tuple(recorder.audits), expensive=bool(
                                    getattr(self.request.state, "expensive_counted", False)))

        entry, made = self.cache.get_or_make(key, make)
        if not made:
            for action, detail in entry.audits:
                self.store.audit(None, self.who.actor, action, detail)
        self.cache.add_path(self.request.scope["path"])
        response = answer_response(self.request, entry, made=made)
        if response.status_code == 304:
            self.cache.stats.not_modified += 1
        return response

    def _serialise(self, content: Any) -> bytes:
        """``content`` as the route's response model sends it (FastAPI's own fast path:
        validate, then pydantic's ``dump_json`` with the route's options)."""
        route = self.request.scope["route"]
        fld = route.response_field
        value, errors = fld.validate(content, {}, loc=("response",))
        if errors:
            from fastapi.exceptions import ResponseValidationError

            raise ResponseValidationError(errors=errors, body=content)
        body: bytes = fld.serialize_json(
            value, include=route.response_model_include,
            exclude=route.response_model_exclude, by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none)
        return body


def response_cache(request: Request, response: Response,
                   store: Store = Depends(get_store),
                   who: Principal = Depends(principal)) -> CacheScope:
    """The dependency: the request's :class:`CacheScope` (see the module's notes)."""
    return CacheScope(request=request, response=response, store=store, who=who,
                      cache=cache_of(request))
