"""Maps in a real headless Chromium with the network blocked.

A map with every layer kind (tests/service/render/synthetic_layers.py) is written
as a self-contained file (vendored JS/CSS inlined) and opened from disk, and
as a page with linked assets served from localhost the way the service
mounts ``service/render/static`` at ``/static``. Nothing may try to leave the
machine, no script may fail, and every layer must be in the layer control.

Screenshots go to tests/e2e/screenshots/ (gitignored).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import folium
import pytest

from service.render import assets, map_base
from tests.e2e.browser import (
    PageReport,
    open_page,
    require_browser,
    serve_directory,
    toggle_layer,
)
from tests.service.render.synthetic_layers import CAVEATS, synthetic_layers

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="module")
def all_kinds_map() -> tuple[folium.Map, list[str]]:
    layers = synthetic_layers()
    assert {layer.kind for layer in layers} == set(map_base.LAYER_KINDS)
    m = map_base.build_map(layers, title="remap test map: every layer kind (synthetic, Leeds)",
                       caveats=CAVEATS, parameters={"source": "synthetic fixtures", "seed": 7})
    return m, [layer.name for layer in layers]


def _check(report: PageReport, names: list[str]) -> None:
    assert report.blocked_requests == [], "the page tried to reach the network"
    assert report.js_errors == []
    assert report.console_errors == []
    assert report.failed_requests == []
    assert report.layer_names == names
    assert report.screenshot is not None and report.screenshot.stat().st_size > 10_000


def test_inline_map_works_offline_from_a_file(tmp_path: Path, all_kinds_map: tuple[folium.Map, list[str]]) -> None:
    require_browser()
    m, names = all_kinds_map
    page = map_base.render_html(m, offline=True)
    assert assets.cdn_urls(page) == [] and assets.external_urls(page) == []
    html_file = tmp_path / "map.html"
    html_file.write_text(page, encoding="utf-8")

    def move_slider(p: Any) -> None:
        # turn the monthly layer on, move its slider to the first month
        toggle_layer(p, "Monthly counts")
        p.evaluate("""() => {
            const input = document.querySelector('.remap-slider input');
            input.value = '0';
            input.dispatchEvent(new Event('input'));
        }""")

    report = open_page(
        html_file, screenshot=SCREENSHOTS / "maps_all_kinds_inline.png",
        evaluate={
            "paths": "document.querySelectorAll('.leaflet-overlay-pane path').length",
            "hatched": "[...document.querySelectorAll('.leaflet-overlay-pane path')]"
                       ".filter(p => p.getAttribute('fill') === 'url(#remap-hatch)').length",
            "labels": "[...document.querySelectorAll('.remap-label')].map(e => e.textContent)",
            "legend": "document.querySelector('.remap-legend').innerText",
            "caveats": "document.querySelector('.remap-caveats').textContent",
            "slider_hidden": "document.querySelector('.remap-slider').style.display",
        },
        actions=move_slider)
    _check(report, names)
    assert report.title.startswith("remap test map")
    assert report.extra["paths"] > 19
    assert report.extra["hatched"] == 2  # the two "<5" cells
    assert "City & Holbeck <North>" in report.extra["labels"]
    assert "Hot spot 99 % confidence" not in report.extra["legend"]  # Gi* layer starts off
    assert "suppressed, shown as “<5”" in report.extra["legend"]
    assert "snapped" in report.extra["caveats"]  # textContent: the box may be folded
    assert report.extra["slider_hidden"] == "none"
    assert report.load_seconds < 20


def test_monthly_slider_and_hidden_layers(tmp_path: Path, all_kinds_map: tuple[folium.Map, list[str]]) -> None:
    require_browser()
    m, names = all_kinds_map
    html_file = tmp_path / "map.html"
    html_file.write_text(map_base.render_html(m, offline=True), encoding="utf-8")
    state: dict[str, object] = {}

    def interact(p: Any) -> None:
        for name in ("Monthly counts", "Gi* hot spots", "Density change (after − before)",
                     "Counts (ambulance, H3 res 8)"):
            toggle_layer(p, name)
        state["month_last"] = p.eval_on_selector(
            ".remap-slider output", "e => e.textContent")
        state["fills_last"] = p.evaluate(
            "() => [...document.querySelectorAll('.leaflet-overlay-pane path')]"
            ".map(p => p.getAttribute('fill')).join(',')")
        p.evaluate("""() => {
            const input = document.querySelector('.remap-slider input');
            input.value = '0';
            input.dispatchEvent(new Event('input'));
        }""")
        state["month_first"] = p.eval_on_selector(
            ".remap-slider output", "e => e.textContent")
        state["fills_first"] = p.evaluate(
            "() => [...document.querySelectorAll('.leaflet-overlay-pane path')]"
            ".map(p => p.getAttribute('fill')).join(',')")
        state["legend"] = p.eval_on_selector(
            ".remap-legend", "e => e.innerText")
        state["images"] = p.evaluate(
            "() => document.querySelectorAll('.leaflet-image-layer').length")

    report = open_page(html_file, screenshot=SCREENSHOTS / "maps_gi_monthly_density.png",
                       actions=interact)
    _check(report, names)
    assert state["month_last"] == "2024-06" and state["month_first"] == "2024-01"
    assert state["fills_last"] != state["fills_first"]
    assert "Hot spot 99 % confidence" in str(state["legend"])
    assert state["images"] == 1


def test_linked_assets_served_from_localhost(tmp_path: Path, all_kinds_map: tuple[folium.Map, list[str]]) -> None:
    require_browser()
    m, names = all_kinds_map
    site = tmp_path / "site"
    site.mkdir()
    # the service mounts service/render/static at /static
    shutil.copytree(assets.default_static_dir(), site / "static")
    (site / "map.html").write_text(
        map_base.render_html(m, offline=True, asset_base_url="/static/vendor"), encoding="utf-8")
    with serve_directory(site) as base:
        report = open_page(f"{base}/map.html",
                           screenshot=SCREENSHOTS / "maps_all_kinds_linked.png")
    _check(report, names)


def test_harness_blocks_and_reports_external_requests(tmp_path: Path) -> None:
    """The harness itself: a plain folium page (CDN links) is caught, not loaded."""
    require_browser()
    m = folium.Map(location=[53.8, -1.55], zoom_start=12)  # CDN assets and OSM tiles
    folium.LayerControl().add_to(m)
    html_file = tmp_path / "cdn.html"
    html_file.write_text(m.get_root().render(), encoding="utf-8")
    report = open_page(html_file, screenshot=None, wait_selector="body", settle_ms=300)
    hosts = {u.split("/")[2] for u in report.blocked_requests}
    assert "cdn.jsdelivr.net" in hosts and "code.jquery.com" in hosts
    assert report.js_errors  # "L is not defined": nothing loaded
    assert report.layer_names == []
