"""Street segments as units: importing road networks, and the units of a request.

``street:NETWORK[@VERSION][:SNAP_METRES]``: the links of a stored road network
(:func:`import_network`); each event goes to the nearest link within the snap
distance (``REMAP_STREET_SNAP_M``, 30 m by default), farther events are *off
network*, counted and reported separately. ``street:policeuk``: no network,
units built from the police.uk "On or near ..." street names and snap points of
the request layer's stored events (every month and category, so that a street
with no event in the window is a zero; the rule is in
:mod:`spatial.place.streets`). Shared by the CLI and the API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from service.store import EventFilter, Store
from service.store.streets import POLICEUK
from spatial.errors import InputFormatError, ParameterError, Rejection
from spatial.io.polygons import geometries_from_wkb
from spatial.limits import MAX_LABEL, check_length, check_name
from spatial.place import crs
from spatial.place import streets as st
from spatial.place import units as unitsmod

if TYPE_CHECKING:
    from service.app.analysis import CountsRequest, UnitSpec

#: Rejections listed in a report (all are counted).
MAX_LISTED_REJECTIONS = 200


def parse_street_unit(cls: type[UnitSpec], rest: str, snap_m: float | None) -> UnitSpec:
    """``NETWORK[@VERSION][:SNAP_METRES]`` (after ``street:``) as a :class:`UnitSpec`."""
    name_part, _, snap_part = rest.partition(":")
    name, _, ver = name_part.partition("@")
    if not name:
        raise ParameterError("unit", "street units need a network name, e.g. street:roads "
                                     "(a network imported with `remap streets import`) or "
                                     "street:policeuk")
    check_name(name, "unit")
    version: int | None = None
    if ver:
        try:
            version = int(ver)
        except ValueError as exc:
            raise ParameterError("unit", f"version {ver!r} is not a number") from exc
    if snap_part:
        if snap_m is not None:
            raise ParameterError("snap_m", "give the snap distance once: in the unit "
                                           "(street:NET:50) or as snap_m, not both")
        try:
            snap_m = float(snap_part)
        except ValueError as exc:
            raise ParameterError("unit", f"snap distance {snap_part!r} is not a number of "
                                         "metres (street:NETWORK:SNAP_METRES)") from exc
    if snap_m is not None and not (np.isfinite(snap_m) and 0 <= snap_m <= 1000):
        raise ParameterError("snap_m", f"must be 0..1000 metres, got {snap_m:g}")
    if name == POLICEUK and (version is not None or snap_m is not None):
        raise ParameterError("unit", "street:policeuk takes no version or snap distance: "
                                     "events are placed by their street name and snap point")
    return cls("street", network=name, version=version, snap_m=snap_m)


def parse_field_map(text: str | None) -> dict[str, str]:
    """``'name=street_nm,segment_id=link_ref'`` as a dict (fields of
    :data:`spatial.place.streets.FIELD_ALIASES`)."""
    out: dict[str, str] = {}
    if not text:
        return out
    for part in text.split(","):
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key or not value:
            raise ParameterError("map", f"{part.strip()!r} is not FIELD=COLUMN")
        check_length(value, "map", MAX_LABEL)
        out[key] = value
    return out


@dataclass
class StreetImportReport:
    name: str
    version: int
    network_id: int
    segments: int
    named: int
    rejected: int
    fields: dict[str, str | None]
    rejections: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "network_id": self.network_id,
                "segments": self.segments, "named_segments": self.named,
                "rejected": self.rejected, "fields": self.fields,
                "rejections": [r.as_dict() for r in self.rejections[:MAX_LISTED_REJECTIONS]],
                "seconds": round(self.seconds, 3)}


def import_network(store: Store, source: str | Path, *, file_name: str, name: str,
                   layer: str | None = st.DEFAULT_LAYER, mapping: dict[str, str] | None = None,
                   actor: str = "cli") -> StreetImportReport:
    """Store a road network file as a new version of network ``name``, in one transaction.

    Links that cannot be used are rejected by feature number and field and
    reported; the rest are stored (nothing is written when no link is usable).
    """
    check_name(name, "name")
    if name == POLICEUK:
        raise ParameterError("name", f"{POLICEUK!r} is reserved for street:policeuk")
    if layer is not None:
        check_length(layer, "layer", MAX_LABEL)
    t0 = time.perf_counter()
    net = st.read_road_network(source, file_name=file_name, layer=layer, mapping=mapping)
    seg = net.segments
    frame = pd.DataFrame({c: seg[c].to_numpy(dtype=object) for c in
                          ("segment_id", "name", "classification", "function",
                           "start_node", "end_node")})
    too_long = frame["segment_id"].astype(str).str.len() > 128
    if too_long.any():
        row = int(np.flatnonzero(too_long.to_numpy())[0])
        raise InputFormatError("segment id longer than 128 characters", file=file_name,
                               field=str(net.fields["segment_id"]), row=row + 1)
    frame["length_m"] = seg["length_m"].to_numpy(dtype=float)
    frame["wkb"] = shapely.to_wkb(np.asarray(seg.geometry.values, dtype=object), hex=True)
    with store.begin() as conn:
        network_id, version = store.add_street_network(
            conn, name=name, source_file=Path(file_name).name, source_layer=layer,
            fields=net.fields, rejected=len(net.rejections), segments=frame)
        store.audit(conn, actor, "streets_import",
                    {"name": name, "version": version, "segments": len(frame),
                     "rejected": len(net.rejections), "file": Path(file_name).name})
    return StreetImportReport(name=name, version=version, network_id=network_id,
                              segments=len(frame), named=int(frame["name"].notna().sum()),
                              rejected=len(net.rejections), fields=net.fields,
                              rejections=net.rejections, seconds=time.perf_counter() - t0)


def network_list(store: Store) -> list[dict[str, Any]]:
    return [s.as_dict() for s in store.street_networks_list()]


def network_segments(store: Store, name: str, version: int | None = None
                     ) -> tuple[Any, gpd.GeoDataFrame]:
    """A stored network's info and its segments (EPSG:27700)."""
    info = store.street_network(name, version)
    frame = store.street_segments_frame(info.id)
    gdf = gpd.GeoDataFrame(frame.drop(columns=["wkb"]),
                           geometry=gpd.GeoSeries(geometries_from_wkb(frame["wkb"].to_numpy()),
                                                  crs=f"EPSG:{crs.BNG}"))
    return info, gdf


