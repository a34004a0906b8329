"""Point features of a GeoJSON FeatureCollection (or a single Feature).

GeoJSON features are Python objects once ``json`` has parsed them, so turning
them into arrays is a comprehension; validation after that is vectorised.
``row`` in a rejection is the 1-based feature number.

References
----------
Butler, H. et al. (2016) *The GeoJSON Format*, RFC 7946 (coordinates are
WGS84 lon/lat); the 2008 GeoJSON specification's ``crs`` member is honoured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from time import perf_counter
from typing import Any, Final

import numpy as np
import pandas as pd

from spatial.errors import InputFormatError
from spatial.io.assemble import finish_geometry_points
from spatial.io.mapping import ColumnMapping
from spatial.io.options import ReadOptions
from spatial.io.result import Bounds, ReadResult, Source
from spatial.io.source import load_source, sniff
from spatial.place.crs import UK_BOUNDS, WGS84

#: deepest nesting of a GeoJSON document (a MultiPolygon's coordinates are 5 deep)
MAX_JSON_DEPTH: Final = 64


def read_geojson(source: Source, *, layer: str, mapping: ColumnMapping | str | Mapping[str, Any]
                 | None = None, file_name: str | None = None, source_name: str = "geojson",
                 sensitivity: str | None = None, location_precision: str = "exact",
                 area_of_interest: Bounds | None = UK_BOUNDS, timezone: str = "UTC",
                 category_default: str | None = None) -> ReadResult:
    """Read Point features of a GeoJSON FeatureCollection (or a single Feature).

    Coordinates come from the geometry (``[x, y]``, i.e. lon/lat for WGS84);
    the mapping names properties (``id``, ``time``, ``category``, ...). A
    legacy ``crs`` member naming another CRS (``urn:ogc:def:crs:EPSG::27700``)
    is honoured and the points are converted to WGS84; a ``crs`` member that
    cannot be understood rejects the file. Without one, ``mapping.crs`` (else
    WGS84) is assumed. Non-point, empty or null geometries are rejected per
    feature (field ``geometry``); ``row`` is the 1-based feature number.

    Other parameters are as for :func:`spatial.io.tabular.read_mapped_csv`.

    Raises
    ------
    InputFormatError
        Not JSON, not GeoJSON, no features, unusable ``crs`` member, a
        mapping naming absent properties, coordinates plainly in another CRS.
    """
    mapping = ColumnMapping.parse(mapping or ColumnMapping())
    options = ReadOptions.make(layer, source_name, sensitivity, location_precision,
                               area_of_interest, timezone, category_default)
    t0 = perf_counter()
    data, name = load_source(source, file_name)
    sniff(data, name, "GeoJSON")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise InputFormatError(f"{name} is nested too deeply to be GeoJSON", file=name) from None
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{name} is not UTF-8 text, so not GeoJSON ({exc.reason} at byte "
                               f"{exc.start})", file=name) from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} "
                               f"column {exc.colno}", file=name) from None
    _check_depth(doc, name)
    features = _geojson_features(doc, name)
    declared = _geojson_crs(doc, name)
    if declared is not None and mapping.crs is not None and declared != mapping.crs:
        raise InputFormatError(f"{name} declares EPSG:{declared} in its crs member but crs="
                               f"{mapping.crs} was given", file=name, field="crs")
    epsg = declared or mapping.crs or WGS84
    n = len(features)
    props = [f.get("properties") if isinstance(f, dict) else None for f in features]
    frame = pd.DataFrame.from_records([p if isinstance(p, dict) else {} for p in props],
                                      index=pd.RangeIndex(n))
    frame.columns = [str(c) for c in frame.columns]
    points = [_point_xy(f) for f in features]
    x = np.fromiter((p[0] for p in points), dtype=np.float64, count=n)
    y = np.fromiter((p[1] for p in points), dtype=np.float64, count=n)
    problem = np.array([p[2] for p in points], dtype=object)
    keysrc = pd.DataFrame({"feature": [json.dumps(f, sort_keys=True, ensure_ascii=False,
                                                  separators=(",", ":")) for f in features]})
    return finish_geometry_points(
        name=name, frame=frame, x=x, y=y, problem=problem, epsg=epsg, keysrc=keysrc,
        crs_hint="add a crs member (e.g. urn:ogc:def:crs:EPSG::27700) or pass crs=...",
        mapping=mapping, options=options, t0=t0)


def _check_depth(doc: Any, name: str) -> None:
    """Refuse documents nested deeper than :data:`MAX_JSON_DEPTH` (iteratively: no
    recursion for a hostile file to exhaust)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputFormatError(f"{name} is nested more than {MAX_JSON_DEPTH} levels deep",
                                   file=name)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))


def _geojson_features(doc: Any, name: str) -> list[Any]:
    if not isinstance(doc, dict):
        raise InputFormatError(f"{name} is JSON but not GeoJSON (top level is not an object)",
                               file=name)
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise InputFormatError(f"{name}: FeatureCollection has no 'features' array", file=name)
    elif kind == "Feature":
        features = [doc]
    else:
        raise InputFormatError(f"{name} is not a GeoJSON FeatureCollection or Feature "
                               f"(type is {kind!r})", file=name)
    if not features:
        raise InputFormatError(f"{name} has no features", file=name)
    return features


def _geojson_crs(doc: dict[str, Any], name: str) -> int | None:
    """EPSG code of a legacy (2008) GeoJSON ``crs`` member, or ``None``."""
    member = doc.get("crs")
    if member is None:
        return None
    crs_name = None
    if isinstance(member, dict) and member.get("type") == "name":
        props = member.get("properties")
        if isinstance(props, dict) and isinstance(props.get("name"), str):
            crs_name = props["name"].strip()
    if crs_name is None:
        raise InputFormatError(f"{name}: cannot use its crs member {json.dumps(member)[:200]} "
                               "(only named EPSG CRSs are supported)", file=name, field="crs")
    if re.search(r"CRS:?84$", crs_name, flags=re.IGNORECASE):
        return WGS84
    found = re.search(r"EPSG:{1,2}(?:[\d.]*:)?(\d+)$", crs_name, flags=re.IGNORECASE)
    if not found:
        raise InputFormatError(f"{name}: cannot use its crs member {crs_name!r} "
                               "(expected e.g. urn:ogc:def:crs:EPSG::27700)",
                               file=name, field="crs")
    return int(found.group(1))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _point_xy(feature: Any) -> tuple[float, float, str | None]:
    """``(x, y, None)`` of a Point feature, or ``(nan, nan, problem)``."""
    nan = float("nan")
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return nan, nan, "not a GeoJSON Feature"
    geom = feature.get("geometry")
    if geom is None:
        return nan, nan, "feature has no geometry"
    if not isinstance(geom, dict):
        return nan, nan, "geometry is not a JSON object"
    kind = geom.get("type")
    coords = geom.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        coords = coords[0]
    elif kind == "MultiPoint":
        size = len(coords) if isinstance(coords, list) else 0
        return nan, nan, f"geometry is a MultiPoint of {size} points; only single points are read"
    elif kind != "Point":
        return nan, nan, f"geometry is {kind}, not Point"
    if not isinstance(coords, list) or len(coords) == 0:
        return nan, nan, "Point is empty (no coordinates)"
    if len(coords) < 2:
        return nan, nan, "Point coordinates are not an [x, y] pair"
    if not (_is_number(coords[0]) and _is_number(coords[1])):
        return nan, nan, f"Point coordinates {json.dumps(coords[:2])[:80]} are not numbers"
    return float(coords[0]), float(coords[1]), None
