"""Event layers written to a GeoPackage or FlatGeobuf file, shared by the OGC API's
bulk download (``/collections/events-LAYER/download``) and ``remap export``.

One query, no GeoJSON in between: the events as a GeoDataFrame (feature
properties as columns, ``attributes`` as the stored JSON text, ``time`` as ISO
text), written by GDAL through pyogrio. Points leave only to a role that may see
the layer's points (:func:`spatial.disclosure.may_see_points`), and a read of a
health or restricted layer is audited, whichever way it leaves.
"""

from __future__ import annotations

import hashlib
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


class FileCache:
    """Finished export files by key, in one folder, newest use kept within ``max_bytes``.

    A file is written under a temporary name and renamed into place with a JSON
    sidecar of what its readers must know (rows, sensitive layers), so a reader
    never sees half a file. The key must change whenever the file would (the
    query and the store's data version): files are never updated, only added
    and evicted, the least recently used first.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = int(max_bytes)

    def _paths(self, key: str, suffix: str) -> tuple[Path, Path]:
        return self.folder / f"{key}{suffix}", self.folder / f"{key}{suffix}.json"

    def get(self, key: str, suffix: str) -> tuple[Path, dict[str, Any]] | None:
        path, meta_path = self._paths(key, suffix)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            os.utime(path)  # last use, for eviction
        except (OSError, ValueError):
            return None
        return path, meta

    def put(self, key: str, suffix: str, build: Any) -> tuple[Path, dict[str, Any]]:
        """Run ``build(tmp_path) -> meta`` and keep its file under ``key``."""
        # the files may hold health or intelligence points: only this user may read them
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path, meta_path = self._paths(key, suffix)
        fd, tmp = tempfile.mkstemp(suffix=suffix, prefix=".building-", dir=self.folder)
        os.close(fd)
        try:
            os.unlink(tmp)  # GDAL creates the file itself
            meta = build(Path(tmp))
            meta_tmp = Path(tmp + ".json")
            meta_tmp.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, path)
            os.replace(meta_tmp, meta_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            Path(tmp + ".json").unlink(missing_ok=True)
            raise
        self._evict(keep=path)
        return path, meta

    def _evict(self, keep: Path) -> None:
        files = []
        for p in self.folder.iterdir():
            if p.name.startswith(".") or p.suffix == ".json":
                continue
            try:
                st = p.stat()
            except OSError:
                continue
            files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files):
            if total <= self.max_bytes:
                break
            if p == keep:
                continue
            # a file being sent stays readable to its reader after unlinking (POSIX)
            p.unlink(missing_ok=True)
            Path(f"{p}.json").unlink(missing_ok=True)
            total -= size


def export_key(f: FeatureFilter, epsg: int, fmt: FileFormat, data_version: str) -> str:
    """The cache key of an export: everything that decides the file's bytes."""
    parts = {"filter": repr(f), "epsg": epsg, "driver": fmt.driver, "version": data_version,
             "format_version": 1}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def cached_events_file(store: Store, cache: FileCache, f: FeatureFilter, epsg: int,
                       fmt: FileFormat, *, layer_name: str, actor: str | None, via: str,
                       query: str, audit: bool = True) -> tuple[Path, str, str]:
    """The file of the events matching ``f``: from ``cache`` when the store has not
    changed since it was written, else built and kept. The read is audited either way
    (``audit=False`` for a request that receives no data, such as HEAD).

    Returns ``(path, key, "hit" | "miss")``; the key serves as the file's ETag.
    """
    key = export_key(f, epsg, fmt, store.events_version())
    found = cache.get(key, fmt.suffix)
    state = "hit"
    if found is None:
        state = "miss"

        def build(tmp: Path) -> dict[str, Any]:
            frame = store.feature_events(f, parse_attributes=False)
            sensitive = (sorted(set(frame.loc[frame["sensitivity"] != "open", "layer"]))
                         if len(frame) else [])
            write_table(event_table(frame, epsg), tmp, fmt, layer=layer_name)
            return {"count": len(frame), "sensitive": sensitive}

        found = cache.put(key, fmt.suffix, build)
    path, meta = found
    if audit:
        audit_points(store, actor, meta["sensitive"], meta["count"], via=via, query=query)
    return path, key, state


def download_cache_folder(database_url: str, configured: Path | None) -> Path:
    """Where finished downloads of the store at ``database_url`` are kept: the
    configured folder, else one per store under the user's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache``), never a shared temporary folder."""
    if configured is not None:
        return configured
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    store_id = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return base / "remap" / f"downloads-{store_id}"
