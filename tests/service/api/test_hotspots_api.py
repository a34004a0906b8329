"""Hotspots over the API and CLI on the synthetic town, checked against esda with
weights built independently (libpysal / h3), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import geopandas as gpd
import h3
import numpy as np
import pytest
from click.testing import CliRunner
from esda.getisord import G_Local
from esda.moran import Moran
from fastapi.testclient import TestClient
from libpysal.weights import Queen, W
from shapely.geometry import shape

from service.cli import main
from service.settings import get_settings
from service.store import Store


def _get(client: TestClient, key, **params):
    r = client.get("/v1/hotspots", headers=key, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_gistar_on_beats_equals_esda_with_queen_weights(client: TestClient, keys,
                                                        town_store: Store) -> None:
    fc = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="boundary:beats",
              method="gistar", seed=1)
    props = [f["properties"] for f in fc["features"]]
    assert len(props) == 24
    y = np.array([p["count"] for p in props], dtype=float)
    gdf = gpd.GeoDataFrame(geometry=[shape(f["geometry"]) for f in fc["features"]],
                           crs=4326).to_crs(27700)
    w = Queen.from_dataframe(gdf, use_index=False)
    ref = G_Local(y, w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose([p["GiZScore"] for p in props], ref.Zs, atol=1e-9)
    assert [p["NNeighbors"] for p in props] == [int(c) + 1 for c in w.cardinalities.values()]
    par = fc["parameters"]
    assert par["neighbours"] == "queen contiguity"
    assert par["gi_correction"] == "fdr_bh" and par["p_values"] == "two-sided"
    assert set(p["Gi_Bin"] for p in props) <= {-3, -2, -1, 0, 1, 2, 3}
    # the planted markets are hot: at 90 % with the default permutation p-values (24
    # beats: p 0.0028, FDR 0.067), at 95 % with the normal p-values of before
    assert max(p["Gi_Bin"] for p in props) >= 1
    assert par["gi_inference"] == "permutation"


def test_gistar_and_moran_on_h3_equal_esda(client: TestClient, keys, town_store: Store) -> None:
    fc = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="h3:9",
              area="boundary:beats", method="gistar")
    ids = [f["properties"]["unit_id"] for f in fc["features"]]
    y = np.array([f["properties"]["count"] for f in fc["features"]], dtype=float)
    assert (y == 0).any(), "zero cells of the study area must be present"
    pos = {c: i for i, c in enumerate(ids)}
    neigh = {i: [pos[n] for n in h3.grid_disk(c, 1) if n != c and n in pos]
             for i, c in enumerate(ids)}
    w = W(neigh, silence_warnings=True)
    ref = G_Local(y, w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose([f["properties"]["GiZScore"] for f in fc["features"]], ref.Zs,
                               atol=1e-9)
    ac = client.get("/v1/autocorrelation", headers=keys["analyst"],
                    params={"layer": "crime", "category": "Drugs", "unit": "h3:9",
                            "area": "boundary:beats", "permutations": 99, "seed": 5}).json()
    w.transform = "R"
    mi = Moran(y, w, permutations=0)
    assert ac["I"] == pytest.approx(mi.I, abs=1e-9)
    assert ac["normal"]["z"] == pytest.approx(mi.z_norm, abs=1e-9)
    assert ac["randomisation"]["p"] == pytest.approx(mi.p_rand, abs=1e-9)
    assert ac["parameters"]["permutations"] == 99 and ac["parameters"]["seed"] == 5


def test_lisa_is_reproducible_with_its_seed(client: TestClient, keys, town_store: Store) -> None:
    a = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="boundary:beats",
             method="lisa", permutations=199, seed=11)
    b = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="boundary:beats",
             method="lisa", permutations=199, seed=11)
    assert a["features"] == b["features"]
    assert a["parameters"]["lisa_seed"] == 11 and a["parameters"]["lisa_permutations"] == 199
    assert {f["properties"]["cluster"] for f in a["features"]} <= {"HH", "HL", "LH", "LL", "ns"}
    c = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="boundary:beats",
             method="lisa", permutations=99)
    assert isinstance(c["parameters"]["lisa_seed"], int)  # drawn, and reported


def test_kde_reports_bandwidth_and_cell_size(client: TestClient, keys,
                                             town_store: Store) -> None:
    fc = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="grid:500",
              area="boundary:beats", method="kde", bandwidth="300", cell_size="50")
    p = fc["parameters"]
    assert p["bandwidth_m"] == 300 and p["cell_size_m"] == 50 and p["crs"] == "EPSG:27700"
    assert 0.9 < p["mass_in_grid"] <= 1.0
    dens = [f["properties"]["density"] for f in fc["features"]]
    assert max(dens) > 0 and fc["grid"]["cell_size_m"] == 50
    dual = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="boundary:beats",
                method="kde", bandwidth="300", start="2019-02", end="2019-04",
                compare_start="2018-10", compare_end="2018-12")
    assert "density_difference" in dual["features"][0]["properties"]


def test_partner_gets_no_unit_statistics_of_health_data(client: TestClient, keys,
                                                         town_store: Store) -> None:
    r = client.get("/v1/hotspots", headers=keys["partner"],
                   params={"layer": "ambulance", "unit": "boundary:beats", "method": "gistar"})
    assert r.status_code == 403 and "protected counts only" in r.json()["message"]
    fc = _get(client, keys["partner"], layer="ambulance", unit="boundary:beats", method="count",
              start="2019-01", end="2019-01")
    # protected: 0, "<5", or a multiple of 5
    assert all(f["properties"]["count"] == 0 or f["properties"]["count"] == "<5"
               or f["properties"]["count"] % 5 == 0 for f in fc["features"])
    r = client.get("/v1/hotspots", headers=keys["analyst"],
                   params={"layer": "crime", "unit": "boundary:beats", "method": "magic"})
    assert r.status_code == 422 and "method" in r.json()["message"]


def test_cli_hotspots_writes_geojson(town_store: Store, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REMAP_DATABASE_URL", town_store.url)
    get_settings.cache_clear()
    out = tmp_path / "hot.geojson"
    r = CliRunner().invoke(main, ["hotspots", "--layer", "crime", "--category", "Drugs",
                                  "--unit", "boundary:beats", "--method", "gistar",
                                  "--out", str(out)])
    get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert "hot spots" in r.output
    fc = json.loads(out.read_text())
    assert len(fc["features"]) == 24 and "GiZScore" in fc["features"][0]["properties"]


def test_saved_result_is_served_and_is_an_ogc_collection(client: TestClient, keys,
                                                         town_store: Store) -> None:
    fc = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="boundary:beats",
              method="gistar", save="drugs-beats")
    assert fc["saved"]["name"] == "drugs-beats"
    r = client.get("/v1/hotspots", headers=keys["partner"],
                   params={"layer": "crime", "unit": "boundary:beats", "save": "x"})
    assert r.status_code == 403
    got = client.get("/v1/results/drugs-beats", headers=keys["partner"]).json()
    assert got["features"] == fc["features"] and got["parameters"] == fc["parameters"]
    ogc = client.get("/v1/ogc/collections/hotspots-drugs-beats/items",
                     headers=keys["partner"], params={"limit": 10}).json()
    assert ogc["numberMatched"] == 24 and ogc["numberReturned"] == 10
    assert "GiZScore" in ogc["features"][0]["properties"]
    # health-layer results are not served to partners
    _get(client, keys["analyst"], layer="ambulance", unit="boundary:beats", method="gistar",
         save="overdoses")
    assert client.get("/v1/results/overdoses", headers=keys["partner"]).status_code == 403
    names = [c["id"] for c in client.get("/v1/ogc/collections",
                                         headers=keys["partner"]).json()["collections"]]
    assert "hotspots-drugs-beats" in names and "hotspots-overdoses" not in names


def test_rate_on_h3_without_an_area_counts_the_denominator_on_the_same_units(
        client: TestClient, keys, town_store: Store) -> None:
    """A rate over the extent of the events: numerator and denominator share one unit set
    (they were once built from each layer's own extent, and the division failed)."""
    fc = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="h3:8",
              method="count", denominator_layer="ambulance")
    counts = _get(client, keys["analyst"], layer="ambulance", unit="h3:8", method="count")
    amb = {f["properties"]["unit_id"]: f["properties"]["count"] for f in counts["features"]}
    rated = [f["properties"] for f in fc["features"] if f["properties"]["rate"] is not None]
    assert rated
    for p in rated:
        if p["unit_id"] in amb and amb[p["unit_id"]] > 0:
            assert p["rate"] == pytest.approx(p["count"] / amb[p["unit_id"]])
    assert fc["parameters"]["denominator_layer"] == "ambulance"


