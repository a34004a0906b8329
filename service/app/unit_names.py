"""Places by name: boundary units found by their names, and names for H3 cells and grid squares.

A target or area may name boundary units by id or by name
(``boundary:sheffield_nhood:Darnall``); :func:`resolve_unit_ids` turns either
into ids, with suggestions on a near miss. An H3 cell or grid square is named
by the boundary unit it lies in and by the street holding most of its events
(police.uk gives every crime a street as "On or near ..." in its ``Location``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from spatial.errors import ParameterError

#: police.uk's prefix of every ``Location`` (Home Office, *About: street-level crime data*).
_POLICEUK_PREFIX = r"(?i)^\s*on or near\b\s*"
#: The attribute holding the street of a police.uk event.
STREET_ATTRIBUTE = "Location"


def resolve_unit_ids(frame: pd.DataFrame, tokens: Sequence[str], param: str,
                     set_name: str) -> list[str]:
    """The unit ids that ``tokens`` (ids or names) mean in ``frame``.

    A token equal to a unit id is that unit; otherwise a unit whose name
    (``label``) equals it, ignoring case and surrounding spaces. A name held
    by several units is refused with their ids; an unknown token is refused
    with the closest ids and names (:func:`difflib.get_close_matches`).
    """
    ids = frame["unit_id"].astype(str).to_numpy()
    labels = frame["label"].fillna("").astype(str).to_numpy()
    id_set = set(ids.tolist())
    by_name: dict[str, list[str]] = {}
    for u, lab in zip(ids.tolist(), labels.tolist(), strict=True):
        by_name.setdefault(lab.strip().casefold(), []).append(u)
    out: list[str] = []
    problems: list[str] = []
    for token in tokens:
        if token in id_set:
            out.append(token)
            continue
        found = by_name.get(token.strip().casefold(), [])
        if len(found) == 1:
            out.append(found[0])
        elif found:
            problems.append(f"{token!r} names {len(found)} units (ids "
                            f"{', '.join(sorted(found)[:10])}); give the id")
        else:
            close = difflib.get_close_matches(token, sorted(set(labels.tolist()) | id_set),
                                              n=5, cutoff=0.6)
            if not close:  # names differ in case more often than in spelling
                folded = {lab.casefold(): lab for lab in labels.tolist()}
                close = [folded[c] for c in difflib.get_close_matches(
                    token.casefold(), list(folded), n=5, cutoff=0.6)]
            problems.append(f"{token!r} is neither a unit id nor a unit name"
                            + (f"; did you mean {', '.join(repr(c) for c in close)}?"
                               if close else
                               f"; list them with `remap boundaries units {set_name}`"))
    if problems:
        raise ParameterError(param, f"boundary set {set_name!r}: " + "; ".join(problems))
    return list(dict.fromkeys(out))  # a unit named twice (id and name) counts once


def street_of(location: Any) -> str | None:
    """``"On or near Staniforth Road"`` -> ``"Staniforth Road"``; None for no street."""
    if not isinstance(location, str):
        return None
    return re.sub(_POLICEUK_PREFIX, "", location).strip() or None


def main_streets(index: np.ndarray, locations: Sequence[Any] | np.ndarray,
                 n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """The street holding most events of each unit, and its count.

    Parameters
    ----------
    index : ndarray of int, shape (n_events,)
        Unit index of each event, -1 outside every unit.
    locations : sequence, shape (n_events,)
        Each event's police.uk ``Location`` ("On or near ..."), None where absent.
    n_units : int
        Number of units.

    Returns
    -------
    streets : ndarray of object, shape (n_units,)
        The most frequent street per unit (ties: alphabetical first); None for a
        unit with no named event.
    counts : ndarray of int, shape (n_units,)
        Events of the unit on that street.
    """
    streets = np.full(n_units, None, dtype=object)
    counts = np.zeros(n_units, dtype=np.int64)
    loc = pd.Series(np.asarray(locations, dtype=object))
    loc = loc.str.replace(_POLICEUK_PREFIX, "", regex=True).str.strip()
    frame = pd.DataFrame({"unit": np.asarray(index, dtype=np.int64), "street": loc})
    frame = frame[(frame["unit"] >= 0) & frame["street"].notna() & (frame["street"] != "")]
    if frame.empty:
        return streets, counts
    sizes = frame.groupby(["unit", "street"], sort=False).size().reset_index(name="n")
    best = (sizes.sort_values(["unit", "n", "street"], ascending=[True, False, True])
            .drop_duplicates("unit"))
    units = best["unit"].to_numpy()
    streets[units] = best["street"].to_numpy(dtype=object)
    counts[units] = best["n"].to_numpy()
    return streets, counts


def containing_labels(geometries: np.ndarray, boundaries: Any) -> np.ndarray:
    """The name of the boundary unit holding each geometry's centre; for a geometry
    centred outside every unit (an edge cell), the unit it overlaps most; None for
    one touching no unit.

    ``boundaries``: a GeoDataFrame with ``label`` and WGS84 polygons, like
    ``geometries``. A point on a shared edge takes the first unit found.
    """
    out = np.full(len(geometries), None, dtype=object)
    if len(geometries) == 0 or len(boundaries) == 0:
        return out
    geoms = np.asarray(geometries, dtype=object)
    polys = boundaries.geometry.to_numpy()
    labels = boundaries["label"].to_numpy(dtype=object)
    tree = shapely.STRtree(polys)
    point_idx, poly_idx = tree.query(shapely.point_on_surface(geoms), predicate="within")
    first = np.unique(point_idx, return_index=True)[1]
    out[point_idx[first]] = labels[poly_idx[first]]
    missing = np.flatnonzero(np.isin(np.arange(len(geoms)), point_idx, invert=True))
    if len(missing):
        g_idx, p_idx = tree.query(geoms[missing], predicate="intersects")
        if len(g_idx):
            # degrees² are fine for choosing the larger of neighbouring overlaps
            area = shapely.area(shapely.intersection(geoms[missing][g_idx], polys[p_idx]))
            order = np.lexsort((-area, g_idx))
            g_sorted, p_sorted = g_idx[order], p_idx[order]
            best = np.unique(g_sorted, return_index=True)[1]
            out[missing[g_sorted[best]]] = labels[p_sorted[best]]
    return out


def cell_names(within: np.ndarray, streets: np.ndarray) -> np.ndarray:
    """``"Darnall · near Staniforth Road"`` from a unit's boundary name and main street."""
    out = np.full(len(within), None, dtype=object)
    for i, (w, s) in enumerate(zip(within.tolist(), streets.tolist(), strict=True)):
        parts = [p for p in (w, f"near {s}" if s else None) if p]
        out[i] = " · ".join(parts) if parts else None
    return out


def boundary_unit_list(store: Any, name: str, version: int | None = None) -> dict[str, Any]:
    """The ids and names of a stored boundary set's units, by name, with the set's details."""
    info = store.boundary_set(name, version)
    frame = store.boundary_units_frame(info.id)
    frame = frame.assign(_key=frame["label"].fillna("").astype(str).str.casefold()
                         ).sort_values(["_key", "unit_id"], kind="stable")
    return {"boundary_set": info.as_dict(),
            "units": [{"unit_id": str(u), "label": lab, "area_km2": round(float(a) / 1e6, 3)}
                      for u, lab, a in zip(frame["unit_id"], frame["label"], frame["area_m2"],
                                           strict=True)]}
