"""Requests for analyses, shared by the API and the CLI.

Turns a request (layer, categories, window, unit, study area) into events
from the store and a :class:`spatial.place.units.UnitSet`, then calls the pure
functions of :mod:`spatial`. Disclosure control is applied here, where data
leaves remap, for every caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from service.app import disclosure, geocoding
from service.render.geojson import feature_collection, geometry_features
from service.store import EventFilter, Store
from spatial.categories import match_categories
from spatial.errors import NotFoundError, ParameterError
from spatial.io.polygons import geometries_from_wkb
from spatial.limits import MAX_CATEGORY, check_length
from spatial.place import units as unitsmod
from spatial.timewindow import TimeWindow, parse_window


@dataclass(frozen=True)
class UnitSpec:
    """``h3:RES`` | ``boundary:SET[@VERSION]`` | ``grid:CELL_METRES`` |
    ``street:NETWORK[@VERSION][:SNAP_METRES]`` | ``street:policeuk``."""

    kind: str
    resolution: int | None = None
    boundary_set: str | None = None
    version: int | None = None
    cell_size_m: float | None = None
    network: str | None = None
    snap_m: float | None = None  # street units; None: REMAP_STREET_SNAP_M

    @classmethod
    def parse(cls, text: str, snap_m: float | None = None) -> UnitSpec:
        kind, _, rest = text.partition(":")
        if kind == "street":
            from service.app.streets import parse_street_unit

            return parse_street_unit(cls, rest, snap_m)
        if kind == "h3":
            try:
                res = int(rest)
            except ValueError as exc:
                raise ParameterError("unit", f"h3 needs a resolution, e.g. h3:8 (got {text!r})"
                                     ) from exc
            if not 0 <= res <= 15:
                raise ParameterError("unit", f"H3 resolution {res} is not in 0..15")
            return cls("h3", resolution=res)
        if kind == "boundary":
            name, version = _name_version(rest, "unit")
            return cls("boundary", boundary_set=name, version=version)
        if kind == "grid":
            try:
                size = float(rest)
            except ValueError as exc:
                raise ParameterError("unit", f"grid needs a cell size in metres, e.g. grid:250 "
                                             f"(got {text!r})") from exc
            if not 10 <= size <= 50_000:
                raise ParameterError("unit", "grid cell size must be 10..50000 metres")
            return cls("grid", cell_size_m=size)
        raise ParameterError("unit", f"{text!r}: expected h3:RES, boundary:SET, grid:METRES "
                                     "or street:NETWORK")

    def describe(self) -> str:
        if self.kind == "street":
            return (f"street:{self.network}" + (f"@{self.version}" if self.version else "")
                    + (f":{self.snap_m:g}" if self.snap_m is not None else ""))
        if self.kind == "h3":
            return f"h3:{self.resolution}"
        if self.kind == "grid":
            return f"grid:{self.cell_size_m:g}"
        return f"boundary:{self.boundary_set}" + (f"@{self.version}" if self.version else "")


@dataclass(frozen=True)
class AreaSpec:
    """``boundary:SET[@VERSION][:UNIT,UNIT]`` | ``bbox:minlon,minlat,maxlon,maxlat``."""

    kind: str  # "boundary" | "bbox" | "extent"
    boundary_set: str | None = None
    version: int | None = None
    units: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None

    @classmethod
    def parse(cls, text: str | None, max_area_km2: float | None = None) -> AreaSpec:
        """Parse ``text``; a bbox larger than ``max_area_km2`` (default: the setting
        ``REMAP_MAX_AREA_KM2``) is refused."""
        if not text:
            return cls("extent")
        kind, _, rest = text.partition(":")
        if kind == "bbox":
            box = parse_bbox(rest)
            if box is None:
                raise ParameterError("area", "bbox: needs minlon,minlat,maxlon,maxlat")
            if max_area_km2 is None:
                from service.settings import get_settings

                max_area_km2 = get_settings().max_area_km2
            km2 = bbox_area_km2(box)
            if km2 > max_area_km2:
                raise ParameterError("area", f"the bbox covers {km2:,.0f} km², more than the "
                                             f"limit of {max_area_km2:,.0f} km² "
                                             "(REMAP_MAX_AREA_KM2); use a smaller area")
            return cls("bbox", bbox=box)
        if kind == "boundary":
            name_part, _, unit_part = rest.partition(":")
            name, version = _name_version(name_part, "area")
            subset = tuple(u.strip() for u in unit_part.split(",") if u.strip())
            return cls("boundary", boundary_set=name, version=version, units=subset)
        raise ParameterError("area", f"{text!r}: expected boundary:SET[:UNIT,...] or "
                                     "bbox:minlon,minlat,maxlon,maxlat")

    def describe(self) -> str:
        if self.kind == "bbox":
            return "bbox:" + ",".join(f"{v:g}" for v in self.bbox or ())
        if self.kind == "boundary":
            return (f"boundary:{self.boundary_set}" + (f"@{self.version}" if self.version else "")
                    + (":" + ",".join(self.units) if self.units else ""))
        return "extent of the selected events"


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in WGS84 degrees."""
    if value is None or value == "":
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise ParameterError("bbox", "expected minlon,minlat,maxlon,maxlat")
    try:
        nums = [float(p) for p in parts]
    except ValueError as exc:
        raise ParameterError("bbox", f"not numbers: {value!r}") from exc
    if len(nums) == 6:  # OGC 3-D bbox: drop the heights
        nums = [nums[0], nums[1], nums[3], nums[4]]
    minlon, minlat, maxlon, maxlat = nums
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180 and -90 <= minlat <= 90
            and -90 <= maxlat <= 90):
        raise ParameterError("bbox", "outside WGS84 range (lon -180..180, lat -90..90)")
    if minlon > maxlon or minlat > maxlat:
        raise ParameterError("bbox", "min must not exceed max (minlon,minlat,maxlon,maxlat)")
    return (minlon, minlat, maxlon, maxlat)


