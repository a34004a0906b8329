"""A re-emergence watch on a map, and its words: the watched areas coloured by alarm state.

Serves ``remap watch check --map`` and the demo; the area pack's section
(:func:`watch_alarm_section`) lists the watches with alarms. A check is first
cut to what the role may see (:func:`service.app.watches.check_watch` does that),
so this module only draws and words what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import folium

from service.render.features import STROKE_ONLY, MapContext, add_geojson, drawn_features
from service.render.html import Section, Table
from service.render.legend import add_legend, join, swatch
from service.render.map_inputs import MapLayer
from service.render.tooltips import DEFAULT_STATS, slim_features
from service.store import Store

#: Alarm states and their colours (alarm red, quiet green, not shown grey).
STATE_COLOURS: Final = {"alarm": "#d7301f", "quiet": "#1a9850", "not_shown": "#969696"}
STATE_LABELS: Final = {"alarm": "Alarm: counts rising back (CUSUM above h)",
                       "quiet": "No alarm", "not_shown": "No alarm shown (protected data)"}


def _style(f: Mapping[str, Any]) -> dict[str, Any]:
    state = (f.get("properties") or {}).get("state", "quiet")
    colour = STATE_COLOURS.get(state, STATE_COLOURS["quiet"])
    return {"color": colour, "weight": 3, "fillColor": colour,
            "fillOpacity": 0.35 if state == "alarm" else 0.12, "opacity": 1.0,
            "className": STROKE_ONLY}


def add_watch_areas(group: folium.FeatureGroup, layer: MapLayer, ctx: MapContext) -> None:
    """Watched areas, coloured by alarm state (property ``state``)."""
    feats = drawn_features(layer, ctx)
    slims = slim_features(feats, layer, (*DEFAULT_STATS["areas"], "name", "alarming"),
                          lambda f: [("State", STATE_LABELS.get(
                              (f.get("properties") or {}).get("state", "quiet"), ""))])
    add_geojson(group, layer, slims, _style)
    states = {(f.get("properties") or {}).get("state", "quiet") for f in feats}
    add_legend(ctx, group, layer, join(
        swatch(STATE_COLOURS[s], STATE_LABELS[s]) for s in STATE_COLOURS if s in states))


def watch_features(geometries: list[dict[str, Any]], check: dict[str, Any]
                   ) -> dict[str, Any]:
    """The watched areas as a FeatureCollection with each area's alarm state: ``alarm``
    when a series shown for it alarmed, ``quiet`` when every series was shown without
    alarm, ``not_shown`` otherwise."""
    feats = []
    for i, g in enumerate(geometries):
        shown = [s for s in check["series"] if s["area"] == g["name"]]
        alarming = [s["name"] for s in shown if s["alarm"]]
        protected = any(s.get("protected") for s in shown)
        state = "alarm" if alarming else ("not_shown" if protected or not shown else "quiet")
        feats.append({"type": "Feature", "id": str(i), "geometry": g["geometry"],
                      "properties": {"name": g["name"], "kind": g["kind"], "state": state,
                                     "alarming": ", ".join(alarming) or "none"}})
    return {"type": "FeatureCollection", "features": feats}


def watch_map_html(store: Store, watch_id: int, check: dict[str, Any], *, role: str) -> str:
    """An offline map page of a watch's areas coloured by the alarm state of ``check``."""
    from service.app.watches import watch_geometries
    from service.render.map_base import build_map, render_html  # it draws this module's kind

    fc = watch_features(watch_geometries(store, watch_id, role=role), check)
    w = check["watch"]
    layer = MapLayer(name="Watched areas", kind="watch", data=fc, value_field="state")
    m = build_map([layer], title=f"Re-emergence watch {w['id']}: {w['name']}",
                  caveats=check["warnings"][:5] + check["withheld"],
                  parameters={k: v for k, v in check["parameters"].items()
                              if not isinstance(v, list)}, offline=True)
    return render_html(m, offline=True)


def alarm_sentence(series: dict[str, Any]) -> str:
    """One series' alarm in words."""
    if series.get("protected"):
        return (f"{series['name']}: alarm in " + ", ".join(series["alarm_months"])
                + " (protected data: by month only)")
    return f"{series['name']}: first alarm in the period from {series['first_alarm']}"


def watch_alarm_section(store: Store, *, role: str) -> Section | None:
    """The area pack's section: the watches ``role`` may see with alarms recorded by
    their checks, first alarm per series (``None`` when there are none)."""
    from service.app import disclosure
    from service.app.watches import list_watches

    rows = []
    for w in list_watches(store, role=role):
        recorded = [{"series": a.series, "layer": a.layer, "area": a.area,
                     "period_start": a.period_start.isoformat(),
                     "recorded_at": a.recorded_at.isoformat()}
                    for a in store.recorded_alarms(w["id"])]
        first: dict[str, dict[str, Any]] = {}
        for a in disclosure.shown_recorded_alarms(role, recorded):
            first.setdefault(a["series"], a)
        rows += [(w["id"], w["name"], a["series"], a["period_start"], a["recorded_at"][:16])
                 for a in first.values()]
    if not rows:
        return None
    return Section("Re-emergence watches with alarms (Poisson CUSUM, as recorded by checks)",
                   Table(["watch", "name", "series", "first alarm period", "recorded"], rows))


def check_lines(check: dict[str, Any]) -> list[str]:
    """A check in lines of text (``remap watch check``)."""
    w, p = check["watch"], check["parameters"]
    out = [f"watch {w['id']} {w['name']!r} (operation {w['operation_id']}): {p['series']} "
           f"series per {p['period']}, {p['monitored_periods']} period(s) charted after "
           f"{p['baseline_periods']} baseline period(s), data to {p['as_of']}",
           f"  stated false-alarm rate: ARL0 {p['arl0_per_series']:.4g} periods per series; "
           f"about {p['false_alarms_per_year_designed']:.2f} false alarms a year across the "
           f"watch (target {p['false_alarms_per_year_target']:.2f})"]
    for s in check["series"]:
        d = s["design"]
        if s.get("protected"):
            state = alarm_sentence(s) if s["alarm"] else f"{s['name']}: no alarm shown"
            out.append(f"  {state}")
            continue
        head = "ALARM" if s["alarm"] else "quiet"
        fig = (f"mu0 {d['mu0']:.3g}, mu1 {d['mu1']:.3g} ({s['mu1_rule']}), k {d['k']:.3g}, "
               f"h {d['h']:.3g}, ARL0 {d['arl0']:.3g}, ARL1 {d['arl1']:.3g}") if d else ""
        out.append(f"  {head:<5} {s['name']}: counts {s['counts']}; {fig}"
                   + (f"; first alarm {s['first_alarm']}" if s["alarm"] else ""))
    out.append(f"  alarms recorded now: {check['new_alarms_recorded']} new, "
               f"{len(check['recorded_alarms'])} in all")
    return out
