"""What an analysis will cost, estimated before any unit is built, and the limits.

One estimator for every heavy analysis (counts, hotspots, autocorrelation,
hotspot maps, area packs), used by the API (per-role limits) and the CLI (the
analyst limits). The estimate needs only the study area's geodesic area and
perimeter (or a boundary set's unit count): an ``h3:11`` request over a city
is refused in milliseconds, not after generating two million cells.

- **units**: H3 cells ≈ area / mean cell area (``h3.average_hexagon_area``)
  plus the cells along the perimeter; grid squares ≈ area / cell² plus the
  perimeter row; boundary units = the set's unit count.
- **unit-permutations**: units × (permutations + 1), summed over every pass a
  request makes (a map computes counts, Gi*, LISA with 999 permutations,
  density, monthly counts and context layers).
- **response bytes**: units × bytes per feature (measured: an H3 count feature
  is ~310 bytes of GeoJSON).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import shapely
from pyproj import Geod

from service.app.analysis import CountsRequest, UnitSpec, boundary_frame
from service.settings import Settings
from service.store import Store
from spatial.errors import TooLargeError

ANALYSES = ("counts", "hotspots", "autocorrelation", "map", "pack")
#: Roles judged by the analyst limits; every other role (partner, viewer) by the partner ones.
ANALYST_TIER = ("admin", "analyst", "cli")
#: GeoJSON bytes per feature by unit kind (geometry + the count properties).
FEATURE_BYTES = {"h3": 310, "grid": 260, "street": 420}
#: extra bytes per feature for the statistics of a method
METHOD_BYTES = {"count": 0, "kde": 60, "gistar": 170, "lisa": 150}
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class CostLimits:
    tier: str  # "partner" | "analyst"
    max_units: int
    max_unit_permutations: int
    max_response_bytes: int


@dataclass(frozen=True)
class CostEstimate:
    analysis: str
    unit: str
    area: str
    units: int
    unit_permutations: int
    response_bytes: int
    area_km2: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"analysis": self.analysis, "unit": self.unit, "area": self.area,
                "units": self.units, "unit_permutations": self.unit_permutations,
                "response_bytes": self.response_bytes,
                "area_km2": None if self.area_km2 is None else round(self.area_km2, 3)}


def limits_for(settings: Settings, role: str) -> CostLimits:
    """The limits of ``role``: admin, analyst and the CLI use the analyst limits."""
    if role in ANALYST_TIER:
        return CostLimits("analyst", settings.max_units_analyst,
                          settings.max_unit_permutations_analyst,
                          int(settings.max_response_mb_analyst * 2**20))
    return CostLimits("partner", settings.max_units_partner,
                      settings.max_unit_permutations_partner,
                      int(settings.max_response_mb_partner * 2**20))


# ------------------------------------------------------------------ the estimate


def _geodesic(geom: Any) -> tuple[float, float]:
    """Area (m²) and perimeter (m) of a WGS84 geometry on the ellipsoid."""
    area, perimeter = _GEOD.geometry_area_perimeter(geom)
    return abs(float(area)), float(perimeter)


def _study_area(store: Store, req: CountsRequest) -> Any | None:
    """The study area as a WGS84 geometry without loading events (extent: one query)."""
    area = req.area
    if area.kind == "bbox":
        assert area.bbox is not None
        return shapely.box(*area.bbox)
    if area.kind == "boundary":
        assert area.boundary_set is not None
        gdf = boundary_frame(store, area.boundary_set, area.version, area.units)
        return shapely.union_all(gdf.geometry.to_numpy())
    box = store.event_extent(req.event_filter())
    return None if box is None else shapely.box(*box)


def h3_cells_estimate(area_m2: float, perimeter_m: float, resolution: int,
                      at: tuple[float, float] | None = None) -> int:
    """H3 cells covering an area: interior cells plus a ring along the perimeter.

    ``at`` (lon, lat): cell areas vary by a factor of two over the globe, so the
    area of the cell there is used; the global mean
    (``h3.average_hexagon_area``) otherwise.
    """
    import h3

    cell = h3.average_hexagon_area(resolution, "m^2")
    if at is not None:
        cell = h3.cell_area(h3.latlng_to_cell(at[1], at[0], resolution), "m^2")
    edge = math.sqrt(cell * 2 / (3 * math.sqrt(3)))  # regular hexagon of that area
    return max(1, math.ceil(area_m2 / cell + perimeter_m / (1.5 * edge)) + 1)


def grid_cells_estimate(area_m2: float, perimeter_m: float, cell_m: float) -> int:
    return max(1, math.ceil(area_m2 / cell_m**2 + perimeter_m / cell_m) + 1)


def unit_estimate(store: Store, req: CountsRequest, unit: UnitSpec | None = None
                  ) -> tuple[int, int, float | None]:
    """(units, GeoJSON bytes per unit, study area km²) of ``req`` at ``unit``."""
    unit = unit or req.unit
    if unit.kind == "boundary":
        assert unit.boundary_set is not None
        info = store.boundary_set(unit.boundary_set, unit.version)
        n = info.unit_count
        if (req.area.kind == "boundary" and req.area.boundary_set == unit.boundary_set
                and req.area.units):
            n = min(n, len(req.area.units))
        frame = store.boundary_units_frame(info.id)
        hex_len = float(frame["wkb"].str.len().mean()) if len(frame) else 0.0
        # hex WKB: 32 characters per coordinate pair; GeoJSON ~40 bytes per pair
        per_unit = int(hex_len / 32 * 40) + 200
        return n, per_unit, None
    if unit.kind == "street":
        from service.app.streets import unit_count_estimate

        return unit_count_estimate(store, req, unit), FEATURE_BYTES["street"], None
    geom = _study_area(store, req)
    if geom is None:
        return 0, 0, None
    area_m2, perimeter_m = _geodesic(geom)
    if unit.kind == "h3":
        assert unit.resolution is not None
        p = geom.representative_point()
        n = h3_cells_estimate(area_m2, perimeter_m, unit.resolution, at=(p.x, p.y))
    else:
        assert unit.cell_size_m is not None
        n = grid_cells_estimate(area_m2, perimeter_m, unit.cell_size_m)
    return n, FEATURE_BYTES[unit.kind], area_m2 / 1e6


def estimate_cost(store: Store, req: CountsRequest, *, analysis: str = "counts",
                  method: str = "count", permutations: int | None = None,
                  passes: int = 1) -> CostEstimate:
    """The cost of one analysis of ``req``, before any unit is built.

    ``analysis`` is one of :data:`ANALYSES`; ``method`` and ``permutations`` as
    in :class:`service.app.hotspots.HotspotOptions` (``None``: the method's
    default, 999 for Moran's I, two-stage 49,999 for Gi* and LISA); ``passes`` counts extra
    unit counts a request makes (a denominator layer, a compare window).
    """
    n, per_unit, km2 = unit_estimate(store, req)
    # Gi* and LISA by default: 999 draws for every unit, then 9,000 more for the units
    # whose p is at most 0.01 and 40,000 more for those at most 0.001 (measured on
    # random maps: 0.2-1 % of units continue; budgeted 1 % and 0.2 %)
    staged = 1_000 + 9_000 // 100 + 40_000 // 500
    if analysis == "counts":
        work = n * passes
        size = n * per_unit
    elif analysis == "hotspots":
        work = n * (permutations + 1 if permutations is not None else
                    (staged if method in ("gistar", "lisa") else 1)) + n * (passes - 1)
        size = n * (per_unit + METHOD_BYTES.get(method, 0))
    elif analysis == "autocorrelation":
        perms = permutations if permutations is not None else 999
        work = n * (perms + 1)
        size = 4096
    elif analysis in ("map", "pack"):
        # counts, Gi* and LISA (two-stage 49,999 by default), density, monthly counts
        stat = permutations + 1 if permutations is not None else staged
        work = n * (1 + stat + stat + 1 + 1)
        # context layers are H3 res-8 cells over the same area
        ctx = unit_estimate(store, req, UnitSpec("h3", resolution=8))[0] if (
            req.unit.kind != "boundary") else 0
        work += 2 * ctx
        # maps of more than 3,000 units draw only informative units; the GeoJSON of
        # five layers is the upper bound
        size = n * (per_unit * 5 + sum(METHOD_BYTES.values())) + ctx * 2 * 300
    else:
        raise ValueError(f"unknown analysis {analysis!r}")
    return CostEstimate(analysis=analysis, unit=req.unit.describe(), area=req.area.describe(),
                        units=n, unit_permutations=work, response_bytes=size, area_km2=km2)


# ------------------------------------------------------------------ the check


def _coarser_hint(est: CostEstimate, req: CountsRequest, store: Store, max_units: int) -> str:
    """A concrete way to fit: the finest unit under the limit, or a smaller area."""
    unit = req.unit
    if unit.kind == "h3" and unit.resolution is not None:
        for res in range(unit.resolution - 1, -1, -1):
            n = unit_estimate(store, req, UnitSpec("h3", resolution=res))[0]
            if n <= max_units:
                return (f"use a coarser unit (h3:{res} gives about {n:,} cells) or a smaller "
                        "area")
    if unit.kind == "grid" and est.area_km2:
        side = math.sqrt(est.area_km2 * 1e6 / max(1, max_units)) * 1.1
        side = float(math.ceil(side / 50.0) * 50)
        return f"use a coarser unit (grid:{side:g} or larger) or a smaller area"
    return "use a coarser unit or a smaller area (area=bbox:... or area=boundary:SET:UNIT,...)"


def _limit_details(details: dict[str, Any], parameter: str, limit: str,
                   value: float) -> dict[str, Any]:
    """The error details of a refused request: the estimate, and which limit and parameter."""
    return {**details, "parameter": parameter, "limit": limit, "limit_value": value}


def check_cost(store: Store, req: CountsRequest, limits: CostLimits, *,
               analysis: str = "counts", method: str = "count",
               permutations: int | None = None, passes: int = 1) -> CostEstimate:
    """Estimate and refuse (:class:`TooLargeError`, 413) above ``limits``."""
    est = estimate_cost(store, req, analysis=analysis, method=method,
                        permutations=permutations, passes=passes)
    env = f"REMAP_{{}}_{limits.tier.upper()}"
    details = {"estimate": est.as_dict(), "tier": limits.tier}
    if est.units > limits.max_units:
        raise TooLargeError(
            f"unit: {req.unit.describe()} over {est.area} is about {est.units:,} units, above "
            f"the {limits.tier} limit of {limits.max_units:,} units "
            f"({env.format('MAX_UNITS')}); " + _coarser_hint(est, req, store, limits.max_units),
            details=_limit_details(details, "unit", "max_units", limits.max_units))
    if est.unit_permutations > limits.max_unit_permutations:
        raise TooLargeError(
            f"permutations: {analysis} of about {est.units:,} units needs about "
            f"{est.unit_permutations:,} unit-permutations, above the {limits.tier} limit of "
            f"{limits.max_unit_permutations:,} ({env.format('MAX_UNIT_PERMUTATIONS')}); use "
            "fewer permutations, a coarser unit or a smaller area",
            details=_limit_details(details, "permutations", "max_unit_permutations",
                                   limits.max_unit_permutations))
    if est.response_bytes > limits.max_response_bytes:
        raise TooLargeError(
            f"unit: the answer would be about {est.response_bytes / 2**20:,.0f} MB, above the "
            f"{limits.tier} limit of {limits.max_response_bytes / 2**20:,.0f} MB "
            f"({env.format('MAX_RESPONSE_MB')}); "
            + _coarser_hint(est, req, store, max(1, limits.max_units // 2)),
            details=_limit_details(details, "unit", "max_response_mb", limits.max_response_bytes))
    return est


def check_hotspot_cost(store: Store, req: CountsRequest, opts: Any, limits: CostLimits, *,
                       analysis: str = "hotspots") -> CostEstimate:
    """:func:`check_cost` with a :class:`service.app.hotspots.HotspotOptions`."""
    passes = 1 + bool(opts.denominator_layer) + bool(opts.compare_window is not None)
    return check_cost(store, req, limits, analysis=analysis, method=opts.method,
                      permutations=opts.permutations, passes=passes)
