"""Frames to GeoJSON dicts (WGS84, lon/lat order as RFC 7946 requires)."""

from __future__ import annotations

import json
import math
import re
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


#: Characters a JSON string must escape (``ensure_ascii=False``): the quote, the
#: backslash and control characters.
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'
_ESCAPE = re.compile(_NEEDS_ESCAPE)


def _json_column(values: Any) -> list[str]:
    """Each value JSON-encoded (as :func:`events_features` would give it); repeated values
    (layers, categories) are encoded once, plain strings by quoting alone."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    uniq = pd.Series(uniques, dtype=object)
    is_str = uniq.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    strings = uniq.where(is_str, "")
    if _ESCAPE.search("".join(strings)) is None:  # the usual case: one scan of the text
        plain = is_str
    else:
        plain = is_str & ~strings.str.contains(_NEEDS_ESCAPE, regex=True).to_numpy(dtype=bool)
    encoded = np.empty(len(uniq), dtype=object)
    encoded[plain] = '"' + uniq[plain].to_numpy(dtype=object) + '"'
    encoded[~plain] = [json.dumps(_clean(u), ensure_ascii=False, allow_nan=False)
                       for u in uniq[~plain]]
    return list(encoded[codes])


def attributes_json(texts: Any) -> list[str]:
    """Stored attribute JSON texts as they are; a text with a non-finite number (which
    JSON lacks) is parsed and written again with nulls."""
    out = np.asarray(texts, dtype=object).copy()
    odd = pd.Series(out, dtype=object).str.contains("NaN|Infinity", regex=True).to_numpy()
    for i in np.flatnonzero(odd):
        parsed = json.loads(out[i])
        out[i] = json.dumps({k: _clean(v) for k, v in parsed.items()}, sort_keys=True,
                            ensure_ascii=False, allow_nan=False, default=str)
    return list(out)


def events_features_json(frame: pd.DataFrame, *, metric: bool = False) -> str:
    """:func:`events_features` as one JSON array text, built column by column.

    ``frame["attributes"]`` holds the stored JSON texts (not parsed): a page of
    thousands of events is written from one row template, without a dict per event,
    several times faster.
    """
    if frame.empty:
        return "[]"
    xs = frame["x" if metric else "lon"].to_numpy(dtype=float)
    ys = frame["y" if metric else "lat"].to_numpy(dtype=float)
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ValueError("an event has a non-finite coordinate")
    names = [c for c in EVENT_PROPERTIES if c != "time" and c in frame]
    columns = [frame["id"].to_numpy(dtype=np.int64).tolist(), xs.tolist(), ys.tolist(),
               *(_json_column(frame[c].to_numpy()) for c in names),
               pd.to_datetime(frame["time"]).dt.strftime("%Y-%m-%dT%H:%M:%S").tolist(),
               attributes_json(frame["attributes"].to_numpy())]
    # %r of a float is what json writes for it; the rest arrive encoded
    template = ('{"type":"Feature","id":%d,"geometry":{"type":"Point","coordinates":[%r,%r]},'
                '"properties":{' + "".join(f'"{c}":%s,' for c in names)
                + '"time":"%s","attributes":%s}}')
    return "[" + ",".join(map(template.__mod__, zip(*columns, strict=True))) + "]"


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