def bbox_area_km2(box: tuple[float, float, float, float]) -> float:
    """Area of a WGS84 box on the authalic sphere, in km²."""
    minlon, minlat, maxlon, maxlat = box
    radius_km = 6371.0072
    return float(radius_km ** 2 * np.radians(maxlon - minlon)
                 * abs(np.sin(np.radians(maxlat)) - np.sin(np.radians(minlat))))


def _name_version(text: str, param: str) -> tuple[str, int | None]:
    name, _, ver = text.partition("@")
    if not name:
        raise ParameterError(param, "a boundary set name is needed, e.g. boundary:beats")
    if ver:
        try:
            return name, int(ver)
        except ValueError as exc:
            raise ParameterError(param, f"version {ver!r} is not a number") from exc
    return name, None


@dataclass(frozen=True)
class CountsRequest:
    layer: str
    categories: tuple[str, ...]
    window: TimeWindow
    unit: UnitSpec
    area: AreaSpec

    @classmethod
    def parse(cls, *, layer: str, categories: tuple[str, ...] | list[str] = (),
              start: str | None = None, end: str | None = None, unit: str,
              area: str | None = None, datetime_param: str | None = None,
              max_area_km2: float | None = None, snap_m: float | None = None) -> CountsRequest:
        for c in categories:
            check_length(c, "category", MAX_CATEGORY)
        return cls(layer=layer, categories=tuple(categories),
                   window=parse_window(start, end, datetime_param),
                   unit=UnitSpec.parse(unit, snap_m),
                   area=AreaSpec.parse(area, max_area_km2))

    def resolved(self, store: Store, role: str = "admin") -> CountsRequest:
        """This request with its categories spelled as the store holds them (``drugs`` ->
        ``Drugs``); an unknown category is a :class:`ParameterError` with suggestions.

        A ``role`` that may see nothing of the layer gets no suggestions (they would
        name its categories): its request is left for the disclosure check to refuse.
        """
        if disclosure.layer_detail(role, self.layer,
                                  disclosure.current_policy()) == disclosure.NOTHING:
            return self
        return replace(self, categories=resolve_categories(store, self.layer, self.categories))

    def event_filter(self) -> EventFilter:
        return EventFilter(layers=(self.layer,), categories=self.categories,
                           start=self.window.start, end=self.window.end)


def resolve_categories(store: Store, layer: str, categories: tuple[str, ...] | list[str],
                       parameter: str = "category") -> tuple[str, ...]:
    """``categories`` of ``layer`` matched case-insensitively to the stored ones.

    A layer without events has nothing to match against: its counts are zero
    whatever the category, so the categories are passed through.
    """
    if not categories:
        return ()
    known = store.layer_categories(layer)
    if not known:
        return tuple(categories)
    return match_categories(categories, known, layer=layer, parameter=parameter)


