"""Tests of spatial.evaluation.operations: geometry in metres, count tables against hand-made points,
the dealing-site re-map, the overdose watch, planning, the baseline lock, planted effects
at event level, and zero counts."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pytest
import shapely

from spatial.errors import ParameterError
from spatial.evaluation import operations as ops
from spatial.evaluation.count_table import CountTable
from spatial.place import crs

# A fictional place in British National Grid (metres), as spatial.synthetic uses.
E0, N0 = 440_000.0, 380_000.0
BEFORE = ops.Window("before", date(2019, 1, 1), date(2019, 1, 31))
DURING = ops.Window("during", date(2019, 2, 1), date(2019, 2, 14))
AFTER = ops.Window("after", date(2019, 3, 1), date(2019, 3, 31))
WINDOWS = ops.Windows(before=BEFORE, during=DURING, after=AFTER)
DAY = {"before": "2019-01-10", "during": "2019-02-05", "after": "2019-03-10"}


def square(cx: float, cy: float, half: float) -> shapely.Polygon:
    return shapely.box(cx - half, cy - half, cx + half, cy + half)


def wgs(geom_m: shapely.Geometry) -> shapely.Geometry:
    return crs.geometry_to_wgs84(geom_m, crs.BNG)[()]


TARGET_M = square(E0, N0, 200)            # 400 m square
CONTROL_M = square(E0 + 2_000, N0, 300)   # 600 m square, 1.5 km away


def make_areas(**kw) -> ops.OperationAreas:
    args = dict(target=wgs(TARGET_M), buffer_m=[200], control=wgs(CONTROL_M), epsg=crs.BNG)
    args.update(kw)
    return ops.build_areas(**args)


def events_at(points: list[tuple[float, float, str, str, str]],
              precision: str = "day", location: str = "exact") -> ops.EventArrays:
    """(x, y, window, layer, category) -> EventArrays (metres in BNG)."""
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    lon, lat = crs.to_wgs84(x, y, crs.BNG)
    n = len(points)
    return ops.EventArrays(
        x=x, y=y, lon=lon, lat=lat,
        time=np.array([DAY[p[2]] if p[2] in DAY else p[2] for p in points],
                      dtype="datetime64[ns]"),
        layer=np.array([p[3] for p in points], dtype=object),
        category=np.array([p[4] for p in points], dtype=object),
        time_precision=np.full(n, precision, dtype=object),
        location_precision=np.full(n, location, dtype=object))


def empty_events() -> ops.EventArrays:
    return events_at([])


def random_points(rng: np.random.Generator, geom: shapely.Geometry, n: int) -> np.ndarray:
    """n uniform points in a metric polygon (vectorised rejection sampling)."""
    minx, miny, maxx, maxy = geom.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n + 16, 2))
        keep = shapely.contains_xy(geom, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[keep]])
    return out[:n]


# --------------------------------------------------------------------------
# windows and layers
# --------------------------------------------------------------------------


def test_parse_window_forms_and_month_lengths() -> None:
    w = ops.parse_window("2018-10/2018-12", "before")
    assert (w.start, w.end, w.days) == (date(2018, 10, 1), date(2018, 12, 31), 92)
    assert ops.parse_window("2019-02", "after").days == 28
    w2 = ops.parse_window("2019-01-15/2019-04-30", "after")
    assert w2.days == 106
    assert w2.whole_months() == [(2019, 2), (2019, 3), (2019, 4)]
    assert w2.month_days() == 28 + 31 + 30
    assert ops.Window("during", date(2019, 1, 1), date(2019, 1, 14)).month_days() == 31
    assert ops.Window("during", date(2019, 1, 15), date(2019, 1, 28)).month_days() == 0
    with pytest.raises(ParameterError, match="before"):
        ops.parse_window("2018-13-01/2018-12-31", "before")
    with pytest.raises(ParameterError, match="ends"):
        ops.parse_window("2018-12-31/2018-10-01", "before")


def test_windows_must_follow_each_other() -> None:
    with pytest.raises(ParameterError, match="windows.after"):
        ops.Windows(before=AFTER, after=BEFORE)
    with pytest.raises(ParameterError, match="windows.during"):
        ops.Windows(before=BEFORE, after=AFTER,
                    during=ops.Window("during", date(2019, 1, 20), date(2019, 2, 1)))
    idx = ops.window_index(np.array(["2018-12-31", "2019-01-01", "2019-01-31T23:59",
                                     "2019-02-01", "2019-02-15", "2019-03-31", "2019-04-01"],
                                    dtype="datetime64[ns]"), WINDOWS)
    assert idx.tolist() == [-1, 0, 0, 1, -1, 2, -1]


def test_measured_layer_parse() -> None:
    s = ops.MeasuredLayer.parse("crime:Drugs:output")
    assert (s.layer, s.category, s.role, s.harm_weight, s.key) == (
        "crime", "Drugs", "output", None, "crime/Drugs")
    w = ops.MeasuredLayer.parse("crime:Anti-social behaviour:outcome:2.5")
    assert w.harm_weight == 2.5 and w.what() == "Anti-social behaviour crimes"
    both = ops.MeasuredLayer.parse("crime:Drugs+Burglary:outcome")
    assert both.categories == ("Drugs", "Burglary")
    mask = both.matches(np.array(["crime", "crime", "crime", "ambulance"], dtype=object),
                        np.array(["Drugs", "Burglary", "Robbery", "Drugs"], dtype=object))
    assert mask.tolist() == [True, True, False, False]
    assert ops.MeasuredLayer.parse("ambulance:*:outcome").what() == "ambulance call-outs"
    for bad in ("crime:Drugs", "crime:Drugs:impact", "crime:Drugs:output:x",
                "crime:Drugs:output:-1"):
        with pytest.raises(ParameterError):
            ops.MeasuredLayer.parse(bad)


# --------------------------------------------------------------------------
# geometry in metres
# --------------------------------------------------------------------------


@pytest.mark.parametrize("radius", [150.0, 300.0, 1_000.0])
def test_ring_areas_of_a_circle_target(radius: float) -> None:
    lon, lat = -1.47, 53.38  # Sheffield: BNG
    areas = ops.build_areas(circle=(lon, lat, radius), buffer_m=[200, 500],
                            control=None, decay_step_m=100, decay_max_m=1_000)
    assert areas.epsg == crs.BNG
    assert areas.target.area == pytest.approx(math.pi * radius**2, rel=1e-3)
    edges = [0.0, 200.0, 500.0]
    for ring, a, b in zip(areas.buffer_rings, edges, edges[1:], strict=False):
        expected = math.pi * ((radius + b) ** 2 - (radius + a) ** 2)
        assert ring.area == pytest.approx(expected, rel=1e-3)
        assert not ring.intersects(areas.target.buffer(-1.0))  # the ring excludes the target
    assert areas.buffer.area == pytest.approx(math.pi * ((radius + 500) ** 2 - radius**2),
                                              rel=1e-3)
    assert len(areas.decay_rings) == 10
    for k, ring in enumerate(areas.decay_rings):
        a, b = 100.0 * k, 100.0 * (k + 1)
        assert ring.area == pytest.approx(math.pi * ((radius + b) ** 2 - (radius + a) ** 2),
                                          rel=1e-3)


def test_circle_in_utm_outside_great_britain() -> None:
    areas = ops.build_areas(circle=(-87.65, 41.85, 400.0), buffer_m=[400])  # Chicago
    assert areas.epsg == 32616
    assert areas.buffer.area == pytest.approx(math.pi * (800**2 - 400**2), rel=1e-3)
    assert areas.parameters()["crs"] == "EPSG:32616"


def test_square_target_rings_and_round_trip() -> None:
    areas = make_areas()
    assert areas.target.area == pytest.approx(400 * 400, rel=1e-6)
    # a 200 m ring around a 400 m square: the square grown by 200 m with round corners
    expected = (800 * 800 - 4 * 200 * 200 + math.pi * 200**2) - 400 * 400
    assert areas.buffer.area == pytest.approx(expected, rel=1e-3)
    gj = areas.as_geojson()
    assert gj["target"]["type"] == "Polygon" and gj["buffer_control"] is None
    back = ops.to_metric(ops.polygon_from_geojson(gj["control"]), crs.BNG)
    # a straight BNG edge is not straight in lon/lat: millimetres apart after the round trip
    assert back.symmetric_difference(CONTROL_M).area < 1e-4 * CONTROL_M.area


def test_control_must_not_overlap_and_should_not_touch() -> None:
    with pytest.raises(ParameterError, match="overlaps the buffer"):
        make_areas(control=wgs(square(E0 + 500, N0, 200)))
    touching = make_areas(control=wgs(shapely.box(E0 + 400, N0 - 100, E0 + 700, N0 + 100)))
    assert any("touches the buffer" in w for w in touching.warnings)


def test_buffer_polygon_is_cut_from_the_target() -> None:
    big = square(E0, N0, 500)
    areas = ops.build_areas(target=wgs(TARGET_M), buffer=wgs(big), epsg=crs.BNG)
    assert areas.buffer.area == pytest.approx(1000 * 1000 - 400 * 400, rel=1e-4)
    assert any("overlapped the target" in w for w in areas.warnings)
    assert areas.buffer_edges_m is None


def test_polygon_from_geojson_forms_and_errors() -> None:
    poly = {"type": "Polygon", "coordinates": [[[-1.5, 53.3], [-1.4, 53.3], [-1.4, 53.4],
                                                 [-1.5, 53.3]]]}
    assert ops.polygon_from_geojson(poly).geom_type == "Polygon"
    feature = {"type": "Feature", "properties": {}, "geometry": poly}
    fc = {"type": "FeatureCollection", "features": [feature]}
    assert ops.polygon_from_geojson(fc).equals(ops.polygon_from_geojson(feature))
    with pytest.raises(ParameterError, match="polygon"):
        ops.polygon_from_geojson({"type": "Point", "coordinates": [-1.5, 53.3]})
    with pytest.raises(ParameterError, match="WGS84"):
        ops.polygon_from_geojson({"type": "Polygon", "coordinates": [[
            [440000, 380000], [441000, 380000], [441000, 381000], [440000, 380000]]]})
    with pytest.raises(ParameterError):
        ops.polygon_from_geojson("not json")


# --------------------------------------------------------------------------
# count tables against hand-made points
# --------------------------------------------------------------------------


HAND_POINTS = [
    # target: 3 before, 1 during, 1 after of Drugs; 1 ASB before
    (E0, N0, "before", "crime", "Drugs"), (E0 + 50, N0, "before", "crime", "Drugs"),
    (E0 - 150, N0 + 150, "before", "crime", "Drugs"), (E0, N0 + 10, "during", "crime", "Drugs"),
    (E0 + 10, N0, "after", "crime", "Drugs"),
    (E0, N0 - 20, "before", "crime", "Anti-social behaviour"),
    # buffer (within 200 m of the square): 1 before, 2 after; 250 m from centre = 50 m out
    (E0 + 250, N0, "before", "crime", "Drugs"), (E0, N0 + 350, "after", "crime", "Drugs"),
    (E0 - 380, N0, "after", "crime", "Drugs"),
    # beyond the buffer but inside the 300 m decay ring
    (E0 + 450, N0, "after", "crime", "Drugs"),
    # control: 2 before, 2 after
    (E0 + 2_000, N0, "before", "crime", "Drugs"), (E0 + 2_100, N0, "before", "crime", "Drugs"),
    (E0 + 2_000, N0 + 100, "after", "crime", "Drugs"),
    (E0 + 1_900, N0, "after", "crime", "Drugs"),
    # outside every window, and an ambulance call-out in the target
    (E0, N0, "2019-04-20", "crime", "Drugs"), (E0, N0, "before", "ambulance", "overdose"),
]


def test_count_table_against_hand_made_points() -> None:
    areas = make_areas(decay_step_m=100, decay_max_m=400)
    ev = events_at(HAND_POINTS)
    specs = [ops.MeasuredLayer("crime", "Drugs", "output"),
             ops.MeasuredLayer("crime", "*", "outcome"),
             ops.MeasuredLayer("ambulance", "*", "outcome")]
    counts = ops.count_table(ev, areas, WINDOWS, specs)
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
        ops.count_table(ev, areas, WINDOWS, [specs[0], specs[0]])


def test_two_rings_split_the_buffer() -> None:
    areas = make_areas(buffer_m=[100, 200])
    counts = ops.count_table(events_at(HAND_POINTS), areas, WINDOWS,
                             [ops.MeasuredLayer("crime", "Drugs", "output")])["crime/Drugs"]
    assert counts.rings == [{"before": 1, "during": 0, "after": 0},
                            {"before": 0, "during": 0, "after": 2}]
    assert counts.areas["buffer"] == {"before": 1, "during": 0, "after": 2}


def test_month_precision_windows_and_time_weights() -> None:
    windows = ops.Windows(before=ops.Window("before", date(2018, 10, 1), date(2018, 12, 31)),
                          after=ops.Window("after", date(2019, 1, 15), date(2019, 4, 30)))
    pts = [(E0, N0, "2018-11-01", "crime", "Drugs"), (E0, N0, "2019-01-01", "crime", "Drugs"),
           (E0, N0, "2019-02-01", "crime", "Drugs")]
    ev = events_at(pts, precision="month", location="snapped")
    lc = ops.count_table(ev, make_areas(), windows,
                         [ops.MeasuredLayer("crime", "Drugs", "output")])["crime/Drugs"]
    assert lc.month_precision and lc.lengths == {"before": 92.0, "during": None, "after": 89.0}
    # January's records (dated 2019-01-01) precede the after window's first whole month
    assert lc.areas["target"] == {"before": 1, "during": 0, "after": 1}
    table, _ = lc.table(time_weighted=True)
    assert table is not None and (table.before_length, table.after_length) == (92.0, 89.0)
    notes = ops.month_window_notes(windows)
    assert any("Feb 2019, Mar 2019, Apr 2019 (89 days)" in n for n in notes)
    none = ops.Windows(before=windows.before,
                       after=ops.Window("after", date(2019, 1, 15), date(2019, 1, 30)))
    lc0 = ops.count_table(ev, make_areas(), none,
                          [ops.MeasuredLayer("crime", "Drugs", "output")])["crime/Drugs"]
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
    ev = ops.EventArrays.from_frame(frame, crs.BNG)
    assert ev.x == pytest.approx([E0, E0], abs=1e-3)
    assert ev.y == pytest.approx([N0, N0], abs=1e-3)


# --------------------------------------------------------------------------
# control suggestions
# --------------------------------------------------------------------------


def test_suggest_controls_excludes_touching_and_prefers_similar_nearby() -> None:
    areas = make_areas()
    # a row of 400 m squares east of the target: the first touches the buffer
    cands = [square(E0 + 400 * k, N0, 200) for k in range(1, 7)]
    counts = [50, 40, 10, 38, 41, 0]
    out = ops.suggest_controls([f"U{k}" for k in range(1, 7)], cands, counts, 40,
                               target_m=areas.target, buffer_m=areas.buffer,
                               labels=[f"unit {k}" for k in range(1, 7)], max_units=3,
                               max_distance_m=1_900)
    excluded = {e["id"]: e["reason"] for e in out["excluded"]}
    assert "touches" in excluded["U1"]
    assert "beyond" in excluded["U6"]  # 1,800 m from the target's edge... and empty
    assert out["chosen"] == ["U2"]     # its baseline equals the target's: adding more is worse
    first = out["ranked"][0]
    assert first["id"] == "U2" and first["chosen"]
    assert "does not touch the buffer" in first["reason"] and "ratio 1.00" in first["reason"]
    # small units are combined until the control's baseline is near the target's
    few = ops.suggest_controls(["A", "B", "C"], cands[1:4], [15, 14, 16], 45,
                               target_m=areas.target, buffer_m=areas.buffer, max_units=5)
    assert sorted(few["chosen"]) == ["A", "B", "C"] and few["control_baseline"] == 45
    none = ops.suggest_controls(["U1"], cands[:1], [40], 40, target_m=areas.target,
                                buffer_m=areas.buffer)
    assert none["chosen"] == [] and none["warnings"]


def test_suggest_controls_matches_the_profile_not_only_the_total() -> None:
    areas = make_areas()
    cands = [square(E0 + 400 * k, N0, 200) for k in range(2, 5)]
    # columns: Drugs, all crime. B has the target's total but no drug offences.
    counts = [[2, 300], [20, 290], [60, 900]]
    out = ops.suggest_controls(["A", "B", "C"], cands, counts, [20, 300],
                               target_m=areas.target, buffer_m=areas.buffer,
                               columns=["crime/Drugs", "crime/*"], max_units=2)
    assert out["chosen"] == ["B"]
    assert out["control_baseline"] == [20.0, 290.0] and out["target_baseline"] == [20.0, 300.0]
    assert out["ranked"][0]["reason"].startswith(
        "baseline crime/Drugs 20, crime/* 290 against the target's crime/Drugs 20, crime/* 300")
    with pytest.raises(ParameterError, match="matched columns"):
        ops.suggest_controls(["A"], cands[:1], [[1, 2]], [1, 2, 3], target_m=areas.target,
                             buffer_m=areas.buffer)


# --------------------------------------------------------------------------
# dealing-site re-map
# --------------------------------------------------------------------------


def test_dealing_site_classification() -> None:
    areas = make_areas()
    windows = ops.Windows(before=ops.Window("before", date(2018, 10, 1), date(2018, 12, 31)),
                          during=ops.Window("during", date(2019, 1, 1), date(2019, 1, 14)),
                          after=ops.Window("after", date(2019, 1, 15), date(2019, 4, 30)))
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
    sites = ops.SiteRecords(
        x=np.array([r[0] for r in rows]), y=np.array([r[1] for r in rows]),
        status=np.array([r[2] for r in rows], dtype=object),
        first_seen=np.array([np.datetime64(r[3]) if r[3][0].isdigit() else np.datetime64("NaT")
                             for r in rows], dtype="datetime64[ns]"),
        last_seen=np.array([r[4] for r in rows], dtype="datetime64[ns]"))
    out = ops.classify_sites(sites, areas, windows)
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
    s = ops.SiteRecords.from_frame(frame, crs.BNG)
    assert s.status.tolist() == ["closed"]
    assert str(s.last_seen[0])[:10] == "2019-01-07"


# --------------------------------------------------------------------------
# overdose watch, planning, baseline lock
# --------------------------------------------------------------------------


def test_overdose_watch_flags_a_rise() -> None:
    areas = make_areas()
    pts = ([(E0, N0, "before", "ambulance", "od")] * 10
           + [(E0 + 250, N0, "during", "ambulance", "od")] * 12
           + [(E0, N0, "after", "ambulance", "od")] * 11)
    ev = events_at(pts)
    placed = ops.place_events(ev, areas, WINDOWS)
    out = ops.overdose_watch(ev, placed, WINDOWS, "ambulance")
    assert out["total"] == {"before": 10, "during": 12, "after": 11}
    during = out["tests"]["before_vs_during"]
    assert during["rate_ratio"] == pytest.approx((12 / 14) / (10 / 31))
    assert during["rise_flag"] and out["rise"]
    assert not out["tests"]["before_vs_after"]["rise_flag"]
    assert "rose during the operation" in out["flags"][0]
    missing = ops.overdose_watch(ev, placed, WINDOWS, "no_such_layer")
    assert missing["available"] is False and "no 'no_such_layer' events" in missing["reason"]


def test_plan_layer_hand_calculation() -> None:
    lc = ops.LayerCounts(
        spec=ops.MeasuredLayer("crime", "Drugs", "output"),
        areas={"target": {"before": 100, "during": 0, "after": 0},
               "buffer": {"before": 80, "during": 0, "after": 0},
               "control": {"before": 100, "during": 0, "after": 0},
               "buffer_control": {"before": 0, "during": 0, "after": 0}},
        rings=[], decay_before=[], decay_after=[],
        lengths={"before": 30.0, "during": None, "after": 30.0}, month_precision=False,
        location_precisions=[], n_events=0)
    plan = ops.plan_layer(lc, reduction=0.5)
    # Z = 1.95996 + 0.84162; V0 k² a² = 2 (100 + 100) = 400;
    # delta = (-Z² + sqrt(Z⁴ + 4 Z² 400)) / 2 = 52.25
    z = 1.959963984540054 + 0.8416212335729143
    delta = (-z * z + math.sqrt(z**4 + 4 * z * z * 400)) / 2
    assert plan["mdc_local"]["reduction"] == pytest.approx(delta, rel=1e-9)
    assert delta == pytest.approx(52.25, abs=0.01)
    assert plan["verdict_possible"] is True
    assert "52%" in plan["sentence"] and "30-day before window" in plan["sentence"]
    tiny = ops.LayerCounts(**{**lc.__dict__, "areas": {
        a: {"before": 5, "during": 0, "after": 0} for a in ops.AREA_NAMES}})
    small = ops.plan_layer(tiny)
    assert small["verdict_possible"] is False and "below the 35 a verdict needs" in \
        small["sentence"]


def test_mdc_from_plan_is_detected_about_80_percent_of_the_time() -> None:
    """Plant the planned minimum detectable reduction at event level; ~80 % detected."""
    from spatial.evaluation.wdd import local_effect

    rng = np.random.default_rng(20190101)
    base = {"target": 120, "buffer": 100, "control": 120}
    lc = ops.LayerCounts(
        spec=ops.MeasuredLayer("crime", "Drugs", "output"),
        areas={a: {"before": v, "during": 0, "after": 0} for a, v in
               {**base, "buffer_control": 0}.items()},
        rings=[], decay_before=[], decay_after=[],
        lengths={"before": 31.0, "during": None, "after": 31.0}, month_precision=False,
        location_precisions=[], n_events=0)
    delta = ops.plan_layer(lc)["mdc_local"]["reduction"]
    detected = 0
    runs = 300
    for _ in range(runs):
        tb, ta = rng.poisson(base["target"]), rng.poisson(base["target"] - delta)
        cb, ca = rng.poisson(base["control"]), rng.poisson(base["control"])
        t = CountTable.from_pairs(target=(tb, ta), buffer=(100, 100), control=(cb, ca))
        le = local_effect(t)
        detected += int(le.significant and le.estimate < 0)
    assert 0.72 <= detected / runs <= 0.88


def test_baseline_lock_reports_changes_and_uses_locked_counts() -> None:
    areas = make_areas()
    specs = [ops.MeasuredLayer("crime", "Drugs", "output")]
    ev = events_at(HAND_POINTS)
    locked = ops.current_baseline(ev, areas, WINDOWS, specs)
    fp = ops.fingerprint(locked)
    assert len(fp) == 64 and fp == ops.fingerprint(json.loads(json.dumps(locked)))
    assert locked["layers"]["crime/Drugs"]["areas"]["target"] == 3
    extra = events_at(HAND_POINTS + [(E0 + 5, N0 + 5, "before", "crime", "Drugs")] * 3)
    report = ops.evaluate_operation(extra, areas, WINDOWS, specs, locked=locked)
    changes = report["baseline_lock"]["changes"]
    assert changes[0]["message"] == ("3 events imported after the baseline lock changed the "
                                     "before count of crime/Drugs in target: 3 → 6; the "
                                     "locked figures were used")
    assert any("H3 cell" in c["message"] for c in changes)
    layer = report["layers"][0]
    assert layer["counts"]["target"]["before"] == 3  # the locked figure
    assert layer["count_table"]["target_before"] == 3
    assert changes[0]["message"] in report["warnings"]
    assert ops.fingerprint(locked) == fp  # the lock itself is not modified


# --------------------------------------------------------------------------
# planted effects at event level, null runs, zero counts
# --------------------------------------------------------------------------


def simulate_points(rng: np.random.Generator, areas: ops.OperationAreas,
                    rates: dict[str, float], effects: dict[str, float]) -> ops.EventArrays:
    pts: list[tuple[float, float, str, str, str]] = []
    for area, rate in rates.items():
        geom = areas.geometry(area)
        for window in ("before", "after"):
            n = int(rng.poisson(rate * (effects.get(area, 1.0) if window == "after" else 1.0)))
            for x, y in random_points(rng, geom, n):
                pts.append((x, y, window, "crime", "Drugs"))
    return events_at(pts)


@pytest.mark.parametrize(("effects", "expected"), [
    ({"target": 0.5, "buffer": 1.4}, {"reduction_with_displacement"}),
    ({"target": 0.5, "buffer": 0.6}, {"reduction_with_diffusion"}),
    ({"target": 0.5}, {"reduction_no_displacement"}),
    ({}, {"no_significant_change"}),
])
def test_planted_effects_recovered_from_points(effects: dict[str, float],
                                               expected: set[str]) -> None:
    areas = make_areas()
    rng = np.random.default_rng(7)
    ev = simulate_points(rng, areas, {"target": 400, "buffer": 400, "control": 400}, effects)
    report = ops.evaluate_operation(ev, areas, WINDOWS,
                                    [ops.MeasuredLayer("crime", "Drugs", "outcome")])
    assert report["layers"][0]["verdict"]["code"] in expected
    json.dumps(report, allow_nan=False)


def test_null_operations_rarely_claim_a_change() -> None:
    areas = make_areas()
    spec = ops.MeasuredLayer("crime", "Drugs", "outcome")
    rng = np.random.default_rng(11)
    from spatial.evaluation.verdict import decide as verdict

    claimed = 0
    runs = 200
    for _ in range(runs):
        ev = simulate_points(rng, areas, {"target": 60, "buffer": 60, "control": 60}, {})
        lc = ops.count_table(ev, areas, WINDOWS, [spec])[spec.key]
        table, _ = lc.table(time_weighted=False)
        assert table is not None
        claimed += int(verdict(table).code not in ("no_significant_change",
                                                   "insufficient_data"))
    assert claimed / runs <= 0.085


def test_zero_counts_never_crash_and_say_why() -> None:
    areas = make_areas(buffer_control=wgs(square(E0 - 2_000, N0, 300)))
    specs = [ops.MeasuredLayer("crime", "Drugs", "output", 1.0),
             ops.MeasuredLayer("crime", "Burglary", "outcome")]
    site_none = ops.SiteRecords(x=np.zeros(0), y=np.zeros(0), status=np.zeros(0, dtype=object),
                                first_seen=np.zeros(0, dtype="datetime64[ns]"),
                                last_seen=np.zeros(0, dtype="datetime64[ns]"))
    report = ops.evaluate_operation(empty_events(), areas, WINDOWS, specs, sites=site_none)
    json.dumps(report, allow_nan=False)
    for layer in report["layers"]:
        assert layer["verdict"]["code"] == "insufficient_data"
        assert "Too few" in layer["verdict"]["sentence"]
        assert any("success measure not computed: control before count is 0" in w
                   for w in layer["warnings"])
        assert any("wdd not tested" in w for w in layer["warnings"])
        assert layer["sppt"]["reason"].startswith("no events before")
        assert layer["density_change"]["available"] is False
        assert layer["planning"]["mdc_local"]["reason"].startswith("target before count is 0")
    assert report["overdose_watch"]["available"] is False
    assert report["dealing_sites"]["available"] is False
    assert report["harm_weighted_wdd"]["total"]["reason"].startswith("every count")
    # events in the target only: the control is empty
    only_target = events_at([(E0, N0, "before", "crime", "Drugs")] * 40
                            + [(E0, N0, "after", "crime", "Drugs")] * 10)
    rep2 = ops.evaluate_operation(only_target, areas, WINDOWS, specs[:1])
    json.dumps(rep2, allow_nan=False)
    layer = rep2["layers"][0]
    assert layer["verdict"]["code"] == "insufficient_data"
    assert "control area recorded no" in layer["verdict"]["sentence"]
    assert layer["distance_decay"]["reason"].startswith("control before count is 0")


def test_report_shape_parameters_and_caveats() -> None:
    areas = make_areas()
    rng = np.random.default_rng(3)
    ev = simulate_points(rng, areas, {"target": 200, "buffer": 200, "control": 200},
                         {"target": 0.5, "buffer": 1.3})
    specs = [ops.MeasuredLayer("crime", "Drugs", "output", 2.0)]
    rep = ops.evaluate_operation(ev, areas, WINDOWS, specs, caveats=["concurrent_operations"],
                                 options=ops.EvaluationOptions(alpha=0.1, area_weights=True))
    p = rep["parameters"]
    assert p["crs"] == "EPSG:27700" and p["options"]["alpha"] == 0.1
    assert p["area_weights"]["target"] == pytest.approx(0.16)
    assert p["windows"]["before"] == {"start": "2019-01-01", "end": "2019-01-31", "days": 31}
    assert p["time_weights"] is None  # equal windows
    layer = rep["layers"][0]
    assert layer["role"] == "output" and "police activity" in layer["role_note"]
    for key in ("success_measure", "buffer_displacement_measure", "wdq", "total_net_effect",
                "local_effect", "displacement_effect", "wdd"):
        assert key in layer["measures"]
    assert layer["count_table"]["target_area"] == pytest.approx(0.16)
    caveats = " ".join(layer["verdict"]["caveats"])
    assert "other operations ran at the same time" in caveats
    assert "police activity" in caveats
    assert layer["buffer_rings"][0]["outer_m"] == 200.0
    assert layer["distance_decay"]["rings"][0]["inner_m"] == 0.0
    assert layer["sppt"]["n_units"] > 0
    assert layer["density_change"]["available"] is True
    assert rep["harm_weighted_wdd"]["total"]["estimate"] == pytest.approx(
        2.0 * layer["measures"]["wdd"]["estimate"])
    assert rep["baseline_lock"]["locked"] is False
    json.dumps(rep, allow_nan=False)


def test_displacement_summary_wheeler_ratcliffe() -> None:
    t = CountTable.from_pairs(target=(207, 110), control=(308, 318), buffer=(178, 157),
                              buffer_control=(150, 140))
    out = ops.displacement_summary(t, harm_weight=2.0)
    w = out["wdd"]
    assert w["estimate"] == -118 and w["variance"] == 1568
    assert w["se"] == pytest.approx(math.sqrt(1568)) and round(w["z"], 2) == -2.98
    assert [round(c) for c in w["ci"]] == [-196, -40]
    assert out["harm_weighted_wdd"]["estimate"] == -236
    assert out["harm_weighted_wdd"]["se"] == pytest.approx(2 * math.sqrt(1568))
    assert out["verdict"]["code"] == "reduction_no_displacement"
    zero = ops.displacement_summary(CountTable.from_pairs(target=(0, 0), buffer=(0, 0),
                                                          control=(0, 0)))
    assert zero["wdd"]["z"] is None and zero["sm"]["value"] is None
    assert any("sm not computed" in w for w in zero["warnings"])
    json.dumps(zero, allow_nan=False)
