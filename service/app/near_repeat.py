"""Near-repeat (Knox) analysis of an area, layer and window, shared by ``remap nearrepeat``
and ``GET /v1/nearrepeat``.

Events come through the same request and disclosure path as the problem profile
(:func:`service.app.analysis.unit_counts`): a request the role may not make is
refused before any work, and reads of health and restricted layers are audited.

What a controlled role (partner, viewer) may see: nothing of a protected layer
(ambulance call-outs, dealing sites). A Knox table counts *pairs* of events by
distance band (same location, up to 100 m, ...) and days apart; its cells
are far finer than the policy's one fixed release geography (whole H3 cells or
500 m squares, one calendar month), and the same-location row of a short window
says how many events share an address within days. Rounding the cells to 5
does not help: the ratios and p-values are made from the exact counts, and a
table over a small area nests in one over a larger area (the attack
:mod:`spatial.disclosure` describes). So the request is refused with
:class:`~spatial.errors.PermissionDeniedError` (HTTP 403), saying an analyst can
run it; open layers are answered in full for every role.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.app.analysis import CountsRequest, unit_counts
from service.store import Store
from spatial.disclosure import is_protected
from spatial.errors import PermissionDeniedError
from spatial.events import layer_spec
from spatial.stats import near_repeat as knox

#: The unit the study area is cut into to find the events inside it (the test uses no units).
AREA_UNIT = "h3:8"

REFUSAL = ("layer {layer!r} is {kind} data: role {role!r} receives no near-repeat table of it. "
           "A Knox table counts pairs of events by distance band (down to the same "
           "location) and days apart, far finer than the protected counts this role may see, "
           "and its ratios and p-values are made from exact counts; ask an analyst")


@dataclass(frozen=True)
class NearRepeatOptions:
    """The bands and the test (defaults: :mod:`spatial.stats.near_repeat`)."""

    distance_band_m: float = knox.DEFAULT_DISTANCE_BAND_M
    distance_bands: int = knox.DEFAULT_DISTANCE_BANDS
    time_band_days: int = knox.DEFAULT_TIME_BAND_DAYS
    time_bands: int = knox.DEFAULT_TIME_BANDS
    metric: str = "euclidean"
    permutations: int = knox.DEFAULT_PERMUTATIONS
    seed: int | None = None
    alpha: float = knox.DEFAULT_ALPHA

    def resolved_seed(self) -> int:
        # a seed is always used and reported, so any result can be reproduced
        return self.seed if self.seed is not None else secrets.randbelow(2**31 - 1)


def check_role(role: str, layer: str) -> None:
    """Refuse a near-repeat table of a protected layer to a controlled role."""
    if is_protected(role, layer):
        kind = ("health" if layer_spec(layer).sensitivity == "health"
                else "restricted intelligence")
        raise PermissionDeniedError(REFUSAL.format(layer=layer, kind=kind, role=role))


def _number(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _band(b: knox.Band, unit: str) -> dict[str, Any]:
    return {"label": b.label, "kind": b.kind, f"low_{unit}": b.low, f"high_{unit}": b.high}


def result_dict(r: knox.NearRepeatResult) -> dict[str, Any]:
    """The analysis core's result as plain JSON values (cells row by row)."""
    cells = []
    for a in range(r.observed.shape[0]):
        row = []
        for b in range(r.observed.shape[1]):
            row.append({"observed": int(r.observed[a, b]),
                        "expected": float(r.expected[a, b]),
                        "expected_exact": float(r.expected_exact[a, b]),
                        "ratio": _number(r.ratio[a, b]),
                        "p_one_sided": float(r.p_one_sided[a, b]),
                        "p_two_sided": float(r.p_two_sided[a, b]),
                        "p_adjusted": _number(r.p_adjusted[a, b]),
                        "tested": bool(r.tested[a, b]),
                        "significant": bool(r.significant[a, b])})
        cells.append(row)
    return {"pattern": r.pattern, "extent_m": r.extent_m, "extent_days": r.extent_days,
            "events": r.events, "pairs": r.pairs, "candidate_pairs": r.candidate_pairs,
            "distance_bands": [_band(b, "m") for b in r.distance_bands],
            "time_bands": [_band(b, "days") for b in r.time_bands], "cells": cells}