def resolve_category_spec(store: Store, layer: str, spec: str, parameter: str) -> str:
    """An operation layer's ``category`` (``*`` or ``A+B``) with each part spelled as
    stored (``drugs`` -> ``Drugs``); an unknown part is a :class:`ParameterError`."""
    if spec.strip() == "*":
        return spec
    parts = [c.strip() for c in spec.split("+") if c.strip()]
    return "+".join(resolve_categories(store, layer, parts, parameter))


@dataclass
class UnitCounts:
    """Events counted per unit of a study area (zeros kept), with what was used."""

    units: unitsmod.UnitSet
    unit_ids: np.ndarray  # ids as users know them (boundary unit ids without the set prefix)
    labels: np.ndarray
    counts: np.ndarray
    events: pd.DataFrame
    index: np.ndarray  # unit index of each event, -1 outside the study area
    parameters: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def boundary_frame(store: Store, name: str, version: int | None,
                   subset: tuple[str, ...] = (), param: str = "area") -> gpd.GeoDataFrame:
    """The units of a boundary set; ``subset``: only these, by id or by name."""
    from service.app.unit_names import resolve_unit_ids

    info = store.boundary_set(name, version)
    frame = store.boundary_units_frame(info.id)
    if subset:
        frame = frame[frame["unit_id"].isin(resolve_unit_ids(frame, subset, param, name))]
    return gpd.GeoDataFrame({"unit_id": frame["unit_id"].to_numpy(),
                             "label": frame["label"].to_numpy()},
                            geometry=geometries_from_wkb(frame["wkb"].to_numpy()), crs=4326)


def study_area_geometry(store: Store, area: AreaSpec, events: pd.DataFrame
                        ) -> tuple[Any, list[str]]:
    """The study area as one WGS84 geometry, and warnings about how it was chosen."""
    if area.kind == "boundary":
        assert area.boundary_set is not None
        gdf = boundary_frame(store, area.boundary_set, area.version, area.units)
        return shapely.union_all(gdf.geometry.to_numpy()), []
    if area.kind == "bbox":
        assert area.bbox is not None
        return shapely.box(*area.bbox), []
    if events.empty:
        raise ParameterError("area", "no events match and no study area was given; pass "
                                     "--area/area=boundary:SET or bbox:...")
    box = (float(events["lon"].min()), float(events["lat"].min()),
           float(events["lon"].max()), float(events["lat"].max()))
    return shapely.box(*box), ["no study area given: the bounding box of the selected events "
                               "was used, so units beyond it are not reported"]


def _study_units(store: Store, req: CountsRequest, events: pd.DataFrame
                 ) -> tuple[unitsmod.UnitSet, np.ndarray, np.ndarray, list[str]]:
    """The units of ``req``'s study area, their labels, plain ids and warnings."""
    warnings: list[str] = []
    if req.unit.kind == "street":
        from service.app.streets import street_study_units

        return street_study_units(store, req, events)
    if req.unit.kind == "boundary":
        assert req.unit.boundary_set is not None
        subset = req.area.units if (req.area.kind == "boundary"
                                    and req.area.boundary_set == req.unit.boundary_set) else ()
        gdf = boundary_frame(store, req.unit.boundary_set, req.unit.version, subset)
        info = store.boundary_set(req.unit.boundary_set, req.unit.version)
        units = unitsmod.boundary_units(gdf, set_name=info.name, version=info.version)
        if req.area.kind not in ("extent",) and not (
                req.area.kind == "boundary" and req.area.boundary_set == req.unit.boundary_set):
            area_geom, w = study_area_geometry(store, req.area, events)
            keep = units.geometry.intersects(area_geom).to_numpy()
            gdf = gdf[keep]
            # units touching the area reach beyond it: the area clips what they count
            units = unitsmod.boundary_units(gdf, set_name=info.name, version=info.version,
                                            area=area_geom)
            warnings += w
        labels = gdf["label"].to_numpy(dtype=object)
        plain_ids = gdf["unit_id"].astype(str).to_numpy(dtype=object)
    else:
        area_geom, w = study_area_geometry(store, req.area, events)
        warnings += w
        if req.unit.kind == "h3":
            assert req.unit.resolution is not None
            if req.unit.resolution > store.h3_resolution:
                raise ParameterError("unit", f"H3 resolution {req.unit.resolution} is finer "
                                             f"than the stored {store.h3_resolution}")
            units = unitsmod.h3_units(area_geom, req.unit.resolution)
        else:
            assert req.unit.cell_size_m is not None
            epsg = _events_epsg(events)
            units = unitsmod.grid_units(area_geom, req.unit.cell_size_m, epsg=epsg)
        labels = np.full(len(units.ids), None, dtype=object)
        plain_ids = units.ids
    return units, labels, plain_ids, warnings


