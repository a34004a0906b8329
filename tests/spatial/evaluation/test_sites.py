"""Tests of spatial.evaluation.sites: the dealing-site re-map."""

from __future__ import annotations

from datetime import date

import numpy as np

from spatial.evaluation.sites import SiteRecords, classify_sites
from spatial.evaluation.windows import Window, Windows
from spatial.place import crs
from tests.spatial.evaluation.scenes import (
    E0,
    N0,
    make_areas,
)


def test_dealing_site_classification() -> None:
    areas = make_areas()
    windows = Windows(before=Window("before", date(2018, 10, 1), date(2018, 12, 31)),
                          during=Window("during", date(2019, 1, 1), date(2019, 1, 14)),
                          after=Window("after", date(2019, 1, 15), date(2019, 4, 30)))
    rows = [
        # x, y, status, first_seen, last_seen, expected area, expected class
        (E0, N0, "closed", "2018-08-01", "2019-01-07", "target", "closed"),
        (E0 + 10, N0, "active", "2018-09-01", "2018-12-01", "target", "closed"),  # not seen
        (E0 + 20, N0, "active", "2018-10-05", "2019-06-01", "target", "persisting"),
        (E0 + 30, N0, "closed", "2018-10-05", "2019-06-01", "target", "persisting"),
        (E0 + 40, N0, "re-occupied", "2018-07-01", "2019-03-20", "target", "re_occupied"),
        (E0 + 300, N0, "active", "2019-02-10", "2019-06-01", "buffer", "new"),
        (E0 - 300, N0, "active", "2019-01-03", "2019-02-01", "buffer", "new"),
        (E0, N0 + 50, "active", "2019-03-01", "2019-05-01", "target", "new"),
        (E0 + 2_000, N0, "closed", "2018-01-01", "2018-06-01", "control", "not_active"),
        (E0 + 5_000, N0, "active", "2019-05-05", "2019-06-01", "elsewhere", "not_active"),
        (E0 + 5_000, N0, "active", "not a date", "2019-06-01", "elsewhere", "unknown"),
    ]
    sites = SiteRecords(
        x=np.array([r[0] for r in rows]), y=np.array([r[1] for r in rows]),
        status=np.array([r[2] for r in rows], dtype=object),
        first_seen=np.array([np.datetime64(r[3]) if r[3][0].isdigit() else np.datetime64("NaT")
                             for r in rows], dtype="datetime64[ns]"),
        last_seen=np.array([r[4] for r in rows], dtype="datetime64[ns]"))
    out = classify_sites(sites, areas, windows)
    expected: dict[str, dict[str, int]] = {}
    for r in rows:
        expected.setdefault(r[5], {}).setdefault(r[6], 0)
        expected[r[5]][r[6]] += 1
    for area, classes in expected.items():
        for cls, n in classes.items():
            assert out["by_area"][area][cls] == n, (area, cls)
    assert out["new_in_buffer_possible_displacement"] == 2
    assert out["sentence"].startswith("Dealing sites (partial intelligence): of 5 site(s) "
                                      "active in the target before the operation, 2 closed, "
                                      "2 persisted and 1 were re-occupied; 2 new site(s) "
                                      "appeared in the buffer (possible displacement)")
    assert any("not recorded on or after 2019-01-15" in w for w in out["warnings"])
    assert any("1 site record" in w for w in out["warnings"])


def test_site_records_from_frame() -> None:
    import pandas as pd

    lon, lat = crs.to_wgs84(np.array([E0]), np.array([N0]), crs.BNG)
    frame = pd.DataFrame({"lon": lon, "lat": lat, "x": [E0], "y": [N0], "crs_epsg": [27700],
                          "time": pd.to_datetime(["2018-08-01"]),
                          "attributes": [{"status": "closed", "first_seen": "2018-08-01",
                                          "last_seen": "2019-01-07"}]})
    s = SiteRecords.from_frame(frame, crs.BNG)
    assert s.status.tolist() == ["closed"]
    assert str(s.last_seen[0])[:10] == "2019-01-07"
