"""Tests of the synthetic town generator (spatial.synthetic)."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial.errors import ParameterError
from spatial.events import (
    EVENT_COLUMNS,
    LOCATION_PRECISIONS,
    SENSITIVITIES,
    TIME_PRECISIONS,
    empty_events_frame,
    layer_spec,
)
from spatial.place.crs import BNG, to_wgs84
from spatial.synthetic.parameters import (
    AMBULANCE_ROUNDING_M,
    CRIME_CATEGORIES,
    MARKET_TYPES,
    SITE_STATUSES,
)
from spatial.synthetic.planted import PlantedOperation
from spatial.synthetic.town import SyntheticTown, buffer_area, build_town, target_area

LAYERS = ("crime", "ambulance", "dealing_site")


@pytest.fixture(scope="module")
def town() -> SyntheticTown:
    return build_town()


def _zones(town: SyntheticTown, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    target, ring = target_area(town), buffer_area(town)
    in_target = shapely.contains_xy(target, x, y)
    in_buffer = shapely.contains_xy(ring, x, y) & ~in_target
    return in_target, in_buffer


def _monthly_rate(frame: pd.DataFrame, mask: np.ndarray, window: tuple[date, date]) -> float:
    """Events per day over the whole months whose first day lies in ``window``."""
    months = pd.date_range(pd.Timestamp(window[0]), pd.Timestamp(window[1]), freq="MS")
    assert len(months) >= 2
    days = sum(m.days_in_month for m in months)
    return float((mask & frame["time"].isin(months).to_numpy()).sum()) / days


def _daily_rate(frame: pd.DataFrame, mask: np.ndarray, start: date, end: date) -> float:
    t = frame["time"]
    inside = ((t >= pd.Timestamp(start)) & (t <= pd.Timestamp(end))).to_numpy()
    return float((mask & inside).sum()) / ((end - start).days + 1)


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_town(town: SyntheticTown) -> None:
    again = build_town()
    for layer in LAYERS:
        pd.testing.assert_frame_equal(town.events[layer], again.events[layer])
    assert list(town.beats["unit_id"]) == list(again.beats["unit_id"])
    assert list(town.beats["label"]) == list(again.beats["label"])
    assert all(shapely.equals_exact(town.beats.geometry.values, again.beats.geometry.values, 0))
    assert town.operation == again.operation
    assert town.description == again.description


def test_different_seed_gives_different_town(town: SyntheticTown) -> None:
    other = build_town(7)
    assert other.seed == 7
    assert not town.events["crime"]["x"].equals(other.events["crime"]["x"])
    assert not all(shapely.equals_exact(town.beats.geometry.values,
                                        other.beats.geometry.values, 0))


def test_event_keys_unique_and_stable(town: SyntheticTown) -> None:
    for layer in LAYERS:
        keys = town.events[layer]["event_key"]
        assert keys.is_unique
        assert keys.iloc[0] == f"syn-{layer}-0"
        assert keys.str.startswith(f"syn-{layer}-").all()


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("layer", LAYERS)
def test_schema(town: SyntheticTown, layer: str) -> None:
    frame = town.events[layer]
    assert list(frame.columns) == list(EVENT_COLUMNS)
    expected = empty_events_frame().dtypes
    for col in EVENT_COLUMNS:
        if col == "time":
            assert frame[col].dtype == np.dtype("datetime64[ns]")
        else:
            assert frame[col].dtype == expected[col], col
    assert isinstance(frame.index, pd.RangeIndex)
    assert (frame["layer"] == layer).all()
    assert frame[["lon", "lat", "x", "y"]].notna().all().all()
    assert np.isfinite(frame[["lon", "lat", "x", "y"]].to_numpy()).all()
    assert frame["time"].notna().all()
    assert (frame["crs_epsg"] == BNG).all()
    assert (frame["source"] == "synthetic").all()
    assert (frame["sensitivity"] == layer_spec(layer).sensitivity).all()
    assert frame["sensitivity"].isin(SENSITIVITIES).all()
    assert frame["time_precision"].isin(TIME_PRECISIONS).all()
    assert frame["location_precision"].isin(LOCATION_PRECISIONS).all()
    assert frame["source_id"].map(lambda v: isinstance(v, str) and v != "").all()
    assert frame["attributes"].map(lambda v: isinstance(v, dict)).all()
    lon, lat = to_wgs84(frame["x"].to_numpy(), frame["y"].to_numpy(), BNG)
    np.testing.assert_allclose(frame["lon"], lon)
    np.testing.assert_allclose(frame["lat"], lat)
    # Within the months asked for.
    assert frame["time"].min() >= pd.Timestamp("2018-07-01")
    assert frame["time"].max() < pd.Timestamp("2019-07-01")


def test_crime_is_police_uk_like(town: SyntheticTown) -> None:
    crime = town.events["crime"]
    assert set(crime["category"]) == set(CRIME_CATEGORIES)
    assert (crime["time_precision"] == "month").all()
    assert (crime["location_precision"] == "snapped").all()
    assert (crime["time"].dt.day == 1).all() and (crime["time"].dt.hour == 0).all()
    assert crime["time"].dt.to_period("M").nunique() == 12
    # Snapped: many events share a location; about 1,500 snap points exist.
    assert 500 <= crime[["x", "y"]].drop_duplicates().shape[0] <= 1_500
    attrs = pd.DataFrame(list(crime["attributes"]))
    assert set(attrs.columns) == {"Location", "LSOA code", "LSOA name", "Last outcome category"}
    assert attrs["Location"].str.startswith("On or near ").all()
    assert attrs["LSOA code"].str.fullmatch(r"E0199\d{4}").all()
    asb = (crime["category"] == "Anti-social behaviour").to_numpy()
    # police.uk: no Crime ID and no outcome for anti-social behaviour.
    assert (attrs.loc[asb, "Last outcome category"] == "").all()
    assert (attrs.loc[~asb, "Last outcome category"] != "").all()
    assert (crime.loc[asb, "source_id"] == crime.loc[asb, "event_key"]).all()
    assert crime.loc[~asb, "source_id"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert crime.loc[~asb, "source_id"].is_unique


def test_ambulance_is_rounded_day_precision(town: SyntheticTown) -> None:
    amb = town.events["ambulance"]
    assert (amb["category"] == "Suspected overdose").all()
    assert (amb["time_precision"] == "day").all()
    assert (amb["location_precision"] == "rounded").all()
    assert (amb["time"] == amb["time"].dt.normalize()).all()
    for col in ("x", "y"):
        assert np.allclose(amb[col] % AMBULANCE_ROUNDING_M, 0)
    attrs = pd.DataFrame(list(amb["attributes"]))
    assert set(attrs["suspected_substance"]) == {"heroin", "crack", "unknown"}
    assert attrs["naloxone_given"].map(lambda v: isinstance(v, bool)).all()


def test_dealing_sites_attributes(town: SyntheticTown) -> None:
    sites = town.events["dealing_site"]
    assert (sites["time_precision"] == "day").all()
    assert (sites["location_precision"] == "exact").all()
    attrs = pd.DataFrame(list(sites["attributes"]))
    assert set(attrs.columns) == {"market_type", "status", "first_seen", "last_seen",
                                  "source_grading"}
    assert attrs["market_type"].isin(MARKET_TYPES).all()
    assert attrs["status"].isin(SITE_STATUSES).all()
    assert set(attrs["status"]) == set(SITE_STATUSES)
    assert attrs["source_grading"].str.fullmatch(r"[123][A-E]").all()
    first = pd.to_datetime(attrs["first_seen"])
    last = pd.to_datetime(attrs["last_seen"])
    assert (first.to_numpy() == sites["time"].to_numpy()).all()
    assert (last >= first).all()
    assert (sites["category"].to_numpy() == attrs["market_type"].to_numpy()).all()


def test_sizes(town: SyntheticTown) -> None:
    assert 27_000 <= len(town.events["crime"]) <= 33_000
    assert 500 <= len(town.events["ambulance"]) <= 800
    assert len(town.events["dealing_site"]) == 60


def test_scale() -> None:
    small = build_town(scale=0.2)
    assert 5_000 <= len(small.events["crime"]) <= 7_000
    assert 90 <= len(small.events["ambulance"]) <= 180
    assert len(small.events["dealing_site"]) == 20


# --------------------------------------------------------------------------- geometry


def test_beats_partition_the_town(town: SyntheticTown) -> None:
    beats = town.beats
    assert list(beats.columns) == ["unit_id", "label", "geometry"]
    assert beats.crs.to_epsg() == 4326
    assert len(beats) == 24
    assert beats["unit_id"].is_unique and beats["label"].is_unique
    geoms = beats.to_crs(BNG).geometry.values
    assert all(shapely.is_valid(geoms))
    assert all(shapely.get_type_id(geoms) == 3)  # Polygon
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon"
    assert abs(sum(g.area for g in geoms) - union.area) < 1e-6 * union.area
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert shapely.intersection(geoms[i], geoms[j]).area < 1.0
    minx, miny, maxx, maxy = union.bounds
    assert 5_500 <= maxx - minx <= 6_500
    assert 4_500 <= maxy - miny <= 5_500
    assert 20e6 <= union.area <= 32e6


@pytest.mark.parametrize("layer", LAYERS)
def test_every_event_in_exactly_one_beat(town: SyntheticTown, layer: str) -> None:
    frame = town.events[layer]
    lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    hits = np.zeros(len(frame), dtype=int)
    for geom in town.beats.geometry.values:
        hits += shapely.contains_xy(geom, lon, lat)
    assert (hits == 1).all()


def test_target_is_adjacent_beats_around_a_hotspot(town: SyntheticTown) -> None:
    op = town.operation
    assert 2 <= len(op.target_beats) <= 3
    assert set(op.target_beats) <= set(town.beats["unit_id"])
    target = target_area(town)
    assert target.geom_type == "Polygon"  # contiguous
    ring = buffer_area(town)
    assert ring.area > 0 and not ring.intersection(target).area > 1.0
    # The target holds a crime hotspot: its density is well above the town's.
    crime = town.events["crime"]
    in_target, _ = _zones(town, crime)
    town_area = shapely.union_all(town.beats.to_crs(BNG).geometry.values).area
    assert in_target.mean() / (target.area / town_area) > 1.8


def test_operation_windows_fit_the_months(town: SyntheticTown) -> None:
    op = town.operation
    assert op.effect == "displacement"
    assert op.buffer_m == 400
    assert op.target_multiplier < 1 < op.buffer_multiplier
    assert set(op.affected_categories) == {"Drugs", "Anti-social behaviour"}
    assert op.before == (date(2018, 10, 1), date(2018, 12, 31))
    assert op.during == (date(2019, 1, 1), date(2019, 1, 14))
    assert op.after[0] == date(2019, 1, 15) and op.after[1] <= date(2019, 6, 30)


def test_other_months() -> None:
    other = build_town(3, months=("2020-01", "2020-12"), scale=0.2)
    op = other.operation
    assert op.during[0] == date(2020, 7, 1)
    assert op.before == (date(2020, 4, 1), date(2020, 6, 30))
    assert op.after == (date(2020, 7, 15), date(2020, 10, 31))
    for frame in other.events.values():
        assert frame["time"].min() >= pd.Timestamp("2020-01-01")
        assert frame["time"].max() <= pd.Timestamp("2020-12-31")


# --------------------------------------------------------------------------- planted effect


@pytest.mark.parametrize("seed", [None, 1, 99])
def test_planted_displacement_visible_in_raw_counts(town: SyntheticTown, seed: int | None) -> None:
    t = town if seed is None else build_town(seed)
    op = t.operation
    crime = t.events["crime"]
    in_target, in_buffer = _zones(t, crime)
    affected = crime["category"].isin(op.affected_categories).to_numpy()

    target_before = _monthly_rate(crime, in_target & affected, op.before)
    target_after = _monthly_rate(crime, in_target & affected, op.after)
    buffer_before = _monthly_rate(crime, in_buffer & affected, op.before)
    buffer_after = _monthly_rate(crime, in_buffer & affected, op.after)
    assert target_after < target_before
    assert buffer_after > buffer_before
    assert 0.3 < target_after / target_before < 0.65      # planted 0.45
    assert 1.3 < buffer_after / buffer_before < 2.0       # planted 1.6

    # Crime types outside the operation are unchanged in the target.
    other_before = _monthly_rate(crime, in_target & ~affected, op.before)
    other_after = _monthly_rate(crime, in_target & ~affected, op.after)
    assert 0.75 < other_after / other_before < 1.3


def test_planted_overdose_rise(town: SyntheticTown) -> None:
    op = town.operation
    amb = town.events["ambulance"]
    in_target, in_buffer = _zones(town, amb)
    near = in_target | in_buffer
    before = _daily_rate(amb, near, *op.before)
    after = _daily_rate(amb, near, op.during[0], op.after[1])
    assert after > 1.3 * before                            # planted 1.8
    elsewhere_before = _daily_rate(amb, ~near, *op.before)
    elsewhere_after = _daily_rate(amb, ~near, op.during[0], op.after[1])
    assert 0.7 < elsewhere_after / elsewhere_before < 1.4


def test_planted_dealing_site_changes(town: SyntheticTown) -> None:
    op = town.operation
    sites = town.events["dealing_site"]
    attrs = pd.DataFrame(list(sites["attributes"]))
    first = pd.to_datetime(attrs["first_seen"])
    last = pd.to_datetime(attrs["last_seen"])
    in_target, in_buffer = _zones(town, sites)
    active_before = (first < pd.Timestamp(op.during[0])).to_numpy()
    closed_in_strike = ((attrs["status"] == "closed")
                        & (last >= pd.Timestamp(op.during[0]))
                        & (last <= pd.Timestamp(op.during[1]))).to_numpy()
    assert (in_target & active_before).sum() >= 4
    assert (in_target & active_before & closed_in_strike).sum() >= 2
    new_in_buffer = in_buffer & (first >= pd.Timestamp(op.after[0])).to_numpy()
    assert new_in_buffer.sum() >= 3
    assert (attrs.loc[new_in_buffer, "status"] == "active").all()


# --------------------------------------------------------------------------- description


def test_description(town: SyntheticTown) -> None:
    text = town.description
    assert town.name == "Remton"
    assert "20181001" in text
    assert "FICTIONAL" in text
    assert "displacement" in text
    for unit in town.operation.target_beats:
        assert unit in text
    for value in ("0.45", "1.6", "1.8", "400 m"):
        assert value in text


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("kwargs", [
    {"months": ("2018-07", "2018-12")},
    {"months": ("2018-13", "2019-06")},
    {"months": ("2019-06", "2018-07")},
    {"months": ("July", "2019-06")},
    {"scale": 0},
    {"scale": -1.0},
    {"scale": float("nan")},
    {"scale": 51},
    {"seed": -1},
])
def test_bad_parameters(kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        build_town(**kwargs)  # type: ignore[arg-type]


def test_planted_operation_validates() -> None:
    good = dict(name="op", target_beats=("RM01",), buffer_m=400.0,
                before=(date(2018, 10, 1), date(2018, 12, 31)),
                during=(date(2019, 1, 1), date(2019, 1, 14)),
                after=(date(2019, 1, 15), date(2019, 4, 30)), effect="displacement",
                target_multiplier=0.45, buffer_multiplier=1.6, affected_categories=("Drugs",))
    PlantedOperation(**good)  # type: ignore[arg-type]
    for change in ({"effect": "vanished"}, {"buffer_m": 0.0}, {"target_beats": ()},
                   {"during": (date(2018, 12, 1), date(2018, 12, 14))},
                   {"after": (date(2019, 4, 30), date(2019, 1, 15))}):
        with pytest.raises(ParameterError):
            PlantedOperation(**{**good, **change})  # type: ignore[arg-type]


def test_fast_enough() -> None:
    start = time.perf_counter()
    build_town()
    assert time.perf_counter() - start < 3.0
