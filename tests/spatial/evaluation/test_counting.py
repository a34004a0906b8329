"""Tests of spatial.evaluation.counting: layers, and count tables against hand-made points."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.counting import EventArrays, MeasuredLayer, count_table
from spatial.evaluation.windows import Window, Windows, month_window_notes
from spatial.place import crs
from tests.spatial.evaluation.scenes import (
    E0,
    HAND_POINTS,
    N0,
    WINDOWS,
    events_at,
    make_areas,
)


def test_measured_layer_parse() -> None:
    s = MeasuredLayer.parse("crime:Drugs:output")
    assert (s.layer, s.category, s.role, s.harm_weight, s.key) == (
        "crime", "Drugs", "output", None, "crime/Drugs")
    w = MeasuredLayer.parse("crime:Anti-social behaviour:outcome:2.5")
    assert w.harm_weight == 2.5 and w.what() == "Anti-social behaviour crimes"
    both = MeasuredLayer.parse("crime:Drugs+Burglary:outcome")
    assert both.categories == ("Drugs", "Burglary")
    mask = both.matches(np.array(["crime", "crime", "crime", "ambulance"], dtype=object),
                        np.array(["Drugs", "Burglary", "Robbery", "Drugs"], dtype=object))
    assert mask.tolist() == [True, True, False, False]
    assert MeasuredLayer.parse("ambulance:*:outcome").what() == "ambulance call-outs"
    for bad in ("crime:Drugs", "crime:Drugs:impact", "crime:Drugs:output:x",
                "crime:Drugs:output:-1"):
        with pytest.raises(ParameterError):
            MeasuredLayer.parse(bad)


def test_count_table_against_hand_made_points() -> None:
    areas = make_areas(decay_step_m=100, decay_max_m=400)
    ev = events_at(HAND_POINTS)
    specs = [MeasuredLayer("crime", "Drugs", "output"),
             MeasuredLayer("crime", "*", "outcome"),
             MeasuredLayer("ambulance", "*", "outcome")]
    counts = count_table(ev, areas, WINDOWS, specs)
    drugs = counts["crime/Drugs"]
    assert drugs.areas["target"] == {"before": 3, "during": 1, "after": 1}
    assert drugs.areas["buffer"] == {"before": 1, "during": 0, "after": 2}
    assert drugs.areas["control"] == {"before": 2, "during": 0, "after": 2}
    assert drugs.areas["buffer_control"] == {"before": 0, "during": 0, "after": 0}
    assert drugs.rings == [{"before": 1, "during": 0, "after": 2}]
    # decay rings 0-100, 100-200, 200-300, 300-400 m from the square's edge
    assert drugs.decay_before == [1, 0, 0, 0]
    assert drugs.decay_after == [0, 2, 1, 0]  # 150 m, 180 m; 250 m
    assert drugs.n_events == 13  # 14 Drugs records; the April one is outside every window
    assert drugs.lengths == {"before": 31.0, "during": 14.0, "after": 31.0}
    assert counts["crime/*"].areas["target"]["before"] == 4
    assert counts["ambulance/*"].areas["target"]["before"] == 1
    table, reason = drugs.table(time_weighted=False)
    assert reason is None and isinstance(table, CountTable)
    assert (table.target_before, table.target_after, table.buffer_before, table.buffer_after,
            table.control_before, table.control_after, table.target_during) == (3, 1, 1, 2, 2, 2, 1)
    with pytest.raises(ParameterError, match="twice"):
        count_table(ev, areas, WINDOWS, [specs[0], specs[0]])


def test_two_rings_split_the_buffer() -> None:
    areas = make_areas(buffer_m=[100, 200])
    counts = count_table(events_at(HAND_POINTS), areas, WINDOWS,
                             [MeasuredLayer("crime", "Drugs", "output")])["crime/Drugs"]
    assert counts.rings == [{"before": 1, "during": 0, "after": 0},
                            {"before": 0, "during": 0, "after": 2}]
    assert counts.areas["buffer"] == {"before": 1, "during": 0, "after": 2}


def test_month_precision_windows_and_time_weights() -> None:
    windows = Windows(before=Window("before", date(2018, 10, 1), date(2018, 12, 31)),
                          after=Window("after", date(2019, 1, 15), date(2019, 4, 30)))
    pts = [(E0, N0, "2018-11-01", "crime", "Drugs"), (E0, N0, "2019-01-01", "crime", "Drugs"),
           (E0, N0, "2019-02-01", "crime", "Drugs")]
    ev = events_at(pts, precision="month", location="snapped")
    lc = count_table(ev, make_areas(), windows,
                         [MeasuredLayer("crime", "Drugs", "output")])["crime/Drugs"]
    assert lc.month_precision and lc.lengths == {"before": 92.0, "during": None, "after": 89.0}
    # January's records (dated 2019-01-01) precede the after window's first whole month
    assert lc.areas["target"] == {"before": 1, "during": 0, "after": 1}
    table, _ = lc.table(time_weighted=True)
    assert table is not None and (table.before_length, table.after_length) == (92.0, 89.0)
    notes = month_window_notes(windows)
    assert any("Feb 2019, Mar 2019, Apr 2019 (89 days)" in n for n in notes)
    none = Windows(before=windows.before,
                       after=Window("after", date(2019, 1, 15), date(2019, 1, 30)))
    lc0 = count_table(ev, make_areas(), none,
                          [MeasuredLayer("crime", "Drugs", "output")])["crime/Drugs"]
    t0, reason = lc0.table(time_weighted=True)
    assert t0 is None and "no whole month" in str(reason)


def test_events_from_frame_reproject_other_crs() -> None:
    import pandas as pd

    lon, lat = crs.to_wgs84(np.array([E0]), np.array([N0]), crs.BNG)
    frame = pd.DataFrame({"layer": ["crime"] * 2, "category": ["Drugs"] * 2,
                          "time": pd.to_datetime(["2019-01-05"] * 2),
                          "lon": [lon[0]] * 2, "lat": [lat[0]] * 2,
                          "x": [E0, 123.0], "y": [N0, 456.0], "crs_epsg": [27700, 32630],
                          "time_precision": ["day"] * 2, "location_precision": ["exact"] * 2})
    ev = EventArrays.from_frame(frame, crs.BNG)
    assert ev.x == pytest.approx([E0, E0], abs=1e-3)
    assert ev.y == pytest.approx([N0, N0], abs=1e-3)
