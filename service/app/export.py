"""Event layers written to a GeoPackage or FlatGeobuf file, shared by the OGC API's
bulk download (``/collections/events-LAYER/download``) and ``remap export``.

One query, no GeoJSON in between: the events as a GeoDataFrame (feature
properties as columns, ``attributes`` as the stored JSON text, ``time`` as ISO
text), written by GDAL through pyogrio. Points leave only to a role that may see
the layer's points (:func:`spatial.disclosure.may_see_points`), and a read of a
health or restricted layer is audited, whichever way it leaves.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from service.render.geojson import EVENT_PROPERTIES, attributes_json
from service.store import FeatureFilter, Store
from spatial.disclosure import may_see_points
from spatial.errors import NotFoundError, ParameterError, PermissionDeniedError
from spatial.place import crs
from spatial.timewindow import TimeWindow


@dataclass(frozen=True)
class FileFormat:
    """A bulk download format: its GDAL driver, media type and file suffix."""

    driver: str
    media_type: str
    suffix: str


#: File formats by short name (the OGC download's ``f``, ``remap export --format``).
FILE_FORMATS = {
    "gpkg": FileFormat("GPKG", "application/geopackage+sqlite3", ".gpkg"),
    "fgb": FileFormat("FlatGeobuf", "application/flatgeobuf", ".fgb"),
}

#: Coordinate systems an export is written in: CRS84 (lon/lat) or British National Grid.
EXPORT_EPSG = (crs.WGS84, crs.BNG)


def parse_file_format(name: str | None, parameter: str = "f") -> FileFormat:
    if name is None or name not in FILE_FORMATS:
        raise ParameterError(parameter, f"{name!r} is not a file format; use "
                                        + " or ".join(FILE_FORMATS))
    return FILE_FORMATS[name]


def coordinates_in(frame: pd.DataFrame, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    """Events' x, y in ``epsg`` (4326: lon, lat): the stored x/y where stored in it,
    else transformed."""
    if epsg == crs.WGS84:
        return frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float)
    x = frame["x"].to_numpy(dtype=float).copy()
    y = frame["y"].to_numpy(dtype=float).copy()
    other = frame["crs_epsg"].to_numpy() != epsg
    if other.any():
        x[other], y[other] = crs.to_metric(frame["lon"].to_numpy(dtype=float)[other],
                                           frame["lat"].to_numpy(dtype=float)[other], epsg)
    return x, y


def event_table(frame: pd.DataFrame, epsg: int) -> gpd.GeoDataFrame:
    """Events as a GeoDataFrame in ``epsg`` (4326: CRS84) for a file: the feature
    properties as columns (``attributes`` as JSON text, ``time`` as ISO text)."""
    x, y = coordinates_in(frame, epsg)
    table = pd.DataFrame({"id": frame["id"].to_numpy(dtype=np.int64)})
    for column in EVENT_PROPERTIES:
        if column == "time":
            table["time"] = pd.to_datetime(frame["time"]).dt.strftime("%Y-%m-%dT%H:%M:%S")
        elif column in frame:
            table[column] = frame[column].astype(str).to_numpy()
    # the stored JSON text as it is (a dict, if parsed, is written again)
    table["attributes"] = (
        [json.dumps(a, sort_keys=True, default=str) for a in frame["attributes"]]
        if len(frame) and isinstance(frame["attributes"].iloc[0], dict)
        else attributes_json(frame["attributes"].to_numpy()))
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x, y),
                            crs="OGC:CRS84" if epsg == crs.WGS84 else f"EPSG:{epsg}")


def write_table(table: gpd.GeoDataFrame, path: str | Path, fmt: FileFormat, *,
                layer: str) -> None:
    """Write ``table`` as one layer of a new file at ``path`` (GDAL through pyogrio)."""
    # pyogrio promotes mixed Polygon/MultiPolygon to Multi where the format needs it.
    # No FlatGeobuf spatial index: building it sorts every feature (twice the writing
    # time) and a file read whole, or streamed, never uses it
    options = {"SPATIAL_INDEX": "NO"} if fmt.driver == "FlatGeobuf" else {}
    pyogrio.write_dataframe(table, str(path), driver=fmt.driver, layer=layer,
                            layer_options=options)


def check_points_allowed(store: Store, role: str, layer: str) -> None:
    """Refuse an unknown layer, and points of a layer ``role`` may not see as points."""
    if layer not in store.layer_names():
        raise NotFoundError(f"no layer {layer!r}; `remap layers` lists them")
    if not may_see_points(role, layer):
        raise PermissionDeniedError(
            f"role {role!r} may not receive point-level events of layer {layer!r}; use "
            "counts for aggregated, disclosure-controlled figures")


def audit_points(store: Store, actor: str | None, layers: list[str], count: int,
                 *, via: str, query: str) -> None:
    """Audit a read of ``count`` events of the non-open layers ``layers`` (if any)."""
    if layers:
        store.audit(None, actor or "cli", "read_points",
                    {"layers": list(layers), "count": int(count), "query": query, "via": via})


def events_table(store: Store, f: FeatureFilter, epsg: int, *, actor: str | None,
                 via: str, query: str) -> gpd.GeoDataFrame:
    """Every event matching ``f`` as a table in ``epsg`` (the read audited)."""
    frame = store.feature_events(f, parse_attributes=False)
    if not frame.empty:
        sensitive = sorted(set(frame.loc[frame["sensitivity"] != "open", "layer"]))
        audit_points(store, actor, sensitive, len(frame), via=via, query=query)
    return event_table(frame, epsg)


def export_events(store: Store, layer: str, path: Path, *, fmt: FileFormat,
                  categories: tuple[str, ...] = (), window: TimeWindow | None = None,
                  bbox: tuple[float, float, float, float] | None = None,
                  epsg: int = crs.WGS84, role: str = "admin",
                  actor: str | None = None) -> dict[str, Any]:
    """Write ``layer``'s events (of ``categories``, in ``window`` and the lon/lat
    ``bbox``) to a new file at ``path``, as role ``role`` may receive them.

    The file appears whole or not at all: it is written beside ``path`` under a
    temporary name and renamed into place. Returns ``path``, ``features``,
    ``format``, ``layer`` (the file's layer name) and the ``parameters`` used.
    """
    if epsg not in EXPORT_EPSG:
        raise ParameterError("crs", f"EPSG:{epsg} is not served; use 4326 (lon/lat) or "
                                    "27700 (British National Grid)")
    check_points_allowed(store, role, layer)
    window = window or TimeWindow(None, None)
    f = FeatureFilter(layer, window.start, window.end, envelope=bbox, categories=categories)
    table = events_table(store, f, epsg, actor=actor, via="export",
                         query=f"export {layer} {','.join(categories)}")
    name = f"events-{layer}"
    fd, tmp = tempfile.mkstemp(suffix=fmt.suffix, prefix=".remap-export-",
                               dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    try:
        os.unlink(tmp)  # GDAL creates the file itself
        write_table(table, tmp, fmt, layer=name)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"path": str(path), "features": len(table), "format": fmt.driver, "layer": name,
            "parameters": {"layer": layer, "categories": list(categories),
                           "start": window.start, "end": window.end, "bbox": bbox,
                           "crs": f"EPSG:{epsg}" if epsg != crs.WGS84 else "OGC:CRS84"}}
