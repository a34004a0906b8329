"""Issue 11 must-show: the problem profile's top streets and concentration figures on
the real South Yorkshire police.uk data (Sheffield) equal an independent pandas
computation from the untouched CSVs."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from service.app.analysis import CountsRequest
from service.app.importer import import_boundaries, import_events
from service.app.profile import problem_profile
from service.store import Store

pytestmark = pytest.mark.realdata

NHOOD = Path("boundaries") / "sheffield" / "sheffield_nhood.geojson"


@pytest.fixture(scope="module")
def loaded(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The five South Yorkshire files and the Sheffield neighbourhoods, on SQLite."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('profile') / 'remap.db'}")
    files = sorted((shared_data / "policeuk").glob("*south-yorkshire*.csv"))
    assert len(files) == 5
    import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
    import_boundaries(store, shared_data / NHOOD, file_name=NHOOD.name, name="sheffield_nhood",
                      id_field="nhood_code", label_field="nhood_name")
    try:
        yield store
    finally:
        store.dispose()


def _sheffield_drugs(shared_data: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Raw Drugs rows inside a Sheffield neighbourhood, and rows per neighbourhood
    (all 100, zeros included), by geopandas' spatial join."""
    raw = pd.concat([pd.read_csv(f) for f in (shared_data / "policeuk")
                     .glob("*south-yorkshire*.csv")], ignore_index=True)
    raw = raw[(raw["Crime type"] == "Drugs") & raw["Longitude"].notna()]
    pts = gpd.GeoDataFrame(raw, geometry=gpd.points_from_xy(raw["Longitude"], raw["Latitude"]),
                           crs=4326)
    polys = gpd.read_file(shared_data / NHOOD)
    polys["geometry"] = polys.geometry.make_valid()
    joined = gpd.sjoin(pts, polys[["nhood_code", "geometry"]], predicate="within")
    per_unit = joined.groupby("nhood_code").size().reindex(polys["nhood_code"], fill_value=0)
    return joined, per_unit


def _gini_mean_difference(x: np.ndarray) -> float:
    """Gini as half the relative mean absolute difference (a different formula)."""
    x = x.astype(float)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


def _top_share(x: np.ndarray, percent: float) -> float:
    ordered = np.sort(x)[::-1]
    return float(ordered[:math.ceil(len(x) * percent / 100)].sum() / ordered.sum())


def test_top_streets_and_concentration_equal_pandas(loaded: Store, shared_data: Path) -> None:
    req = CountsRequest.parse(layer="crime", categories=["Drugs"],
                              unit="boundary:sheffield_nhood")
    p = problem_profile(loaded, req, role="analyst", top=15)
    joined, per_unit = _sheffield_drugs(shared_data)
    assert p["events"] == len(joined) == 494

    streets = joined["Location"].str.removeprefix("On or near ").str.strip()
    expected = (streets.value_counts().rename_axis("street").reset_index(name="count")
                .sort_values(["count", "street"], ascending=[False, True]))
    got = [(s["street"], s["count"]) for s in p["top_streets"]]
    assert got == list(expected.head(15).itertuples(index=False, name=None))
    assert p["top_streets"][0]["share"] == pytest.approx(expected["count"].iloc[0] / 494)
    assert p["streets"] == len(expected)

    spots = joined.groupby(["Longitude", "Latitude"]).size()
    repeats = spots[spots >= 2].sort_values(ascending=False)
    assert p["repeat_location_count"] == len(repeats)
    assert p["events_at_repeat_locations"] == int(repeats.sum())
    assert p["repeat_locations"][0]["count"] == int(repeats.iloc[0])

    units, by_street = p["concentration"]["units"], p["concentration"]["streets"]
    assert units["units"] == 100 and units["events"] == 494
    assert units["units_with_events"] == int((per_unit > 0).sum())
    assert units["gini"] == pytest.approx(_gini_mean_difference(per_unit.to_numpy()))
    assert by_street["gini"] == pytest.approx(_gini_mean_difference(
        expected["count"].to_numpy()))
    for share in units["top_shares"]:
        assert share["share"] == pytest.approx(_top_share(per_unit.to_numpy(),
                                                          share["percent"]))
    for share in by_street["top_shares"]:
        assert share["share"] == pytest.approx(_top_share(expected["count"].to_numpy(),
                                                          share["percent"]))
    curve = dict(zip(units["curve"]["percents"], units["curve"]["shares"], strict=True))
    assert curve[0] == 0 and curve[100] == pytest.approx(1.0)
    assert curve[10] == pytest.approx(_top_share(per_unit.to_numpy(), 10))
    # 80 %: the least share of neighbourhoods whose events reach 80 %
    cum = np.cumsum(np.sort(per_unit.to_numpy())[::-1]) / 494
    assert units["eighty_share"] == pytest.approx((np.argmax(cum >= 0.8) + 1) / 100)

    monthly = pd.to_datetime(joined["Month"]).dt.strftime("%Y-%m").value_counts().sort_index()
    assert p["trend"]["months"] == list(monthly.index)
    assert p["trend"]["counts"] == monthly.tolist()
    assert p["day_of_week"] is None and p["hour"] is None
    assert "month only" in p["time_statement"]


def test_partner_profile_of_open_crime_keeps_its_streets(loaded: Store) -> None:
    """Crime is open data: disclosure control withholds nothing from partners."""
    req = CountsRequest.parse(layer="crime", categories=["Drugs"],
                              unit="boundary:sheffield_nhood")
    p = problem_profile(loaded, req, role="partner", top=3)
    assert p["withheld"] == [] and p["top_streets"][0]["street"] == "Ranskill Court"
