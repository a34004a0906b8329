"""The service's own map and tasking pack, from the synthetic town, in a real headless
Chromium with the network blocked: no script errors, every layer in the layer control,
nothing tries to leave the machine. Screenshots in tests/e2e/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.app.analysis import CountsRequest
from service.app.hotspots import HotspotOptions
from service.render.area_pack import area_pack_html
from service.render.hotspot_page import hotspot_map_html
from service.store import Store
from tests.e2e.browser import open_page, require_browser
from tests.service.conftest import load_town

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"
EXPECTED_LAYERS = ["Counts: crime (Drugs)", "Getis-Ord Gi* hot and cold spots",
                   "Local Moran clusters (LISA)", "Kernel density",
                   "Monthly counts (time slider)", "Boundaries: beats"]


@pytest.fixture(scope="module")
def town_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    require_browser()
    tmp = tmp_path_factory.mktemp("pages")
    return load_town(Store(f"sqlite:///{tmp / 'remap.db'}"), tmp, seed=5, scale=0.2)


REQ = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:9",
                          area="boundary:beats")
OPTS = HotspotOptions(seed=1, permutations=99)


@pytest.mark.parametrize("role", ["analyst", "partner"])
def test_map_page_in_chromium(town_store: Store, tmp_path: Path, role: str) -> None:
    page = tmp_path / f"map_{role}.html"
    page.write_text(hotspot_map_html(town_store, REQ, OPTS, role=role), encoding="utf-8")
    report = open_page(page, screenshot=SCREENSHOTS / f"service_map_{role}.png")
    assert report.js_errors == [] and report.console_errors == []
    assert report.blocked_requests == []
    for name in EXPECTED_LAYERS:
        assert name in report.layer_names, (name, report.layer_names)
    restricted = "Dealing sites (intelligence: restricted)"
    assert (restricted in report.layer_names) == (role == "analyst")
    assert report.screenshot is not None and report.screenshot.stat().st_size > 10_000


def test_pack_page_in_chromium(town_store: Store, tmp_path: Path) -> None:
    page = tmp_path / "pack.html"
    page.write_text(area_pack_html(town_store, REQ, OPTS, role="partner"), encoding="utf-8")
    seen: dict[str, Any] = {}

    def read_frame(p: Any) -> None:
        frame = next(f for f in p.frames if f != p.main_frame)
        frame.wait_for_selector(".leaflet-control-layers", timeout=30_000)
        seen["layers"] = [t.strip() for t in frame.locator(
            ".leaflet-control-layers label").all_inner_texts()]
        p.emulate_media(media="print")
        seen["pdf"] = p.pdf(format="A4")

    report = open_page(page, screenshot=SCREENSHOTS / "service_pack.png", wait_selector="h1",
                       actions=read_frame, viewport=(900, 1300))
    assert report.js_errors == [] and report.console_errors == []
    assert report.blocked_requests == []
    for name in EXPECTED_LAYERS:
        assert name in seen["layers"], (name, seen["layers"])
    assert seen["pdf"][:4] == b"%PDF"
    (SCREENSHOTS / "service_pack.pdf").write_bytes(seen["pdf"])


def test_pack_map_drawn_in_a_hidden_frame(town_store: Store, tmp_path: Path) -> None:
    """A map laid out at zero size (hidden, or before layout) throws nothing and fits once shown."""
    page = tmp_path / "hidden_pack.html"
    html = area_pack_html(town_store, REQ, OPTS, role="partner")
    page.write_text(html.replace('<iframe class="map"', '<iframe style="display:none" '
                                                         'class="map"', 1), encoding="utf-8")
    view = """() => { const m = Object.keys(window).filter(k => k.startsWith('map_')).map(
        k => window[k]).find(v => v instanceof L.Map);
        return [m.getZoom(), m.getSize().x]; }"""
    seen: dict[str, Any] = {}

    def show(p: Any) -> None:
        frame = next(f for f in p.frames if f != p.main_frame)
        seen["hidden"] = frame.evaluate(view)
        p.evaluate("document.querySelector('iframe.map').style.display = ''")
        p.wait_for_timeout(500)
        seen["shown"] = frame.evaluate(view)

    report = open_page(page, screenshot=None, wait_selector="h1", actions=show)
    assert report.js_errors == [] and report.console_errors == []
    assert seen["hidden"][1] == 0 and seen["hidden"][0] == 6  # the initial view, untouched
    assert seen["shown"][1] > 0 and 6 < seen["shown"][0] < 30  # fitted to the data once shown
