"""Street segments as units: reading OS Open Roads, nearest-segment counts against
geopandas ``sjoin_nearest``, touching neighbours and Gi* against esda/libpysal, and
the police.uk street rule against an independent pandas computation."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial.errors import InputFormatError, ParameterError
from spatial.place import crs
from spatial.place import streets as st
from spatial.place import units as unitsmod
from spatial.stats.getis_ord import gi_star
from tests.street_network import ORIGIN, events_near, network_frame, write_network


@pytest.fixture
def network(tmp_path: Path) -> st.RoadNetwork:
    return st.read_road_network(write_network(tmp_path / "roads.gpkg"), file_name="roads.gpkg")


def _units(net: st.RoadNetwork, snap_m: float = 30.0) -> unitsmod.UnitSet:
    return st.street_units(net.segments, network="test", version=1, snap_m=snap_m)


def test_reads_the_os_open_roads_layout(network: st.RoadNetwork) -> None:
    seg = network.segments
    frame = network_frame()
    assert len(seg) == len(frame) and not network.rejections
    assert network.fields["name"] == "name_1" and network.fields["segment_id"] == "identifier"
    assert seg.crs.to_epsg() == 27700
    # MultiLineStrings joined end to end become LineStrings of the same length
    assert set(seg.geometry.geom_type) == {"LineString"}
    np.testing.assert_allclose(seg["length_m"], frame.geometry.length, rtol=0, atol=1e-9)
    assert seg["name"].isna().sum() == 1  # the unnamed diagonal
    labels = st.segment_labels(seg["name"], seg["classification"])
    assert labels[-1] == "unnamed A Road"


def test_bad_links_are_rejected_by_row_and_field(tmp_path: Path) -> None:
    frame = network_frame()
    frame.loc[3, "geometry"] = shapely.Point(ORIGIN)
    frame.loc[7, "identifier"] = frame.loc[6, "identifier"]
    frame.loc[9, "identifier"] = None
    net = st.read_road_network(write_network(tmp_path / "r.gpkg", frame), file_name="r.gpkg")
    got = {(r.row, r.field) for r in net.rejections}
    assert got == {(4, "geometry"), (8, "identifier"), (10, "identifier")}
    assert [r.reason for r in net.rejections if r.row == 4] == [
        "Point is not a line (LineString/MultiLineString)"]
    assert len(net.segments) == len(frame) - 3


def test_other_column_names_through_a_map_and_missing_ids_refused(tmp_path: Path) -> None:
    frame = network_frame().rename(columns={"identifier": "link_ref", "name_1": "street_nm"})
    path = write_network(tmp_path / "r.gpkg", frame, layer="links")
    with pytest.raises(InputFormatError, match="no layer 'road_link_x'"):
        st.read_road_network(path, layer="road_link_x")
    with pytest.raises(InputFormatError, match="segment_id"):
        st.read_road_network(path, layer="links")
    net = st.read_road_network(path, layer="links",
                               mapping={"segment_id": "link_ref", "name": "street_nm"})
    assert net.segments["segment_id"].iloc[0] == "L0000"
    assert net.segments["name"].iloc[0] == "Row 0 Road"
    with pytest.raises(ParameterError, match="unknown field"):
        st.read_road_network(path, layer="links", mapping={"colour": "x"})


@pytest.mark.parametrize("snap_m", [5.0, 30.0, 60.0])
def test_counts_equal_geopandas_sjoin_nearest(network: st.RoadNetwork, snap_m: float) -> None:
    units = _units(network, snap_m)
    x, y = events_near(3_000)
    # a few points exactly on junctions (equidistant from 3-4 links) and without coordinates
    x[:5] = ORIGIN[0] + 100 * np.arange(5)
    y[:5] = ORIGIN[1] + 100
    x[5], y[5] = np.nan, np.nan
    lon, lat = crs.to_wgs84(x, y, 27700)
    located = unitsmod.locate_points(units, lon, lat, x, y, xy_epsg=27700)
    counts = unitsmod.count(units, located.index)

    # independent: geopandas sjoin_nearest with max_distance, ties to the first link
    pts = gpd.GeoDataFrame({"pid": np.arange(len(x))},
                           geometry=gpd.points_from_xy(x, y), crs=27700).iloc[6:]
    pts = pd.concat([pts, gpd.GeoDataFrame({"pid": [5]}, geometry=[None], crs=27700)])
    lines = gpd.GeoDataFrame({"seg": np.arange(len(network.segments))},
                             geometry=network_frame().geometry.values, crs=27700)
    joined = gpd.sjoin_nearest(pts.iloc[:-1], lines, how="left", max_distance=snap_m,
                               distance_col="d")
    joined = joined.dropna(subset=["seg"]).sort_values(["pid", "seg"]).drop_duplicates("pid")
    joined = pd.concat([joined, gpd.sjoin_nearest(
        gpd.GeoDataFrame({"pid": np.arange(5)}, geometry=gpd.points_from_xy(x[:5], y[:5]),
                         crs=27700), lines, max_distance=snap_m).sort_values(["pid", "seg"])
        .drop_duplicates("pid")])
    expected = np.bincount(joined["seg"].astype(int), minlength=len(lines))
    np.testing.assert_array_equal(counts, expected)
    assert len(counts) == len(network.segments)  # zeros kept
    assert (counts == 0).any()
    off = len(x) - 1 - len(joined)  # off network: not placed, but not the missing point
    assert located.not_counted == off + 1
    assert off > 0


def test_junction_points_go_to_the_first_link(network: st.RoadNetwork) -> None:
    x = np.array([ORIGIN[0] + 100.0])
    y = np.array([ORIGIN[1] + 100.0])
    index, dist = st.nearest_segments(x, y, network.segments.geometry.values, 30.0)
    touching = np.flatnonzero(network.segments.geometry.distance(shapely.Point(x[0], y[0]))
                              == 0)
    assert index[0] == touching.min() and dist[0] == 0.0


def test_touching_neighbours_equal_libpysal_w(network: st.RoadNetwork) -> None:
    from libpysal.weights import W

    units = _units(network)
    w = unitsmod.neighbours(units)
    geoms = network_frame().geometry.values  # the file's own links, independently
    neigh: dict[int, list[int]] = {i: [] for i in range(len(geoms))}
    for i in range(len(geoms)):
        for j in range(len(geoms)):
            if i != j and geoms[i].intersects(geoms[j]):
                neigh[i].append(j)
    lw = W(neigh, silence_warnings=True)
    dense, _ = lw.full()
    np.testing.assert_array_equal(w.toarray(), dense)
    assert (w.diagonal() == 0).all()
    # the diagonal crosses links without sharing their end points: still neighbours
    assert w[len(geoms) - 1].nnz > 2


def test_gi_star_on_segments_equals_esda(network: st.RoadNetwork) -> None:
    from esda.getisord import G_Local
    from libpysal.weights import W

    units = _units(network)
    x, y = events_near(4_000, seed=3)
    # a hot corner
    rng = np.random.default_rng(1)
    x = np.r_[x, ORIGIN[0] + rng.uniform(0, 150, 600)]
    y = np.r_[y, ORIGIN[1] + rng.uniform(0, 150, 600)]
    lon, lat = crs.to_wgs84(x, y, 27700)
    counts = unitsmod.count(units, unitsmod.locate(units, lon, lat, x, y, xy_epsg=27700))
    w = unitsmod.neighbours(units)
    res = gi_star(counts, w, permutations=0, seed=1)
    rows, cols = w.nonzero()
    neigh = {i: cols[rows == i].tolist() for i in range(len(counts))}
    lg = G_Local(counts.astype(float), W(neigh, silence_warnings=True), transform="B",
                 star=True, permutations=0)
    island = unitsmod.islands(w)
    assert network.segments["name"].iloc[island].tolist() == ["Far Lane"]
    linked = np.setdiff1d(np.arange(len(counts)), island)
    np.testing.assert_allclose(res.z[linked], lg.Zs[linked], rtol=0, atol=1e-9)
    assert np.isnan(res.z[island]).all()  # an island has no Gi* (remap reports it so)
    assert np.nanmax(res.z) > 3


def test_policeuk_rule_against_pandas() -> None:
    rng = np.random.default_rng(5)
    # three streets; "High Street" in two places 2 km apart; points 0..600 m along each
    x0, y0 = ORIGIN
    frames = []
    for name, (dx, dy), n in (("High Street", (0, 0), 6), ("High Street", (2000, 0), 4),
                              ("Mill Lane", (0, 50), 5), ("Long Road", (0, 400), 8)):
        along = np.sort(rng.choice(np.arange(0, 1500, 90), n, replace=False)).astype(float)
        frames.append(pd.DataFrame({"street": name, "x": x0 + dx + along, "y": y0 + dy}))
    pts = pd.concat(frames, ignore_index=True)
    lon, lat = crs.to_wgs84(pts["x"].to_numpy(), pts["y"].to_numpy(), 27700)
    reps = rng.integers(1, 6, len(pts))
    ev = pd.DataFrame({"street": np.repeat(pts["street"].to_numpy(), reps),
                       "lon": np.repeat(lon, reps), "lat": np.repeat(lat, reps)})
    ev = pd.concat([ev, pd.DataFrame({"street": [None], "lon": [lon[0]], "lat": [lat[0]]})],
                   ignore_index=True)
    built = st.policeuk_streets(ev["street"], ev["lon"], ev["lat"], chain_m=250)
    idx = st.locate_by_street(built.points, ev["street"], ev["lon"], ev["lat"])
    units = st.street_units(built.units, network="policeuk", chain_m=250,
                            points=built.points)
    counts = unitsmod.count(units, idx)
    assert idx[-1] == -1  # no street name: off network

    # independent: per street, sort snap points along x (the streets run east-west) and
    # cut where consecutive points are more than 250 m apart
    snap = ev.dropna().drop_duplicates().copy()
    sx, _ = crs.to_metric(snap["lon"].to_numpy(), snap["lat"].to_numpy(), 27700)
    snap["x"] = sx
    snap = snap.sort_values(["street", "x"])
    gap = snap.groupby("street")["x"].diff().fillna(np.inf) > 250
    snap["k"] = gap.groupby(snap["street"]).cumsum()
    snap["unit_id"] = snap["street"] + "#" + snap["k"].astype(str)
    expected = (ev.dropna().merge(snap, on=["street", "lon", "lat"])
                .groupby("unit_id").size())
    got = pd.Series(counts, index=units.ids)
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(),
                                   check_names=False, check_dtype=False)
    assert units.labels is not None and "High Street" in set(units.labels)
    # geometries: lines through the snap points, points where a unit has one snap point
    geom_types = set(shapely.get_type_id(units._metric_geometry).tolist())
    assert geom_types <= {0, 1}
    w = unitsmod.neighbours(units)
    assert (w.diagonal() == 0).all() and (w != w.T).nnz == 0


def test_policeuk_units_need_street_names() -> None:
    built = st.policeuk_streets(["A Road", "A Road"], [-1.47, -1.4701], [53.38, 53.38])
    units = st.street_units(built.units, network="policeuk", points=built.points)
    with pytest.raises(ParameterError, match="street name"):
        unitsmod.locate(units, [-1.47], [53.38])


def test_bad_snap_distance_refused(network: st.RoadNetwork) -> None:
    with pytest.raises(ParameterError, match="snap_m"):
        st.street_units(network.segments, network="test", snap_m=-1)
    with pytest.raises(ParameterError, match="snap_m"):
        st.nearest_segments([0.0], [0.0], network.segments.geometry.values, float("nan"))
