"""An operation's areas, windows and counts, and the report that evaluates it.

Pure functions: no I/O, no web, no database. The store side
(:mod:`service.app.operations`) loads events and hands them here as arrays.

An operation (``docs/domain.md`` §4) has

* a **target** area, where it acted: a polygon, the union of a set of beats,
  or a centre and a radius in metres;
* a **buffer** (catchment) around it, where displacement or diffusion would
  show: rings of given outer distances from the target's edge (``[400]`` is
  the 0-400 m ring, ``[400, 800]`` adds the 400-800 m ring; the buffer tested
  is their union), or a polygon;
* a **control** area, similar, nearby and not touching the buffer (given, or
  suggested by :func:`suggest_controls`), and optionally a separate control
  for the buffer;
* windows ``before``, ``during`` (the strike, reported separately, optional)
  and ``after``, inclusive dates;
* the layers and categories to evaluate, each an *output* (e.g. recorded
  ``Drugs`` offences, which measure police activity) or an *outcome* (harm).

All distance work happens in metres in one projected CRS (British National
Grid in Great Britain, else UTM; :mod:`spatial.place.crs`). Point-in-polygon is
exact and vectorised (:func:`spatial.place.placement.assign_polygons`).

Time windows and precision
--------------------------
An event belongs to a window when its recorded time lies in
``[start, end + 1 day)``. police.uk times are the first day of the month, so
for month-precision layers a window holds the *whole months whose first day
lies in it*, and its effective length is the number of days of those months
(e.g. an after window 2019-01-15..2019-04-30 holds February-April crime, 89
days, not 106). Effective lengths are reported, and used as time weights
whenever the before and after lengths differ (Wheeler & Ratcliffe 2018: each
count x is divided by its window length w and its variance by w², so effects
are in events per day).

Contents
--------
- :class:`Window`, :class:`Windows`, :func:`parse_window` -- dated windows.
- :class:`MeasuredLayer` -- a layer/category with its role and harm weight.
- :func:`build_areas` -> :class:`OperationAreas` -- target, buffer rings,
  controls and distance-decay rings in metres.
- :func:`suggest_controls` -- ranked control candidates with reasons.
- :func:`count_table` -> :class:`LayerCounts` -- counts per area and window.
- :func:`classify_sites` -- the dealing-site re-map.
- :func:`overdose_watch` -- rate-ratio tests on overdose call-outs.
- :func:`plan_layer` -- minimum detectable change and the after window needed.
- :func:`baseline_snapshot`, :func:`fingerprint`, :func:`compare_baseline` --
  the baseline lock.
- :func:`evaluate_operation` -- every measure, per layer, in one dict.
- :func:`displacement_summary` -- the calculator for analysts with counts.

References
----------
Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement
    and diffusion of benefit effects of crime prevention activity. *Journal of
    Quantitative Criminology* 19(3), 275-301.
Guerette, R. T. (2009). *Analyzing Crime Displacement and Diffusion*. POP
    Center Problem-Solving Tools No. 10.
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11.
Andresen, M. A. (2009). Testing for similarity in area-based spatial
    patterns: a nonparametric Monte Carlo approach. *Applied Geography* 29(3).
Home Office (2003). *Disrupting crack markets: a practice guide* (the
    Derbyshire Drug Market Project's monitoring template).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import mapping as _shape_mapping
from shapely.geometry import shape as _shape

from service.render.sentences import CAVEAT_TEXT
from service.render.sentences import explain as verdict
from spatial.errors import InsufficientDataError, ParameterError
from spatial.evaluation.count_table import SMALL_COUNT, CountTable
from spatial.evaluation.power import after_window_needed, minimum_detectable_change
from spatial.evaluation.rate_ratio import rate_ratio_test
from spatial.evaluation.rings import distance_decay
from spatial.evaluation.sppt import sppt
from spatial.evaluation.verdict import minimum_events
from spatial.evaluation.wdd import (
    EffectTest,
    displacement_effect,
    harm_weighted_wdd,
    local_effect,
    wdd,
)
from spatial.place import crs, placement
from spatial.place import units as unitsmod

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

AREA_NAMES: Final = ("target", "buffer", "control", "buffer_control")
WINDOW_NAMES: Final = ("before", "during", "after")
ROLES: Final = ("output", "outcome")
#: Segments per quarter circle for circles and buffers: the polygon's area is
#: within 0.01 % of the true circle's (1 − (2π/256)²/6 ≈ 0.9999).
QUAD_SEGS: Final = 64
#: WGS84 polygons are densified to this spacing (degrees) before projecting,
#: so long straight lon/lat edges follow their true path in metres.
DENSIFY_DEG: Final = 0.001
MAX_DECAY_RINGS: Final = 50
SITE_CLASSES: Final = ("closed", "persisting", "re_occupied", "new", "not_active", "unknown")
SITE_AREAS: Final = ("target", "buffer", "control", "buffer_control", "elsewhere")
ROLE_NOTES: Final = {
    "output": ("output: measures police activity (e.g. recorded drug offences rise when "
               "officers search more), not the size of the market or the harm it does"),
    "outcome": "outcome: a harm the operation aims to reduce",
}


# --------------------------------------------------------------------------
# windows
# --------------------------------------------------------------------------


def _parse_day(text: str, name: str, *, end: bool) -> date:
    v = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}", v):
            year, month = int(v[:4]), int(v[5:7])
            day = calendar.monthrange(year, month)[1] if end else 1
            return date(year, month, day)
        return date.fromisoformat(v)
    except ValueError as exc:
        raise ParameterError(name, f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM)") from exc


@dataclass(frozen=True)
class Window:
    """An inclusive date window ``[start, end]``.

    Attributes
    ----------
    name : str
        ``before``, ``during`` or ``after``.
    start, end : datetime.date
        First and last day, both included.
    """

    name: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ParameterError(f"windows.{self.name}",
                                 f"ends {self.end} before it starts {self.start}")

    @property
    def days(self) -> int:
        """Nominal length in days (both ends included)."""
        return (self.end - self.start).days + 1

    @property
    def start64(self) -> np.datetime64:
        return np.datetime64(self.start.isoformat(), "ns")

    @property
    def end64(self) -> np.datetime64:
        """The exclusive end: the day after ``end``."""
        return np.datetime64((self.end + timedelta(days=1)).isoformat(), "ns")

    def whole_months(self) -> list[tuple[int, int]]:
        """(year, month) of the months whose first day lies in the window."""
        out = []
        y, m = self.start.year, self.start.month
        if self.start.day != 1:
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        while date(y, m, 1) <= self.end:
            out.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def month_days(self) -> int:
        """Days of the months whose first day lies in the window (month-precision length)."""
        return sum(calendar.monthrange(y, m)[1] for y, m in self.whole_months())

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}


def parse_window(text: str, name: str) -> Window:
    """``YYYY-MM-DD/YYYY-MM-DD``, ``YYYY-MM/YYYY-MM`` (whole months) or ``YYYY-MM``."""
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(name, "a window is needed, e.g. 2018-10-01/2018-12-31")
    a, sep, b = text.partition("/")
    if not sep:
        b = a
    return Window(name, _parse_day(a, name, end=False), _parse_day(b, name, end=True))


@dataclass(frozen=True)
class Windows:
    """The before, (optional) during and after windows of an operation, in order."""

    before: Window
    after: Window
    during: Window | None = None

    def __post_init__(self) -> None:
        if not self.before.end < self.after.start:
            raise ParameterError("windows.after", f"must start after the before window ends "
                                 f"({self.before.end})")
        if self.during is not None:
            if not self.before.end < self.during.start:
                raise ParameterError("windows.during", "must start after the before window ends "
                                     f"({self.before.end})")
            if not self.during.end < self.after.start:
                raise ParameterError("windows.after", "must start after the during window ends "
                                     f"({self.during.end})")

    def items(self) -> list[tuple[str, Window | None]]:
        return [("before", self.before), ("during", self.during), ("after", self.after)]

    @property
    def span(self) -> tuple[date, date]:
        return self.before.start, self.after.end

    def lengths(self, month_precision: bool) -> dict[str, float | None]:
        """Effective length in days per window (None for an absent during window)."""
        out: dict[str, float | None] = {}
        for name, w in self.items():
            if w is None:
                out[name] = None
            else:
                out[name] = float(w.month_days() if month_precision else w.days)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {name: (w.as_dict() if w else None) for name, w in self.items()}


def window_index(time: npt.ArrayLike, windows: Windows) -> IntArray:
    """0 before, 1 during, 2 after, -1 outside every window (vectorised)."""
    t = np.asarray(time, dtype="datetime64[ns]")
    out = np.full(t.shape, -1, dtype=np.int64)
    for i, (_, w) in enumerate(windows.items()):
        if w is None:
            continue
        out[(t >= w.start64) & (t < w.end64)] = i
    return out


# --------------------------------------------------------------------------
# layers to evaluate
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasuredLayer:
    """A layer and category to evaluate, with its role and optional harm weight.

    ``category="*"`` sums every category of the layer; categories joined by
    ``+`` (e.g. ``"Drugs+Anti-social behaviour"``) are summed together.
    """

    layer: str
    category: str = "*"
    role: str = "outcome"
    harm_weight: float | None = None

    def __post_init__(self) -> None:
        if not self.layer:
            raise ParameterError("layers", "a layer name is needed")
        if not self.category:
            raise ParameterError("layers", f"{self.layer}: a category (or *) is needed")
        if self.role not in ROLES:
            raise ParameterError("layers", f"{self.key}: role must be output or outcome, "
                                 f"got {self.role!r}")
        if self.harm_weight is not None and not (
                math.isfinite(self.harm_weight) and self.harm_weight >= 0):
            raise ParameterError("layers", f"{self.key}: harm weight must be a number >= 0")

    @property
    def key(self) -> str:
        return f"{self.layer}/{self.category}"

    @classmethod
    def parse(cls, text: str) -> MeasuredLayer:
        """``LAYER:CATEGORY:ROLE[:HARM_WEIGHT]``, e.g. ``crime:Drugs:output``,
        ``ambulance:*:outcome`` or ``crime:Burglary:outcome:2.5``."""
        parts = text.split(":")
        if len(parts) not in (3, 4):
            raise ParameterError("layer", f"{text!r}: expected LAYER:CATEGORY:ROLE[:WEIGHT], "
                                 "e.g. crime:Drugs:output")
        weight = None
        if len(parts) == 4:
            try:
                weight = float(parts[3])
            except ValueError as exc:
                raise ParameterError("layer", f"{text!r}: harm weight {parts[3]!r} is not a "
                                     "number") from exc
        return cls(parts[0].strip(), parts[1].strip(), parts[2].strip().lower(), weight)

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories summed (empty for ``*``: all of them)."""
        if self.category == "*":
            return ()
        return tuple(c.strip() for c in self.category.split("+") if c.strip())

    def matches(self, layer: npt.ArrayLike, category: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        mask = np.asarray(layer, dtype=object) == self.layer
        cats = self.categories
        if len(cats) == 1:
            mask &= np.asarray(category, dtype=object) == cats[0]
        elif cats:
            mask &= np.isin(np.asarray(category, dtype=object), np.asarray(cats, dtype=object))
        return np.asarray(mask, dtype=bool)

    def what(self) -> str:
        """Words for the verdict sentence ("recorded <what> fell ...")."""
        cats = " + ".join(self.categories)
        if self.layer == "crime":
            return "crimes" if not cats else f"{cats} crimes"
        if self.layer == "ambulance":
            return "ambulance call-outs" if not cats else f"ambulance call-outs ({cats})"
        return f"{self.layer} events" + ("" if not cats else f" ({cats})")

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "category": self.category, "role": self.role,
                "harm_weight": self.harm_weight}


