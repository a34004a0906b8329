"""The dealing-site re-map: which sites closed, persisted, were re-occupied or appeared.

References
----------
Home Office (2003). *Disrupting crack markets: a practice guide* (the
    Derbyshire Drug Market Project's monitoring template).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.counting import EventArrays
from spatial.evaluation.windows import Windows
from spatial.place import placement

FloatArray = npt.NDArray[np.float64]


SITE_CLASSES: Final = ("closed", "persisting", "re_occupied", "new", "not_active", "unknown")
SITE_AREAS: Final = ("target", "buffer", "control", "buffer_control", "elsewhere")


@dataclass(frozen=True, eq=False)
class SiteRecords:
    """Dealing-site intelligence records: position (metres) and the re-map attributes."""

    x: FloatArray
    y: FloatArray
    status: npt.NDArray[np.object_]
    first_seen: npt.NDArray[np.datetime64]
    last_seen: npt.NDArray[np.datetime64]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, epsg: int) -> SiteRecords:
        """From an events frame with parsed ``attributes`` (``status``, ``first_seen``,
        ``last_seen``); unparseable dates become NaT."""
        ev = EventArrays.from_frame(frame, epsg)
        return cls.from_attributes(ev.x, ev.y, list(frame["attributes"]) if len(frame) else [])

    @classmethod
    def from_attributes(cls, x: FloatArray, y: FloatArray,
                        attrs: Sequence[Mapping[str, Any] | None]) -> SiteRecords:
        """From positions (metres) and each record's parsed attributes (``status``,
        ``first_seen``, ``last_seen``); unparseable dates become NaT."""

        def get(key: str) -> list[Any]:
            return [a.get(key) if isinstance(a, Mapping) else None for a in attrs]

        return cls(x=np.asarray(x, dtype=float), y=np.asarray(y, dtype=float),
                   status=np.asarray(get("status"), dtype=object),
                   first_seen=pd.to_datetime(pd.Series(get("first_seen"), dtype=object),
                                             errors="coerce").to_numpy(dtype="datetime64[ns]"),
                   last_seen=pd.to_datetime(pd.Series(get("last_seen"), dtype=object),
                                            errors="coerce").to_numpy(dtype="datetime64[ns]"))


def classify_sites(sites: SiteRecords, areas: OperationAreas, windows: Windows) -> dict[str, Any]:
    """Re-map of dealing sites after the operation.

    With the before window [b₀, b₁] and the after window [a₀, a₁], from each
    site's ``first_seen``, ``last_seen`` and ``status``:

    * **active before**: first_seen ≤ b₁ and last_seen ≥ b₀. Such a site is
      ``re_occupied`` if its status says so; ``closed`` if its status is
      ``closed`` and it was last seen by a₁, or if it was not seen on or after
      a₀ (treated as closed; noted); otherwise ``persisting``.
    * **new**: first seen after b₁ and by a₁ (during the strike or after it).
      New inside the buffer is marked as possible displacement.
    * ``not_active``: neither (closed before the baseline, or first seen
      after the evaluation); ``unknown``: a date is missing or unreadable.

    Intelligence is partial: an area with no recorded site is not an area
    without dealing.
    """
    n = int(sites.x.size)
    polys = np.array([areas.target, areas.buffer, areas.control, areas.buffer_control],
                     dtype=object)
    area = placement.assign_polygons(sites.x, sites.y, polys)
    area = np.where(area < 0, 4, area)
    b0, b1 = windows.before.start64, windows.before.end64
    a0, a1 = windows.after.start64, windows.after.end64  # exclusive ends
    first, last = sites.first_seen, sites.last_seen
    status = np.array([re.sub(r"[\s_-]", "", str(s).lower()) if s is not None else ""
                       for s in sites.status.tolist()], dtype=object)
    unknown = np.isnat(first) | np.isnat(last)
    with np.errstate(invalid="ignore"):
        active_before = ~unknown & (first < b1) & (last >= b0)
        new = ~unknown & (first >= b1) & (first < a1)
        reocc = active_before & (status == "reoccupied")
        not_seen_after = active_before & (last < a0)
        closed = active_before & ~reocc & (((status == "closed") & (last < a1)) | not_seen_after)
    code = {c: i for i, c in enumerate(SITE_CLASSES)}
    cls = np.select([unknown, reocc, closed, active_before, new],
                    [code["unknown"], code["re_occupied"], code["closed"], code["persisting"],
                     code["new"]], default=code["not_active"])
    # sites per area and class in one bincount (zeros kept)
    grid = np.bincount(area * len(SITE_CLASSES) + cls,
                       minlength=len(SITE_AREAS) * len(SITE_CLASSES)).reshape(
        len(SITE_AREAS), len(SITE_CLASSES))
    summary = {a: {c: int(grid[i, j]) for j, c in enumerate(SITE_CLASSES)}
               for i, a in enumerate(SITE_AREAS)}
    t = summary["target"]
    active_t = t["closed"] + t["persisting"] + t["re_occupied"]
    new_b = summary["buffer"]["new"]
    warnings: list[str] = []
    if unknown.any():
        warnings.append(f"{int(unknown.sum())} site record(s) lack a readable first_seen or "
                        "last_seen date and were not classified")
    assumed = int((not_seen_after & ~reocc & (status != "closed")).sum())
    if assumed:
        warnings.append(f"{assumed} site(s) active before were not recorded on or after "
                        f"{windows.after.start} and were counted as closed without a closed "
                        "status")
    sentence = (f"Dealing sites (partial intelligence): of {active_t} site(s) active in the "
                f"target before the operation, {t['closed']} closed, {t['persisting']} "
                f"persisted and {t['re_occupied']} were re-occupied; {new_b} new site(s) "
                f"appeared in the buffer (possible displacement), {t['new']} in the target "
                f"and {summary['elsewhere']['new'] + summary['control']['new']} elsewhere.")
    if n == 0:
        sentence = ("No dealing-site intelligence is recorded in or around the operation's "
                    "areas; an area with no recorded site is not an area without dealing.")
    return {"available": n > 0, "sites": n, "by_area": summary,
            "new_in_buffer_possible_displacement": new_b, "sentence": sentence,
            "parameters": {"active_before": "first_seen <= before.end and last_seen >= "
                                            "before.start",
                           "new": "before.end < first_seen <= after.end",
                           "closed": "status closed and last_seen <= after.end, or not seen "
                                     "on or after after.start",
                           "re_occupied": "status re-occupied"},
            "caveats": ["partial_intelligence"],
            "warnings": warnings}
