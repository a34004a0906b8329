"""The fast path of cached GET answers (:mod:`service.api.fastpath`), both backends:
repeats are answered before routing with the very bytes and headers of the cache,
and every security property of the normal path holds on them: a revoked key is
refused on its next request (revoked as the CLI does, outside the app), the
expensive-route rate limit counts fast hits and answers 429, refusals are audited,
protected reads are audited per hit, an import makes the next request a miss, and
each answer has its request-log line."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from service.api.cache import ResponseCache
from service.api.fastpath import AnswerKeys, KeyCache, VersionReadFailed, VersionReads
from service.app.importer import import_events
from service.main import create_app
from service.settings import Settings
from service.store import Store
from tests.service.store.test_data_version import _policeuk

CRIME = {"layer": "crime", "unit": "h3:8", "area": "boundary:beats",
         "start": "2019-01", "end": "2019-03"}
AMBULANCE = {**CRIME, "layer": "ambulance", "end": "2019-01"}


def _cache(client: TestClient) -> ResponseCache:
    cache: ResponseCache = client.app.state.response_cache  # type: ignore[attr-defined]
    return cache


def _refused(store: Store) -> list[dict]:
    return store.audit_entries("refused")


def test_repeats_are_answered_before_routing(client: TestClient, keys,
                                             town_store: Store) -> None:
    h = keys["analyst"]
    first = client.get("/v1/counts", headers=h, params=CRIME)
    assert first.headers["x-remap-cache"] == "miss"
    assert _cache(client).stats.fast_hits == 0
    for i in range(3):
        again = client.get("/v1/counts", headers=h, params=CRIME)
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["x-remap-cache"] == "hit"
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["content-type"] == "application/json"
        assert again.headers["cache-control"] == "private, no-cache"
        assert _cache(client).stats.fast_hits == i + 1
    r = client.get("/v1/counts", headers={**h, "If-None-Match": first.headers["etag"]},
                   params=CRIME)
    assert r.status_code == 304 and r.content == b""
    assert _cache(client).stats.fast_hits == 4
    # another role's first request is not served another role's answer
    other = client.get("/v1/counts", headers=keys["viewer"], params=CRIME)
    assert other.headers["x-remap-cache"] == "miss"


def test_a_revoked_key_is_refused_on_its_next_request(client: TestClient, keys,
                                                      town_store: Store) -> None:
    h = keys["analyst"]
    assert client.get("/v1/counts", headers=h, params=CRIME).status_code == 200
    assert client.get("/v1/counts", headers=h, params=CRIME).headers["x-remap-cache"] == "hit"
    key_id = next(k["id"] for k in town_store.list_keys() if k["label"] == "test analyst")
    before = len(_refused(town_store))
    # what `remap keys revoke` does, in another process: only the store changes
    Store(town_store.url).revoke_key(key_id)
    r = client.get("/v1/counts", headers=h, params=CRIME)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "authentication_required" or "revoked" in r.text
    refused = _refused(town_store)
    assert len(refused) == before + 1 and refused[-1]["detail"]["status"] == 401
    # the other keys are still served from the fast path
    v = keys["viewer"]
    client.get("/v1/counts", headers=v, params=CRIME)
    fast = _cache(client).stats.fast_hits
    assert client.get("/v1/counts", headers=v, params=CRIME).status_code == 200
    assert _cache(client).stats.fast_hits == fast + 1


def test_unknown_keys_are_refused_and_audited(client: TestClient, keys,
                                              town_store: Store) -> None:
    client.get("/v1/counts", headers=keys["analyst"], params=CRIME)
    before = len(_refused(town_store))
    r = client.get("/v1/counts", headers={"X-API-Key": "rmp_" + "x" * 43}, params=CRIME)
    assert r.status_code == 401
    assert len(_refused(town_store)) == before + 1
    assert client.get("/v1/counts", params=CRIME).status_code == 401


@pytest.fixture
def limited(store: Store, settings: Settings) -> Iterator[TestClient]:
    tight = settings.model_copy(update={"expensive_requests_per_minute": 3})
    with TestClient(create_app(tight, store=store)) as c:
        yield c


def test_the_rate_limit_counts_fast_hits(limited: TestClient, keys,
                                         town_store: Store) -> None:
    h = keys["analyst"]
    states = [limited.get("/v1/counts", headers=h, params=CRIME).headers.get("x-remap-cache")
              for _ in range(3)]
    assert states == ["miss", "hit", "hit"] and _cache(limited).stats.fast_hits == 2
    before = len(_refused(town_store))
    r = limited.get("/v1/counts", headers=h, params=CRIME)
    assert r.status_code == 429 and "retry-after" in r.headers
    refused = _refused(town_store)
    assert len(refused) == before + 1 and refused[-1]["detail"]["status"] == 429
    # another key has its own window; /v1/layers is not an expensive route
    assert limited.get("/v1/counts", headers=keys["viewer"], params=CRIME).status_code == 200
    for _ in range(5):
        assert limited.get("/v1/layers", headers=h).status_code == 200


def test_protected_reads_are_audited_on_every_fast_hit(client: TestClient, keys,
                                                       town_store: Store) -> None:
    h = keys["analyst"]

    def reads() -> int:
        return sum(1 for e in town_store.audit_entries("read_aggregate")
                   if e["detail"]["layer"] == "ambulance")

    assert client.get("/v1/counts", headers=h, params=AMBULANCE).status_code == 200
    n = reads()
    assert n >= 1
    for i in range(2):
        assert client.get("/v1/counts", headers=h,
                          params=AMBULANCE).headers["x-remap-cache"] == "hit"
        assert reads() == n * (i + 2)
    assert _cache(client).stats.fast_hits == 2
    actors = {e["actor"] for e in town_store.audit_entries("read_aggregate")}
    assert len(actors) == 1  # the caller's own key, not the maker's


def test_an_import_makes_the_next_request_a_miss(client: TestClient, keys, town_store: Store,
                                                 tmp_path: Path) -> None:
    h = keys["analyst"]
    first = client.get("/v1/counts", headers=h, params=CRIME)
    assert client.get("/v1/counts", headers=h, params=CRIME).headers["x-remap-cache"] == "hit"
    events = _policeuk(tmp_path / "2019-01-more.csv", 4)
    import_events(town_store, [(events.name, events)], fmt="policeuk", layer="crime")
    after = client.get("/v1/counts", headers=h, params=CRIME)
    assert after.headers["x-remap-cache"] == "miss"
    assert after.headers["etag"] != first.headers["etag"]


def test_fast_answers_have_their_request_log_line(client: TestClient, keys, town_store: Store,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    h = keys["analyst"]
    client.get("/v1/counts", headers=h, params=CRIME)
    with caplog.at_level(logging.INFO, logger="remap.request"):
        r = client.get("/v1/counts", headers={**h, "X-Request-ID": "fast-1"}, params=CRIME)
    assert r.headers["x-remap-cache"] == "hit" and r.headers["x-request-id"] == "fast-1"
    lines = [rec for rec in caplog.records if rec.name == "remap.request"]
    assert len(lines) == 1 and "status=200" in lines[0].getMessage()
    assert "fast-1" in lines[0].getMessage()


def test_the_key_cache_checks_again_when_the_keys_change(store: Store) -> None:
    key = store.create_key("analyst", "k")
    cache = KeyCache()
    v1 = store.keys_version()
    who = cache.principal(store, key, v1)
    assert who is not None and who.role == "analyst"
    assert cache.principal(store, key, v1) == who
    store.revoke_key(who.key_id)
    v2 = store.keys_version()
    assert v2 != v1
    assert cache.principal(store, key, v2) is None
    assert cache.principal(store, "rmp_unknown", v2) is None
    store.create_key("viewer", "another")
    assert store.keys_version() != v2


def _without(headers: list[tuple[bytes, bytes]], *names: bytes) -> list[tuple[bytes, bytes]]:
    return [(k.lower(), v) for k, v in headers if k.lower() not in names]


def test_fast_answers_carry_the_normal_paths_headers_in_order(client: TestClient, keys,
                                                              town_store: Store) -> None:
    h = keys["analyst"]
    made = client.get("/v1/counts", headers=h, params=CRIME)  # answer_response(made=True)
    fast = client.get("/v1/counts", headers=h, params=CRIME)
    assert made.headers["x-remap-cache"] == "miss" and fast.headers["x-remap-cache"] == "hit"
    volatile = (b"x-remap-cache", b"x-request-id", b"date", b"server")
    assert _without(fast.headers.raw, *volatile) == _without(made.headers.raw, *volatile)
    assert fast.content == made.content
    tag = {"If-None-Match": made.headers["etag"]}
    not_modified = client.get("/v1/counts", headers={**h, **tag}, params=CRIME)
    assert not_modified.status_code == 304 and _cache(client).stats.fast_hits == 2
    # the same requests answered by the normal path (the fast path steps aside when its
    # read of the versions fails): same status, headers and bytes
    fail = _FailingStore(town_store)
    client.app.state.store = fail  # type: ignore[attr-defined]
    try:
        normal = client.get("/v1/counts", headers=h, params=CRIME)
        normal_304 = client.get("/v1/counts", headers={**h, **tag}, params=CRIME)
    finally:
        client.app.state.store = town_store  # type: ignore[attr-defined]
    assert fail.failed == 2 and _cache(client).stats.fast_hits == 2
    assert normal.headers["x-remap-cache"] == "hit" and normal.content == fast.content
    assert _without(normal.headers.raw, b"x-request-id", b"date", b"server") == _without(
        fast.headers.raw, b"x-request-id", b"date", b"server")
    assert normal_304.status_code == 304
    assert _without(normal_304.headers.raw, b"x-request-id", b"date", b"server") == _without(
        not_modified.headers.raw, b"x-request-id", b"date", b"server")


class _FailingStore:
    """A store whose version reads fail (the fast path must step aside)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.failed = 0

    def keys_version(self) -> str:
        self.failed += 1
        raise OSError("the database went away")

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._store, name)