# --------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------


def polygon_from_geojson(obj: Any, name: str = "geometry") -> Any:
    """A polygonal WGS84 shapely geometry from a GeoJSON geometry, Feature or FeatureCollection.

    Raises
    ------
    ParameterError
        Not GeoJSON, not polygonal, empty, or coordinates outside lon/lat degrees.
    """
    if not isinstance(obj, Mapping) or "type" not in obj:
        raise ParameterError(name, "must be a GeoJSON geometry, Feature or FeatureCollection")
    try:
        if obj["type"] == "FeatureCollection":
            geoms = [_shape(f["geometry"]) for f in obj.get("features", []) if f.get("geometry")]
            geom = shapely.union_all(geoms) if geoms else shapely.Polygon()
        elif obj["type"] == "Feature":
            geom = _shape(obj["geometry"])
        else:
            geom = _shape(obj)
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise ParameterError(name, f"not valid GeoJSON: {exc}") from exc
    return _polygonal(geom, name)


def _polygonal(geom: Any, name: str) -> Any:
    if geom is None:
        raise ParameterError(name, "is empty")
    return unitsmod.wgs84_polygon(geom, name)


def to_metric(geom_wgs84: Any, epsg: int) -> Any:
    """A WGS84 geometry in metres (``epsg``), densified first."""
    return crs.geometry_to_metric(shapely.segmentize(geom_wgs84, DENSIFY_DEG), epsg)[()]


def to_geojson(geom_metric: Any, epsg: int) -> dict[str, Any] | None:
    """A metric geometry as a WGS84 GeoJSON geometry (``None`` for none/empty)."""
    if geom_metric is None or geom_metric.is_empty:
        return None
    out: dict[str, Any] = dict(_shape_mapping(crs.geometry_to_wgs84(geom_metric, epsg)[()]))
    return out


def circle_target(lon: float, lat: float, radius_m: float,
                  epsg: int | None = None) -> tuple[Any, int]:
    """A circle of ``radius_m`` metres around ``(lon, lat)``, in metres; returns (polygon, epsg)."""
    if not (math.isfinite(radius_m) and 0 < radius_m <= 50_000):
        raise ParameterError("radius", f"must be 0-50000 metres, got {radius_m!r}")
    if not bool(crs.in_bounds(np.array([lon]), np.array([lat]), crs.WORLD_BOUNDS)[0]):
        raise ParameterError("centre", f"({lon}, {lat}) is not a WGS84 lon,lat position")
    code = int(epsg) if epsg is not None else crs.metric_epsg(np.array([lon]), np.array([lat]))
    x, y = crs.to_metric(np.array([lon]), np.array([lat]), code)
    return shapely.Point(float(x[0]), float(y[0])).buffer(radius_m, quad_segs=QUAD_SEGS), code


def ring_geometries(target_m: Any, edges_m: Sequence[float]) -> list[Any]:
    r"""Rings around a target between successive distances from its edge.

    Ring k is ``target ⊕ e[k+1]`` minus ``target ⊕ e[k]`` (⊕: buffer by a
    distance, e₀ = 0 is the target itself), so the rings are disjoint and
    exclude the target. For a circle of radius r, a ring from distance a to b
    has area π((r+b)² − (r+a)²).
    """
    edges = [float(e) for e in edges_m]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)) \
            or edges[0] < 0:
        raise ParameterError("rings", f"edges must be >= 0 and strictly increasing, got {edges}")
    grown = [target_m if e == 0 else target_m.buffer(e, quad_segs=QUAD_SEGS) for e in edges]
    return [shapely.difference(b, a) for a, b in zip(grown, grown[1:], strict=False)]


