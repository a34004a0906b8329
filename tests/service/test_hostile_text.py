"""No text is ever code: a hostile-text corpus through every route and command that writes HTML.

The corpus (:mod:`tests.service.hostile`: template expressions of several
engines, script and event-handler payloads, quotes, odd Unicode, a
10,000-character string) goes in as request parameters (``category``) and
as stored data (boundary-set unit labels, crime and dealing-site
categories, operation names and categories). Every page must answer (no
500), evaluate no expression, hold no raw markup from the data and show
each text as the literal text it is. SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from service.store import EventFilter, Store
from tests.service.hostile import (
    CORPUS,
    EVALUATED,
    as_category,
    check_page,
    hostile_town,
    name_chunks,
    operation_definition,
    too_long,
)

#: Cheap analysis options: these tests are about text, not statistics.
FAST = {"permutations": 0, "seed": 1}
#: An outcome category of the operations (no "+" or ",": those separate categories).
OP_CATEGORY = "</script><script>window.__pwned=1</script>"


def test_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 40 and len(set(CORPUS)) == len(CORPUS)
    assert any(len(p) >= 10_000 for p in CORPUS)
    for p in CORPUS:  # the marker only appears when a template is evaluated
        assert EVALUATED not in p
    assert name_chunks() and all(len(n) <= 200 for n in name_chunks())


def _get(client: TestClient, url: str, headers: dict[str, str], **params: object) -> str:
    r = client.get(url, headers=headers, params=params)
    assert r.status_code == 200, (url, params, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def test_request_parameters_are_text(client: TestClient, keys, store: Store,
                                     tmp_path: Path) -> None:
    hostile_town(store, tmp_path)
    problems: list[str] = []
    for i, payload in enumerate(CORPUS):
        cats = as_category(payload)
        if too_long(payload):  # refused as a whole, naming the parameter
            for route in ("/v1/maps/hotspots", "/v1/packs/area"):
                r = client.get(route, headers=keys["partner"], params={
                    "layer": "crime", "category": payload, "unit": "boundary:beats", **FAST})
                assert r.status_code == 422 and r.json()["details"]["parameter"] == "category"
            continue
        if not cats:
            continue
        # partners: counts only (the cheapest map), analysts every layer, alternately
        role = "partner" if i % 2 else "analyst"
        params = {"layer": "crime", "category": payload, "unit": "boundary:beats", **FAST}
        page = _get(client, "/v1/maps/hotspots", keys[role], **params)
        problems += check_page(page, cats, f"map {role} category #{i}")
        page = _get(client, "/v1/packs/area", keys["partner"], **params)
        problems += check_page(page, cats, f"area pack category #{i}")
    assert not problems, "\n".join(problems[:20])


def test_stored_text_is_text(client: TestClient, keys, store: Store, tmp_path: Path) -> None:
    town = hostile_town(store, tmp_path)
    problems: list[str] = []
    labels = [CORPUS[i % len(CORPUS)] for i in range(2 * len(town.beats))]
    n = len(town.beats)
    for role in ("analyst", "partner"):
        for set_name, set_labels in (("beats", labels[:n]), ("beats_b", labels[n:])):
            params = {"layer": "crime", "unit": f"boundary:{set_name}", **FAST}
            page = _get(client, "/v1/maps/hotspots", keys[role], **params)
            problems += check_page(page, set_labels, f"map {role} {set_name} labels")
            pack = _get(client, "/v1/packs/area", keys[role], **params)
            problems += check_page(pack, [], f"area pack {role} {set_name}")
        # unit labels in the pack's tables (the 15 highest counts) and its map
        pack = _get(client, "/v1/packs/area", keys[role], layer="crime", unit="boundary:beats",
                    **FAST)
        problems += check_page(pack, labels[:n], f"area pack {role} labels")
    # stored dealing-site categories: the analyst map draws the points, with their categories
    page = _get(client, "/v1/maps/hotspots", keys["analyst"], layer="crime", unit="h3:8",
                area="boundary:beats", **FAST)
    assert "Dealing sites (intelligence: restricted)" in page
    sites = set(store.query_events(EventFilter(layers=("dealing_site",)))["category"])
    assert len(sites) >= 5
    problems += check_page(page, sites, "map analyst dealing-site categories")
    assert not problems, "\n".join(problems[:20])


def share(client: TestClient, keys, op: int) -> None:
    """Start and share an operation: partners see only those."""
    for step in ("start", "share"):
        r = client.post(f"/v1/operations/{op}/{step}", headers=keys["analyst"])
        assert r.status_code == 200, r.text[:300]


def test_operation_names_and_categories_are_text(client: TestClient, keys, store: Store,
                                                 tmp_path: Path) -> None:
    town = hostile_town(store, tmp_path)
    problems: list[str] = []
    names = name_chunks()
    for j, name in enumerate(names):
        r = client.post("/v1/operations", headers=keys["analyst"],
                        json=operation_definition(town, name, OP_CATEGORY))
        assert r.status_code in (200, 201), r.text[:500]
        op = r.json()["id"]
        role = "analyst" if j % 2 == 0 else "partner"
        share(client, keys, op)
        for url in (f"/v1/maps/operations/{op}", f"/v1/operations/{op}/pack"):
            page = _get(client, url, keys[role])
            problems += check_page(page, [name, OP_CATEGORY], f"{url} {role} name #{j}")
    # a name over the limit is refused, never a 500
    r = client.post("/v1/operations", headers=keys["analyst"],
                    json=operation_definition(town, max(CORPUS, key=len), OP_CATEGORY))
    assert r.status_code == 422, r.text[:300]
    assert not problems, "\n".join(problems[:20])


def test_cli_pages_are_text(run, client: TestClient, keys, store: Store,
                            tmp_path: Path) -> None:
    town = hostile_town(store, tmp_path)
    name = name_chunks()[0]
    op = client.post("/v1/operations", headers=keys["analyst"],
                     json=operation_definition(town, name, OP_CATEGORY)).json()["id"]
    share(client, keys, op)
    problems: list[str] = []
    for i, payload in enumerate(CORPUS):
        cats = as_category(payload)
        if not cats:
            continue
        args = ["--layer", "crime", "--category", payload, "--unit", "boundary:beats",
                "--permutations", "0", "--seed", "1"]
        # the CLI pages are self-contained (vendored assets inline): every other payload
        command = ("map", "hotspots") if i % 2 else ("pack", "area")
        out = tmp_path / f"{command[0]}-{i}.html"
        res = run(*command, *args, "--out", str(out), "--role", "partner" if i % 3 else
                  "analyst")
        assert res.exit_code == 0, (command, i, res.output[:500])
        problems += check_page(out.read_text(encoding="utf-8"), cats,
                               f"remap {' '.join(command)} category #{i}")
    for command in (("map", "operation"), ("pack", "operation")):
        for role in ("analyst", "partner"):
            out = tmp_path / f"{command[0]}-op-{role}.html"
            res = run(*command, str(op), "--out", str(out), "--role", role)
            assert res.exit_code == 0, (command, res.output[:500])
            problems += check_page(out.read_text(encoding="utf-8"), [name, OP_CATEGORY],
                                   f"remap {' '.join(command)} {role}")
    # stored labels through the CLI
    out = tmp_path / "labels.html"
    res = run("map", "hotspots", "--layer", "crime", "--unit", "boundary:beats",
              "--permutations", "0", "--out", str(out))
    assert res.exit_code == 0, res.output[:500]
    problems += check_page(out.read_text(encoding="utf-8"),
                           [CORPUS[i % len(CORPUS)] for i in range(len(town.beats))],
                           "remap map hotspots labels")
    assert not problems, "\n".join(problems[:20])