def test_gistar_default_is_calibrated_permutation_inference(client: TestClient, keys,
                                                             town_store: Store) -> None:
    # issue 10 item 1: the bins use two-sided permutation p-values by default, the
    # parameters say so and what the permutations can reach; normal theory is explicit
    fc = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="h3:9",
              area="boundary:beats", method="gistar", seed=3)
    par = fc["parameters"]
    assert par["gi_inference"] == "permutation" and par["gi_alternative"] == "two-sided"
    assert par["gi_permutations"] == 49_999 and par["gi_first_stage_permutations"] == 999
    assert par["gi_seed"] == 3 and par["gi_correction"] == "fdr_bh"
    assert par["gi_smallest_p"] == pytest.approx(2 / 50_000)
    assert par["gi_permutations_needed"] >= 99
    props = [f["properties"] for f in fc["features"]]
    p_perm = np.array([np.nan if p["GiPValuePermutation"] is None else p["GiPValuePermutation"]
                       for p in props])
    from scipy.stats import false_discovery_control

    ok = np.isfinite(p_perm)
    adj = np.array([p["GiPValueAdjusted"] for p in props], dtype=float)
    np.testing.assert_allclose(adj[ok], false_discovery_control(p_perm[ok]), rtol=1e-12)
    normal = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="h3:9",
                  area="boundary:beats", method="gistar", permutations=0)
    assert normal["parameters"]["gi_inference"] == "normal"
    assert any("normal-theory" in w for w in normal["warnings"])
    lisa = _get(client, keys["analyst"], layer="crime", category="Drugs", unit="h3:9",
                area="boundary:beats", method="lisa", seed=3)
    assert lisa["parameters"]["lisa_permutations"] == 49_999
    assert lisa["parameters"]["lisa_smallest_p"] == pytest.approx(2 / 50_000)