@dataclass(frozen=True, eq=False)
class OperationAreas:
    """The areas of an operation, as shapely geometries in metres (``epsg``).

    Attributes
    ----------
    epsg : int
        Projected CRS of every geometry (BNG in Great Britain, else UTM).
    target, buffer, control, buffer_control
        Polygons; ``control``/``buffer_control`` may be ``None``. The buffer
        excludes the target.
    buffer_rings : tuple
        The buffer's rings (one polygon when the buffer was given as a polygon).
    buffer_edges_m : tuple of float or None
        Ring edges from the target's edge, e.g. (0, 400, 800); ``None`` for a
        polygon buffer.
    decay_edges_m : tuple of float
        Edges of the distance-decay rings (0, step, 2·step, ...).
    decay_rings : tuple
        Rings for distance decay, continuing past the buffer.
    description : dict
        How each area was defined (for the report).
    warnings : list of str
    """

    epsg: int
    target: Any
    buffer: Any
    buffer_rings: tuple[Any, ...]
    buffer_edges_m: tuple[float, ...] | None
    control: Any | None
    buffer_control: Any | None
    decay_edges_m: tuple[float, ...]
    decay_rings: tuple[Any, ...]
    description: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def geometry(self, name: str) -> Any | None:
        if name not in AREA_NAMES:
            raise ParameterError("area", f"unknown area {name!r}")
        return getattr(self, name)

    def area_km2(self, name: str) -> float | None:
        g = self.geometry(name)
        return None if g is None else float(g.area) / 1e6

    @property
    def outer(self) -> Any:
        """Target and buffer together."""
        return shapely.union_all([self.target, self.buffer])

    def extent_wgs84(self, pad_m: float = 0.0) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) covering every area and ring, padded."""
        parts = [g for g in (self.target, self.buffer, self.control, self.buffer_control,
                             *self.decay_rings) if g is not None and not g.is_empty]
        minx, miny, maxx, maxy = shapely.union_all(parts).bounds
        box = shapely.box(minx - pad_m, miny - pad_m, maxx + pad_m, maxy + pad_m)
        geom: Any = crs.geometry_to_wgs84(shapely.segmentize(box, 100.0), self.epsg)[()]
        b = geom.bounds
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    def as_geojson(self) -> dict[str, Any]:
        """Every area as WGS84 GeoJSON geometry (None when absent)."""
        out: dict[str, Any] = {name: to_geojson(self.geometry(name), self.epsg)
                               for name in AREA_NAMES}
        out["buffer_rings"] = [to_geojson(r, self.epsg) for r in self.buffer_rings]
        return out

    def parameters(self) -> dict[str, Any]:
        return {
            "crs": crs.crs_label(self.epsg),
            "areas_km2": {name: (None if (a := self.area_km2(name)) is None else round(a, 6))
                          for name in AREA_NAMES},
            "buffer_edges_m": list(self.buffer_edges_m) if self.buffer_edges_m else None,
            "decay_edges_m": list(self.decay_edges_m),
            "definition": self.description,
        }


def _check_disjoint(name: str, geom: Any, others: Mapping[str, Any],
                    warnings: list[str]) -> None:
    """Refuse overlaps of positive area; warn when ``geom`` only touches another area."""
    for other_name, other in others.items():
        if other is None or geom is None:
            continue
        overlap = float(shapely.intersection(geom, other).area)
        if overlap > 1.0:
            raise ParameterError(name, f"overlaps the {other_name} by {overlap:,.0f} m²: a "
                                 f"comparison area must not share ground with the {other_name}")
        if shapely.intersects(geom, other):
            warnings.append(f"the {name.replace('_', ' ')} touches the {other_name}: events on "
                            f"the shared edge are counted in the {other_name} (a control should "
                            "not touch the buffer)")


def build_areas(*, target: Any | None = None, circle: tuple[float, float, float] | None = None,
                buffer_m: Sequence[float] | None = None, buffer: Any | None = None,
                control: Any | None = None, buffer_control: Any | None = None,
                decay_step_m: float = 100.0, decay_max_m: float | None = None,
                epsg: int | None = None,
                description: Mapping[str, Any] | None = None) -> OperationAreas:
    """Build an operation's areas in metres.

    Parameters
    ----------
    target : shapely polygon, WGS84
        The target area (a polygon, or the union of the target beats), or
    circle : (lon, lat, radius_m)
        a circular target.
    buffer_m : sequence of float
        Outer distances of the buffer rings from the target's edge, metres,
        strictly increasing (``[400]``: one 0-400 m ring), or
    buffer : shapely polygon, WGS84
        a buffer polygon (any part inside the target is removed).
    control, buffer_control : shapely polygon, WGS84, optional
        Must not overlap the target or the buffer (:class:`ParameterError`);
        touching is allowed with a warning.
    decay_step_m, decay_max_m : float
        Distance-decay rings every ``decay_step_m`` out to ``decay_max_m``
        (default: twice the buffer's outer distance, at least 500 m), at most
        :data:`MAX_DECAY_RINGS` rings.
    epsg : int, optional
        Projected CRS; by default chosen from the target (BNG in GB, else UTM).
    """
    warnings: list[str] = []
    desc = dict(description or {})
    if (target is None) == (circle is None):
        raise ParameterError("target", "give either a target polygon or a centre and radius")
    if circle is not None:
        lon, lat, radius = circle
        target_m, code = circle_target(lon, lat, radius, epsg)
        desc.setdefault("target", f"circle of {radius:g} m around ({lon:.6f}, {lat:.6f})")
    else:
        target = _polygonal(target, "target")
        p = target.representative_point()
        code = int(epsg) if epsg is not None else crs.metric_epsg(np.array([p.x]),
                                                                   np.array([p.y]))
        target_m = to_metric(target, code)
        desc.setdefault("target", "polygon")
    if target_m.is_empty or target_m.area <= 0:
        raise ParameterError("target", "has no area")

    if (buffer_m is None) == (buffer is None):
        raise ParameterError("buffer", "give either ring distances in metres or a buffer polygon")
    if buffer_m is not None:
        dists = [float(d) for d in buffer_m]
        if not dists or any(not math.isfinite(d) or d <= 0 for d in dists) or any(
                b <= a for a, b in zip(dists, dists[1:], strict=False)):
            raise ParameterError("buffer", f"ring distances must be positive and strictly "
                                 f"increasing metres, got {list(buffer_m)}")
        if dists[-1] > 20_000:
            raise ParameterError("buffer", "rings beyond 20 km are not a buffer")
        ring_edges = (0.0, *dists)
        edges: tuple[float, ...] | None = ring_edges
        rings = tuple(ring_geometries(target_m, ring_edges))
        buffer_geom = shapely.union_all(list(rings))
        outer_m = dists[-1]
        desc.setdefault("buffer", " and ".join(
            f"{a:g}-{b:g} m" for a, b in zip(ring_edges, ring_edges[1:], strict=False))
            + " ring(s)")
    else:
        edges = None
        b_m = to_metric(_polygonal(buffer, "buffer"), code)
        if float(shapely.intersection(b_m, target_m).area) > 1.0:
            warnings.append("the buffer polygon overlapped the target; the overlap was removed "
                            "(the buffer is the ground around the target)")
        buffer_geom = shapely.difference(b_m, target_m)
        if buffer_geom.is_empty:
            raise ParameterError("buffer", "lies entirely inside the target")
        if not shapely.intersects(buffer_geom, target_m.buffer(1.0)):
            warnings.append("the buffer does not adjoin the target: displacement just beyond "
                            "the target's edge would not be seen")
        rings = (buffer_geom,)
        verts = shapely.get_coordinates(shapely.boundary(buffer_geom))
        outer_m = float(shapely.distance(target_m, shapely.points(verts)).max()) if len(verts) \
            else 0.0
        desc.setdefault("buffer", "polygon")

    control_m = to_metric(_polygonal(control, "control"), code) if control is not None else None
    bcontrol_m = (to_metric(_polygonal(buffer_control, "buffer_control"), code)
                  if buffer_control is not None else None)
    _check_disjoint("control", control_m, {"target": target_m, "buffer": buffer_geom}, warnings)
    _check_disjoint("buffer_control", bcontrol_m, {"target": target_m, "buffer": buffer_geom},
                    warnings)

    step = float(decay_step_m)
    if not (math.isfinite(step) and step > 0):
        raise ParameterError("decay_step_m", f"must be a positive number of metres, got {step!r}")
    far = float(decay_max_m) if decay_max_m is not None else max(2.0 * outer_m, 500.0)
    if not (math.isfinite(far) and far > 0):
        raise ParameterError("decay_max_m", f"must be a positive number of metres, got {far!r}")
    n_rings = math.ceil(far / step - 1e-9)
    if n_rings > MAX_DECAY_RINGS:
        raise ParameterError("decay_step_m", f"{n_rings} distance-decay rings of {step:g} m out "
                             f"to {far:g} m; use wider rings (at most {MAX_DECAY_RINGS})")
    decay_edges = tuple(step * k for k in range(n_rings + 1))
    decay_rings = tuple(ring_geometries(target_m, decay_edges))
    return OperationAreas(epsg=code, target=target_m, buffer=buffer_geom, buffer_rings=rings,
                          buffer_edges_m=edges, control=control_m, buffer_control=bcontrol_m,
                          decay_edges_m=decay_edges, decay_rings=decay_rings, description=desc,
                          warnings=warnings)


# --------------------------------------------------------------------------
# control suggestion
# --------------------------------------------------------------------------


def suggest_controls(ids: Sequence[str], geometries_m: Sequence[Any] | npt.NDArray[Any],
                     baseline_counts: npt.ArrayLike, target_baseline: float | npt.ArrayLike, *,
                     target_m: Any, buffer_m: Any, labels: Sequence[str] | None = None,
                     columns: Sequence[str] | None = None, max_units: int = 5,
                     max_distance_m: float = 5_000.0) -> dict[str, Any]:
    r"""Rank candidate control units and choose a control area from them.

    A control should be similar, nearby and must not touch the buffer
    (``docs/domain.md`` §4). Candidates that intersect (overlap *or* touch) the
    target or the buffer, lie farther than ``max_distance_m`` from the target
    or recorded nothing in the baseline are excluded, each with its reason.
    The rest are ranked by

    .. math:: s_i = \frac{1}{K}\sum_{k=1}^{K}\left|\ln\frac{c_{ik} + 1}{T_k + 1}\right|
                    + \frac{d_i}{d_{max}}

    over the K matched layers/categories (c_ik the unit's baseline count of
    layer k, T_k the target's, d_i its distance from the target in metres):
    the first term is 0 for a unit with the target's baseline profile and
    ln 2 ≈ 0.69 for one with half or double it in every layer; the second
    grows to 1 at the distance limit. Matching the profile, not only the
    total, keeps a control with the target's level of crime but none of its
    drug offences from winning. Units are then taken in rank order, each kept
    only if it brings the control's summed profile closer to the target's
    (the same mean absolute log ratio), until ``max_units`` are kept; so a
    control of several small units or one similar unit results.

    Parameters
    ----------
    ids, geometries_m : sequences
        Candidate unit ids and their polygons in metres (the operation's CRS).
    baseline_counts : array_like, shape (n,) or (n, K)
        Each candidate's before-window counts (of the K layers matched on).
    target_baseline : float or array_like, shape (K,)
        The target's before-window counts.
    target_m, buffer_m : shapely geometries in metres
    labels : sequence of str, optional
    columns : sequence of str, optional
        Names of the K matched layers/categories, for the reasons.
    max_units : int
    max_distance_m : float

    Returns
    -------
    dict
        ``chosen`` (ids), ``control_baseline`` and ``target_baseline`` (per
        matched column when K > 1), ``ranked`` (every eligible candidate with
        its score and reason), ``excluded`` (with reasons), ``parameters`` and
        ``warnings``.
    """
    ids_a = np.asarray(list(ids), dtype=object)
    geoms = np.asarray(list(geometries_m), dtype=object)
    raw = np.asarray(baseline_counts, dtype=float)
    multi = raw.ndim == 2
    counts = raw if multi else raw.reshape(-1, 1)
    t = np.atleast_1d(np.asarray(target_baseline, dtype=float)).ravel()
    if not (ids_a.size == geoms.size == counts.shape[0]):
        raise ParameterError("candidates", "ids, geometries and counts differ in length")
    if counts.shape[1] != t.size:
        raise ParameterError("target_baseline", f"{t.size} target counts for "
                             f"{counts.shape[1]} matched columns")
    if isinstance(max_units, bool) or not isinstance(max_units, int) or max_units < 1:
        raise ParameterError("max_units", f"must be an integer >= 1, got {max_units!r}")
    if not (math.isfinite(max_distance_m) and max_distance_m > 0):
        raise ParameterError("max_distance_m", "must be a positive number of metres")
    names = list(columns) if columns is not None else [f"column {k + 1}" for k in range(t.size)]
    labs = (np.asarray(list(labels), dtype=object) if labels is not None
            else np.full(ids_a.size, None, dtype=object))
    outer = shapely.union_all([target_m, buffer_m])
    touches = (shapely.intersects(geoms, outer) if ids_a.size
               else np.zeros(0, dtype=bool))
    dist = shapely.distance(geoms, target_m) if ids_a.size else np.zeros(0)
    totals = counts.sum(axis=1)
    far = dist > max_distance_m
    empty = totals <= 0
    eligible = ~touches & ~far & ~empty
    excluded: list[dict[str, Any]] = []
    for j in np.flatnonzero(~eligible).tolist():  # candidates: tens to hundreds of units
        reason = ("touches or overlaps the target or buffer" if touches[j] else
                  f"{float(dist[j]):,.0f} m from the target, beyond {max_distance_m:,.0f} m"
                  if far[j] else "recorded nothing in the baseline")
        excluded.append({"id": str(ids_a[j]), "label": labs[j],
                         "baseline": counts[j].tolist() if multi else float(counts[j, 0]),
                         "distance_m": round(float(dist[j]), 1), "reason": reason})

    def gap(total: np.ndarray) -> float:
        return float(np.mean(np.abs(np.log((total + 1.0) / (t + 1.0)))))

    sim = np.abs(np.log((counts + 1.0) / (t + 1.0))).mean(axis=1)
    score = sim + dist / max_distance_m
    order = [int(i) for i in np.argsort(score, kind="stable") if eligible[i]]
    chosen: list[int] = []
    total = np.zeros(t.size)
    for i in order:
        if len(chosen) >= max_units:
            break
        if gap(total + counts[i]) < (gap(total) if chosen else math.inf):
            chosen.append(i)
            total = total + counts[i]

    def profile(c: np.ndarray) -> str:
        return ", ".join(f"{n} {v:g}" for n, v in zip(names, c, strict=True)) if multi \
            else f"{c[0]:g}"

    ranked = []
    for rank, i in enumerate(order, start=1):
        ratio = totals[i] / t.sum() if t.sum() > 0 else None
        ratio_text = f"ratio {ratio:.2f}" if ratio is not None else "target baseline 0"
        ranked.append({
            "rank": rank, "id": str(ids_a[i]), "label": labs[i],
            "baseline": counts[i].tolist() if multi else float(counts[i, 0]),
            "distance_m": round(float(dist[i]), 1), "score": round(float(score[i]), 4),
            "chosen": i in chosen,
            "reason": (f"baseline {profile(counts[i])} against the target's {profile(t)} "
                       f"({ratio_text}); {float(dist[i]):,.0f} m from the target; does not "
                       "touch the buffer"),
        })
    warnings: list[str] = []
    if not chosen:
        warnings.append("no candidate unit qualifies as a control (see excluded): give a "
                        "control area, or widen max_distance_m")
    else:
        for name, c, tv in zip(names, total, t, strict=True):
            if tv > 0 and not (0.5 <= c / tv <= 2.0):
                warnings.append(f"the suggested control's baseline of {name} ({c:g}) is not "
                                f"within a factor of 2 of the target's ({tv:g}): changes in "
                                "the two are less comparable")
    return {"chosen": [str(ids_a[i]) for i in chosen],
            "control_baseline": total.tolist() if multi else float(total[0]),
            "target_baseline": t.tolist() if multi else float(t[0]),
            "columns": names if multi else None,
            "ranked": ranked, "excluded": excluded,
            "parameters": {"max_units": max_units, "max_distance_m": max_distance_m,
                           "score": "mean over matched layers of |ln((c+1)/(T+1))| + "
                                    "distance/max_distance_m"},
            "warnings": warnings}


# --------------------------------------------------------------------------
# events and placement
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EventArrays:
    """Events as aligned arrays: positions in metres (the operation's CRS) and WGS84."""

    x: FloatArray
    y: FloatArray
    lon: FloatArray
    lat: FloatArray
    time: npt.NDArray[np.datetime64]
    layer: npt.NDArray[np.object_]
    category: npt.NDArray[np.object_]
    time_precision: npt.NDArray[np.object_]
    location_precision: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.x.size)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, epsg: int) -> EventArrays:
        """From an events frame (``store.event_arrays`` columns): x/y are used where
        ``crs_epsg`` is ``epsg``, recomputed from lon/lat elsewhere."""
        n = len(frame)
        lon = frame["lon"].to_numpy(dtype=float) if n else np.zeros(0)
        lat = frame["lat"].to_numpy(dtype=float) if n else np.zeros(0)
        if n and {"x", "y", "crs_epsg"} <= set(frame.columns):
            x = frame["x"].to_numpy(dtype=float).copy()
            y = frame["y"].to_numpy(dtype=float).copy()
            other = frame["crs_epsg"].to_numpy() != epsg
            if other.any():
                x[other], y[other] = crs.to_metric(lon[other], lat[other], epsg)
        else:
            x, y = crs.to_metric(lon, lat, epsg)

        def col(name: str, default: str) -> npt.NDArray[np.object_]:
            if name in frame.columns:
                return frame[name].to_numpy(dtype=object)
            return np.full(n, default, dtype=object)

        time = (pd.to_datetime(frame["time"]).to_numpy(dtype="datetime64[ns]") if n
                else np.zeros(0, dtype="datetime64[ns]"))
        return cls(x=np.asarray(x, dtype=float), y=np.asarray(y, dtype=float), lon=lon, lat=lat,
                   time=time, layer=col("layer", ""), category=col("category", ""),
                   time_precision=col("time_precision", "day"),
                   location_precision=col("location_precision", "exact"))


@dataclass(frozen=True, eq=False)
class Placement:
    """Where and when each event falls: indexes, -1 for none."""

    area: IntArray     # into AREA_NAMES
    ring: IntArray     # into OperationAreas.buffer_rings
    decay: IntArray    # into OperationAreas.decay_rings
    window: IntArray   # 0 before, 1 during, 2 after


def place_events(events: EventArrays, areas: OperationAreas, windows: Windows) -> Placement:
    """Area, buffer ring, decay ring and window of every event, vectorised.

    Point-in-polygon is exact (:func:`spatial.place.placement.assign_polygons`, in
    metres); target, buffer, control and buffer control are tested together,
    so an event on a shared edge goes to the first of them in that order.
    Only events inside a window are placed.
    """
    n = len(events)
    win = window_index(events.time, windows)
    area = np.full(n, -1, dtype=np.int64)
    ring = np.full(n, -1, dtype=np.int64)
    decay = np.full(n, -1, dtype=np.int64)
    sel = np.flatnonzero(win >= 0)
    if sel.size:
        x, y = events.x[sel], events.y[sel]
        polys = np.array([areas.target, areas.buffer, areas.control, areas.buffer_control],
                         dtype=object)
        area[sel] = placement.assign_polygons(x, y, polys)
        ring[sel] = placement.assign_polygons(x, y, np.array(areas.buffer_rings, dtype=object))
        decay[sel] = placement.assign_polygons(x, y, np.array(areas.decay_rings, dtype=object))
    return Placement(area=area, ring=ring, decay=decay, window=win)


# --------------------------------------------------------------------------
# count tables
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerCounts:
    """Counts of one layer/category per area and window, and what they rest on.

    Attributes
    ----------
    spec : MeasuredLayer
    areas : dict
        ``area -> {"before", "during", "after"}`` counts (``during`` is 0
        when the operation has no during window).
    rings : list of dict
        Per buffer ring, ``{"before", "during", "after"}``.
    decay_before, decay_after : list of int
        Per distance-decay ring.
    lengths : dict
        Effective window lengths in days (see the module notes).
    month_precision : bool
        The layer's times are months (police.uk).
    location_precisions : list of str
        Distinct location precisions among the counted events.
    n_events : int
        Events of this layer/category in any window.
    """

    spec: MeasuredLayer
    areas: dict[str, dict[str, int]]
    rings: list[dict[str, int]]
    decay_before: list[int]
    decay_after: list[int]
    lengths: dict[str, float | None]
    month_precision: bool
    location_precisions: list[str]
    n_events: int
    notes: list[str] = field(default_factory=list)

    def count(self, area: str, window: str) -> int:
        return int(self.areas[area][window])

    def table(self, *, time_weighted: bool, area_km2: Mapping[str, float | None] | None = None,
              has_buffer_control: bool = False) -> tuple[CountTable | None, str | None]:
        """The :class:`~spatial.evaluation.displacement.CountTable`, or ``None`` and the reason.

        ``time_weighted``: divide by the effective window lengths in days.
        ``area_km2``: area weights (km²) of target, buffer, control (and buffer
        control).
        """
        kwargs: dict[str, Any] = {}
        names = AREA_NAMES if has_buffer_control else AREA_NAMES[:3]
        for name in names:
            for w in WINDOW_NAMES:
                kwargs[f"{name}_{w}"] = self.areas[name][w]
        if self.lengths.get("during") is None:
            for name in names:
                kwargs.pop(f"{name}_during")
        if time_weighted:
            lb, la = self.lengths["before"], self.lengths["after"]
            if not lb or not la:
                empty = "before" if not lb else "after"
                return None, (f"the {empty} window holds no whole month of this "
                              f"month-precision layer, so it has no events to compare")
            kwargs["before_length"], kwargs["after_length"] = lb, la
            if self.lengths.get("during"):
                kwargs["during_length"] = self.lengths["during"]
        if area_km2 is not None:
            for name in names:
                kwargs[f"{name}_area"] = area_km2[name]
        return CountTable(**kwargs), None


def count_table(events: EventArrays, areas: OperationAreas, windows: Windows,
                specs: Sequence[MeasuredLayer], *,
                placed: Placement | None = None) -> dict[str, LayerCounts]:
    """Counts per layer/category, area and window (target, buffer, control, buffer control ×
    before, during, after), per buffer ring and per distance-decay ring.

    Vectorised: one placement of all events (:func:`place_events`), then one
    ``np.bincount`` per layer/category over ``area × window``.

    Returns
    -------
    dict of key (``"layer/category"``) to :class:`LayerCounts`
    """
    p = placed if placed is not None else place_events(events, areas, windows)
    n_rings = len(areas.buffer_rings)
    n_decay = len(areas.decay_rings)
    out: dict[str, LayerCounts] = {}
    for spec in specs:
        if spec.key in out:
            raise ParameterError("layers", f"{spec.key} is listed twice")
        mask = spec.matches(events.layer, events.category) & (p.window >= 0)
        w = p.window[mask]
        a = p.area[mask]
        in_area = a >= 0
        grid = np.bincount(a[in_area] * 3 + w[in_area], minlength=12).reshape(4, 3)
        r = p.ring[mask]
        in_ring = r >= 0
        rgrid = np.bincount(r[in_ring] * 3 + w[in_ring], minlength=3 * n_rings).reshape(n_rings, 3)
        d = p.decay[mask]
        in_decay = d >= 0
        dgrid = np.bincount(d[in_decay] * 3 + w[in_decay], minlength=3 * n_decay).reshape(
            n_decay, 3)
        tp = set(pd.unique(events.time_precision[mask]).tolist())
        month = "month" in tp
        notes: list[str] = []
        if month and len(tp) > 1:
            notes.append(f"{spec.key} mixes month-precision times with others "
                         f"({', '.join(sorted(map(str, tp)))}); window lengths are taken as "
                         "whole months")
        out[spec.key] = LayerCounts(
            spec=spec,
            areas={name: {wn: int(grid[i, j]) for j, wn in enumerate(WINDOW_NAMES)}
                   for i, name in enumerate(AREA_NAMES)},
            rings=[{wn: int(rgrid[k, j]) for j, wn in enumerate(WINDOW_NAMES)}
                   for k in range(n_rings)],
            decay_before=[int(v) for v in dgrid[:, 0]],
            decay_after=[int(v) for v in dgrid[:, 2]],
            lengths=windows.lengths(month),
            month_precision=month,
            location_precisions=sorted(map(str, pd.unique(
                events.location_precision[mask & (p.area >= 0)]).tolist())),
            n_events=int(mask.sum()),
            notes=notes,
        )
    return out


def month_window_notes(windows: Windows) -> list[str]:
    """Plain notes on how month-precision events fall into the windows."""
    notes = []
    for name, w in windows.items():
        if w is None:
            continue
        months = w.whole_months()
        label = (", ".join(date(y, m, 1).strftime("%b %Y") for y, m in months)
                 if months else "no month")
        if w.month_days() != w.days:
            notes.append(f"month-precision layers: the {name} window {w.start}..{w.end} "
                         f"({w.days} days) holds the whole months whose first day lies in "
                         f"it: {label} ({w.month_days()} days)")
    return notes


# --------------------------------------------------------------------------
# SPPT over H3 cells of target + buffer
# --------------------------------------------------------------------------


def sppt_units(areas: OperationAreas, resolution: int) -> unitsmod.UnitSet:
    """H3 cells covering the target and buffer (zeros included)."""
    outer_wgs = crs.geometry_to_wgs84(areas.outer, areas.epsg)[()]
    return unitsmod.h3_units(outer_wgs, resolution, description="operation target + buffer")


def cell_counts(events: EventArrays, placed: Placement, units: unitsmod.UnitSet,
                spec: MeasuredLayer) -> dict[str, IntArray]:
    """Before and after counts per H3 cell of events inside target + buffer."""
    mask = spec.matches(events.layer, events.category) & (placed.area >= 0) & (placed.area <= 1)
    out = {}
    for j, name in ((0, "before"), (2, "after")):
        m = mask & (placed.window == j)
        idx = unitsmod.locate(units, events.lon[m], events.lat[m])
        out[name] = unitsmod.count(units, idx)
    return out


def _sppt_summary(units: unitsmod.UnitSet, before: IntArray, after: IntArray,
                  alpha: float) -> dict[str, Any]:
    res = sppt(before, after, alpha=alpha)
    changed = []
    if res.reason is None:
        for i in np.flatnonzero(res.s == 0):
            changed.append({"cell": str(units.ids[i]), "before": int(before[i]),
                            "after": int(after[i]),
                            "share_before": float(res.p_before[i]),
                            "share_after": float(res.p_after[i]),
                            "p_adjusted": float(res.p_adjusted[i]),
                            "direction": "larger share after" if res.p_after[i] > res.p_before[i]
                            else "smaller share after"})
    return {"global_s": res.global_s, "global_s_robust": res.global_s_robust,
            "n_units": res.n_units, "n_units_with_events": res.n_units_robust,
            "changed_cells": changed, "method": res.method, "correction": res.correction,
            "reason": res.reason,
            "reading": ("S = 1: the share of events in every cell is the same before and after "
                        "(the pattern did not move); lower S: more cells changed share. The "
                        "test compares distributions, not levels.")}


# --------------------------------------------------------------------------
# dual kernel density
# --------------------------------------------------------------------------


def density_change(events: EventArrays, placed: Placement, areas: OperationAreas,
                   spec: MeasuredLayer, lengths: Mapping[str, float | None], *,
                   cell_size_m: float = 50.0, bandwidth_m: float = 200.0,
                   include_surface: bool = False) -> dict[str, Any]:
    """After minus before kernel density over target + buffer, events per km² per 30 days.

    Both surfaces use the same grid (the target + buffer bounds padded by
    one bandwidth), the same Gaussian kernel and bandwidth
    (:func:`spatial.stats.density.kde`), and weights 30/L (L the effective window
    length in days), so unequal windows compare as rates.
    """
    from spatial.stats import density

    lb, la = lengths.get("before"), lengths.get("after")
    if not lb or not la:
        return {"available": False, "reason": "a window has no effective length for this layer"}
    minx, miny, maxx, maxy = areas.outer.bounds
    pad = bandwidth_m
    bounds = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    reach = 5.0 * bandwidth_m
    mask = (spec.matches(events.layer, events.category)
            & (events.x >= minx - pad - reach) & (events.x <= maxx + pad + reach)
            & (events.y >= miny - pad - reach) & (events.y <= maxy + pad + reach))
    surfaces = []
    for j, length in ((0, lb), (2, la)):
        m = mask & (placed.window == j)
        try:
            surfaces.append(density.kde(events.x[m], events.y[m], cell_size_m=cell_size_m,
                                        bandwidth_m=bandwidth_m, kernel="gaussian",
                                        bounds=bounds,
                                        weights=np.full(int(m.sum()), 30.0 / float(length))))
        except InsufficientDataError:
            which = "before" if j == 0 else "after"
            return {"available": False,
                    "reason": f"no events near the target and buffer in the {which} window"}
    diff = density.dual(surfaces[1], surfaces[0], mode="difference")
    grid = diff.density
    xc = (diff.x_edges[:-1] + diff.x_edges[1:]) / 2.0
    yc = (diff.y_edges[:-1] + diff.y_edges[1:]) / 2.0
    hi = np.unravel_index(int(np.argmax(grid)), grid.shape)
    lo = np.unravel_index(int(np.argmin(grid)), grid.shape)
    pts_lon, pts_lat = crs.to_wgs84(np.array([xc[hi[1]], xc[lo[1]]]),
                                    np.array([yc[hi[0]], yc[lo[0]]]), areas.epsg)
    means = density.mean_per_unit(diff, [areas.target, areas.buffer])
    out: dict[str, Any] = {
        "available": True,
        "units": "events per km² per 30 days, after minus before",
        "largest_rise": {"value": float(grid[hi]), "lon": float(pts_lon[0]),
                         "lat": float(pts_lat[0])},
        "largest_fall": {"value": float(grid[lo]), "lon": float(pts_lon[1]),
                         "lat": float(pts_lat[1])},
        "mean_change": {"target": float(means[0]), "buffer": float(means[1])},
        "grid": {"rows": int(grid.shape[0]), "columns": int(grid.shape[1]),
                 "cell_size_m": cell_size_m, "bandwidth_m": bandwidth_m, "kernel": "gaussian",
                 "crs": crs.crs_label(areas.epsg),
                 "x_min": float(diff.x_edges[0]), "y_min": float(diff.y_edges[0])},
        "warnings": list(diff.warnings),
    }
    if include_surface:
        out["surface"] = np.round(grid, 4).tolist()
    return out


# --------------------------------------------------------------------------
# dealing-site re-map
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SiteRecords:
    """Dealing-site intelligence records: position (metres) and the re-map attributes."""

    x: FloatArray
    y: FloatArray
    status: npt.NDArray[np.object_]
    first_seen: npt.NDArray[np.datetime64]
    last_seen: npt.NDArray[np.datetime64]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, epsg: int) -> SiteRecords:
        """From an events frame with parsed ``attributes`` (``status``, ``first_seen``,
        ``last_seen``); unparseable dates become NaT."""
        ev = EventArrays.from_frame(frame, epsg)
        attrs = list(frame["attributes"]) if len(frame) else []

        def get(key: str) -> list[Any]:
            return [a.get(key) if isinstance(a, Mapping) else None for a in attrs]

        return cls(x=ev.x, y=ev.y,
                   status=np.asarray(get("status"), dtype=object),
                   first_seen=pd.to_datetime(pd.Series(get("first_seen"), dtype=object),
                                             errors="coerce").to_numpy(dtype="datetime64[ns]"),
                   last_seen=pd.to_datetime(pd.Series(get("last_seen"), dtype=object),
                                            errors="coerce").to_numpy(dtype="datetime64[ns]"))


def classify_sites(sites: SiteRecords, areas: OperationAreas, windows: Windows) -> dict[str, Any]:
    """Re-map of dealing sites after the operation.

    With the before window [b₀, b₁] and the after window [a₀, a₁], from each
    site's ``first_seen``, ``last_seen`` and ``status``:

    * **active before**: first_seen ≤ b₁ and last_seen ≥ b₀. Such a site is
      ``re_occupied`` if its status says so; ``closed`` if its status is
      ``closed`` and it was last seen by a₁, or if it was not seen on or after
      a₀ (treated as closed; noted); otherwise ``persisting``.
    * **new**: first seen after b₁ and by a₁ (during the strike or after it).
      New inside the buffer is marked as possible displacement.
    * ``not_active``: neither (closed before the baseline, or first seen
      after the evaluation); ``unknown``: a date is missing or unreadable.

    Intelligence is partial: an area with no recorded site is not an area
    without dealing.
    """
    n = int(sites.x.size)
    polys = np.array([areas.target, areas.buffer, areas.control, areas.buffer_control],
                     dtype=object)
    area = placement.assign_polygons(sites.x, sites.y, polys)
    area = np.where(area < 0, 4, area)
    b0, b1 = windows.before.start64, windows.before.end64
    a0, a1 = windows.after.start64, windows.after.end64  # exclusive ends
    first, last = sites.first_seen, sites.last_seen
    status = np.array([re.sub(r"[\s_-]", "", str(s).lower()) if s is not None else ""
                       for s in sites.status.tolist()], dtype=object)
    unknown = np.isnat(first) | np.isnat(last)
    with np.errstate(invalid="ignore"):
        active_before = ~unknown & (first < b1) & (last >= b0)
        new = ~unknown & (first >= b1) & (first < a1)
        reocc = active_before & (status == "reoccupied")
        not_seen_after = active_before & (last < a0)
        closed = active_before & ~reocc & (((status == "closed") & (last < a1)) | not_seen_after)
    cls = np.select([unknown, reocc, closed, active_before, new],
                    ["unknown", "re_occupied", "closed", "persisting", "new"],
                    default="not_active").astype(object)
    summary = {a: {c: 0 for c in SITE_CLASSES} for a in SITE_AREAS}
    if n:
        combo = pd.crosstab(pd.Series(area, name="area"), pd.Series(cls, name="class"))
        for ai in combo.index:
            for c in combo.columns:
                summary[SITE_AREAS[int(ai)]][str(c)] = int(combo.loc[ai, c])
    t = summary["target"]
    active_t = t["closed"] + t["persisting"] + t["re_occupied"]
    new_b = summary["buffer"]["new"]
    warnings: list[str] = []
    if unknown.any():
        warnings.append(f"{int(unknown.sum())} site record(s) lack a readable first_seen or "
                        "last_seen date and were not classified")
    assumed = int((not_seen_after & ~reocc & (status != "closed")).sum())
    if assumed:
        warnings.append(f"{assumed} site(s) active before were not recorded on or after "
                        f"{windows.after.start} and were counted as closed without a closed "
                        "status")
    sentence = (f"Dealing sites (partial intelligence): of {active_t} site(s) active in the "
                f"target before the operation, {t['closed']} closed, {t['persisting']} "
                f"persisted and {t['re_occupied']} were re-occupied; {new_b} new site(s) "
                f"appeared in the buffer (possible displacement), {t['new']} in the target "
                f"and {summary['elsewhere']['new'] + summary['control']['new']} elsewhere.")
    if n == 0:
        sentence = ("No dealing-site intelligence is recorded in or around the operation's "
                    "areas; an area with no recorded site is not an area without dealing.")
    return {"available": n > 0, "sites": n, "by_area": summary,
            "new_in_buffer_possible_displacement": new_b, "sentence": sentence,
            "parameters": {"active_before": "first_seen <= before.end and last_seen >= "
                                            "before.start",
                           "new": "before.end < first_seen <= after.end",
                           "closed": "status closed and last_seen <= after.end, or not seen "
                                     "on or after after.start",
                           "re_occupied": "status re-occupied"},
            "caveats": [CAVEAT_TEXT["partial_intelligence"]],
            "warnings": warnings}


# --------------------------------------------------------------------------
# overdose watch
# --------------------------------------------------------------------------


def overdose_watch(events: EventArrays, placed: Placement, windows: Windows, layer: str, *,
                   alpha: float = 0.05,
                   locked_before: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Overdose call-outs in target + buffer, before, during and after, with rate-ratio tests.

    The during and after rates (events per day, exposure = effective window
    length) are each compared with the before rate by the exact conditional
    test of :func:`spatial.evaluation.displacement.rate_ratio_test`; a significant rise
    (p < α and a higher rate) raises the ``rise`` flag. A disruption can raise
    harm (overdoses when purity becomes unpredictable), so this is watched
    whatever the crime figures say.
    """
    spec = MeasuredLayer(layer, "*", "outcome")
    mask = spec.matches(events.layer, events.category)
    if not mask.any() and locked_before is None:
        return {"available": False, "layer": layer,
                "reason": f"no '{layer}' events in any window: the overdose watch needs "
                          "ambulance call-outs"}
    month = bool((events.time_precision[mask] == "month").any())
    lengths = windows.lengths(month)
    counts: dict[str, dict[str, int]] = {}
    for area_i, area in ((0, "target"), (1, "buffer")):
        counts[area] = {}
        for j, wn in enumerate(WINDOW_NAMES):
            counts[area][wn] = int((mask & (placed.area == area_i) & (placed.window == j)).sum())
    if locked_before is not None:
        for area in ("target", "buffer"):
            counts[area]["before"] = int(locked_before.get(area, counts[area]["before"]))
    total = {wn: counts["target"][wn] + counts["buffer"][wn] for wn in WINDOW_NAMES}
    tests: dict[str, Any] = {}
    flags = []
    lb = lengths["before"]
    for wn in ("during", "after"):
        lw = lengths[wn]
        if lw is None:
            tests[f"before_vs_{wn}"] = None
            continue
        if not lb or not lw:
            tests[f"before_vs_{wn}"] = {"reason": "a window has no effective length"}
            continue
        res = rate_ratio_test(total["before"], lb, total[wn], lw, alpha)
        tests[f"before_vs_{wn}"] = res.as_dict()
        if res.rise_flag:
            flags.append(f"overdose call-outs in the target and buffer rose {wn} the operation: "
                         f"{total[wn]} in {lw:g} days against {total['before']} in {lb:g} days "
                         f"before (rate ratio {_fmt(res.rate_ratio)}, {100 * (1 - alpha):g} % "
                         f"CI {_fmt(res.ci_low)} to {_fmt(res.ci_high)}, p = {res.p_value:.3g})")
    warnings = []
    if sum(total.values()) < SMALL_COUNT:
        warnings.append(f"only {sum(total.values())} overdose call-outs in all windows: the "
                        "watch cannot show anything but a very large change")
    return {"available": True, "layer": layer, "counts": counts, "total": total,
            "lengths_days": lengths, "tests": tests, "rise": bool(flags), "flags": flags,
            "alpha": alpha, "warnings": warnings}


def _fmt(x: float | None) -> str:
    return "unbounded" if x is None else f"{x:.2f}"


# --------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------


def plan_layer(lc: LayerCounts, *, alpha: float = 0.05, power: float = 0.8,
               reduction: float = 0.3, has_buffer_control: bool = False,
               min_count: int | None = None) -> dict[str, Any]:
    r"""Planning figures for one layer from its before-window counts.

    With k = L_after/L_before, the minimum detectable change δ (after-window
    events, two-sided α, power 1−β) solves |E| = (z_{1−α/2} + z_{1−β})·√V(δ)
    where V is the WDD variance (the sum of the counts; see
    :func:`spatial.evaluation.displacement.minimum_detectable_change`), for the local
    test (target vs control) and the total WDD; and the after window needed
    for a stated fractional reduction f follows from the same equation solved
    for k (:func:`spatial.evaluation.displacement.after_window_needed`).

    Also: whether the target's expected before + after total
    T_b·(1 + k) reaches the verdict's floor (:func:`spatial.evaluation.verdict.minimum_events`).
    """
    floor = minimum_events(alpha) if min_count is None else int(min_count)
    lb, la = lc.lengths["before"], lc.lengths["after"]
    base = {"target": float(lc.count("target", "before")),
            "buffer": float(lc.count("buffer", "before")),
            "control": float(lc.count("control", "before"))}
    if has_buffer_control:
        base["buffer_control"] = float(lc.count("buffer_control", "before"))
    out: dict[str, Any] = {"baseline": base, "before_days": lb, "after_days": la,
                           "alpha": alpha, "power": power, "reduction": reduction,
                           "verdict_floor": floor}
    if not lb or not la:
        out["reason"] = "a window has no effective length for this layer"
        out["sentence"] = f"{lc.spec.key}: cannot plan: {out['reason']}."
        return out
    k = la / lb
    out["time_ratio"] = k
    local = minimum_detectable_change(base, k, alpha, power, test="local")
    total = minimum_detectable_change(base, k, alpha, power, test="wdd")
    need = after_window_needed(base, reduction, alpha, power, before_days=lb, test="local")
    out["mdc_local"] = local.as_dict()
    out["mdc_wdd"] = total.as_dict()
    out["after_window_needed"] = need.as_dict()
    expected_total = base["target"] * (1.0 + k)
    out["expected_target_total"] = expected_total
    out["verdict_possible"] = expected_total >= floor and local.reduction is not None
    conf = f"{100 * (1 - alpha):g} %"
    head = (f"{lc.spec.key}: {base['target']:g} in the target and {base['control']:g} in the "
            f"control over the {lb:g}-day before window; with an after window of {la:g} days")
    if local.reduction is None:
        body = f", no reduction can be detected ({local.reason})"
    else:
        body = (f", the smallest reduction detectable at the {conf} level with "
                f"{power:.0%} power is {local.reduction_fraction:.0%} "
                f"({local.reduction:.0f} of about {local.expected_after:.0f} expected events)")
    if need.after_days is not None:
        tail = (f"; a {reduction:.0%} reduction needs an after window of about "
                f"{need.after_days:.0f} days")
    elif need.reason and need.reason.startswith("a "):
        tail = f"; {need.reason}"
    else:
        tail = f"; a {reduction:.0%} reduction: {need.reason}"
    floor_text = ("" if expected_total >= floor else
                  f". Expected target events before + after ({expected_total:.0f}) are below "
                  f"the {floor} a verdict needs, so the evaluation would report insufficient "
                  f"data")
    out["sentence"] = head + body + tail + floor_text + "."
    return out


# --------------------------------------------------------------------------
# baseline lock
# --------------------------------------------------------------------------


def baseline_snapshot(counts: Mapping[str, LayerCounts],
                      cells: Mapping[str, Mapping[str, IntArray]] | None = None,
                      cell_ids: Sequence[str] | None = None,
                      overdose: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The before-window counts that a baseline lock freezes, as plain JSON.

    Per layer/category: the four areas, the buffer rings, the distance-decay
    rings and the H3 cells (non-zero only); plus the overdose watch's target
    and buffer counts.
    """
    snap: dict[str, Any] = {"layers": {}}
    for key, lc in counts.items():
        entry: dict[str, Any] = {
            "areas": {a: lc.count(a, "before") for a in AREA_NAMES},
            "rings": [r["before"] for r in lc.rings],
            "decay": list(lc.decay_before),
        }
        if cells is not None and cell_ids is not None and key in cells:
            b = cells[key]["before"]
            entry["cells"] = {str(cell_ids[int(i)]): int(b[i]) for i in np.flatnonzero(b)}
        snap["layers"][key] = entry
    if overdose is not None and overdose.get("available"):
        snap["overdose"] = {a: int(overdose["counts"][a]["before"]) for a in ("target", "buffer")}
    return snap


def fingerprint(snapshot: Mapping[str, Any]) -> str:
    """sha256 of the snapshot's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compare_baseline(locked: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Differences between the locked and the current before-window counts.

    One entry per changed area count (with the sentence a report shows, e.g.
    "3 events imported after the baseline lock changed the before count of
    crime/Drugs in target: 41 → 44; the locked figures were used"), and one
    per layer summarising changed rings and cells.
    """
    out: list[dict[str, Any]] = []
    for key, lk in locked.get("layers", {}).items():
        cur = current.get("layers", {}).get(key)
        if cur is None:
            continue
        for area in AREA_NAMES:
            a, b = int(lk["areas"].get(area, 0)), int(cur["areas"].get(area, 0))
            if a != b:
                d = b - a
                verb = "imported after" if d > 0 else "removed since"
                out.append({"layer": key, "where": area, "locked": a, "current": b,
                            "message": f"{abs(d)} event{'s' if abs(d) != 1 else ''} {verb} the "
                                       f"baseline lock changed the before count of {key} in "
                                       f"{area.replace('_', ' ')}: {a} → {b}; the locked "
                                       f"figures were used"})
        parts = []
        for what, label in (("rings", "buffer ring"), ("decay", "distance-decay ring")):
            la, lb = list(lk.get(what, [])), list(cur.get(what, []))
            changed = sum(1 for x, y in zip(la, lb, strict=False) if x != y)
            if changed:
                parts.append(f"{changed} {label}{'s' if changed != 1 else ''}")
        if "cells" in lk and "cells" in cur:
            keys = set(lk["cells"]) | set(cur["cells"])
            changed = sum(1 for c in keys if lk["cells"].get(c, 0) != cur["cells"].get(c, 0))
            if changed:
                parts.append(f"{changed} H3 cell{'s' if changed != 1 else ''}")
        if parts:
            out.append({"layer": key, "where": "rings/cells", "locked": None, "current": None,
                        "message": f"the before counts of {key} also changed in "
                                   f"{', '.join(parts)}; the locked figures were used"})
    if "overdose" in locked and "overdose" in current:
        for area in ("target", "buffer"):
            a, b = int(locked["overdose"].get(area, 0)), int(current["overdose"].get(area, 0))
            if a != b:
                out.append({"layer": "overdose watch", "where": area, "locked": a, "current": b,
                            "message": f"the overdose watch's before count in {area} changed "
                                       f"since the baseline lock: {a} → {b}; the locked "
                                       f"figures were used"})
    return out


def _apply_locked(lc: LayerCounts, locked: Mapping[str, Any]) -> LayerCounts:
    areas = {a: dict(v) for a, v in lc.areas.items()}
    for a in AREA_NAMES:
        if a in locked["areas"]:
            areas[a]["before"] = int(locked["areas"][a])
    rings = [dict(r) for r in lc.rings]
    for r, v in zip(rings, locked.get("rings", []), strict=False):
        r["before"] = int(v)
    decay = list(locked.get("decay", lc.decay_before))
    return replace(lc, areas=areas, rings=rings, decay_before=[int(v) for v in decay])


# --------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationOptions:
    """Settings of :func:`evaluate_operation` (every one is echoed in ``parameters``).

    Attributes
    ----------
    alpha : float
        Two-sided significance level of every test.
    power : float
        Power for the planning figures.
    planned_reduction : float
        Fractional reduction for "after window needed".
    min_count : int, optional
        The verdict's floor on target events (default
        :func:`spatial.evaluation.verdict.minimum_events`, 35 at α = 0.05).
    area_weights : bool
        Weight counts by area (km²), so effects are densities.
    h3_resolution : int
        H3 resolution of the SPPT cells.
    kde_cell_m, kde_bandwidth_m : float
        Dual kernel density grid and Gaussian bandwidth, metres.
    include_surface : bool
        Put the density difference grid itself in the report.
    overdose_layer, dealing_site_layer : str
        Layers for the overdose watch and the site re-map.
    """

    alpha: float = 0.05
    power: float = 0.8
    planned_reduction: float = 0.3
    min_count: int | None = None
    area_weights: bool = False
    h3_resolution: int = 9
    kde_cell_m: float = 50.0
    kde_bandwidth_m: float = 200.0
    include_surface: bool = False
    overdose_layer: str = "ambulance"
    dealing_site_layer: str = "dealing_site"

    def __post_init__(self) -> None:
        if not (0 < self.alpha < 1):
            raise ParameterError("alpha", f"must be strictly between 0 and 1, got {self.alpha!r}")
        if not (0 < self.power < 1):
            raise ParameterError("power", f"must be strictly between 0 and 1, got {self.power!r}")
        if not (0 < self.planned_reduction <= 1):
            raise ParameterError("planned_reduction", "must be in (0, 1]")
        if not (0 <= self.h3_resolution <= 15):
            raise ParameterError("h3_resolution", "must be 0-15")
        if not (self.kde_cell_m > 0 and self.kde_bandwidth_m > 0):
            raise ParameterError("kde", "cell size and bandwidth must be positive metres")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _layer_caveats(lc: LayerCounts, extra: Sequence[str]) -> list[str]:
    keys: list[str] = []
    if lc.spec.role == "output":
        keys.append("output_layer")
    if lc.month_precision:
        keys.append("month_precision")
    if "snapped" in lc.location_precisions:
        keys.append("snapped_locations")
    if "rounded" in lc.location_precisions:
        keys.append("locations are rounded (ambulance data to about 400 m), so events near an "
                    "area's edge may be counted in the neighbouring area")
    if lc.spec.layer in ("dealing_site", "community_report"):
        keys.append("partial_intelligence")
    return keys + list(extra)


def _small_cells(lc: LayerCounts, has_bc: bool) -> list[str]:
    names = AREA_NAMES if has_bc else AREA_NAMES[:3]
    small = [f"{a.replace('_', ' ')} {w} ({lc.count(a, w)})" for a in names
             for w in ("before", "after") if lc.count(a, w) < SMALL_COUNT]
    return small


def _evaluate_layer(lc: LayerCounts, areas: OperationAreas, options: EvaluationOptions, *,
                    time_weighted: bool, has_bc: bool, caveats: Sequence[str],
                    cells: Mapping[str, IntArray] | None, units: unitsmod.UnitSet | None,
                    density_result: dict[str, Any] | None) -> tuple[dict[str, Any],
                                                                     EffectTest | None]:
    alpha = options.alpha
    spec = lc.spec
    warnings: list[str] = list(lc.notes)
    area_km2 = ({a: areas.area_km2(a) for a in AREA_NAMES} if options.area_weights else None)
    table, reason = lc.table(time_weighted=time_weighted, area_km2=area_km2,
                             has_buffer_control=has_bc)
    entry: dict[str, Any] = {
        "key": spec.key, **spec.as_dict(), "role_note": ROLE_NOTES[spec.role],
        "counts": {a: v for a, v in lc.areas.items() if has_bc or a != "buffer_control"},
        "lengths_days": lc.lengths, "month_precision": lc.month_precision,
        "location_precisions": lc.location_precisions,
    }
    total_test: EffectTest | None = None
    if table is None:
        assert reason is not None
        entry.update({"count_table": None, "measures": None,
                      "verdict": {"code": "insufficient_data",
                                  "sentence": f"No conclusion can be drawn for {spec.what()}: "
                                              f"{reason}.", "caveats": []}})
        warnings.append(f"no measures computed: {reason}")
    else:
        v = verdict(table, alpha=alpha, min_count=options.min_count,
                    caveats=_layer_caveats(lc, caveats), what=spec.what(), time_unit="day")
        entry["count_table"] = table.as_dict()
        entry["measures"] = v.tests
        entry["verdict"] = {"code": v.code, "sentence": v.sentence, "caveats": list(v.caveats)}
        for name in ("success_measure", "buffer_displacement_measure", "wdq",
                     "total_net_effect"):
            m = v.tests[name]
            if m.get("value") is None:
                warnings.append(f"{name.replace('_', ' ')} not computed: {m.get('reason')}")
        for name in ("local_effect", "displacement_effect", "wdd"):
            if v.tests[name].get("reason"):
                warnings.append(f"{name.replace('_', ' ')} not tested: {v.tests[name]['reason']}")
        total_test = wdd(table, alpha)
        small = _small_cells(lc, has_bc)
        if small:
            warnings.append(f"counts below {SMALL_COUNT} (too small for the normal "
                            f"approximation to be reliable) in: {', '.join(small)}")
        if v.code == "insufficient_data":
            warnings.append(f"too few events for a verdict: {v.sentence}")
        # buffer rings, each as its own displacement area against the control
        rings = []
        for k, r in enumerate(lc.rings):
            inner = areas.buffer_edges_m[k] if areas.buffer_edges_m else None
            outer = areas.buffer_edges_m[k + 1] if areas.buffer_edges_m else None
            kw = table.as_dict()
            kw.update(buffer_before=r["before"], buffer_after=r["after"],
                      buffer_during=(r["during"] if kw.get("buffer_during") is not None
                                     else None))
            if kw.get("buffer_area") is not None:
                kw["buffer_area"] = float(areas.buffer_rings[k].area) / 1e6
            ring_table = CountTable(**kw)
            rings.append({"inner_m": inner, "outer_m": outer, **r,
                          "displacement_effect": displacement_effect(ring_table, alpha).as_dict()})
        entry["buffer_rings"] = rings
    # distance decay on raw counts (the control ratio carries unequal windows)
    decay = distance_decay(lc.decay_before, lc.decay_after, list(areas.decay_edges_m),
                           lc.count("control", "before") if areas.control is not None else 0,
                           lc.count("control", "after") if areas.control is not None else 0,
                           alpha=alpha)
    entry["distance_decay"] = {**decay.as_dict(), "measured_from": "the target's edge"}
    if cells is not None and units is not None:
        entry["sppt"] = {**_sppt_summary(units, cells["before"], cells["after"], alpha),
                         "h3_resolution": options.h3_resolution}
    else:
        entry["sppt"] = None
    entry["density_change"] = density_result
    entry["planning"] = plan_layer(lc, alpha=alpha, power=options.power,
                                   reduction=options.planned_reduction, has_buffer_control=has_bc,
                                   min_count=options.min_count)
    entry["warnings"] = warnings
    return entry, total_test


def evaluate_operation(events: EventArrays, areas: OperationAreas, windows: Windows,
                       specs: Sequence[MeasuredLayer], *,
                       options: EvaluationOptions | None = None,
                       sites: SiteRecords | None = None,
                       locked: Mapping[str, Any] | None = None,
                       caveats: Sequence[str] = ()) -> dict[str, Any]:
    """Evaluate an operation: every measure, per layer and category, in one JSON-able dict.

    Per layer/category: the count table (target, buffer, control [, buffer
    control] × before, during, after); SM, BDM, WDQ (only when SM < 0,
    otherwise the reason), TNE; the local effect, displacement effect and WDD
    with SE, z, two-sided p and CI (Wheeler & Ratcliffe 2018), time-weighted
    by the effective window lengths when they differ and area-weighted on
    request; the verdict and its sentence (:func:`spatial.evaluation.verdict.verdict`);
    each buffer ring's displacement effect; distance-decay rings with
    intervals; the SPPT over H3 cells of target + buffer (before vs after);
    the dual kernel density difference; planning figures. Across layers: the
    harm-weighted WDD (layers with a harm weight), the overdose watch and the
    dealing-site re-map.

    Nothing divides by zero: a measure that cannot be computed is ``None``
    with its reason, and the layer's ``warnings`` say so.

    Parameters
    ----------
    events : EventArrays
        Events of the evaluated layers (and the overdose layer).
    areas : OperationAreas
        Must have a control.
    windows : Windows
    specs : sequence of MeasuredLayer
    options : EvaluationOptions, optional
    sites : SiteRecords, optional
        Dealing-site records for the re-map.
    locked : mapping, optional
        A :func:`baseline_snapshot` frozen when the operation started: its
        before counts are used, and differences from the current counts are
        reported under ``baseline_lock.changes``.
    caveats : sequence of str
        Extra caveats for every verdict (e.g. ``"concurrent_operations"``).

    Returns
    -------
    dict
        ``parameters``, ``layers`` (list), ``harm_weighted_wdd``,
        ``overdose_watch``, ``dealing_sites``, ``baseline_lock``, ``warnings``.
    """
    opts = options or EvaluationOptions()
    if areas.control is None:
        raise ParameterError("control", "an evaluation needs a control area")
    if not specs:
        raise ParameterError("layers", "give at least one layer/category to evaluate")
    has_bc = areas.buffer_control is not None
    placed = place_events(events, areas, windows)
    counts = count_table(events, areas, windows, specs, placed=placed)
    warnings: list[str] = list(areas.warnings)
    if any(lc.month_precision for lc in counts.values()):
        warnings += month_window_notes(windows)

    units: unitsmod.UnitSet | None = None
    cells: dict[str, dict[str, IntArray]] = {}
    try:
        units = sppt_units(areas, opts.h3_resolution)
    except ParameterError as exc:
        warnings.append(f"no SPPT: {exc.message}")
    if units is not None:
        for key, lc in counts.items():
            cells[key] = cell_counts(events, placed, units, lc.spec)
    watch = overdose_watch(events, placed, windows, opts.overdose_layer, alpha=opts.alpha)
    current = baseline_snapshot(counts, cells, None if units is None else list(units.ids), watch)
    if locked is not None and "overdose" in locked:
        watch = overdose_watch(events, placed, windows, opts.overdose_layer, alpha=opts.alpha,
                               locked_before=locked["overdose"])
    lock: dict[str, Any] = {"locked": locked is not None, "changes": []}
    if locked is not None:
        lock["changes"] = compare_baseline(locked, current)
        for key, lc in list(counts.items()):
            lk = locked.get("layers", {}).get(key)
            if lk is None:
                warnings.append(f"{key} was not in the baseline lock: its current before "
                                "counts were used")
                continue
            counts[key] = _apply_locked(lc, lk)
            if units is not None and "cells" in lk:
                before = np.zeros(len(units.ids), dtype=np.int64)
                pos = units.index_of(list(lk["cells"]))
                vals = np.asarray(list(lk["cells"].values()), dtype=np.int64)
                before[pos[pos >= 0]] = vals[pos >= 0]
                cells[key] = {"before": before, "after": cells[key]["after"]}
        warnings += [c["message"] for c in lock["changes"]]
    else:
        lock["note"] = ("the operation has not been started, so no baseline is locked: the "
                        "figures use the events as stored now")

    time_weighted = any(lc.lengths["before"] != lc.lengths["after"] for lc in counts.values())
    layers_out = []
    harm: dict[str, tuple[EffectTest, float]] = {}
    for key, lc in counts.items():
        dens = density_change(events, placed, areas, lc.spec, lc.lengths,
                              cell_size_m=opts.kde_cell_m, bandwidth_m=opts.kde_bandwidth_m,
                              include_surface=opts.include_surface)
        entry, total = _evaluate_layer(lc, areas, opts, time_weighted=time_weighted,
                                       has_bc=has_bc, caveats=caveats,
                                       cells=cells.get(key), units=units, density_result=dens)
        if locked is not None:
            entry["density_change"] = {**dens, "note": "the density surfaces use the events as "
                                                       "stored now, not the locked baseline"}
        layers_out.append(entry)
        if lc.spec.harm_weight is not None:
            if total is None:
                warnings.append(f"{key} has a harm weight but no WDD, so it is left out of the "
                                "harm-weighted WDD")
            else:
                harm[key] = (total, lc.spec.harm_weight)
    harm_out: dict[str, Any]
    if harm:
        hw = harm_weighted_wdd(harm, opts.alpha)
        harm_out = {**hw.as_dict(), "reading": "Σ wᵢ·WDDᵢ with SE √Σ wᵢ²·SEᵢ²; negative: "
                                               "harm prevented relative to the controls"}
        overlapping = [k for k in harm if k.endswith("/*")]
        if overlapping and len(harm) > 1:
            layer_all = {k.split("/")[0] for k in overlapping}
            if any(k.split("/")[0] in layer_all and not k.endswith("/*") for k in harm):
                harm_out.setdefault("warnings", []).append(
                    "a layer's '*' (all categories) and one of its categories are both "
                    "weighted: those events are counted twice")
        if any(counts[k].spec.role == "output" for k in harm):
            harm_out.setdefault("warnings", []).append(
                "an output layer is harm-weighted: outputs measure police activity, not harm")
    else:
        harm_out = {"total": None, "reason": "no layer has a harm weight"}

    if sites is not None:
        site_out = classify_sites(sites, areas, windows)
    else:
        site_out = {"available": False, "reason": f"no '{opts.dealing_site_layer}' records"}

    parameters = {
        **areas.parameters(),
        "windows": windows.as_dict(),
        "effective_lengths_days": {k: lc.lengths for k, lc in counts.items()},
        "time_weights": ("counts divided by the effective window length in days (effects are "
                         "events per day), because before and after lengths differ"
                         if time_weighted else None),
        "area_weights": ({a: areas.area_km2(a) for a in AREA_NAMES} if opts.area_weights
                         else None),
        "buffer_control": ("given" if has_bc else
                           "none: the control serves both comparisons (its variance enters "
                           "the total WDD with coefficient 4)"),
        "verdict_min_count": (minimum_events(opts.alpha) if opts.min_count is None
                              else opts.min_count),
        "small_count": SMALL_COUNT,
        "sppt": {"h3_resolution": opts.h3_resolution, "cells": None if units is None
                 else len(units.ids), "correction": "by (Benjamini-Yekutieli)"},
        "options": opts.as_dict(),
    }
    return {"parameters": parameters, "layers": layers_out, "harm_weighted_wdd": harm_out,
            "overdose_watch": watch, "dealing_sites": site_out, "baseline_lock": lock,
            "warnings": _dedupe(warnings)}


def _dedupe(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for s in items:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def current_baseline(events: EventArrays, areas: OperationAreas, windows: Windows,
                     specs: Sequence[MeasuredLayer], *,
                     options: EvaluationOptions | None = None) -> dict[str, Any]:
    """The :func:`baseline_snapshot` of the events as they are now (what a lock freezes)."""
    opts = options or EvaluationOptions()
    placed = place_events(events, areas, windows)
    counts = count_table(events, areas, windows, specs, placed=placed)
    cells: dict[str, dict[str, IntArray]] = {}
    ids: list[str] | None = None
    try:
        units = sppt_units(areas, opts.h3_resolution)
        ids = list(units.ids)
        for key, lc in counts.items():
            cells[key] = cell_counts(events, placed, units, lc.spec)
    except ParameterError:
        pass
    watch = overdose_watch(events, placed, windows, opts.overdose_layer, alpha=opts.alpha)
    return baseline_snapshot(counts, cells, ids, watch)


# --------------------------------------------------------------------------
# the calculator
# --------------------------------------------------------------------------


def _effect_dict(t: EffectTest) -> dict[str, Any]:
    ci = None if t.ci_low is None else [t.ci_low, t.ci_high]
    return {"estimate": t.estimate, "se": t.se, "variance": t.variance, "z": t.z,
            "p": t.p_value, "ci": ci, "significant": t.significant, "alpha": t.alpha,
            "reason": t.reason}


def displacement_summary(table: CountTable, *, alpha: float = 0.05,
                         harm_weight: float | None = None,
                         min_count: int | None = None) -> dict[str, Any]:
    """Every displacement measure of one count table, for analysts who already have counts.

    ``sm``, ``bdm``, ``wdq``, ``tne`` (value or ``None`` with the reason),
    ``wdd``, ``local_effect`` and ``displacement_effect`` as ``{estimate, se,
    z, p, ci}``, the verdict, and (with ``harm_weight`` w) the harm-weighted
    WDD w·WDD with SE w·SE. See :mod:`spatial.evaluation.displacement` for the formulas.
    """
    v = verdict(table, alpha=alpha, min_count=min_count)
    total = wdd(table, alpha)
    out: dict[str, Any] = {
        "sm": v.tests["success_measure"],
        "bdm": v.tests["buffer_displacement_measure"],
        "wdq": v.tests["wdq"],
        "tne": v.tests["total_net_effect"],
        "wdd": _effect_dict(total),
        "local_effect": _effect_dict(local_effect(table, alpha)),
        "displacement_effect": _effect_dict(displacement_effect(table, alpha)),
        "verdict": {"code": v.code, "sentence": v.sentence, "caveats": list(v.caveats)},
        "counts": table.as_dict(),
    }
    if harm_weight is not None:
        hw = harm_weighted_wdd({"table": (total, harm_weight)}, alpha)
        out["harm_weighted_wdd"] = _effect_dict(hw.total)
    warnings = []
    for key in ("sm", "bdm", "wdq", "tne"):
        if out[key].get("value") is None:
            warnings.append(f"{key} not computed: {out[key].get('reason')}")
    for key in ("wdd", "local_effect", "displacement_effect"):
        if out[key]["reason"]:
            warnings.append(f"{key} not tested: {out[key]['reason']}")
    small = [f"{a} {p}" for a in (AREA_NAMES if table.has_buffer_control else AREA_NAMES[:3])
             for p in ("before", "after") if table.count(a, p) < SMALL_COUNT]
    if small:
        warnings.append(f"counts below {SMALL_COUNT} in: {', '.join(small)}; the normal "
                        "approximation is rough there")
    out["parameters"] = {
        "alpha": alpha,
        "time_weights": ({"before": table.before_length, "after": table.after_length}
                         if table.has_time_weights else None),
        "area_weights": ({a: getattr(table, f"{a}_area") for a in AREA_NAMES}
                         if table.has_area_weights else None),
        "harm_weight": harm_weight,
        "buffer_control": ("given" if table.has_buffer_control else
                           "absent: the control serves both comparisons, so its counts enter "
                           "the WDD variance with coefficient 4"),
        "verdict_min_count": v.tests["min_count"],
        "variance": "Poisson: the sum of the counts, each divided by its weight squared",
    }
    out["warnings"] = warnings
    return out
