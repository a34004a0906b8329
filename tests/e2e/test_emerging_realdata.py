"""Emerging hot spots on real data (issue 12): Tempe's opioid overdose call-outs (day
precision, 2017-2024) and police.uk months (South Yorkshire Drugs: five months, refused
for too few steps; Northumbria anti-social behaviour, 2022-01..11, monthly steps).

Checks: the cube holds every event, counted independently from the raw file; every
unit's category is the one ArcGIS's rules give for its reported bins and trend; the
step is chosen from the data's precision and span, and said; the figures the README
quotes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.app.analysis import CountsRequest
from service.app.emerging import EmergingOptions, emerging_collection
from service.app.importer import import_events
from service.store import Store
from spatial.errors import ParameterError
from spatial.io.mapping import ColumnMapping
from spatial.stats.emerging import classify

pytestmark = pytest.mark.realdata

TEMPE = Path("ems") / "tempe_opioid_calls.csv"
NORTHUMBRIA = Path("uk-asb") / "northumbria_asb.tab"
POLICEUK_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                   "Location", "LSOA code", "LSOA name", "Crime type",
                   "Last outcome category", "Context"]


@pytest.fixture(scope="module")
def store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Tempe's calls as ``ambulance``, South Yorkshire's five police.uk files as ``crime``
    and Northumbria's anti-social behaviour (written as police.uk files) as ``asb``."""
    folder = tmp_path_factory.mktemp("emerging")
    s = Store(f"sqlite:///{folder / 'remap.db'}")
    tempe = shared_data / TEMPE
    if not tempe.is_file():
        pytest.skip(f"the Tempe EMS calls are not at {tempe}")
    import_events(s, [(tempe.name, tempe)], fmt="csv", layer="ambulance",
                  mapping=ColumnMapping.parse("time=incident_date,lon=longitude,lat=latitude"),
                  area_of_interest=None, location_precision="rounded", na_values=("NA",),
                  category_default="suspected opioid overdose", actor="test")
    files = sorted((shared_data / "policeuk").glob("*south-yorkshire*.csv"))
    import_events(s, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
    north = shared_data / NORTHUMBRIA
    if north.is_file():
        converted = _as_policeuk(north, folder)
        import_events(s, [(p.name, p) for p in converted], fmt="policeuk", layer="asb")
    try:
        yield s
    finally:
        s.dispose()


def _as_policeuk(path: Path, folder: Path) -> list[Path]:
    """The teaching package's tab file as police.uk street files, one per month (the
    values as they are: month, coordinates, location, LSOA)."""
    by_month: dict[str, list[list[str]]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            month = row["month"][:7]
            by_month.setdefault(month, []).append(
                ["", month, "Northumbria Police", "Northumbria Police", row["longitude"],
                 row["latitude"], row["location"], row["lsoa_code"], "",
                 "Anti-social behaviour", "", ""])
    out = []
    for month, rows in sorted(by_month.items()):
        p = folder / f"{month}-northumbria-street.csv"
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(POLICEUK_HEADER)
            w.writerows(rows)
        out.append(p)
    return out


def _raw_tempe(shared_data: Path) -> int:
    with (shared_data / TEMPE).open(newline="") as fh:
        return sum(1 for r in csv.DictReader(fh)
                   if r["latitude"] not in ("", "NA") and r["longitude"] not in ("", "NA"))


def _rules_hold(fc: dict[str, Any]) -> None:
    """Each unit's category is what the rules give for its reported bins and trend."""
    props = [f["properties"] for f in fc["features"]]
    bins = np.array([q["bins"] for q in props])
    tz = np.array([np.nan if q["trend_z"] is None else q["trend_z"] for q in props])
    tp = np.array([np.nan if q["trend_p"] is None else q["trend_p"] for q in props])
    again = classify(bins > 0, bins < 0, tz, tp, fc["parameters"]["trend_alpha"])
    assert list(again) == [q["category"] for q in props]


def test_tempe_quarterly_on_h3_8(store: Store, shared_data: Path) -> None:
    req = CountsRequest.parse(layer="ambulance", unit="h3:8")
    fc = emerging_collection(store, req, EmergingOptions(seed=12), role="analyst")
    p = fc["parameters"]
    # 2017-01-03 .. 2024-09-30 at day precision: 31 quarters is the finest step in 10-60
    assert p["time_precision"] == "day" and p["step"] == "quarter" and p["steps"] == 31
    assert (p["step_labels"][0], p["step_labels"][-1]) == ("2017-Q1", "2024-Q3")
    assert p["events_in_cube"] == _raw_tempe(shared_data) == 3379
    assert p["events_outside_steps"] == 0
    assert sum(f["properties"]["count"] for f in fc["features"]) == 3379
    _rules_hold(fc)
    c = p["category_counts"]
    print(f"\nTempe h3:8, 31 quarters: {c}")
    assert p["units"] == 515
    assert c["new_hot"] + c["consecutive_hot"] + c["sporadic_hot"] > 0
    assert sum(v for k, v in c.items() if k.endswith("_cold")) == 0  # sparse: no cold spot
    # the busiest units are hot in most quarters
    busiest = max(fc["features"], key=lambda f: f["properties"]["count"])["properties"]
    assert busiest["hot_steps"] >= 10


def test_tempe_monthly_and_normal_theory(store: Store) -> None:
    req = CountsRequest.parse(layer="ambulance", unit="h3:8")
    month = emerging_collection(store, req, EmergingOptions(seed=12, step="month"),
                                role="analyst")
    assert month["parameters"]["steps"] == 93
    _rules_hold(month)
    normal = emerging_collection(store, req, EmergingOptions(seed=12, permutations=0),
                                 role="analyst")
    assert normal["parameters"]["inference"] == "normal"
    # normal theory flags more hot bins than total randomisation on these sparse counts
    default = emerging_collection(store, req, EmergingOptions(seed=12), role="analyst")
    assert normal["parameters"]["hot_bins"] > default["parameters"]["hot_bins"]
    print(f"\nTempe h3:8 monthly: {month['parameters']['category_counts']}; quarterly hot "
          f"bins {default['parameters']['hot_bins']} (randomisation) against "
          f"{normal['parameters']['hot_bins']} (normal theory)")


def test_south_yorkshire_drugs_five_months_is_refused(store: Store) -> None:
    req = CountsRequest.parse(layer="crime", categories=["Drugs"], unit="h3:8")
    with pytest.raises(ParameterError) as e:
        emerging_collection(store, req, EmergingOptions(seed=1), role="analyst")
    assert e.value.parameter == "step"
    assert "5 whole month step(s)" in e.value.reason and "at least 10" in e.value.reason
    with pytest.raises(ParameterError) as e:
        emerging_collection(store, req, EmergingOptions(step="week"), role="analyst")
    assert "precision" in e.value.reason


def test_northumbria_asb_months(store: Store, shared_data: Path) -> None:
    if not (shared_data / NORTHUMBRIA).is_file():
        pytest.skip("the Northumbria anti-social behaviour file is absent")
    req = CountsRequest.parse(layer="asb", unit="h3:7")
    fc = emerging_collection(store, req, EmergingOptions(seed=5), role="analyst")
    p = fc["parameters"]
    assert p["step"] == "month" and "month-precision" in p["step_reason"]
    assert p["steps"] == 11 and p["step_labels"][0] == "2022-01"
    assert any("monthly steps" in w for w in fc["warnings"])
    _rules_hold(fc)
    c = p["category_counts"]
    print(f"\nNorthumbria ASB h3:7, 11 months, {p['units']} cells, {p['events_in_cube']} "
          f"events: { {k: v for k, v in c.items() if v} }")
    assert sum(v for k, v in c.items() if k != "no_pattern") > 0