def unit_counts(store: Store, req: CountsRequest, *, role: str = "admin",
                actor: str | None = None, with_layers: tuple[str, ...] = (),
                units_of: UnitCounts | None = None) -> UnitCounts:
    """Events of ``req`` located in every unit of its study area.

    The disclosure gate for every count that leaves remap: a request ``role``
    may not make is refused before any work (``with_layers``: other layers the
    answer is derived from, e.g. a rate's denominator); totals and warnings of
    protected layers are rounded; reads of health and restricted layers are
    audited under ``actor``. ``units_of``: count on the units of an earlier
    answer (a rate's denominator must be counted on the numerator's units,
    even when the study area is the extent of the numerator's events).
    """
    known = store.layer_names()
    if req.layer not in known:
        raise NotFoundError(f"layer {req.layer!r} does not exist; known layers: "
                            f"{', '.join(sorted(known)) or 'none (import events first)'}")
    req = req.resolved(store, role)
    layers = (req.layer, *with_layers)
    disclosure.check_counts_request(store, role=role, layers=layers, unit=req.unit,
                                    window=req.window, categories=req.categories,
                                    event_filter=req.event_filter())
    events = store.event_arrays(req.event_filter())
    if units_of is not None:
        units, labels, plain_ids = units_of.units, units_of.labels, units_of.unit_ids
        warnings: list[str] = []
    else:
        units, labels, plain_ids, warnings = _study_units(store, req, events)
    if units.kind == "street":
        from service.app.streets import locate_street_events

        located = locate_street_events(store, req, units, events)
    else:
        located = unitsmod.locate_points(units, events["lon"].to_numpy(),
                                         events["lat"].to_numpy(), events["x"].to_numpy(),
                                         events["y"].to_numpy(), h3_finest=_finest_cells(events))
    whole_units = units.area is not None and disclosure.whole_units_only(role, layers)
    index = located.in_units if whole_units else located.index
    if units_of is None and req.unit.kind not in ("boundary", "street"):
        labels = _cell_labels(store, req, units, events, index, role, layers)
    counts = unitsmod.count(units, index)
    inside = int((index >= 0).sum())
    n_units = len(units.ids)

    def total(n: int) -> Any:
        return disclosure.shown_total(role, layers, n)

    params: dict[str, Any] = {
        "layer": req.layer, "categories": list(req.categories) or "all",
        "window": req.window.as_dict(), "unit": req.unit.describe(),
        "area": (f"boundary set {req.unit.boundary_set}"
                 if req.unit.kind == "boundary" and req.area.kind == "extent"
                 else req.area.describe()),
        "units": n_units,
        "zero_units": int((counts == 0).sum()), "events_selected": total(len(events)),
        "events_counted": total(inside), "events_outside_area": total(len(events) - inside),
        "events_outside_area_in_edge_units": total(located.clipped),
        **{f"unit_{k}": v for k, v in units.parameters.items()},
        "small_number_suppression": disclosure.suppression_note(role, layers),
    }
    if units.kind == "street":
        from service.app.streets import off_network_report

        off_params, off_warnings = off_network_report(units, located, events, total)
        params.update(off_params)
        warnings += off_warnings
    if whole_units:
        params["unit_edge_units"] = "counted whole (disclosure control)"
    if whole_units and located.clipped:
        clipped = total(located.clipped)
        warnings.append(f"counted: {clipped} {'event' if clipped == 1 else 'events'} outside "
                        "the study area in units that reach beyond its edge; protected "
                        "counts are of whole units, since a unit cut by the area's edge is "
                        "smaller than the disclosure policy allows")
    elif located.clipped:
        clipped = total(located.clipped)
        warnings.append(f"not counted: {clipped} {'event' if clipped == 1 else 'events'} "
                        "outside the study area in units that reach beyond its edge (an edge "
                        "unit counts only the events inside the study area)")
    warnings += data_warnings(events, n_units, inside, shown=total(inside))
    warnings += geocoding.precision_warnings(
        events, geocoding.unit_width_m(req.unit.kind, req.unit.resolution, req.unit.cell_size_m),
        req.unit.describe(), shown=total)
    disclosure.audit_read(store, actor, role, req.layer, events=inside,
                          what={"unit": req.unit.describe(), "window": req.window.as_dict(),
                                "categories": list(req.categories)})
    return UnitCounts(units=units, unit_ids=plain_ids, labels=labels, counts=counts, events=events, index=index,
                      parameters=params, warnings=warnings)


