"""An operation's areas in metres: target, buffer rings, controls and distance-decay rings.

An operation (``docs/domain.md`` §4) has

* a **target** area, where it acted: a polygon, the union of a set of beats,
  or a centre and a radius in metres;
* a **buffer** (catchment) around it, where displacement or diffusion would
  show: rings of given outer distances from the target's edge (``[400]`` is
  the 0-400 m ring, ``[400, 800]`` adds the 400-800 m ring; the buffer tested
  is their union), or a polygon;
* a **control** area, similar, nearby and not touching the buffer (given, or
  suggested by :func:`spatial.evaluation.controls.suggest_controls`), and
  optionally a separate control for the buffer.

All distance work happens in metres in one projected CRS (British National
Grid in Great Britain, else UTM; :mod:`spatial.place.crs`).

References
----------
Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement
    and diffusion of benefit effects of crime prevention activity. *Journal of
    Quantitative Criminology* 19(3), 275-301.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry import mapping as _shape_mapping
from shapely.geometry import shape as _shape

from spatial.errors import ParameterError
from spatial.evaluation.count_table import AREA_NAMES
from spatial.place import crs
from spatial.place import units as unitsmod

#: Segments per quarter circle for circles and buffers: the polygon's area is
#: within 0.01 % of the true circle's (1 − (2π/256)²/6 ≈ 0.9999).
QUAD_SEGS: Final = 64
#: WGS84 polygons are densified to this spacing (degrees) before projecting,
#: so long straight lon/lat edges follow their true path in metres.
DENSIFY_DEG: Final = 0.001
MAX_DECAY_RINGS: Final = 50


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

    @functools.cached_property
    def outer(self) -> Any:
        """Target and buffer together (made once: the areas never change)."""
        return shapely.union_all([self.target, self.buffer])

    @functools.cached_property
    def _extent_m(self) -> tuple[float, float, float, float]:
        """Bounds (metres) of every area and ring together."""
        parts = [g for g in (self.target, self.buffer, self.control, self.buffer_control,
                             *self.decay_rings) if g is not None and not g.is_empty]
        minx, miny, maxx, maxy = shapely.union_all(parts).bounds
        return float(minx), float(miny), float(maxx), float(maxy)

    def extent_wgs84(self, pad_m: float = 0.0) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) covering every area and ring, padded."""
        minx, miny, maxx, maxy = self._extent_m
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
    target_m, code = _target_metric(target, circle, epsg, desc)
    if (buffer_m is None) == (buffer is None):
        raise ParameterError("buffer", "give either ring distances in metres or a buffer polygon")
    if buffer_m is not None:
        edges: tuple[float, ...] | None
        rings, edges, outer_m = _buffer_rings(target_m, buffer_m, desc)
    else:
        rings, outer_m = _buffer_polygon(target_m, buffer, code, desc, warnings)
        edges = None
    buffer_geom = shapely.union_all(list(rings)) if edges is not None else rings[0]

    control_m = to_metric(_polygonal(control, "control"), code) if control is not None else None
    bcontrol_m = (to_metric(_polygonal(buffer_control, "buffer_control"), code)
                  if buffer_control is not None else None)
    _check_disjoint("control", control_m, {"target": target_m, "buffer": buffer_geom}, warnings)
    _check_disjoint("buffer_control", bcontrol_m, {"target": target_m, "buffer": buffer_geom},
                    warnings)
    decay_edges = _decay_edges(decay_step_m, decay_max_m, outer_m)
    decay_rings = tuple(ring_geometries(target_m, decay_edges))
    return OperationAreas(epsg=code, target=target_m, buffer=buffer_geom, buffer_rings=rings,
                          buffer_edges_m=edges, control=control_m, buffer_control=bcontrol_m,
                          decay_edges_m=decay_edges, decay_rings=decay_rings, description=desc,
                          warnings=warnings)


def _target_metric(target: Any | None, circle: tuple[float, float, float] | None,
                   epsg: int | None, desc: dict[str, Any]) -> tuple[Any, int]:
    """The target in metres and the CRS chosen for it; notes its definition in ``desc``."""
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
    return target_m, code


def _buffer_rings(target_m: Any, buffer_m: Sequence[float], desc: dict[str, Any]
                  ) -> tuple[tuple[Any, ...], tuple[float, ...], float]:
    """Buffer rings of the given outer distances: (rings, edges from 0, outermost distance)."""
    dists = [float(d) for d in buffer_m]
    if not dists or any(not math.isfinite(d) or d <= 0 for d in dists) or any(
            b <= a for a, b in zip(dists, dists[1:], strict=False)):
        raise ParameterError("buffer", f"ring distances must be positive and strictly "
                             f"increasing metres, got {list(buffer_m)}")
    if dists[-1] > 20_000:
        raise ParameterError("buffer", "rings beyond 20 km are not a buffer")
    ring_edges = (0.0, *dists)
    rings = tuple(ring_geometries(target_m, ring_edges))
    desc.setdefault("buffer", " and ".join(
        f"{a:g}-{b:g} m" for a, b in zip(ring_edges, ring_edges[1:], strict=False))
        + " ring(s)")
    return rings, ring_edges, dists[-1]


def _buffer_polygon(target_m: Any, buffer: Any, code: int, desc: dict[str, Any],
                    warnings: list[str]) -> tuple[tuple[Any, ...], float]:
    """A buffer polygon less the target: ((buffer,), farthest vertex from the target)."""
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
    verts = shapely.get_coordinates(shapely.boundary(buffer_geom))
    outer_m = float(shapely.distance(target_m, shapely.points(verts)).max()) if len(verts) \
        else 0.0
    desc.setdefault("buffer", "polygon")
    return (buffer_geom,), outer_m


def _decay_edges(decay_step_m: float, decay_max_m: float | None,
                 outer_m: float) -> tuple[float, ...]:
    """Edges 0, step, 2·step, ... of the distance-decay rings (at most MAX_DECAY_RINGS)."""
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
    return tuple(step * k for k in range(n_rings + 1))
