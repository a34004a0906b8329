"""Repeated GET answers straight from the response cache, before FastAPI's machinery.

A cached answer (:mod:`service.api.cache`) costs little to find, but a request
that reaches it through FastAPI pays for the routing, the parsing and
validation of every parameter and a worker-thread hop for each synchronous
dependency (the key look-up, the rate limit, the cache scope, the route):
about 3 ms of CPU a request, most of the server's time under load
(benchmarks/RESULTS.md, "The API under load"). :class:`CachedAnswerFastPath`
is an ASGI middleware, inside the request log and the refusal audit, that
answers a ``GET`` from the cache when it can prove the normal path would give
the same answer, in one worker-thread hop:

1. the path is one whose route has kept an answer (``ResponseCache.paths``)
   and the request carries ``X-API-Key``;
2. the key is a stored, unrevoked key: checked against the store, or found in
   the in-memory :class:`KeyCache` while :meth:`Store.keys_version` (one query of
   the small keys table, made on every request) is what it was when the key was
   checked, so a key revoked by any process (``remap keys revoke``) is refused
   on its very next request;
3. the store's :meth:`~service.store.Store.data_version` is read (one query, as
   the normal path does) and the answer's key -- route, normalised query, the
   key's **role**, disclosure policy, data version (:func:`service.api.cache.answer_key`,
   the same function) -- names a kept answer. Such an answer exists only if a
   request with the same path, query and role passed every check of the route
   and was answered by it: parameters, role, cost limits are deterministic in
   those, so they would pass again;
4. the answer's route counts against the expensive-route limit: this request
   is counted too (:func:`service.api.ratelimit`'s same window);
5. the audit entries the answer's making wrote are written again under this
   caller (one audit entry per read, as on the normal path).

Anything else -- no key, an unknown or revoked key, no kept answer, the rate
limit reached, any error -- goes on to FastAPI untouched, which answers (401,
429 with its refusal audit, a miss...) exactly as before: the fast path only
ever answers 200 or 304 with a kept answer's bytes and headers, and never
counts a request it then passes on.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass

import anyio.to_thread
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from service.api.auth import Principal
from service.api.cache import CachedAnswer, ResponseCache, answer_key, answer_response
from service.api.ratelimit import limits_of
from service.api.request_log import HttpMiddleware
from service.store import Store

log = logging.getLogger(__name__)

_KEY_HEADER = b"x-api-key"


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    keys_version: str


class KeyCache:
    """Keys verified against the store, by their SHA-256, each valid while the keys
    table is at the version it was checked at (:meth:`Store.keys_version`): any
    create or revoke, by any process, makes every entry be checked again."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._verified: dict[str, _Verified] = {}
        self._lock = threading.Lock()

    def principal(self, store: Store, presented: str, keys_version: str) -> Principal | None:
        """The caller of ``presented`` (``None``: unknown or revoked)."""
        digest = hashlib.sha256(presented.encode()).hexdigest()
        found = self._verified.get(digest)
        if found is not None and found.keys_version == keys_version:
            return found.principal
        row = store.role_for_key(presented)
        if row is None:
            with self._lock:
                self._verified.pop(digest, None)
            return None
        who = Principal(key_id=row[0], role=row[1])
        with self._lock:
            if len(self._verified) >= self.max_keys:
                self._verified.clear()
            self._verified[digest] = _Verified(who, keys_version)
        return who


@dataclass(frozen=True)
class _Hit:
    entry: CachedAnswer
    who: Principal


class CachedAnswerFastPath(HttpMiddleware):
    """Answers repeated ``GET`` requests of cached routes from the response cache
    (see the module's notes); passes everything else on."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state if "app" in scope else None
        cache: ResponseCache | None = getattr(state, "response_cache", None)
        presented = None
        if cache is not None and cache.enabled and scope.get("path") in cache.paths:
            for name, value in scope.get("headers", ()):
                if name == _KEY_HEADER:
                    presented = value.decode("latin-1")
                    break
        if not presented or cache is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            hit = await anyio.to_thread.run_sync(self._find, request, state, cache, presented)
        except Exception:  # noqa: BLE001 - the normal path answers (and reports) instead
            log.exception("fast path failed; the request goes through the normal path")
            hit = None
        if hit is None:
            await self.app(scope, receive, send)
            return
        response = answer_response(request, hit.entry, made=False)
        if response.status_code == 304:
            cache.stats.not_modified += 1
        await response(scope, receive, send)

    @staticmethod
    def _find(request: Request, state: object, cache: ResponseCache,
              presented: str) -> _Hit | None:
        """In a worker thread: the kept answer for this request and caller, counted
        and audited, or ``None`` (the normal path answers)."""
        store: Store = state.store  # type: ignore[attr-defined]
        keys: KeyCache | None = getattr(state, "key_cache", None)
        if keys is None:
            keys = state.key_cache = KeyCache()  # type: ignore[attr-defined]
        who = keys.principal(store, presented, store.keys_version())
        if who is None:
            return None  # 401 or 429, and the failure counted, by the normal path
        entry = cache.get(answer_key(request, who.role, store.data_version()))
        if entry is None:
            return None
        if entry.expensive and limits_of(request).expensive.hit(who.key_id):
            return None  # over the limit (not counted): the normal path answers 429
        cache.count_hit(fast=True)
        for action, detail in entry.audits:
            store.audit(None, who.actor, action, detail)
        return _Hit(entry, who)
