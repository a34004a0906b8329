"""A hotspot map of street units in headless Chromium (network blocked): the segments
are drawn as coloured lines (SVG paths without fill), street names are labels and
tooltips, hostile street names stay text, and nothing fails or leaves the machine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from service.app.analysis import CountsRequest
from service.app.hotspots import HotspotOptions
from service.app.importer import import_events
from service.app.streets import import_network
from service.render.hotspot_page import hotspot_map_html
from service.store import Store
from spatial.io.mapping import ColumnMapping
from tests.e2e.browser import open_page, require_browser
from tests.street_network import events_near, network_frame, write_network

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"

#: Stroked paths without fill (lines) and their stroke colours; label texts.
LINES_JS = """() => {
    const paths = [...document.querySelectorAll('path.leaflet-interactive')];
    const lines = paths.filter(p => p.getAttribute('fill') === 'none');
    return {lines: lines.length, colours: [...new Set(lines.map(p => p.getAttribute('stroke')))],
            widths: [...new Set(lines.map(p => p.getAttribute('stroke-width')))]};
}"""
LABELS_JS = "() => [...document.querySelectorAll('.remap-label')].map(e => e.textContent.trim())"


def test_street_map_draws_coloured_lines_with_names(tmp_path: Path) -> None:
    require_browser()
    store = Store(f"sqlite:///{tmp_path / 'remap.db'}")
    try:
        x, y = events_near(1_200, seed=8)
        pd.DataFrame({"ref": [f"e{i}" for i in range(len(x))], "date": "2024-01-15",
                      "e": x, "n": y, "kind": "Drugs"}).to_csv(tmp_path / "ev.csv", index=False)
        import_events(store, [("ev.csv", tmp_path / "ev.csv")], fmt="csv", layer="crime",
                      mapping=ColumnMapping.parse("id=ref,time=date,easting=e,northing=n,"
                                                  "crs=27700,category=kind"))
        frame = network_frame(names={0: "<script>window.pwned=1</script>", 1: "{{7*7}}"})
        import_network(store, write_network(tmp_path / "roads.gpkg", frame),
                       file_name="roads.gpkg", name="roads")
        req = CountsRequest.parse(layer="crime", unit="street:roads")
        html = hotspot_map_html(store, req, HotspotOptions(permutations=0, seed=1),
                                role="admin")
    finally:
        store.dispose()
    page = tmp_path / "streets.html"
    page.write_text(html, encoding="utf-8")
    report = open_page(page, screenshot=SCREENSHOTS / "street_units.png",
                       evaluate={"lines": LINES_JS, "labels": LABELS_JS,
                                 "pwned": "() => window.pwned === 1"})
    assert report.blocked_requests == [] and report.js_errors == []
    assert report.console_errors == []
    assert report.layer_names[0].startswith("Counts:")
    lines = report.extra["lines"]
    assert lines["lines"] >= len(frame)  # every segment of the counts layer, as a line
    assert len(lines["colours"]) >= 3  # coloured by class
    assert "5" in lines["widths"]
    labels = report.extra["labels"]
    assert "Row 2 Road" in labels and "Column 3 Street" in labels
    assert "<script>window.pwned=1</script>" in labels and "{{7*7}}" in labels
    assert report.extra["pwned"] is False
