"""Near-repeat (Knox) on real day-level data: Tempe's opioid overdose call-outs, 2017-2024.

3,379 ambulance calls with their dates; the city publishes positions rounded (4 decimal
places, about 11 m by 9 m, and further generalised: 2,427 distinct points, the median
distance to the nearest other point about 93 m). The observed table is checked against an
independent count of the raw CSV (csv module, every pair with numpy), the expected margins
against the observed ones, and the figures are printed for the README.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.app.analysis import CountsRequest
from service.app.near_repeat import AREA_UNIT, NearRepeatOptions, near_repeat_table
from service.render.near_repeat import nrc_text, pattern_sentence
from service.store import Store
from spatial.place import crs
from tests.e2e.tempe import import_tempe, tempe_csv

pytestmark = pytest.mark.realdata

UTM12N = 32612
SEED = 20240930


@pytest.fixture(scope="module")
def tempe(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Store, Path]]:
    path = tempe_csv(shared_data)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('tempe_nr') / 'remap.db'}")
    import_tempe(store, path)
    try:
        yield store, path
    finally:
        store.dispose()


def _raw_table(path: Path) -> np.ndarray:
    """The default table (100 m x 5, 7 days x 5) from the raw CSV, every pair."""
    lon, lat, day = [], [], []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lon.append(float(row["longitude"]))
            lat.append(float(row["latitude"]))
            day.append(date.fromisoformat(row["incident_date"]).toordinal())
    x, y = crs.to_metric(np.array(lon), np.array(lat), UTM12N)
    days = np.array(day)
    i, j = np.triu_indices(len(x), 1)
    d = np.hypot(x[i] - x[j], y[i] - y[j])
    row = np.where(d == 0, 0, np.minimum(np.ceil(d / 100.0), 6)).astype(np.int64)
    dt = np.abs(days[i] - days[j])
    col = np.minimum(np.where(dt == 0, 0, (dt - 1) // 7), 5)
    return np.bincount(row * 6 + col, minlength=42).reshape(7, 6)


def test_near_repeat_on_tempe(tempe: tuple[Store, Path]) -> None:
    store, path = tempe
    req = CountsRequest.parse(layer="ambulance", unit=AREA_UNIT)
    t: dict[str, Any] = near_repeat_table(store, req, NearRepeatOptions(seed=SEED),
                                          role="analyst", actor="test")
    assert t["events"] == 3379 and t["pairs"] == 3379 * 3378 // 2
    observed = np.array([[c["observed"] for c in row] for row in t["cells"]])
    np.testing.assert_array_equal(observed, _raw_table(path))
    expected = np.array([[c["expected"] for c in row] for row in t["cells"]])
    np.testing.assert_allclose(expected.sum(axis=1), observed.sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(expected.sum(axis=0), observed.sum(axis=0), rtol=1e-9)
    assert t["parameters"]["crs"] == "EPSG:32612" and t["parameters"]["seed"] == SEED
    assert any("2,427 distinct published positions" in w for w in t["warnings"])
    # calls at the same published point within a week are far more common than chance
    same_week = t["cells"][0][0]
    assert same_week["significant"] and same_week["ratio"] > 5
    assert t["pattern"] == "near_repeat"
    print(f"\nTempe near-repeat: {pattern_sentence(t)}")
    print(nrc_text(t))
    print("observed same location:", observed[0].tolist(), "up to 100 m:", observed[1].tolist())
    print("candidate pairs:", t["candidate_pairs"])
