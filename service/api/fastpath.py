"""Repeated GET answers straight from the response cache, before FastAPI's machinery.

A cached answer (:mod:`service.api.cache`) costs little to find, but a request
that reaches it through FastAPI pays for the routing, the parsing and
validation of every parameter and a worker-thread hop for each synchronous
dependency (the key look-up, the rate limit, the cache scope, the route):
about 3 ms of CPU a request, most of the server's time under load
(benchmarks/RESULTS.md, "The API under load"). :class:`CachedAnswerFastPath`
is an ASGI middleware, inside the request log and the refusal audit, that
answers a ``GET`` from the cache when it can prove the normal path would give
the same answer:

1. the path is one whose route has kept an answer (``ResponseCache.paths``)
   and the request carries ``X-API-Key``;
2. the store's :meth:`Store.keys_version` and :meth:`~service.store.Store.data_version`
   are read by a read that **started after this request arrived**
   (:class:`VersionReads`: the requests that arrive while one read is running
   share the next one, so under load one worker-thread hop and two small
   queries serve a whole batch of requests, and none is answered from a
   version read before it came);
3. the key is a stored, unrevoked key: found in the in-memory :class:`KeyCache`,
   whose entries hold only while the keys version is what it was when the key
   was checked (else it is checked against the store, in a worker thread), so a
   key revoked by any process (``remap keys revoke``) is refused on its very
   next request;
4. the answer's key -- route, normalised query, the key's **role**, disclosure
   policy, data version (:func:`service.api.cache.answer_key`, the same
   function, remembered by :class:`AnswerKeys`) -- names a kept answer. Such an answer exists only if a request
   with the same path, query and role passed every check of the route and was
   answered by it: parameters, role, cost limits are deterministic in those,
   so they would pass again;
5. the answer's route counts against the expensive-route limit: this request
   is counted too (:func:`service.api.ratelimit`'s same window);
6. the audit entries the answer's making wrote are written again under this
   caller (one audit entry per read, as on the normal path), in a worker
   thread, each committed before the answer is sent.

Steps 3-5 run on the event loop (dictionary look-ups and a hash: a few
microseconds, less than a thread hop). The answer is sent as two ASGI
messages with the same status, headers and bytes as
:func:`service.api.cache.answer_response` (tested), without building a
Starlette response.

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
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from service.api.auth import Principal
from service.api.cache import REVALIDATE, CachedAnswer, ResponseCache, answer_key, etag_matches
from service.api.ratelimit import limits_of
from service.api.request_log import HttpMiddleware
from service.app.disclosure import current_policy
from service.store import Store

log = logging.getLogger(__name__)

_KEY_HEADER = b"x-api-key"
_IF_NONE_MATCH = b"if-none-match"
_REVALIDATE = REVALIDATE.encode("latin-1")


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

    def known(self, presented: str, keys_version: str) -> Principal | None:
        """The caller of ``presented`` if it was verified at ``keys_version`` (no
        store access: safe on the event loop), else ``None`` (ask :meth:`principal`)."""
        found = self._verified.get(hashlib.sha256(presented.encode()).hexdigest())
        if found is not None and found.keys_version == keys_version:
            return found.principal
        return None

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


class VersionReadFailed(RuntimeError):
    """The shared read of the versions failed or was cancelled (the request goes on
    to the normal path, which reads them itself)."""


@dataclass(eq=False)
class _Read:
    """One read of the versions and the requests waiting for it."""

    done: anyio.Event = field(default_factory=anyio.Event)
    versions: tuple[str, str] | None = None
    waiting: int = 1


def _read_versions(store: Store) -> tuple[str, str]:
    return store.keys_version(), store.data_version()


class VersionReads:
    """``(keys_version, data_version)`` for the fast path, read **after** the asking
    request arrived, one read shared by every request that arrives while the read
    before it runs.

    Reads run one at a time, each in a worker thread. A request that arrives while
    no read is waiting to start opens the next one (it starts as soon as the read
    in flight, if any, has ended); the requests arriving until it starts join it.
    A read in flight when a request arrives may predate a write that request must
    see (a revoke, an import), so it is never used for it: every request gets a
    read that began after it arrived, hence sees every commit made before it did,
    exactly as if it had queried the store itself. Under load the cost of the two
    queries and of the thread hop is shared by the batch (``stats``: requests
    served and reads made). Event-loop state: used only from the server's loop.
    """

    def __init__(self) -> None:
        self._next: _Read | None = None  # not started: takes more requests
        self._running: _Read | None = None
        self.requests = 0
        self.reads = 0

    async def current(self, store: Store) -> tuple[str, str]:
        """Both versions, read by a read that started after this call; raises
        :class:`VersionReadFailed` when that read failed or was cancelled."""
        self.requests += 1
        read = self._next
        if read is not None:
            read.waiting += 1
        else:
            read = self._next = _Read()
            await self._run(read, store)
        await read.done.wait()
        if read.versions is None:
            raise VersionReadFailed("the shared read of the store's versions failed")
        return read.versions

    async def _run(self, read: _Read, store: Store) -> None:
        """Start ``read`` once the read in flight has ended, then make it."""
        try:
            while self._running is not None:
                await self._running.done.wait()
            if self._next is read:
                self._next = None
            self._running = read
            self.reads += 1
            read.versions = await anyio.to_thread.run_sync(_read_versions, store)
        except Exception:
            log.exception("reading the store's versions failed; %d requests take the "
                          "normal path", read.waiting)
        finally:
            # also on cancellation: the joined requests must not wait forever
            if self._next is read:
                self._next = None
            if self._running is read:
                self._running = None
            read.done.set()


class AnswerKeys:
    """:func:`service.api.cache.answer_key` remembered by what it is a function of: the
    raw path and query string (their parsing and sorting is most of its cost), the
    role, the disclosure policy and the data version. At most ``max_keys`` entries
    (then forgotten together); event-loop state."""

    def __init__(self, max_keys: int = 4096) -> None:
        self.max_keys = max_keys
        self._keys: dict[tuple[str, bytes, str, str, str], str] = {}

    def key(self, scope: Scope, role: str, data_version: str) -> str:
        """The answer key of the request ``scope`` (a Starlette request is made only
        the first time)."""
        memo = (scope["path"], scope.get("query_string", b""), role, repr(current_policy()),
                data_version)
        found = self._keys.get(memo)
        if found is None:
            if len(self._keys) >= self.max_keys:
                self._keys.clear()
            found = self._keys[memo] = answer_key(Request(scope), role, data_version)
        return found


@dataclass(frozen=True)
class _Hit:
    entry: CachedAnswer
    who: Principal


def _write_audits(store: Store, actor: str,
                  audits: tuple[tuple[str, dict[str, Any]], ...]) -> None:
    for action, detail in audits:
        store.audit(None, actor, action, detail)


def _state_attr(state: Any, name: str, make: type) -> Any:
    found = getattr(state, name, None)
    if found is None:
        found = make()
        setattr(state, name, found)
    return found


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
        try:
            hit = await self._find(scope, state, cache, presented)
        except Exception as exc:  # noqa: BLE001 - the normal path answers (and reports) instead
            if not isinstance(exc, VersionReadFailed):  # logged once, by the read
                log.exception("fast path failed; the request goes through the normal path")
            hit = None
        if hit is None:
            await self.app(scope, receive, send)
            return
        await self._send(scope, send, cache, hit.entry)

    @staticmethod
    async def _find(scope: Scope, state: Any, cache: ResponseCache,
                    presented: str) -> _Hit | None:
        """The kept answer for this request and caller, counted and audited, or
        ``None`` (the normal path answers). On the event loop; the store is read
        in worker threads."""
        store: Store = state.store
        keys: KeyCache = _state_attr(state, "key_cache", KeyCache)
        reads: VersionReads = _state_attr(state, "version_reads", VersionReads)
        keys_version, data_version = await reads.current(store)
        who = keys.known(presented, keys_version)
        if who is None:
            who = await anyio.to_thread.run_sync(keys.principal, store, presented,
                                                 keys_version)
            if who is None:
                return None  # 401 or 429, and the failure counted, by the normal path
        answer_keys: AnswerKeys = _state_attr(state, "answer_keys", AnswerKeys)
        entry = cache.get(answer_keys.key(scope, who.role, data_version))
        if entry is None:
            return None
        limits = getattr(state, "rate_limits", None) or limits_of(Request(scope))
        if entry.expensive and limits.expensive.hit(who.key_id):
            return None  # over the limit (not counted): the normal path answers 429
        cache.count_hit(fast=True)
        if entry.audits:
            await anyio.to_thread.run_sync(_write_audits, store, who.actor, entry.audits)
        return _Hit(entry, who)

    @staticmethod
    async def _send(scope: Scope, send: Send, cache: ResponseCache,
                    entry: CachedAnswer) -> None:
        """The kept answer as :func:`service.api.cache.answer_response` makes it for a
        hit (same status, headers in the same order, bytes): 304 when
        ``If-None-Match`` names it."""
        headers = [(b"etag", entry.etag.encode("latin-1")), (b"cache-control", _REVALIDATE),
                   (b"x-remap-cache", b"hit")]
        if_none_match = next((value.decode("latin-1") for name, value
                              in scope.get("headers", ()) if name == _IF_NONE_MATCH), None)
        if etag_matches(if_none_match, entry.etag):
            cache.stats.not_modified += 1
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [(b"content-length", str(len(entry.body)).encode("latin-1")),
                    (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})