def test_cli_hotspots_names_the_inference(town_store: Store, monkeypatch) -> None:
    monkeypatch.setenv("REMAP_DATABASE_URL", town_store.url)
    get_settings.cache_clear()
    r = CliRunner().invoke(main, ["hotspots", "--layer", "crime", "--category", "Drugs",
                                  "--unit", "boundary:beats", "--method", "gistar",
                                  "--seed", "4"])
    r0 = CliRunner().invoke(main, ["hotspots", "--layer", "crime", "--category", "Drugs",
                                   "--unit", "boundary:beats", "--method", "gistar",
                                   "--permutations", "0"])
    get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert "49,999 conditional permutations" in r.output and "seed 4" in r.output
    assert "correction fdr_bh" in r.output
    assert r0.exit_code == 0, r0.output
    assert "normal theory" in r0.output


def test_map_legend_names_the_inference(town_store: Store) -> None:
    from service.app.analysis import CountsRequest
    from service.app.hotspots import HotspotOptions
    from service.render.hotspot_page import hotspot_map_html

    req = CountsRequest.parse(layer="crime", categories=("Drugs",), start=None, end=None,
                              unit="boundary:beats", area=None)
    html = hotspot_map_html(town_store, req, HotspotOptions(seed=9), role="analyst")
    assert "49,999 conditional permutations" in html and "seed 9" in html
    assert "correction fdr_bh" in html
    html0 = hotspot_map_html(town_store, req, HotspotOptions(seed=9, permutations=0),
                             role="analyst")
    assert "p-values two-sided, normal theory" in html0
