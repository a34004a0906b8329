"""The event model: what one event is, as a column of a pandas frame.

A *layer* is a named set of events of one kind (``crime``, ``ambulance``,
...). Readers in :mod:`spatial.io` produce an *events frame* with exactly
:data:`EVENT_COLUMNS`; :mod:`spatial.place.placement` adds ``h3`` and the store
keeps them. Keeping one frame shape through the whole path means every stage
can be vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Any, Final

import numpy as np
import pandas as pd

TIME_PRECISIONS: Final = ("instant", "day", "month")
LOCATION_PRECISIONS: Final = ("exact", "snapped", "rounded")
SENSITIVITIES: Final = ("open", "restricted", "health")

#: Columns of an events frame, in order, with their meaning.
EVENT_COLUMNS: Final[dict[str, str]] = {
    "layer": "layer name",
    "event_key": "idempotency key, unique within a layer; same input row -> same key",
    "source_id": "the id the source gave (police.uk Crime ID) or the derived key",
    "time": "start of the event's time, naive UTC datetime64[ns]",
    "time_precision": "instant | day | month",
    "lon": "WGS84 longitude, degrees",
    "lat": "WGS84 latitude, degrees",
    "x": "easting in the projected CRS, metres",
    "y": "northing in the projected CRS, metres",
    "crs_epsg": "EPSG code of x/y: 27700 in Great Britain, else the UTM zone",
    "location_precision": "exact | snapped | rounded",
    "category": "e.g. police.uk Crime type",
    "source": "where the row came from (e.g. 'police.uk')",
    "sensitivity": "open | restricted | health",
    # or, instead of "attributes", one column "attr:<key>" per key (str, None: key absent);
    # the store keeps either (service.store.segments) and reads back the same dicts
    "attributes": "dict of free attributes (JSON-serialisable)",
}


@dataclass(frozen=True)
class LayerSpec:
    """A layer's defaults."""

    name: str
    sensitivity: str
    description: str
    #: Roles other than admin/analyst may only see aggregates of these layers.
    point_level_restricted: bool


BUILTIN_LAYERS: Final[dict[str, LayerSpec]] = {
    spec.name: spec
    for spec in (
        LayerSpec("crime", "open", "Recorded crime (police.uk street-level or force export)", False),
        LayerSpec("ambulance", "health", "Ambulance call-outs for suspected overdose", True),
        LayerSpec("dealing_site", "restricted", "Intelligence on dealing sites", True),
        LayerSpec("needle_find", "open", "Needle finds and drug litter", False),
        LayerSpec("community_report", "restricted",
                  "Community reports of dealing (Crimestoppers, housing, council)", False),
    )
}


def layer_spec(name: str) -> LayerSpec:
    """The built-in spec of ``name``, or an open user layer."""
    return BUILTIN_LAYERS.get(name, LayerSpec(name, "open", "user layer", False))


def empty_events_frame() -> pd.DataFrame:
    """An events frame with no rows and the right dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in EVENT_COLUMNS})
    for col in ("lon", "lat", "x", "y"):
        frame[col] = frame[col].astype("float64")
    frame["crs_epsg"] = frame["crs_epsg"].astype("int64")
    frame["time"] = pd.to_datetime(frame["time"]).astype("datetime64[ns]")
    return frame


#: Prefix of the columnar attributes of an events frame: ``attr:<key>`` holds the
#: value of attribute ``<key>`` (``None``: the row does not have it).
ATTR_PREFIX: Final = "attr:"


def attribute_keys(frame: pd.DataFrame) -> list[str]:
    """The attribute keys of ``frame``'s ``attr:<key>`` columns, in column order."""
    return [str(c)[len(ATTR_PREFIX):] for c in frame.columns if str(c).startswith(ATTR_PREFIX)]


def attribute_dicts_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One attribute dict per row of an events frame, whichever shape it holds them in.

    Parameters
    ----------
    frame : pandas.DataFrame
        An events frame with an ``attributes`` column (dicts), or with
        ``attr:<key>`` columns (the police.uk and CSV readers with
        ``attribute_columns=True``), or neither (no attributes).

    Returns
    -------
    list of dict
        For ``attr:`` columns, ``{key: value}`` of the row's non-``None``
        cells, keys in column order: the dicts the reader gives without
        ``attribute_columns``. Built per pattern of present keys (no Python
        loop over rows beyond the final ``dict`` construction).
    """
    if "attributes" in frame.columns:
        return list(frame["attributes"])
    keys = attribute_keys(frame)
    n = len(frame)
    if not keys:
        return [{} for _ in range(n)]
    cells = np.empty((n, len(keys)), dtype=object)
    for j, key in enumerate(keys):
        cells[:, j] = frame[ATTR_PREFIX + key].to_numpy(dtype=object)
    return list(dicts_of_cells(cells, ~pd.isna(cells), keys))


def dicts_of_cells(cells: np.ndarray, present: np.ndarray, names: list[str]) -> np.ndarray:
    """One dict per row of ``cells`` (rows x ``names``) of its ``present`` cells, keys in
    ``names`` order, as an object array.

    Rows are grouped by which cells are present (police.uk has a handful of such
    patterns); each group's dicts are then built by C-level ``map``/``zip`` over the
    group's cells, with no Python-level loop over rows.
    """
    n = cells.shape[0]
    out = np.empty(n, dtype=object)
    if n == 0:
        return out
    if present.shape[1] == 0:
        present = np.zeros((n, 1), dtype=bool)
    packed = np.packbits(present, axis=1)
    patterns, inverse = np.unique(packed, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(patterns) + 1))
    for p in range(len(patterns)):
        rows = order[bounds[p]:bounds[p + 1]]
        on = np.flatnonzero(np.unpackbits(patterns[p])[:len(names)])
        picked = [names[i] for i in on]
        values = cells[np.ix_(rows, on)].tolist()
        holder = np.empty(len(rows), dtype=object)
        holder[:] = list(map(dict, map(zip, repeat(picked), values)))
        out[rows] = holder
    return out
