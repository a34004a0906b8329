"""Unit labels thin out at city zoom and come back when zoomed in; the caveat box
folds away (headless Chromium, network blocked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.render import map_base
from service.render.info_box import CAVEATS_OPEN_MAX
from service.render.map_inputs import MapLayer
from tests.e2e.browser import open_page, require_browser

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"

#: Visible labels' boxes, and whether any two of them overlap.
LABELS_JS = """() => {
    const shown = [...document.querySelectorAll('.remap-label')]
        .filter(e => getComputedStyle(e).visibility === 'visible')
        .map(e => e.getBoundingClientRect());
    let overlaps = 0;
    for (let i = 0; i < shown.length; i++) for (let j = i + 1; j < shown.length; j++) {
        const a = shown[i], b = shown[j];
        if (a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top) overlaps++;
    }
    return {shown: shown.length, overlaps: overlaps,
            all: document.querySelectorAll('.remap-label').length};
}"""


def _grid(n: int, step: float) -> dict[str, Any]:
    """``n`` × ``n`` squares of ``step`` degrees in Sheffield, long names, one big square."""
    feats = []
    for i in range(n):
        for j in range(n):
            w, s = -1.5 + i * step, 53.35 + j * step
            size = 3 * step if (i, j) == (0, 0) else step
            feats.append({"type": "Feature", "properties": {
                "unit": f"u{i}-{j}", "label": "Big square" if (i, j) == (0, 0)
                else f"Neighbourhood {i}-{j}"},
                "geometry": {"type": "Polygon", "coordinates": [[
                    [w, s], [w + size, s], [w + size, s + size], [w, s + size], [w, s]]]}})
    return {"type": "FeatureCollection", "features": feats}


def test_labels_do_not_overlap_and_return_on_zoom(tmp_path: Path) -> None:
    require_browser()
    caveats = [f"caveat number {i}" for i in range(CAVEATS_OPEN_MAX + 2)]
    m = map_base.build_map([MapLayer("Neighbourhoods", "outline", _grid(10, 0.01))],
                           title="label thinning", caveats=caveats)
    html = tmp_path / "labels.html"
    html.write_text(map_base.render_html(m, offline=True), encoding="utf-8")
    state: dict[str, Any] = {}
    map_var = m.get_name()

    def zoom_in(page: Any) -> None:
        state["city"] = page.evaluate(LABELS_JS)
        state["big_shown"] = page.evaluate(
            "() => [...document.querySelectorAll('.remap-label')].some(e => "
            "e.textContent === 'Big square' && getComputedStyle(e).visibility === 'visible')")
        state["caveats_open"] = page.evaluate(
            "() => document.querySelector('.remap-caveats').open")
        page.evaluate(f"() => {map_var}.setZoom({map_var}.getZoom() + 3, {{animate: false}})")
        page.wait_for_timeout(300)
        state["street"] = page.evaluate(LABELS_JS)
        page.evaluate("() => document.querySelector('.remap-caveats summary').click()")
        state["caveats_after_click"] = page.evaluate(
            "() => document.querySelector('.remap-caveats').open")

    report = open_page(html, screenshot=SCREENSHOTS / "label_thinning.png",
                       evaluate={"summary": "document.querySelector('.remap-caveats summary')"
                                            ".textContent"},
                       actions=zoom_in)
    assert report.js_errors == [] and report.blocked_requests == []
    city = state["city"]
    assert city["all"] == 100
    # at the opening zoom the labels would collide: some are hidden, none overlap
    assert 0 < city["shown"] < 100 and city["overlaps"] == 0
    assert state["big_shown"]  # the largest unit keeps its label
    street = state["street"]
    assert street["overlaps"] == 0
    # zoomed in, labels of the units still on screen come back (more room per label)
    assert street["shown"] >= 1
    # a long caveat list starts folded to its heading, which gives the count; a click opens it
    assert report.extra["summary"] == f"What this map cannot show ({len(caveats) + 1})"
    assert state["caveats_open"] is False and state["caveats_after_click"] is True


def test_layer_control_folds_on_a_narrow_map_and_opens_on_hover(tmp_path: Path) -> None:
    require_browser()
    m = map_base.build_map([MapLayer("Neighbourhoods", "outline", _grid(3, 0.01))],
                           title="narrow", caveats=[])
    html = tmp_path / "narrow.html"
    html.write_text(map_base.render_html(m, offline=True), encoding="utf-8")
    expanded = ("() => document.querySelector('.leaflet-control-layers')"
                ".classList.contains('leaflet-control-layers-expanded')")
    state: dict[str, Any] = {}

    def hover(page: Any) -> None:
        state["before"] = page.evaluate(expanded)
        page.hover(".leaflet-control-layers")
        page.wait_for_timeout(200)
        state["hovered"] = page.evaluate(expanded)

    report = open_page(html, screenshot=None, viewport=(500, 700), actions=hover)
    assert report.js_errors == []
    assert state == {"before": False, "hovered": True}
    wide = open_page(html, screenshot=None, viewport=(1280, 800), evaluate={"open": expanded})
    assert wide.extra["open"] is True
