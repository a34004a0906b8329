"""Boundary polygons made usable: ``make_valid`` repairs and merging parts of a unit.

Invalid polygons are repaired with :func:`shapely.make_valid` (the GEOS
"linework" method), keeping only polygonal parts. The linework method keeps
the area a mis-oriented ring encloses: on the Sheffield 2011 LSOAs, the
alternative "structure" method would drop 99 % of E01008111 (a "hole outside
shell" that is really an island).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

POLYGONAL = ("Polygon", "MultiPolygon")


def polygonal_part(geom: Any) -> Any:
    """Union of the polygonal parts of ``geom``; an empty polygon if none."""
    if geom.geom_type in POLYGONAL:
        return geom
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in POLYGONAL]
    nested = [p for p in parts if p.geom_type == "GeometryCollection"]
    polys.extend(polygonal_part(p) for p in nested)
    polys = [p for p in polys if not p.is_empty]
    if not polys:
        return shapely.Polygon()
    return shapely.union_all(polys) if len(polys) > 1 else polys[0]


def _has_non_polygonal(geom: Any) -> bool:
    if geom.geom_type in POLYGONAL:
        return False
    if geom.geom_type != "GeometryCollection":
        return True
    return any(_has_non_polygonal(p) for p in shapely.get_parts(geom))


def repair(geom: Any, valid: bool) -> tuple[Any, str | None]:
    """``(polygonal geometry, repair note)``, or ``(reason, None)`` when nothing is left."""
    gtype = geom.geom_type
    reason = shapely.is_valid_reason(geom) if not valid else "mixed geometry types"
    made = shapely.make_valid(geom) if not valid else geom
    fixed = polygonal_part(made)
    if fixed.is_empty or fixed.area <= 0 or not fixed.is_valid:
        return f"invalid polygon ({reason}) has no polygonal area after make_valid", None
    what = (f"invalid polygon ({reason}) repaired with make_valid" if not valid
            else f"{gtype} holding other geometry types: polygonal parts kept")
    dropped = ""
    if not valid and _has_non_polygonal(made):
        dropped = ", non-polygonal parts dropped"
    return fixed, f"{what}{dropped}"


def merge_duplicate_ids(units: gpd.GeoDataFrame,
                        feature_numbers: np.ndarray) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Merge rows sharing a ``unit_id`` (first label, union of geometries)."""
    notes: list[str] = []
    first = ~units["unit_id"].duplicated(keep="first").to_numpy()
    geoms = np.asarray(units.geometry.values, dtype=object)
    for uid, rows in units.groupby("unit_id", sort=False).indices.items():
        if len(rows) < 2:
            continue
        merged = polygonal_part(shapely.make_valid(shapely.union_all(geoms[rows])))
        geoms[rows[0]] = merged
        notes.append(f"unit {uid!r}: features {', '.join(str(int(feature_numbers[r])) for r in rows)}"
                     " share this id and were merged into one polygon")
    out = units.copy()
    out["geometry"] = gpd.GeoSeries(geoms, crs=units.crs, index=units.index)
    return out[first].reset_index(drop=True), notes


def geometries_from_wkb(values: Any) -> np.ndarray:
    """Geometries of stored WKB, hex text or bytes (None stays None).

    Hex text is turned into bytes first (``bytes.fromhex``): GEOS's own hex
    reader is about 20 times slower (38 ms against 2 ms for the 100 Sheffield
    neighbourhoods, 2.5 MB of hex).
    """
    raw = np.asarray(values, dtype=object).ravel()
    binary = np.array([bytes.fromhex(v) if isinstance(v, str) else v for v in raw.tolist()],
                      dtype=object)
    return np.asarray(shapely.from_wkb(binary), dtype=object)
