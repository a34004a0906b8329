"""police.uk streets of Sheffield as units (issue 14 must-show): ``--unit street:policeuk``
counts equal an independent pandas computation of the rule on the raw rows, and a map
of them draws lines in Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.geometry
from click.testing import CliRunner
from pyproj import Transformer

from tests.e2e.sheffield_cli import policeuk_files, run_cli, sheffield_cli

pytestmark = pytest.mark.realdata

MONTHS = ("2018-10", "2018-11", "2018-12")
CHAIN_M = 250.0


def _files(shared: Path) -> list[Path]:
    return policeuk_files(shared, MONTHS)


@pytest.fixture(scope="module")
def cli(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    yield from sheffield_cli(shared_data, tmp_path_factory.mktemp("streets"), MONTHS)


_run = run_cli


def _independent_units(raw: pd.DataFrame) -> pd.DataFrame:
    """The rule, written again plainly: per street name, snap points chained when within
    250 m (union-find over a full distance matrix), units numbered west to east."""
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    pts = raw[["street", "Longitude", "Latitude"]].drop_duplicates().reset_index(drop=True)
    pts["x"], pts["y"] = to_bng.transform(pts["Longitude"].to_numpy(), pts["Latitude"].to_numpy())
    out = []
    for street, g in pts.groupby("street", sort=True):
        xy = g[["x", "y"]].to_numpy()
        parent = list(range(len(g)))

        def find(i: int, parent: list[int] = parent) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        for i, j in zip(*np.nonzero(np.triu(d <= CHAIN_M, 1)), strict=True):
            parent[find(int(i))] = find(int(j))
        roots = np.array([find(i) for i in range(len(g))])
        west = {r: xy[roots == r, 0].min() for r in set(roots.tolist())}
        order = sorted(west, key=lambda r: west[r])
        k = {r: n + 1 for n, r in enumerate(order)}
        out.append(g.assign(unit_id=[f"{street}#{k[r]}" for r in roots]))
    return pd.concat(out, ignore_index=True)


def test_policeuk_streets_of_sheffield_equal_pandas(cli: CliRunner, shared_data: Path) -> None:
    fc = json.loads(_run(cli, "counts", "--layer", "crime", "--category", "Drugs", "--unit",
                         "street:policeuk", "--area", "boundary:sheffield_nhood", "--json"))
    got = {f["properties"]["unit_id"]: f["properties"]["count"] for f in fc["features"]}

    raw = pd.concat([pd.read_csv(f) for f in _files(shared_data)], ignore_index=True)
    raw = raw.dropna(subset=["Longitude", "Latitude"])
    nh = gpd.read_file(shared_data / "boundaries" / "sheffield" / "sheffield_nhood.geojson")
    city = shapely.union_all([shapely.make_valid(g) for g in nh.geometry])
    raw = raw[shapely.intersects_xy(city, raw["Longitude"].to_numpy(),
                                    raw["Latitude"].to_numpy())]
    raw = raw.assign(street=raw["Location"].str.removeprefix("On or near ").str.strip())
    units = _independent_units(raw)
    drugs = raw[raw["Crime type"] == "Drugs"].merge(
        units, on=["street", "Longitude", "Latitude"])
    expected = {u: 0 for u in units["unit_id"]}
    expected.update(drugs.groupby("unit_id").size().to_dict())

    assert got == expected
    assert len(got) > 1_000 and sum(got.values()) > 100
    p = fc["parameters"]
    assert p["events_counted"] == len(drugs)
    assert p["unit_chain_m"] == CHAIN_M
    geoms = {f["geometry"]["type"] for f in fc["features"]}
    assert geoms == {"LineString", "Point"}


def test_gi_star_on_policeuk_streets_equals_esda(cli: CliRunner) -> None:
    from esda.getisord import G_Local
    from libpysal.weights import W

    fc = json.loads(_run(cli, "hotspots", "--layer", "crime", "--category", "Drugs", "--unit",
                         "street:policeuk", "--area", "boundary:sheffield_nhood:darnall",
                         "--permutations", "0", "--seed", "1", "--json"))
    assert fc["parameters"]["neighbours"] == "units within 250 m"
    props = [f["properties"] for f in fc["features"]]
    assert all(p["label"] for p in props)
    # independently: units whose drawn geometries come within 250 m (BNG) are neighbours
    geoms = gpd.GeoSeries([shapely.geometry.shape(f["geometry"]) for f in fc["features"]],
                          crs=4326).to_crs(27700).to_numpy()
    d = np.array([[a.distance(b) for b in geoms] for a in geoms])
    neigh = {i: [j for j in range(len(geoms)) if j != i and d[i, j] <= CHAIN_M]
             for i in range(len(geoms))}
    counts = np.array([p["count"] for p in props], dtype=float)
    lg = G_Local(counts, W(neigh, silence_warnings=True), transform="B", star=True,
                 permutations=0)
    z = np.array([p["GiZScore"] for p in props], dtype=float)
    linked = np.array([len(v) > 0 for v in neigh.values()])
    assert linked.sum() > 50
    np.testing.assert_allclose(z[linked], lg.Zs[linked], rtol=0, atol=1e-9)
