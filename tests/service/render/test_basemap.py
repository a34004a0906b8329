"""The basemap: none by default, a force's XYZ server, or a local MBTiles file served by
remap (``/v1/tiles``) and embedded in self-contained pages."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from service.main import create_app
from service.render import map_base
from service.render.basemap import BasemapError, MBTiles, parse_basemap
from service.render.map_inputs import MapLayer
from service.settings import Settings, get_settings
from service.store import Store
from tests.service.render.mbtiles_fixture import SHEFFIELD, make_mbtiles

XYZ = "https://tiles.force.local/{z}/{x}/{y}.png"


def _outline() -> MapLayer:
    w, s, e, n = SHEFFIELD
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"unit_id": "A", "label": "Centre"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    return MapLayer("Boundaries", "outline", fc)


@pytest.fixture
def basemap_env(monkeypatch: pytest.MonkeyPatch):
    """Set REMAP_BASEMAP for the maps built in the test."""
    def use(value: str) -> None:
        monkeypatch.setenv("REMAP_BASEMAP", value)
        get_settings.cache_clear()

    yield use
    monkeypatch.delenv("REMAP_BASEMAP", raising=False)
    get_settings.cache_clear()


def test_setting_is_checked_and_names_the_problem(tmp_path: Path) -> None:
    assert parse_basemap("") is None and parse_basemap(None) is None
    assert parse_basemap(XYZ).url == XYZ  # type: ignore[union-attr]
    for bad, words in (("https://tiles.force.local/{z}/{x}.png", "lacks {y}"),
                       ("ftp://x/{z}/{x}/{y}", "not an http(s) URL"),
                       (str(tmp_path / "none.mbtiles"), "does not exist"),
                       (str(tmp_path / "tiles.zip"), "neither")):
        with pytest.raises(BasemapError, match="basemap: .*" + words.replace("(", r"\(")
                           .replace(")", r"\)").replace("{", r"\{").replace("}", r"\}")):
            parse_basemap(bad)
    not_mbtiles = tmp_path / "bad.mbtiles"
    not_mbtiles.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(BasemapError, match="not an MBTiles file"):
        parse_basemap(str(not_mbtiles))
    with pytest.raises(ValueError, match="basemap"):
        Settings(basemap="https://tiles.force.local/")


def test_mbtiles_rows_are_flipped_from_tms(tmp_path: Path) -> None:
    tiles = make_mbtiles(tmp_path / "b.mbtiles")
    source = MBTiles(tmp_path / "b.mbtiles")
    for (z, x, y), data in tiles.items():
        assert source.tile(z, x, y) == data
    (z, x, y) = next(iter(tiles))
    assert source.tile(z, x, 2**z - 1 - y) is None  # the unflipped row holds nothing
    assert source.tile(z, x, 2**z + 5) is None


def test_no_basemap_and_no_outside_address_by_default(basemap_env) -> None:
    basemap_env("")
    page = map_base.render_html(map_base.build_map([_outline()], title="t", caveats=[]))
    assert "L.tileLayer" not in page and "/v1/tiles/" not in page


def test_xyz_basemap_is_the_base_layer_and_the_only_outside_address(basemap_env) -> None:
    basemap_env(XYZ)
    page = map_base.render_html(map_base.build_map([_outline()], title="t", caveats=[]))
    assert XYZ in page and "L.tileLayer" in page
    assert "tile.openstreetmap.org" not in page


def test_served_page_uses_remap_tiles_and_file_embeds_them(tmp_path: Path,
                                                           basemap_env) -> None:
    tiles = make_mbtiles(tmp_path / "b.mbtiles")
    basemap_env(str(tmp_path / "b.mbtiles"))
    served = map_base.build_map([_outline()], title="t", caveats=[],
                                asset_base_url="/static/vendor")
    page = map_base.render_html(served, asset_base_url="/static/vendor")
    assert '"/v1/tiles/{z}/{x}/{y}.png"' in page
    # the file's attribution, escaped (Leaflet shows it as HTML)
    assert "\\u0026lt;b\\u0026gt;Force" in page and "<b>Force" not in page
    own = map_base.render_html(map_base.build_map([_outline()], title="t", caveats=[]))
    assert "/v1/tiles/" not in own
    for z, x, y in tiles:  # every zoom fits the budget
        assert f'"{z}/{x}/{y}": "data:image/png;base64,' in own
    assert "b.mbtiles (zoom 11-13, " in own  # the parameters box says what was used


def test_tiles_route_serves_the_file_without_a_key(tmp_path: Path, store: Store) -> None:
    tiles = make_mbtiles(tmp_path / "b.mbtiles")
    app = create_app(Settings(database_url=store.url, basemap=str(tmp_path / "b.mbtiles")),
                     store=store)
    with TestClient(app) as client:
        (z, x, y), data = next(iter(tiles.items()))
        r = client.get(f"/v1/tiles/{z}/{x}/{y}.png")
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"] == "image/png"
        missing = client.get(f"/v1/tiles/{z}/{x}/{2**z - 1 - y}.png")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        assert client.get("/v1/tiles/3/1/-1.png").status_code == 422
    with TestClient(create_app(Settings(database_url=store.url), store=store)) as client:
        r = client.get("/v1/tiles/11/0/0.png")
        assert r.status_code == 404 and "REMAP_BASEMAP" in r.json()["message"]


def test_api_and_cli_pages_use_the_mbtiles_basemap(tmp_path: Path, town_store: Store,
                                                   keys, run, basemap_env) -> None:
    from tests.service.api.test_maps_api import MAP_PARAMS

    info = town_store.boundary_set("beats")
    frame = town_store.boundary_units_frame(info.id)
    bounds = tuple(shapely.union_all(shapely.from_wkb(frame["wkb"].to_numpy())).bounds)
    tiles = make_mbtiles(tmp_path / "town.mbtiles", bounds=bounds, zooms=(11, 12))
    basemap_env(str(tmp_path / "town.mbtiles"))
    app = create_app(Settings(database_url=town_store.url,
                              basemap=str(tmp_path / "town.mbtiles")), store=town_store)
    with TestClient(app) as client:
        page = client.get("/v1/maps/hotspots", headers=keys["analyst"],
                          params=MAP_PARAMS).text
        assert '"/v1/tiles/{z}/{x}/{y}.png"' in page  # a served page loads remap's tiles
        (z, x, y), data = next(iter(tiles.items()))
        assert client.get(f"/v1/tiles/{z}/{x}/{y}.png").content == data
        pack = client.get("/v1/packs/area", headers=keys["partner"], params=MAP_PARAMS).text
        # a pack carries its tiles (its map is escaped into a frame's srcdoc)
        assert f"&quot;{z}/{x}/{y}&quot;: &quot;data:image/png;base64," in pack
    out = tmp_path / "map.html"
    r = run("map", "hotspots", "--layer", "crime", "--category", "drugs", "--unit",
            "boundary:beats", "--permutations", "99", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert f'"{z}/{x}/{y}": "data:image/png;base64,' in out.read_text()
