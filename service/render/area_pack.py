"""The tasking pack of an area: map, highest counts, hot spots, caveats, parameters.

Serves ``GET /v1/packs/area`` and ``remap pack area``; its map holds the layers of
the hotspot map (:func:`service.render.hotspot_page.hotspot_layers`).
"""

from __future__ import annotations

from typing import Any

from service.app.analysis import CountsRequest
from service.app.hotspots import HotspotOptions
from service.app.profile import problem_profile
from service.render.hotspot_page import describe, hotspot_layers
from service.render.html import Section, Table
from service.render.info_box import BASE_CAVEAT, caveats_for
from service.render.map_base import build_map, render_html
from service.render.map_inputs import MapLayer
from service.render.pack_page import pack_page
from service.render.profile import profile_sections
from service.render.watch_layer import watch_alarm_section
from service.store import Store

#: Units listed in each table of the pack.
_TOP = 15


def _sort_value(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else 2.5  # "<5" sorts among small counts


def _hot_spots(layers: list[MapLayer]) -> Section | None:
    """The most significant hot spots of the Gi* layer, if the map has one."""
    gi = next((la.data for la in layers if la.kind == "gi_bins"), None)
    if gi is None:
        return None
    hot = sorted((f["properties"] for f in gi["features"] if f["properties"]["Gi_Bin"] > 0),
                 key=lambda p: (-p["Gi_Bin"], -(p["GiZScore"] or 0)))[:_TOP]
    rows = [(p["unit_id"], p.get("label") or "", p["count"], p["GiZScore"],
             p["GiPValueAdjusted"], p["Gi_Bin"]) for p in hot]
    return Section(
        "Hot spots (Getis-Ord Gi*, two-sided, Benjamini-Hochberg FDR)",
        Table(["unit", "name", "events", "z", "adjusted p", "Gi_Bin"], rows) if rows
        else None,
        text=None if rows else "No unit is a significant hot spot after correction.")


def area_pack_html(store: Store, req: CountsRequest, opts: HotspotOptions, *,
                   role: str, actor: str | None = None) -> str:
    """A tasking pack for an area: map, top units, hot spots, the problem profile
    (:func:`service.app.profile.problem_profile`, as the role may see it), caveats,
    parameters."""
    layers, params = hotspot_layers(store, req, opts, role, actor)
    what = describe(req)
    m = build_map(layers, title=f"{what} by {req.unit.describe()}", caveats=[],
                  parameters=params, offline=True)
    map_html = render_html(m, offline=True)
    counts_fc = layers[0].data
    feats = sorted(counts_fc["features"], key=lambda f: -_sort_value(f["properties"]["count"]))
    top = [(f["properties"]["unit_id"], f["properties"].get("label") or "",
            f["properties"]["count"]) for f in feats[:_TOP]]
    sections = [Section("Highest counts", Table(["unit", "name", "events"], top))]
    hot = _hot_spots(layers)
    if hot is not None:
        sections.append(hot)
    # the analyst's everyday product: streets, repeat locations, concentration, trend
    sections += profile_sections(problem_profile(store, req, role=role, actor=actor))
    sections += [s for s in (watch_alarm_section(store, role=role),) if s is not None]
    numbers = [f["properties"]["count"] for f in feats
               if isinstance(f["properties"]["count"], int | float)]
    total = sum(numbers)
    top5 = sum(sorted(numbers, reverse=True)[:5])
    gi = next((la.data for la in layers if la.kind == "gi_bins"), None)
    n_hot = (sum(1 for f in gi["features"] if f["properties"]["Gi_Bin"] > 0)
             if gi is not None else None)
    key = Table(["measure", "value"], [
        ("units", len(feats)),
        ("events (units with a count shown)", total),
        ("units with no event", sum(1 for v in numbers if v == 0)),
        ("share of events in the 5 highest units",
         f"{100 * top5 / total:.0f} %" if total else "no events"),
        ("hot spot units (Gi*, significant after correction)",
         "not computed" if n_hot is None else n_hot)])
    bottom = (f"{what}: {total:,} events in {len(feats):,} units; highest: "
              + ", ".join(f"{label or unit} ({n})" for unit, label, n in top[:3]) + "."
              if feats else f"{what}: no unit in the area.")
    caveats = caveats_for(counts_fc.get("warnings", []) + [BASE_CAVEAT])
    window = req.window.as_dict()
    subtitle = (f"{req.area.describe()} · window {window['start'] or 'start'} to "
                f"{window['end_exclusive'] or 'now'} (end exclusive)")
    return pack_page(title=f"Tasking pack: {what}", subtitle=subtitle, map_html=map_html,
                     sections=sections, caveats=caveats, parameters=params,
                     bottom_text=bottom, key_figures=key)
