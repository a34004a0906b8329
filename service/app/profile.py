"""The problem profile of an area, layer and window, shared by ``remap profile``
and ``GET /v1/profile``.

The request is a :class:`service.app.analysis.CountsRequest` and goes through
the same disclosure gate as counts (:func:`service.app.analysis.unit_counts`):
a request the role may not make is refused before any work, and reads of health
and restricted layers are audited. Where the role's counts of the layer are
protected, no street, location or concentration figure is given (they would
name places or be made from exact small counts), and every count shown is
protected (:func:`service.app.disclosure.shown_counts`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from service.app import disclosure
from service.app.analysis import CountsRequest, unit_counts
from service.store import Store
from spatial import profile as profiling
from spatial.disclosure import is_protected

#: Why a protected layer's profile has no street, location or concentration figures.
WITHHELD_WHY = ("streets, repeat locations and concentration figures are withheld: "
                "the layer's counts are protected for role {role!r} (health or "
                "intelligence data), and these would name places or be made from exact "
                "small counts")


def _concentration(c: profiling.Concentration) -> dict[str, Any]:
    return {"kind": c.kind, "units": c.units, "units_with_events": c.units_with_events,
            "events": c.events,
            "top_shares": [{"percent": s.percent, "top": s.top, "share": s.share}
                           for s in c.top_shares],
            "half_share": c.half_share, "eighty_share": c.eighty_share, "gini": c.gini,
            "curve": {"percents": list(profiling.CURVE_PERCENTS) if c.curve else [],
                      "shares": list(c.curve)}}


def _locations(store: Store, req: CountsRequest, events: pd.DataFrame) -> np.ndarray:
    """police.uk ``Location`` of each event of ``events`` (None where it has none)."""
    ids = events["id"].to_numpy()
    if not len(ids):
        return np.full(0, None, dtype=object)
    # attributes are parsed row by row: read only those around the profiled events
    box = (float(events["lon"].min()), float(events["lat"].min()),
           float(events["lon"].max()), float(events["lat"].max()))
    attrs = store.query_events(replace(req.event_filter(), bbox=box), columns=["attributes"])
    if attrs.empty:
        return np.full(len(ids), None, dtype=object)
    # .str.get reads a key of each dict (None where it is missing)
    by_id = pd.Series(attrs["attributes"].str.get("Location").to_numpy(dtype=object),
                      index=attrs["id"].to_numpy())
    values = np.array(by_id.reindex(ids).to_numpy(dtype=object), dtype=object)
    values[pd.isna(values)] = None
    return values


def _protected_time_statement(p: profiling.ProblemProfile) -> str:
    if p.day_of_week is None:
        return ("no day-of-week or hour profile: no event's time is known to the day "
                "(counts protected)")
    return ("day of week from the events whose time is known to the day"
            + ("; hour from those with a time of day" if p.hour is not None else
               "; no hour (no event has a time of day)")
            + "; any events known to the month only are left out (counts protected)")


def problem_profile(store: Store, req: CountsRequest, *, role: str, actor: str | None = None,
                    top: int = 10) -> dict[str, Any]:
    """The profile of ``req``'s events inside its study area, as ``role`` may see it.

    Keys: ``events``, ``top_streets``, ``streets``, ``events_without_street``,
    ``repeat_locations``, ``repeat_location_count``, ``events_at_repeat_locations``,
    ``concentration`` (``units``, ``streets``), ``trend`` (``months``, ``counts``),
    ``day_of_week``, ``hour``, ``time_statement``, ``withheld``, ``parameters``,
    ``warnings``. Withheld parts are None and ``withheld`` says why.
    """
    uc = unit_counts(store, req, role=role, actor=actor)
    inside = uc.index >= 0
    events = uc.events[inside]
    protected = is_protected(role, req.layer)
    locations = (np.full(len(events), None, dtype=object) if protected
                 else _locations(store, req, events))
    p = profiling.problem_profile(
        locations=locations, lon=events["lon"].to_numpy(), lat=events["lat"].to_numpy(),
        times=events["time"], time_precision=events["time_precision"].to_numpy(dtype=object),
        unit_counts=uc.counts, start=req.window.start, end_exclusive=req.window.end, top_n=top)

    def shown(values: Any) -> list[Any]:
        return disclosure.shown_counts(role, req.layer, np.asarray(values, dtype=np.int64))

    params = {**uc.parameters, **p.parameters,
              "events_profiled": disclosure.shown_total(role, (req.layer,), p.events)}
    warnings = list(uc.warnings)
    out: dict[str, Any] = {
        "events": disclosure.shown_total(role, (req.layer,), p.events),
        "trend": {"months": list(p.months), "counts": shown(p.monthly)},
        "day_of_week": (None if p.day_of_week is None else
                        {"days": list(profiling.DAY_NAMES), "counts": shown(p.day_of_week)}),
        "hour": None if p.hour is None else shown(p.hour),
        # the spatial statement counts events exactly; a protected one names parts only
        "time_statement": _protected_time_statement(p) if protected else p.time_statement,
        "parameters": params,
    }
    if protected:
        out.update({"top_streets": None, "streets": None, "events_without_street": None,
                    "repeat_locations": None, "repeat_location_count": None,
                    "events_at_repeat_locations": None, "concentration": None,
                    "withheld": [WITHHELD_WHY.format(role=role)]})
    else:
        out.update({
            "top_streets": [{"street": s.name, "count": s.count, "share": s.share}
                            for s in p.top_streets],
            "streets": p.streets, "events_without_street": p.events_without_street,
            "repeat_locations": [{"lon": r.lon, "lat": r.lat, "street": r.street,
                                  "count": r.count, "share": r.share}
                                 for r in p.repeat_locations],
            "repeat_location_count": p.repeat_location_count,
            "events_at_repeat_locations": p.events_at_repeat_locations,
            "concentration": {"units": _concentration(p.unit_concentration),
                              "streets": _concentration(p.street_concentration)},
            "withheld": []})
        warnings += list(p.warnings)
    out["warnings"] = warnings
    return out