def near_repeat_table(store: Store, req: CountsRequest, opts: NearRepeatOptions, *,
                      role: str, actor: str | None = None) -> dict[str, Any]:
    """The Knox table of ``req``'s events inside its study area.

    Keys: ``pattern`` (near_repeat | repeat_only | none), ``extent_m``,
    ``extent_days``, ``events``, ``pairs``, ``candidate_pairs``, ``distance_bands``,
    ``time_bands``, ``cells`` (rows x columns of observed, expected, ratio and
    p-values), ``parameters``, ``warnings``.

    Raises
    ------
    PermissionDeniedError
        A controlled role asks about a protected layer (see the module notes).
    ParameterError
        (``time_precision``) Month-precision events; a band or test parameter out of range.
    """
    check_role(role, req.layer)
    uc = unit_counts(store, req, role=role, actor=actor)
    events = uc.events[uc.index >= 0]
    seed = opts.resolved_seed()
    r = knox.near_repeat(events["lon"].to_numpy(), events["lat"].to_numpy(),
                         events["time"].to_numpy(),
                         events["time_precision"].to_numpy(dtype=object),
                         distance_band_m=opts.distance_band_m,
                         n_distance_bands=opts.distance_bands,
                         time_band_days=opts.time_band_days, n_time_bands=opts.time_bands,
                         metric=opts.metric, permutations=opts.permutations, seed=seed,
                         alpha=opts.alpha, epsg=_epsg(events))
    keep = ("layer", "categories", "window", "area", "events_selected", "events_outside_area")
    params = {**{k: uc.parameters[k] for k in keep}, "events_analysed": r.events,
              **r.parameters}
    warnings = [w for w in uc.warnings if not w.startswith("few events")]
    warnings += _precision_warnings(events, opts.distance_band_m)
    out = result_dict(r)
    out.update(parameters=params, warnings=warnings + list(r.warnings))
    return out


def _epsg(events: Any) -> int | None:
    """The CRS the store projected the events to (one per set), or None."""
    if events.empty:
        return None
    return int(events["crs_epsg"].value_counts().index[0])


def _precision_warnings(events: Any, band_m: float) -> list[str]:
    """What rounded or snapped positions mean for the same-location row and small bands."""
    if events.empty:
        return []
    prec = set(events["location_precision"].astype(str)) & {"rounded", "snapped"}
    if not prec:
        return []
    xy = np.unique(np.column_stack([events["x"].to_numpy(), events["y"].to_numpy()]), axis=0)
    said = f"{len(xy):,} distinct published positions for {len(events):,} events"
    if len(xy) >= 2:
        from scipy.spatial import cKDTree

        d, _ = cKDTree(xy).query(xy, k=2)
        gap = float(np.median(d[:, 1]))
        said += f" (median distance to the nearest other position {gap:,.0f} m)"
        if gap > band_m:
            said += (f"; bands of {band_m:g} m are narrower than that, so they mostly hold "
                     "pairs of neighbouring published points")
    return [f"locations are {' and '.join(sorted(prec))}: 'same location' means the same "
            f"published point, not the same address; {said}"]


def demo_near_repeat(store: Store, out_dir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """The near-repeat table of the demo town's ambulance call-outs (day precision; the
    town's crime is month-precision, which the test refuses), as an analyst sees it:
    a JSON file and an HTML page in ``out_dir``. Returns what was written and found."""
    from service.render.near_repeat import near_repeat_page, pattern_sentence

    req = CountsRequest.parse(layer="ambulance", unit=AREA_UNIT, area="boundary:beats")
    # the town rounds call-outs to a 400 m grid: bands of 400 m, so a band holds whole
    # steps of the grid (neighbours, diagonals and two steps, ...)
    opts = NearRepeatOptions(distance_band_m=400.0, distance_bands=3, time_band_days=7,
                             time_bands=4, seed=20181001)
    table = near_repeat_table(store, req, opts, role="analyst", actor="demo")
    path = out_dir / "nearrepeat_ambulance.json"
    path.write_text(json.dumps(table, default=str))
    page = out_dir / "nearrepeat_ambulance.html"
    page.write_text(near_repeat_page(table), encoding="utf-8")
    say(f"  near-repeat (Knox) of ambulance call-outs: {pattern_sentence(table)}: {page}")
    return {"pattern": table["pattern"], "extent_m": table["extent_m"],
            "extent_days": table["extent_days"], "events": table["events"],
            "outputs": {"json": str(path), "page": str(page)}}
