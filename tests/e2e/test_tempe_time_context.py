"""The full time context on real day-level data: Tempe's opioid overdose call-outs, 2017-2024.

A pseudo-operation around the busiest rounded location (downtown Tempe): target a
circle of 1,200 m, buffer the next 800 m, control a band of south Tempe; before
April-September 2023 (a hot half-year: the kind of period a target is chosen in),
after October 2023-March 2024. Seven years of calls are held, so every part of the
time context is available: the same windows a year earlier, a 24-month series with
no missing month, seasonally expected counts from three earlier years, a placebo a
year back (whole months: the design spans 12 months, so it is the year-earlier
design decided again) and the regression-to-the-mean check. Counts are checked against an
independent count of the raw CSV with the csv module and shapely.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from service.app.operations import create_operation, operation_report
from service.render.operation_pack import _sections
from service.store import Store
from spatial.evaluation.time_context import NO_EFFECT_CODES
from spatial.evaluation.verdict import VERDICT_CODES
from spatial.place import crs
from tests.e2e.tempe import import_tempe, tempe_csv

pytestmark = pytest.mark.realdata

UTM12N = 32612
CENTRE = (-111.9360, 33.4290)
# edges between the 4-decimal coordinates of the data, so no call lies on one
CONTROL = {"type": "Polygon", "coordinates": [[[-111.98995, 33.32005], [-111.89005, 33.32005],
                                               [-111.89005, 33.39995], [-111.98995, 33.39995],
                                               [-111.98995, 33.32005]]]}


@pytest.fixture(scope="module")
def tempe(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[dict[str, Any], Path]]:
    path = tempe_csv(shared_data)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('tempe') / 'remap.db'}")
    import_tempe(store, path)
    definition = {
        "name": "Tempe downtown pseudo-operation",
        "target": {"type": "circle", "centre": list(CENTRE), "radius_m": 1200},
        "buffer": {"rings_m": [800]},
        "control": {"type": "geojson", "geometry": CONTROL},
        "windows": {"before": {"start": "2023-04-01", "end": "2023-09-30"},
                    "after": {"start": "2023-10-01", "end": "2024-03-31"}},
        "layers": [{"layer": "ambulance", "category": "*", "role": "outcome"}],
    }
    op = create_operation(store, definition, actor="test")
    report = operation_report(store, op["id"], actor="test")
    try:
        yield report, path
    finally:
        store.dispose()


def _raw_monthly(path: Path, report: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Calls per area and month from the raw CSV (csv module, shapely), independently."""
    geo = report["geometry"]
    polys = {a: crs.geometry_to_metric(shape(geo[a]), UTM12N)[()]
             for a in ("target", "buffer", "control")}
    lon, lat, day = [], [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lon.append(float(row["longitude"]))
            lat.append(float(row["latitude"]))
            day.append(row["incident_date"])
    x, y = crs.to_metric(np.array(lon), np.array(lat), UTM12N)
    months = np.array([d[:7] for d in day])
    taken = np.zeros(len(day), dtype=bool)
    out: dict[str, dict[str, int]] = {}
    for a in ("target", "buffer", "control"):  # an edge point goes to the first area
        inside = shapely.intersects_xy(polys[a], x, y) & ~taken
        taken |= inside
        vals, counts = np.unique(months[inside], return_counts=True)
        out[a] = dict(zip(vals.tolist(), counts.tolist(), strict=True))
    return out


def test_full_time_context_on_tempe(tempe: tuple[dict[str, Any], Path]) -> None:
    report, path = tempe
    json.dumps(report, allow_nan=False)
    layer = report["layers"][0]
    assert layer["key"] == "ambulance/*" and layer["verdict"]["code"] in VERDICT_CODES
    tc = layer["time_context"]
    assert tc["first_stored"] == "2017-01-03" and not tc["month_precision"]
    raw = _raw_monthly(path, report)

    s = tc["series"]
    assert s["months"][0] == "2022-04" and s["months"][-1] == "2024-03"
    assert s["missing_months"] == 0
    for a in ("target", "buffer", "control"):
        assert s["counts"][a] == [raw[a].get(m, 0) for m in s["months"]], a
    before = [f"2023-{m:02d}" for m in range(4, 10)]
    assert sum(raw["target"].get(m, 0) for m in before) == layer["counts"]["target"]["before"]

    ye = tc["year_earlier"]
    assert ye["available"] and ye["windows"]["before"]["start"] == "2022-04-01"
    assert ye["windows"]["after"]["end"] == "2023-03-31"
    for a in ("target", "buffer", "control"):
        assert ye["counts"][a]["before"] == sum(raw[a].get(f"2022-{m:02d}", 0)
                                                for m in range(4, 10))
        assert ye["counts"][a]["after"] == sum(
            raw[a].get(m, 0) for m in ("2022-10", "2022-11", "2022-12", "2023-01", "2023-02",
                                       "2023-03"))
    assert ye["verdict_code"] in VERDICT_CODES

    se = tc["seasonal"]
    assert se["available"] and se["years_back"] == [1, 2, 3]
    assert se["areas"]["target"]["observed"] == layer["counts"]["target"]["after"]
    assert se["areas"]["target"]["expected"] > 0

    pl = tc["placebo"]
    assert pl["available"] and pl["shift"] == "12 months"  # whole months: 2023-04..2024-03
    assert pl["windows"]["before"]["start"] == "2022-04-01"
    assert pl["windows"]["after"]["end"] == "2023-03-31"
    assert pl["verdict_code"] in VERDICT_CODES
    assert pl["found_effect"] == (pl["verdict_code"] not in NO_EFFECT_CODES)

    rtm = tc["regression_to_mean"]
    assert rtm["available"] and len(rtm["long_run_months"]) == 24
    assert rtm["long_run_months"][0] == "2021-04" and rtm["long_run_months"][-1] == "2023-03"
    assert rtm["long_run_count"] == sum(raw["target"].get(m, 0) for m in rtm["long_run_months"])
    assert rtm["long_run_days"] == 730.0 and rtm["before_days"] == 183.0
    # a hot half-year, chosen as targets are: well above the target's own long run
    assert rtm["well_above"] and rtm["expected_change_events"] < 0

    for a in ("target", "buffer", "control"):
        d = tc["dispersion"][a]
        assert d["months"] == 24 and d["factor"] is not None and d["factor"] > 0

    # what the design would claim anyway stands beside the verdict, as layer warnings
    assert (tc["sentences"]["placebo"] in layer["warnings"]) == pl["found_effect"]
    assert tc["sentences"]["regression_to_mean"] in layer["warnings"]
    noisy = any(tc["dispersion"][a]["factor"] > 1 and tc["dispersion"][a]["p_value"] < 0.05
                for a in ("target", "control"))
    assert (tc["sentences"]["dispersion"] in layer["warnings"]) == noisy

    pack = _sections(report)
    assert pack[-1].title == "Time context: ambulance/*" and pack[-1].figure is not None

    print("\nTempe downtown pseudo-operation (before 2023-04..09, after 2023-10..2024-03):")
    c = layer["counts"]
    print(f"  counts T {c['target']['before']}->{c['target']['after']}  B "
          f"{c['buffer']['before']}->{c['buffer']['after']}  C {c['control']['before']}->"
          f"{c['control']['after']}: {layer['verdict']['code']}")
    for part, text in tc["sentences"].items():
        print(f"  {part}: {text}")
