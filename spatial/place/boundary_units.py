"""Boundary polygons as units: choosing them from a boundary set.

Polygons from a boundary set (beats, neighbourhoods, LSOAs); unit ids are
``"<set>:<unit_id>"``. Where a point falls is decided by exact
point-in-polygon (:func:`spatial.place.placement.assign_polygons`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.errors import ParameterError
from spatial.place import crs


def select(units_gdf: gpd.GeoDataFrame, set_name: str, subset: Sequence[str] | None
           ) -> tuple[np.ndarray, Any, np.ndarray | None, str]:
    """Ids (``"<set>:<unit_id>"``), WGS84 polygons, labels and a description of
    the units of ``units_gdf`` kept by ``subset`` (all when ``None``), in set order."""
    if not set_name or ":" in set_name:
        raise ParameterError("set_name", f"must be non-empty without ':', got {set_name!r}")
    if "unit_id" not in units_gdf.columns:
        raise ParameterError("units_gdf", "needs a 'unit_id' column")
    frame = units_gdf
    unit_ids = frame["unit_id"].astype(str).to_numpy(dtype=object)
    keep = np.ones(len(frame), dtype=bool)
    if subset is not None:
        wanted = pd.Index([str(s) for s in subset])
        unknown = wanted.difference(pd.Index(unit_ids))
        if len(unknown):
            raise ParameterError("subset", f"not in boundary set {set_name!r}: "
                                 + ", ".join(map(str, unknown[:20])))
        keep = pd.Index(unit_ids).isin(wanted)
    if not keep.any():
        raise ParameterError("subset", "no units selected")
    geoms = np.asarray(frame.geometry.values, dtype=object)[keep]
    src = frame.crs if frame.crs is not None else crs.WGS84
    geoms = crs.reproject_geometries(geoms, src, crs.WGS84)
    labels = (frame["label"].astype(str).to_numpy(dtype=object)[keep]
              if "label" in frame.columns else None)
    ids = np.asarray([f"{set_name}:{u}" for u in unit_ids[keep]], dtype=object)
    kept = f", {int(keep.sum())} of {len(frame)} units" if subset is not None else ""
    return ids, geoms, labels, kept