def _snap_m(spec: UnitSpec) -> float:
    if spec.snap_m is not None:
        return float(spec.snap_m)
    from service.settings import get_settings

    return float(get_settings().street_snap_m)


def _chain_m() -> float:
    from service.settings import get_settings

    return float(get_settings().street_chain_m)


def _area(store: Store, req: CountsRequest, events: pd.DataFrame) -> tuple[Any, list[str]]:
    from service.app.analysis import study_area_geometry

    if req.area.kind == "extent":
        return None, []
    return study_area_geometry(store, req.area, events)


def street_study_units(store: Store, req: CountsRequest, events: pd.DataFrame
                       ) -> tuple[unitsmod.UnitSet, np.ndarray, np.ndarray, list[str]]:
    """The street units of ``req`` (its labels, plain ids and warnings): every segment
    of the network touching the study area (all of them with no area), or the
    police.uk streets of the layer's events inside it."""
    spec = req.unit
    assert spec.network is not None
    area, warnings = _area(store, req, events)
    if spec.network == POLICEUK:
        units = _policeuk_units(store, req, area)
    else:
        info, gdf = network_segments(store, spec.network, spec.version)
        described = f"street network {info.name!r} version {info.version}"
        if area is not None:
            area_m = crs.geometry_to_metric(shapely.segmentize(area, 0.0005), crs.BNG)[()]
            keep = st.keep_near_area(np.asarray(gdf.geometry.values, dtype=object), area_m)
            gdf = gdf[keep].reset_index(drop=True)
            described += f", segments touching {req.area.describe()}"
            if gdf.empty:
                raise ParameterError("area", f"no segment of street network {info.name!r} "
                                             f"touches the study area {req.area.describe()}")
        units = st.street_units(gdf, network=info.name, version=info.version,
                                snap_m=_snap_m(spec), area=area, study_area=described)
    labels = np.asarray(units.labels, dtype=object)
    return units, labels, units.ids, warnings


def _streets_of(store: Store, f: EventFilter) -> pd.DataFrame:
    """``id``, ``lon``, ``lat``, ``street`` of the events of ``f``."""
    from service.app.unit_names import STREET_ATTRIBUTE, street_of

    ev = store.event_arrays(f)[["id", "lon", "lat"]]
    loc = store.event_attribute(f, STREET_ATTRIBUTE)
    ev = ev.merge(loc, on="id", how="left")
    ev["street"] = [street_of(v) for v in ev["value"].tolist()]
    return ev.drop(columns=["value"])