def _cell_labels(store: Store, req: CountsRequest, units: unitsmod.UnitSet,
                 events: pd.DataFrame, index: np.ndarray, role: str,
                 layers: tuple[str, ...]) -> np.ndarray:
    """Names of H3 cells or grid squares: the unit of the study area's boundary set each
    lies in, and the street holding most of its events (police.uk "On or near ...").

    Streets are left out for a layer the role sees only as protected counts: a
    street would place its events more finely than the counts may."""
    from service.app import unit_names
    from spatial.disclosure import is_protected

    n = len(units.ids)
    within = np.full(n, None, dtype=object)
    if req.area.kind == "boundary":
        assert req.area.boundary_set is not None
        # the whole set: an edge cell centred beyond the area is named by its neighbour
        within = unit_names.containing_labels(
            units.geometry.to_numpy(),
            boundary_frame(store, req.area.boundary_set, req.area.version))
    streets = np.full(n, None, dtype=object)
    inside = events.loc[index >= 0]
    if len(inside) and not any(is_protected(role, la) for la in layers):
        # only the events in units matter: their box keeps the read small
        bbox = (float(inside["lon"].min()), float(inside["lat"].min()),
                float(inside["lon"].max()), float(inside["lat"].max()))
        located = store.event_attribute(replace(req.event_filter(), bbox=bbox),
                                        unit_names.STREET_ATTRIBUTE)
        loc = events[["id"]].merge(located, on="id", how="left")["value"].to_numpy()
        streets = unit_names.main_streets(index, loc, n)[0]
    return unit_names.cell_names(within, streets)


def data_warnings(events: pd.DataFrame, n_units: int, counted: int, *,
                  shown: Any = None) -> list[str]:
    """Plain warnings about what the selected data cannot show (``shown``: the
    count as the reader may see it)."""
    out = []
    if counted < n_units:
        out.append(f"few events: {counted if shown is None else shown} events over {n_units} "
                   "units (fewer than one per "
                   "unit); unit-level statistics will be unstable")
    if not events.empty:
        if (events["time_precision"] == "month").any():
            out.append("some events have month-precision times (police.uk): windows are "
                       "resolved to whole months")
        if (events["location_precision"] == "snapped").any():
            out.append("some locations are snapped to anonymised map points (police.uk): "
                       "counts in small units can move between neighbours")
        if (events["location_precision"] == "rounded").any():
            out.append("some locations are rounded (e.g. ambulance data to ~400 m): small "
                       "units are not meaningful for them")
    return out


def _events_epsg(events: pd.DataFrame) -> int | None:
    if events.empty:
        return None
    codes = events["crs_epsg"].value_counts()
    return int(codes.index[0])


def _finest_cells(events: pd.DataFrame) -> np.ndarray | None:
    from spatial.place.placement import cells_from_str

    if events.empty:
        return None
    return cells_from_str(events["h3"].to_numpy())


def counts_collection(store: Store, req: CountsRequest, *, role: str,
                      actor: str | None = None) -> dict[str, Any]:
    """Counts per unit as a GeoJSON FeatureCollection with ``parameters`` and ``warnings``."""
    uc = unit_counts(store, req, role=role, actor=actor)
    values = disclosure.shown_counts(role, req.layer, uc.counts)
    props = [{"unit_id": str(u), "label": lab, "count": v}
             for u, lab, v in zip(uc.unit_ids, uc.labels, values, strict=True)]
    params = dict(uc.parameters)
    return feature_collection(geometry_features(uc.units.geometry.to_numpy(), props,
                                                ids=[str(u) for u in uc.units.ids]),
                              parameters=params, warnings=uc.warnings)
