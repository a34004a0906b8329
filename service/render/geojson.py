"""Frames to GeoJSON dicts (WGS84, lon/lat order as RFC 7946 requires)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

EVENT_PROPERTIES = ("layer", "event_key", "source_id", "time", "time_precision",
                    "location_precision", "category", "source", "sensitivity", "h3")


def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def events_features(frame: pd.DataFrame, *, metric: bool = False) -> list[dict[str, Any]]:
    """One Point feature per event; ``metric=True`` gives x/y (e.g. EPSG:27700) coordinates."""
    xs = frame["x" if metric else "lon"].to_numpy(dtype=float)
    ys = frame["y" if metric else "lat"].to_numpy(dtype=float)
    times = pd.to_datetime(frame["time"]).dt.strftime("%Y-%m-%dT%H:%M:%S").tolist()
    cols = {c: frame[c].tolist() for c in EVENT_PROPERTIES if c in frame and c != "time"}
    attrs = frame["attributes"].tolist() if "attributes" in frame else [{}] * len(frame)
    ids = frame["id"].tolist()
    feats = []
    for i in range(len(frame)):
        props = {c: _clean(v[i]) for c, v in cols.items()}
        props["time"] = times[i]
        props["attributes"] = attrs[i]
        feats.append({"type": "Feature", "id": int(ids[i]),
                      "geometry": {"type": "Point", "coordinates": [float(xs[i]), float(ys[i])]},
                      "properties": props})
    return feats


#: Decimal places of output coordinates: 6 is 0.1 m in degrees (RFC 7946 advice), and
#: metres need no more than millimetres.
COORDINATE_DECIMALS = {"degrees": 6, "metres": 3}


def geometry_features(geometries: Any, properties: list[dict[str, Any]],
                      ids: list[Any] | None = None, *, units: str = "degrees"
                      ) -> list[dict[str, Any]]:
    """Features from shapely geometries and property dicts (coordinates rounded)."""
    decimals = COORDINATE_DECIMALS[units]
    rounded = shapely.transform(np.asarray(geometries, dtype=object),
                                lambda c: np.round(c, decimals))
    geo = shapely.to_geojson(rounded)
    import json

    feats = []
    for i, g in enumerate(geo):
        f: dict[str, Any] = {"type": "Feature", "geometry": json.loads(g),
                             "properties": {k: _clean(v) for k, v in properties[i].items()}}
        if ids is not None:
            f["id"] = ids[i]
        feats.append(f)
    return feats


def feature_collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, **members}