def _policeuk_units(store: Store, req: CountsRequest, area: Any) -> unitsmod.UnitSet:
    from service.app.unit_names import STREET_ATTRIBUTE, street_of

    bbox: tuple[float, float, float, float] | None = None
    if area is not None:
        minx, miny, maxx, maxy = (float(v) for v in area.bounds)
        bbox = (minx, miny, maxx, maxy)
    every = store.street_snap_points(req.layer, STREET_ATTRIBUTE, bbox)
    every["street"] = [street_of(v) for v in every["value"].tolist()]
    if area is not None and len(every):
        shapely.prepare(area)
        every = every[shapely.intersects_xy(area, every["lon"].to_numpy(),
                                            every["lat"].to_numpy())]
    chain = _chain_m()
    built = st.policeuk_streets(every["street"], every["lon"], every["lat"], chain_m=chain)
    if built.units.empty:
        raise ParameterError("unit", f"layer {req.layer!r} has no police.uk street names "
                                     "(\"On or near ...\" in Location)"
                             + ("" if area is None else " in the study area")
                             + ": street:policeuk needs them; import a road network for "
                               "street:NETWORK")
    return st.street_units(built.units, network=POLICEUK, chain_m=chain, area=area,
                           points=built.points,
                           study_area=f"police.uk streets of layer {req.layer!r} (every "
                                      "month and category)"
                                      + ("" if area is None else f" in {req.area.describe()}"))


def locate_street_events(store: Store, req: CountsRequest, units: unitsmod.UnitSet,
                         events: pd.DataFrame) -> unitsmod.Located:
    """Where ``events`` (of ``req``) fall among street units: the nearest segment within
    the snap distance, or (police.uk) the unit of their street name and snap point."""
    if units.street_points is not None:
        if events.empty:
            empty = np.zeros(0, dtype=np.int64)
            return unitsmod.Located(empty, 0, empty)
        named = _streets_of(store, replace(req.event_filter(), bbox=(
            float(events["lon"].min()), float(events["lat"].min()),
            float(events["lon"].max()), float(events["lat"].max()))))
        street = events[["id"]].merge(named[["id", "street"]], on="id", how="left")["street"]
        index = st.locate_by_street(units.street_points, street.to_numpy(dtype=object),
                                    events["lon"].to_numpy(), events["lat"].to_numpy())
        return unitsmod.Located(index, 0, index)
    bng = bool(len(events)) and bool((events["crs_epsg"] == crs.BNG).all())
    return unitsmod.locate_points(units, events["lon"].to_numpy(), events["lat"].to_numpy(),
                                  events["x"].to_numpy() if bng else None,
                                  events["y"].to_numpy() if bng else None,
                                  xy_epsg=crs.BNG if bng else None)


def off_network_report(units: unitsmod.UnitSet, located: unitsmod.Located,
                       events: pd.DataFrame, total: Any) -> tuple[dict[str, Any], list[str]]:
    """Parameters and a warning counting the events of the study area on no segment
    (off network); events outside the study area are reported as such, not here."""
    index = np.asarray(located.index)
    inside = np.ones(len(index), dtype=bool)
    if units.area is not None and len(index):
        shapely.prepare(units.area)
        inside = shapely.intersects_xy(units.area, events["lon"].to_numpy(),
                                       events["lat"].to_numpy())
    off = int((inside & (index < 0)).sum())
    shown = total(off)
    params = {"events_off_network": shown}
    if not off:
        return params, []
    noun = "event" if off == 1 else "events"
    if units.street_points is not None:
        why = "without a police.uk street name"
    else:
        why = (f"more than {float(units.parameters['snap_m']):g} m from every segment of "
               f"street network {units.parameters['network']!r}")
    return params, [f"off network: {shown} {noun} of the study area {why}: in no "
                    "segment, counted here separately (not dropped silently)"]


def unit_count_estimate(store: Store, req: CountsRequest, spec: UnitSpec) -> int:
    """Street units of a request before any is built (for the cost check): the
    network's segments; for police.uk the layer's distinct snap points (an upper
    bound: a unit holds one or more of them)."""
    from service.app.unit_names import STREET_ATTRIBUTE

    assert spec.network is not None
    if spec.network == POLICEUK:
        return max(1, len(store.street_snap_points(req.layer, STREET_ATTRIBUTE)))
    return store.street_network(spec.network, spec.version).segment_count
