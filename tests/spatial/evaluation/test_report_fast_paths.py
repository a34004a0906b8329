"""The report's shared work (issue 13 item 2) gives the answers of the per-call work it
replaced: placement by distinct position (NaN and inf included), H3 cells located once,
(layer, category) codes handed on through ``take``, substances folded once per value,
the watch counts and the site re-map by bincount."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spatial.evaluation import counting
from spatial.evaluation.cells import cell_counts, cell_index, sppt_units
from spatial.evaluation.consequence_watch import _folded
from spatial.evaluation.counting import (
    EventArrays,
    MeasuredLayer,
    pair_codes,
    place_events,
)
from spatial.evaluation.overdose_watch import rise_watch
from spatial.evaluation.windows import WINDOW_NAMES
from spatial.place import crs
from spatial.place import units as unitsmod
from spatial.place.placement import assign_polygons
from tests.spatial.evaluation.scenes import DAY, E0, N0, WINDOWS, make_areas

LAYERS = np.array(["crime", "ambulance", "crime", None], dtype=object)
CATS = np.array(["Drugs", "Anti-social behaviour", "Burglary", None, float("nan")],
                dtype=object)


def _scene(n: int = 3000, seed: int = 5) -> EventArrays:
    """Events snapped to 60 positions around the target, buffer and control, in and out of
    the windows, a few without finite coordinates."""
    rng = np.random.default_rng(seed)
    snap = np.column_stack([E0 + rng.uniform(-600, 2_600, 60), N0 + rng.uniform(-600, 600, 60)])
    pick = rng.integers(0, 60, n)
    x, y = snap[pick, 0].copy(), snap[pick, 1].copy()
    x[:20] = np.nan
    y[20:30] = np.inf
    lon, lat = crs.to_wgs84(x, y, crs.BNG)
    days = np.array([DAY["before"], DAY["during"], DAY["after"], "2018-06-01"])
    return EventArrays(
        x=x, y=y, lon=lon, lat=lat,
        time=days[rng.integers(0, 4, n)].astype("datetime64[ns]"),
        layer=LAYERS[rng.integers(0, 4, n)], category=CATS[rng.integers(0, 5, n)],
        time_precision=np.full(n, "day", dtype=object),
        location_precision=np.full(n, "exact", dtype=object))


def test_place_events_is_assign_polygons_point_by_point() -> None:
    ev, areas = _scene(), make_areas()
    placed = place_events(ev, areas, WINDOWS)
    inside = placed.window >= 0
    polys = np.array([areas.target, areas.buffer, areas.control, areas.buffer_control],
                     dtype=object)
    want = np.where(inside, assign_polygons(ev.x, ev.y, polys), -1)
    assert np.array_equal(placed.area, want)
    want_decay = np.where(inside, assign_polygons(
        ev.x, ev.y, np.array(areas.decay_rings, dtype=object)), -1)
    assert np.array_equal(placed.decay, want_decay)
    assert (placed.area[:30] == -1).all()  # non-finite: nowhere
    assert (placed.area >= 0).sum() > 100  # the scene does reach the areas


def test_cells_located_once_count_as_located_per_layer_and_window() -> None:
    ev, areas = _scene(), make_areas()
    placed = place_events(ev, areas, WINDOWS)
    units = sppt_units(areas, 10)
    located = cell_index(ev, placed, units)
    for spec in (MeasuredLayer("crime", "Drugs"), MeasuredLayer("crime", "*"),
                 MeasuredLayer("ambulance", "*")):
        mask = spec.matches(ev.layer, ev.category) & (placed.area >= 0) & (placed.area <= 1)
        got = cell_counts(ev, placed, units, spec, located=located)
        assert got.keys() == {"before", "after"}
        for j, name in ((0, "before"), (2, "after")):
            m = mask & (placed.window == j)
            want = unitsmod.count(units, unitsmod.locate(units, ev.lon[m], ev.lat[m]))
            assert np.array_equal(got[name], want)
        assert np.array_equal(cell_counts(ev, placed, units, spec)["after"], got["after"])
    assert located.max() >= 0


def test_pair_codes_are_handed_on_by_take_and_match_as_fresh_ones() -> None:
    ev = _scene()
    codes, pairs = pair_codes(ev)
    sub = ev.take(np.flatnonzero(ev.time == np.datetime64(DAY["after"], "ns")))
    handed = counting._known_pairs(sub.layer, sub.category)
    assert handed is not None and np.array_equal(handed[0], codes[ev.time == np.datetime64(
        DAY["after"], "ns")])
    fresh_layer, fresh_cat = sub.layer.copy(), sub.category.copy()  # not remembered
    for spec in (MeasuredLayer("crime", "Drugs"), MeasuredLayer("crime", "Drugs+Burglary"),
                 MeasuredLayer("ambulance", "*"), MeasuredLayer("nothing", "*")):
        assert np.array_equal(spec.matches(sub.layer, sub.category),
                              spec.matches(fresh_layer, fresh_cat))
    # every missing value (None, NaN) is one group, as pandas' use_na_sentinel=False has it
    got, seen = counting._factorized(CATS)
    want, _ = pd.factorize(CATS, use_na_sentinel=False)
    assert np.array_equal(got, want) and seen[-1] is None


def test_substances_folded_per_value_as_per_event() -> None:
    subs = np.array(["Heroin", None, "heroin ", "HEROIN", float("nan"), "Crack", 1, 1.0, True,
                     "ß", "SS"], dtype=object)
    codes, folded = _folded(subs)
    per_event = (pd.Series(subs, dtype=object).astype("string").str.casefold())
    for target in ("heroin", "crack", "1", "1.0", "true", "ss"):
        want = (per_event == target).fillna(False).to_numpy(dtype=bool)
        hit = np.array([f == target for f in folded] + [False], dtype=bool)
        assert np.array_equal(hit[codes], want), target
    only_text = subs[[0, 1, 2, 3, 5, 9, 10]]
    codes, folded = _folded(only_text)
    per_event = pd.Series(only_text, dtype=object).astype("string").str.casefold()
    want = (per_event == "heroin").fillna(False).to_numpy(dtype=bool)
    hit = np.array([f == "heroin" for f in folded] + [False], dtype=bool)
    assert np.array_equal(hit[codes], want)


def test_rise_watch_counts_are_the_masked_sums() -> None:
    ev, areas = _scene(), make_areas()
    placed = place_events(ev, areas, WINDOWS)
    spec = MeasuredLayer("crime", "*")
    res = rise_watch(ev, placed, WINDOWS, spec)
    m = spec.matches(ev.layer, ev.category)
    for ai, area in enumerate(("target", "buffer", "control")):
        for j, wn in enumerate(WINDOW_NAMES):
            got = res["control"] if area == "control" else res["counts"][area]
            assert got[wn] == int(
                (m & (placed.area == ai) & (placed.window == j)).sum())
