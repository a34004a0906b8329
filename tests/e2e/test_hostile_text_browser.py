"""Hostile text in real pages: headless Chromium runs no script from the data.

Maps and packs of the hostile town (:mod:`tests.service.hostile`: unit
labels, categories and operation names are the corpus), with the corpus as
request categories too, opened in Chromium with the network blocked. Every
overlay is switched on and every tooltip opened (tooltips are HTML built from
the data). Then: no payload ran (``window.__pwned`` unset, the title is
remap's), no element carries an event handler or ``javascript:`` URL from
the data, no script error (broken quoting would raise one), no evaluated
expression in the visible text, and labels and titles read as the literal
payloads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.app.analysis import CountsRequest
from service.app.hotspots import HotspotOptions
from service.app.operations import create_operation, share_operation, start_operation
from service.render.area_pack import area_pack_html
from service.render.hotspot_page import hotspot_map_html
from service.render.operation_map import operation_map_html
from service.render.operation_pack import operation_pack_html
from service.store import Store
from tests.e2e.browser import open_page, require_browser
from tests.service.hostile import (
    CORPUS,
    EVALUATED,
    as_category,
    hostile_town,
    name_chunks,
    operation_definition,
)

pytestmark = pytest.mark.browser

OPTS = HotspotOptions(seed=1, permutations=0)
#: Request categories: every payload (commas separate categories, so they are split).
CATEGORIES = [c for p in CORPUS for c in as_category(p)]

#: Switch every overlay on and open every tooltip; returns how many were opened.
OPEN_EVERYTHING = """async () => {
    document.querySelectorAll('.leaflet-control-layers-overlays input').forEach(
        i => { if (!i.checked) i.click(); });
    // folium's map is the global map_<id> (reading every global trips the sandbox)
    const map = Object.keys(window).filter(k => k.startsWith('map_')).map(
        k => window[k]).find(v => v instanceof L.Map);
    let opened = 0;
    // hovering each feature opens its tooltip (on the feature or its group) with its HTML
    map.eachLayer(c => {
        if (!(c.getLatLng || c.getBounds) || c.eachLayer) return;
        const at = c.getLatLng ? c.getLatLng() : c.getBounds().getCenter();
        c.fire('mouseover', {latlng: at}, true);
        if (document.querySelector('.leaflet-tooltip')) opened++;
    });
    await new Promise(r => setTimeout(r, 300));
    return opened;
}"""

#: What a payload would leave behind had it run or become markup.
INSPECT = """() => ({
    pwned: typeof window.__pwned !== 'undefined',
    title: document.title,
    handlers: document.querySelectorAll(
        '[onerror], [onload], [ontoggle], [onmouseover], img[src="x"], iframe[src^="javascript"]'
    ).length,
    jsLinks: [...document.querySelectorAll('a[href]')].filter(
        a => a.href.startsWith('javascript:')).length,
    text: document.body.innerText,
    titleBox: (document.querySelector('.remap-title') || {}).textContent || '',
    labels: [...document.querySelectorAll('.remap-label')].map(e => e.textContent),
    layers: [...document.querySelectorAll('.leaflet-control-layers-list label')].map(
        e => e.textContent.trim()),
})"""


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, int, str]:
    require_browser()
    tmp = tmp_path_factory.mktemp("hostile")
    store = Store(f"sqlite:///{tmp / 'remap.db'}")
    town = hostile_town(store, tmp)
    name = name_chunks()[1]
    op = create_operation(store, operation_definition(
        town, name, "</script><script>window.__pwned=1</script>"), actor="test")
    # partners see an operation only once started and shared
    start_operation(store, int(op["id"]), actor="test")
    share_operation(store, int(op["id"]), shared=True, actor="test")
    return store, int(op["id"]), name


def _check(seen: dict[str, Any], where: str, title: str = "remap") -> None:
    assert seen["opened"] > 0, where
    state = seen["state"]
    assert not state["pwned"], where
    assert state["handlers"] == 0 and state["jsLinks"] == 0, (where, state["handlers"])
    # an injected <title> would become the document's title
    assert state["title"].startswith(title), (where, state["title"][:200])
    assert EVALUATED not in state["text"] and "9359" not in state["text"], where


def _inspect(target: Any) -> dict[str, Any]:
    target.wait_for_selector(".leaflet-control-layers", timeout=30_000)
    return {"opened": target.evaluate(OPEN_EVERYTHING), "state": target.evaluate(INSPECT)}


def _open(tmp_path: Path, html: str, name: str, *, frame: bool) -> tuple[Any, dict[str, Any]]:
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    seen: dict[str, Any] = {}

    def act(page: Any) -> None:
        seen["page"] = _inspect(page) if not frame else {
            "opened": 1, "state": page.evaluate(INSPECT)}
        if frame:
            seen["frame"] = _inspect(next(f for f in page.frames if f != page.main_frame))

    report = open_page(path, screenshot=None, actions=act,
                       wait_selector="h1" if frame else ".leaflet-control-layers")
    assert report.js_errors == [] and report.console_errors == [], (name, report.js_errors,
                                                                     report.console_errors)
    assert report.blocked_requests == [], name
    return report, seen


@pytest.mark.parametrize("role", ["analyst", "partner"])
def test_hostile_map_runs_no_script(hostile_store: tuple[Store, int, str], tmp_path: Path,
                                    role: str) -> None:
    store, _, _ = hostile_store
    req = CountsRequest.parse(layer="crime", categories=CATEGORIES, unit="boundary:beats")
    _, seen = _open(tmp_path, hotspot_map_html(store, req, OPTS, role=role), f"map_{role}",
                    frame=False)
    _check(seen["page"], f"map {role}")
    state = seen["page"]["state"]
    for c in CATEGORIES:  # the title and the layer name read as the literal categories
        assert c in state["titleBox"], c[:60]
    assert any(c in name for name in state["layers"] for c in CATEGORIES[:3])
    labels = {CORPUS[i % len(CORPUS)] for i in range(24)}
    assert set(state["labels"]) == labels


def test_hostile_labels_of_the_second_set(hostile_store: tuple[Store, int, str],
                                          tmp_path: Path) -> None:
    store, _, _ = hostile_store
    req = CountsRequest.parse(layer="crime", unit="boundary:beats_b")
    _, seen = _open(tmp_path, hotspot_map_html(store, req, OPTS, role="analyst"), "map_b",
                    frame=False)
    _check(seen["page"], "map beats_b")
    assert set(seen["page"]["state"]["labels"]) == {CORPUS[i % len(CORPUS)]
                                                    for i in range(24, 48)}


def test_hostile_packs_and_operation_pages_run_no_script(
        hostile_store: tuple[Store, int, str], tmp_path: Path) -> None:
    store, op, name = hostile_store
    req = CountsRequest.parse(layer="crime", categories=CATEGORIES, unit="boundary:beats")
    _, seen = _open(tmp_path, area_pack_html(store, req, OPTS, role="partner"), "pack",
                    frame=True)
    _check(seen["page"], "area pack", "Tasking pack: crime (")
    _check(seen["frame"], "area pack map", "crime (")
    _, seen = _open(tmp_path, operation_pack_html(store, op, role="analyst", actor="test"),
                    "op_pack", frame=True)
    _check(seen["page"], "operation pack", f"Operation pack: {name}")
    _check(seen["frame"], "operation pack map", name)
    assert name in seen["page"]["state"]["text"]
    _, seen = _open(tmp_path, operation_map_html(store, op, role="partner", actor="test"),
                    "op_map", frame=False)
    _check(seen["page"], "operation map", f"remap: {name}")
    assert seen["page"]["state"]["titleBox"] == f"remap: {name}"
