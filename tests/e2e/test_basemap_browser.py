"""An MBTiles basemap in headless Chromium with the network blocked: a page remap serves
loads its tiles from /v1/tiles, a self-contained page has them inline, and nothing
tries to leave the machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.responses import HTMLResponse

from service.main import create_app
from service.render import map_base
from service.settings import Settings, get_settings
from service.store import Store
from tests.e2e.browser import open_page, require_browser
from tests.live import serve
from tests.service.render.mbtiles_fixture import TILE_RGB, make_mbtiles
from tests.service.render.test_basemap import _outline

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"

#: Tiles drawn in the tile pane, loaded, with the fixture's colour at their centre.
DRAWN_TILES = """(() => Array.from(document.querySelectorAll('.leaflet-tile-pane img'))
  .filter(i => i.complete && i.naturalWidth === 256)
  .map(i => { const c = document.createElement('canvas'); c.width = c.height = 1;
              const g = c.getContext('2d'); g.drawImage(i, 128, 128, 1, 1, 0, 0, 1, 1);
              const p = g.getImageData(0, 0, 1, 1).data;
              return [i.src.slice(0, 60), p[0], p[1]]; }))()"""


@pytest.fixture
def mbtiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    require_browser()
    path = tmp_path / "force.mbtiles"
    make_mbtiles(path)
    monkeypatch.setenv("REMAP_BASEMAP", str(path))
    get_settings.cache_clear()
    yield path
    monkeypatch.delenv("REMAP_BASEMAP")
    get_settings.cache_clear()


def _drawn(report) -> list[list]:  # type: ignore[no-untyped-def]
    tiles = report.extra["tiles"]
    assert tiles, "no basemap tile was drawn"
    assert all((r, g) == TILE_RGB[:2] for _, r, g in tiles), tiles
    return tiles


def test_served_page_loads_tiles_from_remap(mbtiles: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'remap.db'}")
    app = create_app(Settings(database_url=store.url, basemap=str(mbtiles)), store=store)
    page = map_base.render_html(
        map_base.build_map([_outline()], title="basemap", caveats=[],
                           asset_base_url="/static/vendor"), asset_base_url="/static/vendor")
    app.add_api_route("/test-map", lambda: HTMLResponse(page), include_in_schema=False)
    with serve(app) as url:
        report = open_page(f"{url}/test-map", settle_ms=1500,
                           screenshot=SCREENSHOTS / "basemap_served.png",
                           evaluate={"tiles": DRAWN_TILES})
        store.dispose()
    assert report.blocked_requests == [] and report.js_errors == []
    tiles = _drawn(report)
    assert all(src.startswith(f"{url}/v1/tiles/") for src, _, _ in tiles)


def test_self_contained_page_has_its_tiles_inline(mbtiles: Path, tmp_path: Path) -> None:
    html = tmp_path / "map.html"
    html.write_text(map_base.render_html(
        map_base.build_map([_outline()], title="basemap", caveats=[])), encoding="utf-8")
    report = open_page(html, settle_ms=1500, screenshot=SCREENSHOTS / "basemap_file.png",
                       evaluate={"tiles": DRAWN_TILES})
    assert report.clean, report
    assert all(src.startswith("data:image/png;base64,") for src, _, _ in _drawn(report))
