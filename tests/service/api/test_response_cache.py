"""The response cache of GET analysis routes (:mod:`service.api.cache`) on the synthetic
town, both backends: a repeat is a hit with the very bytes of the uncached answer, any
write that changes the data (an import, a boundary import, an operation) makes the next
request a miss, 304 to a matching ``If-None-Match``, one role's answer never served to
another, protected reads audited on every hit, unseeded permutations never cached,
``REMAP_RESPONSE_CACHE_MB=0`` turns it off, and identical requests at once are made once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.cache import ENTRY_OVERHEAD, CachedAnswer, ResponseCache, etag_matches
from service.app.importer import import_boundaries, import_events
from service.main import create_app
from service.settings import Settings
from service.store import Store
from service.store.audit import verify
from tests.service.store.test_data_version import _boundaries, _policeuk

CRIME = {"layer": "crime", "unit": "h3:8", "area": "boundary:beats",
         "start": "2019-01", "end": "2019-03"}
AMBULANCE = {**CRIME, "layer": "ambulance", "end": "2019-01"}  # partners: one month
ROUTES = [("/v1/counts", CRIME), ("/v1/hotspots", {**CRIME, "seed": "3"}),
          ("/v1/profile", CRIME), ("/v1/autocorrelation", {**CRIME, "seed": "3"}),
          ("/v1/layers", {})]


def _cache(client: TestClient) -> ResponseCache:
    cache: ResponseCache = client.app.state.response_cache  # type: ignore[attr-defined]
    return cache


@pytest.fixture
def uncached(store: Store, settings: Settings) -> Iterator[TestClient]:
    """A second app on the same store with the cache off."""
    off = settings.model_copy(update={"response_cache_mb": 0})
    with TestClient(create_app(off, store=store)) as c:
        yield c


def _reads(store: Store, layer: str) -> list[dict[str, Any]]:
    return [e for e in store.audit_entries("read_aggregate") if e["detail"]["layer"] == layer]


@pytest.mark.parametrize(("path", "params"), ROUTES)
def test_a_repeat_is_a_hit_with_the_bytes_of_the_uncached_answer(
        client: TestClient, uncached: TestClient, keys, town_store: Store, path: str,
        params: dict[str, str]) -> None:
    h = keys["analyst"]
    first = client.get(path, headers=h, params=params)
    assert first.status_code == 200, first.text
    assert first.headers["x-remap-cache"] == "miss"
    assert first.headers["cache-control"] == "private, no-cache"
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    second = client.get(path, headers=h, params=params)
    assert second.headers["x-remap-cache"] == "hit" and second.headers["etag"] == etag
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    plain = uncached.get(path, headers=h, params=params)
    assert plain.status_code == 200
    assert "etag" not in plain.headers and "x-remap-cache" not in plain.headers
    assert plain.content == first.content  # byte for byte what FastAPI itself sends
    # the parameters in another order are the same request
    again = client.get(path, headers=h, params=dict(reversed(list(params.items()))))
    assert again.headers["x-remap-cache"] == "hit" and again.headers["etag"] == etag


def test_if_none_match_answers_304(client: TestClient, keys, town_store: Store) -> None:
    h = keys["analyst"]
    etag = client.get("/v1/counts", headers=h, params=CRIME).headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        r = client.get("/v1/counts", headers={**h, "If-None-Match": header}, params=CRIME)
        assert r.status_code == 304, header
        assert r.content == b"" and r.headers["etag"] == etag
        assert r.headers["cache-control"] == "private, no-cache"
    r = client.get("/v1/counts", headers={**h, "If-None-Match": '"other"'}, params=CRIME)
    assert r.status_code == 200 and r.json()["features"]
    # another request has another tag
    other = client.get("/v1/counts", headers={**h, "If-None-Match": etag},
                       params={**CRIME, "end": "2019-02"})
    assert other.status_code == 200 and other.headers["etag"] != etag


def test_writes_that_change_the_data_make_the_next_request_a_miss(
        client: TestClient, keys, town_store: Store, tmp_path: Path) -> None:
    h = keys["analyst"]

    def state(params: dict[str, str] = CRIME) -> tuple[str, str]:
        r = client.get("/v1/counts", headers=h, params=params)
        assert r.status_code == 200, r.text
        return r.headers["x-remap-cache"], r.headers["etag"]

    assert state()[0] == "miss"
    hit, etag = state()
    assert hit == "hit"
    # an import that adds events
    events = _policeuk(tmp_path / "2019-01-more.csv", 4)
    import_events(town_store, [(events.name, events)], fmt="policeuk", layer="crime")
    after_import = state()
    assert after_import[0] == "miss" and after_import[1] != etag
    assert state()[0] == "hit"
    # the same file again adds nothing: still a hit
    import_events(town_store, [(events.name, events)], fmt="policeuk", layer="crime")
    assert state() == ("hit", after_import[1])
    # a boundary import (here a new set; a new version of beats is the same write)
    path = _boundaries(tmp_path / "areas.geojson")
    import_boundaries(town_store, path, file_name=path.name, name="areas", id_field="code")
    after_boundaries = state()
    assert after_boundaries[0] == "miss" and after_boundaries[1] != after_import[1]
    # an operation created, then started
    with town_store.begin() as conn:
        op = town_store.insert_operation(conn, name="Op", definition="{}", created_by="t")
    assert state()[0] == "miss"
    assert state()[0] == "hit"
    with town_store.begin() as conn:
        from datetime import datetime

        town_store.lock_baseline(conn, op, started_at=datetime(2024, 1, 1), baseline="{}")
    assert state()[0] == "miss"


def test_added_events_are_in_the_answer_after_an_import(client: TestClient, keys,
                                                        store: Store, tmp_path: Path) -> None:
    params = {"layer": "crime", "unit": "h3:8", "area": "bbox:-1.5,53.3,-1.4,53.45"}
    first = _policeuk(tmp_path / "2018-10-a.csv", 3)
    import_events(store, [(first.name, first)], fmt="policeuk", layer="crime")

    def total() -> int:
        r = client.get("/v1/counts", headers=keys["analyst"], params=params)
        assert r.status_code == 200, r.text
        return sum(f["properties"]["count"] for f in r.json()["features"])

    assert total() == 3 and total() == 3
    more = _policeuk(tmp_path / "2018-10-b.csv", 2, first=3)
    import_events(store, [(more.name, more)], fmt="policeuk", layer="crime")
    assert total() == 5


def test_no_answer_crosses_roles(client: TestClient, uncached: TestClient, keys,
                                 town_store: Store) -> None:
    analyst = client.get("/v1/counts", headers=keys["analyst"], params=AMBULANCE)
    assert analyst.status_code == 200
    again = client.get("/v1/counts", headers=keys["analyst"], params=AMBULANCE)
    assert again.headers["x-remap-cache"] == "hit"
    partner = client.get("/v1/counts", headers=keys["partner"], params=AMBULANCE)
    assert partner.status_code == 200
    assert partner.headers["x-remap-cache"] == "miss"
    assert partner.headers["etag"] != analyst.headers["etag"]
    # the partner's answer is the partner's, not the analyst's
    assert partner.content == uncached.get("/v1/counts", headers=keys["partner"],
                                           params=AMBULANCE).content
    assert partner.content != analyst.content
    # and a request the role may not make is refused, with a cached answer at hand
    restricted = {**CRIME, "layer": "dealing_site", "unit": "h3:6"}
    assert client.get("/v1/counts", headers=keys["analyst"], params=restricted).status_code == 200
    assert client.get("/v1/counts", headers=keys["analyst"], params=restricted
                      ).headers["x-remap-cache"] == "hit"
    assert client.get("/v1/counts", headers=keys["partner"], params=restricted
                      ).status_code == 403
    # /v1/layers: withheld from the partner, whatever the analyst saw
    a_layers = client.get("/v1/layers", headers=keys["analyst"]).json()["layers"]
    p_layers = client.get("/v1/layers", headers=keys["partner"]).json()["layers"]
    assert p_layers != a_layers
    assert p_layers == uncached.get("/v1/layers", headers=keys["partner"]).json()["layers"]


def test_protected_reads_are_audited_on_every_hit(client: TestClient, keys,
                                                  town_store: Store) -> None:
    other_partner = {"X-API-Key": town_store.create_key("partner", "second partner")}
    before = len(_reads(town_store, "ambulance"))
    first = client.get("/v1/counts", headers=keys["partner"], params=AMBULANCE)
    assert first.headers["x-remap-cache"] == "miss"
    made = _reads(town_store, "ambulance")[before:]
    assert len(made) == 1
    second = client.get("/v1/counts", headers=other_partner, params=AMBULANCE)
    assert second.headers["x-remap-cache"] == "hit"
    revalidated = client.get("/v1/counts", headers={**keys["partner"],
                                                    "If-None-Match": first.headers["etag"]},
                             params=AMBULANCE)
    assert revalidated.status_code == 304
    entries = _reads(town_store, "ambulance")[before:]
    assert len(entries) == 3
    # the same detail each time, under each caller's own key
    assert [e["detail"] for e in entries] == [made[0]["detail"]] * 3
    actors = [e["actor"] for e in entries]
    assert actors[0] == actors[2] != actors[1]
    assert verify(town_store).ok


def test_unseeded_permutations_are_not_cached(client: TestClient, keys,
                                              town_store: Store) -> None:
    h = keys["analyst"]
    for path, params in (("/v1/hotspots", {**CRIME, "method": "gistar"}),
                         ("/v1/hotspots", {**CRIME, "method": "lisa"}),
                         ("/v1/autocorrelation", CRIME)):
        seeds = set()
        for _ in range(2):
            r = client.get(path, headers=h, params=params)
            assert r.status_code == 200, r.text
            assert r.headers["x-remap-cache"] == "bypass"
            assert r.headers["cache-control"] == "private, no-store"
            assert "etag" not in r.headers
            body = r.json()
            seeds.add(json.dumps(body["parameters"], sort_keys=True))
        assert len(seeds) == 2, path  # each request drew its own seed
        seeded = {**params, "seed": "11"}
        assert client.get(path, headers=h, params=seeded).headers["x-remap-cache"] == "miss"
        assert client.get(path, headers=h, params=seeded).headers["x-remap-cache"] == "hit"
    # a count has no draw: cached without a seed
    count = {**CRIME, "method": "count"}
    client.get("/v1/hotspots", headers=h, params=count)
    assert client.get("/v1/hotspots", headers=h, params=count).headers["x-remap-cache"] == "hit"
    # saving writes: never from the cache
    saving = {**CRIME, "method": "count", "save": "cached-or-not"}
    r = client.get("/v1/hotspots", headers=h, params=saving)
    assert r.status_code == 200 and r.headers["x-remap-cache"] == "bypass"
    assert r.json()["saved"]


def test_zero_megabytes_turns_it_off(uncached: TestClient, keys, town_store: Store) -> None:
    for _ in range(2):
        r = uncached.get("/v1/counts", headers=keys["analyst"], params=CRIME)
        assert r.status_code == 200
        assert not {"etag", "x-remap-cache"} & set(r.headers)
    r = uncached.get("/v1/counts", headers={**keys["analyst"], "If-None-Match": "*"},
                     params=CRIME)
    assert r.status_code == 200
    cache = _cache(uncached)
    assert not cache.enabled and len(cache) == 0
    assert (cache.stats.hits, cache.stats.misses) == (0, 0)


def test_identical_requests_at_once_are_made_once(client: TestClient, keys,
                                                  town_store: Store) -> None:
    before = len(_reads(town_store, "ambulance"))
    params = {**AMBULANCE, "method": "gistar", "seed": "5"}

    def get(_: int) -> Any:
        # analysts see ambulance exactly, and their reads of it are audited too
        return client.get("/v1/hotspots", headers=keys["analyst"], params=params)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(get, range(16)))
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    assert len({r.content for r in answers}) == 1
    assert sorted(r.headers["x-remap-cache"] for r in answers) == ["hit"] * 15 + ["miss"]
    stats = _cache(client).stats
    assert (stats.misses, stats.hits) == (1, 15)
    assert len(_reads(town_store, "ambulance")) - before == 16  # one audit per request
    assert verify(town_store).ok


# --------------------------------------------------------------------------- the LRU


def _answer(n: int) -> CachedAnswer:
    return CachedAnswer(body=b"x" * n, etag='"e"')


def test_the_lru_is_bounded_by_bytes() -> None:
    size = 1000 + ENTRY_OVERHEAD
    cache = ResponseCache(3 * size)
    for key in "abc":
        cache.put(key, _answer(1000))
    assert cache.size_bytes == 3 * size and len(cache) == 3
    assert cache.get("a") is not None  # a is now the most recent: b goes first
    cache.put("d", _answer(1000))
    assert cache.get("b") is None and {k for k in "acd" if cache.get(k)} == set("acd")
    assert cache.size_bytes <= cache.max_bytes and cache.stats.evictions == 1
    cache.put("huge", _answer(3 * size))  # larger than the whole cache: not kept
    assert cache.get("huge") is None and cache.stats.too_large == 1 and len(cache) == 3


def test_a_failed_making_is_not_kept_and_the_next_caller_makes_it() -> None:
    cache = ResponseCache(10_000)

    def fail() -> CachedAnswer:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get_or_make("k", fail)
    assert cache.get("k") is None
    entry, made = cache.get_or_make("k", lambda: _answer(10))
    assert made and cache.get_or_make("k", fail) == (entry, False)


@pytest.mark.parametrize(("header", "matches"), [
    (None, False), ("", False), ('"a"', True), ('W/"a"', True), ('"b", "a"', True),
    ("*", True), ('"b"', False), ('"a', False)])
def test_if_none_match_comparison(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"a"') is matches