class _GatedStore:
    """Versions that change when told, and reads that wait for a gate: to see which
    requests a read serves."""

    def __init__(self) -> None:
        self.version = 0
        self.started = 0
        self.gate = threading.Event()
        self.entered = threading.Event()

    def keys_version(self) -> str:
        self.started += 1
        seen = self.version
        self.entered.set()
        assert self.gate.wait(10)
        return f"k{seen}"

    def data_version(self) -> str:
        return f"d{self.version}"


def test_no_request_is_answered_from_a_read_that_started_before_it_arrived() -> None:
    store = _GatedStore()
    reads = VersionReads()
    got: dict[str, tuple[str, str]] = {}

    async def ask(name: str) -> None:
        got[name] = await reads.current(store)  # type: ignore[arg-type]

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, "first")
            await anyio.to_thread.run_sync(store.entered.wait, 10)  # read 1 is running
            store.entered.clear()
            store.version = 1  # e.g. a key revoked by another process, committed now
            for name in ("second", "third", "fourth"):
                tg.start_soon(ask, name)
            await anyio.sleep(0.05)
            assert store.started == 1 and "first" not in got  # they wait for read 2
            store.gate.set()

    anyio.run(main)
    assert got["first"] == ("k0", "d1")  # read 1 began before the change
    # the three that arrived during read 1 share read 2, which began after the change
    assert got["second"] == got["third"] == got["fourth"] == ("k1", "d1")
    assert store.started == 2 and reads.reads == 2 and reads.requests == 4


