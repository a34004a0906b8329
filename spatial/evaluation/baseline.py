"""The baseline lock: the before-window counts frozen when an operation starts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from spatial.evaluation.count_table import AREA_NAMES
from spatial.evaluation.counting import LayerCounts
from spatial.place import units as unitsmod

IntArray = npt.NDArray[np.int64]


def baseline_snapshot(counts: Mapping[str, LayerCounts],
                      cells: Mapping[str, Mapping[str, IntArray]] | None = None,
                      cell_ids: Sequence[str] | None = None,
                      overdose: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The before-window counts that a baseline lock freezes, as plain JSON.

    Per layer/category: the four areas, the buffer rings, the distance-decay
    rings and the H3 cells (non-zero only); plus the overdose watch's target
    and buffer counts.
    """
    snap: dict[str, Any] = {"layers": {}}
    for key, lc in counts.items():
        entry: dict[str, Any] = {
            "areas": {a: lc.count(a, "before") for a in AREA_NAMES},
            "rings": [r["before"] for r in lc.rings],
            "decay": list(lc.decay_before),
        }
        if cells is not None and cell_ids is not None and key in cells:
            b = cells[key]["before"]
            entry["cells"] = {str(cell_ids[int(i)]): int(b[i]) for i in np.flatnonzero(b)}
        snap["layers"][key] = entry
    if overdose is not None and overdose.get("available"):
        snap["overdose"] = {a: int(overdose["counts"][a]["before"]) for a in ("target", "buffer")}
    return snap


def fingerprint(snapshot: Mapping[str, Any]) -> str:
    """sha256 of the snapshot's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compare_baseline(locked: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Differences between the locked and the current before-window counts.

    One entry per changed area count (with the sentence a report shows, e.g.
    "3 events imported after the baseline lock changed the before count of
    crime/Drugs in target: 41 → 44; the locked figures were used"), and one
    per layer summarising changed rings and cells.
    """
    out: list[dict[str, Any]] = []
    for key, lk in locked.get("layers", {}).items():
        cur = current.get("layers", {}).get(key)
        if cur is None:
            continue
        for area in AREA_NAMES:
            a, b = int(lk["areas"].get(area, 0)), int(cur["areas"].get(area, 0))
            if a != b:
                d = b - a
                verb = "imported after" if d > 0 else "removed since"
                out.append({"layer": key, "where": area, "locked": a, "current": b,
                            "message": f"{abs(d)} event{'s' if abs(d) != 1 else ''} {verb} the "
                                       f"baseline lock changed the before count of {key} in "
                                       f"{area.replace('_', ' ')}: {a} → {b}; the locked "
                                       f"figures were used"})
        parts = []
        for what, label in (("rings", "buffer ring"), ("decay", "distance-decay ring")):
            la, lb = list(lk.get(what, [])), list(cur.get(what, []))
            changed = sum(1 for x, y in zip(la, lb, strict=False) if x != y)
            if changed:
                parts.append(f"{changed} {label}{'s' if changed != 1 else ''}")
        if "cells" in lk and "cells" in cur:
            keys = set(lk["cells"]) | set(cur["cells"])
            changed = sum(1 for c in keys if lk["cells"].get(c, 0) != cur["cells"].get(c, 0))
            if changed:
                parts.append(f"{changed} H3 cell{'s' if changed != 1 else ''}")
        if parts:
            out.append({"layer": key, "where": "rings/cells", "locked": None, "current": None,
                        "message": f"the before counts of {key} also changed in "
                                   f"{', '.join(parts)}; the locked figures were used"})
    if "overdose" in locked and "overdose" in current:
        for area in ("target", "buffer"):
            a, b = int(locked["overdose"].get(area, 0)), int(current["overdose"].get(area, 0))
            if a != b:
                out.append({"layer": "overdose watch", "where": area, "locked": a, "current": b,
                            "message": f"the overdose watch's before count in {area} changed "
                                       f"since the baseline lock: {a} → {b}; the locked "
                                       f"figures were used"})
    return out


def apply_locked(lc: LayerCounts, locked: Mapping[str, Any]) -> LayerCounts:
    """``lc`` with the locked before counts of its areas, buffer rings and decay rings."""
    areas = {a: dict(v) for a, v in lc.areas.items()}
    for a in AREA_NAMES:
        if a in locked["areas"]:
            areas[a]["before"] = int(locked["areas"][a])
    rings = [dict(r) for r in lc.rings]
    for r, v in zip(rings, locked.get("rings", []), strict=False):
        r["before"] = int(v)
    decay = list(locked.get("decay", lc.decay_before))
    return replace(lc, areas=areas, rings=rings, decay_before=[int(v) for v in decay])


def locked_cells(units: unitsmod.UnitSet, locked: Mapping[str, int]) -> IntArray:
    """Before counts per cell of ``units`` from a lock's non-zero cells."""
    before = np.zeros(len(units.ids), dtype=np.int64)
    pos = units.index_of(list(locked))
    vals = np.asarray(list(locked.values()), dtype=np.int64)
    before[pos[pos >= 0]] = vals[pos >= 0]
    return before