def test_a_failed_read_fails_only_the_requests_that_shared_it() -> None:
    store = _GatedStore()
    store.gate.set()
    reads = VersionReads()

    class Broken:
        def keys_version(self) -> str:
            raise OSError("disk I/O error")

    async def main() -> None:
        with anyio.fail_after(10), pytest.raises(VersionReadFailed):  # raises, never hangs
            await reads.current(Broken())  # type: ignore[arg-type]
        assert await reads.current(store) == ("k0", "d0")  # type: ignore[arg-type]

    anyio.run(main)
    assert reads.reads == 2


def test_remembered_answer_keys_are_the_caches_keys() -> None:
    from starlette.requests import Request

    from service.api.cache import answer_key

    def scope(path: str, query: bytes) -> dict:
        return {"type": "http", "method": "GET", "path": path, "query_string": query,
                "headers": []}

    keys = AnswerKeys(max_keys=3)
    cases = [("/v1/counts", b"layer=crime&unit=h3%3A8", "analyst", "v1"),
             ("/v1/counts", b"unit=h3%3A8&layer=crime", "analyst", "v1"),  # same answer
             ("/v1/counts", b"layer=crime&unit=h3%3A8", "viewer", "v1"),
             ("/v1/counts", b"layer=crime&unit=h3%3A8", "analyst", "v2"),
             ("/v1/hotspots", b"layer=crime&unit=h3%3A8", "analyst", "v1"),
             ("/v1/counts", b"layer=crime&category=b&category=a", "analyst", "v1"),
             ("/v1/counts", b"layer=crime&category=a&category=b", "analyst", "v1")]
    for _ in range(2):  # made, then remembered (and forgotten past max_keys)
        got = [keys.key(scope(p, q), role, v) for p, q, role, v in cases]
        assert got == [answer_key(Request(scope(p, q)), role, v) for p, q, role, v in cases]
    assert got[0] == got[1] and len(set(got)) == len(cases) - 1


def test_a_request_cancelled_before_its_read_starts_leaves_no_one_waiting() -> None:
    store = _GatedStore()
    reads = VersionReads()
    outcome: dict[str, object] = {}

    async def opener() -> None:  # opens read 2, then is cancelled before it starts
        with anyio.CancelScope() as scope:
            outcome["scope"] = scope
            await reads.current(store)  # type: ignore[arg-type]
        outcome["opener"] = "cancelled" if scope.cancelled_caught else "ran"

    async def joiner() -> None:
        try:
            outcome["joiner"] = await reads.current(store)  # type: ignore[arg-type]
        except VersionReadFailed:
            outcome["joiner"] = "normal path"

    async def main() -> None:
        with anyio.fail_after(10):  # never hangs
            await scenario()
        # afterwards the reads work as before
        outcome["after"] = await reads.current(store)  # type: ignore[arg-type]

    async def scenario() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(reads.current, store)  # type: ignore[arg-type]  # read 1, at the gate
            await anyio.to_thread.run_sync(store.entered.wait, 10)
            tg.start_soon(opener)
            await anyio.sleep(0.02)
            tg.start_soon(joiner)
            await anyio.sleep(0.02)
            outcome["scope"].cancel()  # type: ignore[attr-defined]
            await anyio.sleep(0.02)
            store.gate.set()

    anyio.run(main)
    assert outcome["opener"] == "cancelled" and outcome["joiner"] == "normal path"
    assert outcome["after"] == ("k0", "d0") and reads.reads == 2
