"""The tasking pack of an operation: map, count tables, measures, verdicts, caveats.

Serves ``GET /v1/operations/{id}/pack`` and ``remap pack operation``; its
map holds the layers of the operation map (:mod:`service.render.operation_map`).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from service.render.html import Section, Table, Verdict
from service.render.info_box import BASE_CAVEAT
from service.render.map_base import build_map, render_html
from service.render.numbers import p_text, plain
from service.render.operation_map import (
    main_map_layer,
    operation_caveats,
    operation_layers,
    operation_parameters,
    report_for,
)
from service.render.pack_page import pack_page
from service.render.time_context import (
    report_phase_marks,
    series_chart,
    time_context_sections,
)
from service.store import Store

#: Measures with an estimate, standard error, z, p and interval.
_EFFECTS = ("local_effect", "displacement_effect", "wdd")
#: The ratio-of-rate-ratio tests the verdict rests on.
_RATIOS = ("local_ratio", "displacement_ratio", "net_ratio")
#: Single-value measures and their abbreviations.
_QUOTIENTS = (("success_measure", "SM"), ("buffer_displacement_measure", "BDM"),
              ("wdq", "WDQ"), ("total_net_effect", "TNE"))


def _count_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(la["key"], area, w.get("before"), w.get("during"), w.get("after"))
            for la in report["layers"] for area, w in la["counts"].items()]


def _p(p: float | None) -> str | None:
    """A table's p as reports write it: '< 0.001', '0.03'."""
    return None if p is None else p_text(p).removeprefix("p ").removeprefix("= ")


def _measure_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for la in report["layers"]:
        ms = la.get("measures")
        if not ms:
            continue
        for name in _RATIOS:
            e = ms.get(name) or {}
            adjusted = e.get("p_adjusted")
            note = e.get("reason") or ("decides the verdict; SE of the log ratio" + (
                f"; Holm-adjusted p {_p(adjusted)}" if adjusted is not None else ""))
            rows.append((la["key"], name.replace("_", " "), e.get("ratio"), e.get("log_se"),
                         e.get("z"), _p(e.get("p_value")),
                         None if e.get("ci_low") is None
                         else f"{e['ci_low']:.3g} to {e['ci_high']:.3g}", note))
        for name in _EFFECTS:
            e = ms.get(name) or {}
            rows.append((la["key"], name.replace("_", " "), e.get("estimate"), e.get("se"),
                         e.get("z"), _p(e.get("p_value")),
                         None if e.get("ci_low") is None
                         else f"{plain(e['ci_low'], 3)} to {plain(e['ci_high'], 3)}",
                         e.get("reason") or ""))
        for name, label in _QUOTIENTS:
            e = ms.get(name) or {}
            rows.append((la["key"], label, e.get("value"), None, None, None, None,
                         e.get("reason") or e.get("label") or ""))
    return rows


def bottom_line(report: dict[str, Any]) -> list[Verdict]:
    """Each layer's verdict: its code and sentence, as the report words them."""
    return [Verdict(la["key"], la["role"], la["verdict"]["code"], la["verdict"]["sentence"])
            for la in report["layers"]]


def _rate(count: Any, days: float | None) -> Any:
    """A count per 30 days; a suppressed or missing count stays as it is."""
    if not isinstance(count, int | float) or not days:
        return count
    return round(count * 30.0 / days, 1)


def _pct(ratio: float | None) -> str | None:
    return None if ratio is None else f"{(ratio - 1) * 100:+.0f} %"


def key_figures(report: dict[str, Any]) -> Table:
    """Per layer: rates per 30 days before and after in each area, the target's change
    relative to the control, and the smallest change the design could detect."""
    lengths = report["parameters"].get("effective_lengths_days", {})
    rows: list[tuple[Any, ...]] = []
    for la in report["layers"]:
        days = la.get("lengths_days") or lengths.get(la["key"]) or {}
        counts = la["counts"]
        cells = [f"{_fmt(_rate(counts[a].get('before'), days.get('before')))} \u2192 "
                 f"{_fmt(_rate(counts[a].get('after'), days.get('after')))}"
                 if a in counts else "" for a in ("target", "buffer", "control")]
        local = ((la.get("measures") or {}).get("local_ratio") or {}).get("ratio")
        v = la["verdict"]
        fall, rise = v.get("detectable_fall_pct"), v.get("detectable_rise_pct")
        detect = "; ".join(t for t in (
            f"target fall \u2265 {fall:.0f} %" if fall is not None else "",
            f"buffer rise \u2265 {rise:.0f} %" if rise is not None else "") if t)
        change = "withheld" if la.get("measures") is None else _pct(local)
        rows.append((la["key"], *cells, change, detect or "not computed"))
    return Table(["layer", "target per 30 days, before \u2192 after", "buffer", "control",
                  "target vs control", "smallest detectable change"], rows)


def _fmt(v: Any) -> str:
    return "\u2013" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


def phases_section(report: dict[str, Any]) -> Section | None:
    """A rolling operation's phases: one row per phase and layer (rates per 30 days of each
    window, the change against the control, the verdict), with how they are read."""
    ph = report.get("phases")
    if not ph:
        return None
    rows: list[tuple[Any, ...]] = []
    for p in ph["phases"]:
        w = p["windows"]
        for la in p["layers"]:
            days = la.get("lengths_days") or {}
            counts = la["counts"]
            cells = [f"{_fmt(_rate(counts[a].get('before'), days.get('before')))} \u2192 "
                     f"{_fmt(_rate(counts[a].get('after'), days.get('after')))}"
                     for a in ("target", "control")]
            local = ((la.get("measures") or {}).get("local_ratio") or {})
            change = "withheld" if la.get("measures") is None else _pct(local.get("ratio"))
            rows.append((f"{p['index'] + 1}. {p['name']}",
                         f"{w['during']['start']} to {w['during']['end']}",
                         f"{w['after']['start']} to {w['after']['end']}", la["key"], *cells,
                         change, la["verdict"]["code"]))
    cumulative = "; ".join(f"{c['key']}: {c['code']}" for c in ph["cumulative"])
    text = (f"{ph['sentence']} The whole operation (cumulative): {cumulative}. Each phase is "
            f"compared with the operation's before window; its after period runs to the next "
            f"strike (the last phase's is the operation's). Multiplicity: "
            f"{ph['parameters']['correction']}.")
    return Section("Phases of the rolling operation",
                   Table(["phase", "strike", "after", "layer", "target per 30 days",
                          "control per 30 days", "target vs control", "verdict"], rows),
                   text=text)


def consequences_section(report: dict[str, Any]) -> Section | None:
    """The unintended-consequence watches: one row per watch (flagged, no rise, or not
    watched and why), the flags in words, and how multiplicity is handled."""
    cw = report.get("consequence_watches")
    if not cw:
        return None
    rows: list[tuple[Any, ...]] = []
    for w in cw["watches"]:
        if not w["watched"]:
            result = "not watched: no data"
        elif w.get("rise"):
            result = "RISE flagged " + ", ".join(w.get("rise_windows", []))
        else:
            result = "no significant rise"
        counts = w.get("counts")
        tb = ("" if not counts else
              " / ".join(str(counts["target"][k] + counts["buffer"][k]
                             if isinstance(counts["target"][k], int)
                             and isinstance(counts["buffer"][k], int) else "\u2013")
                         for k in ("before", "during", "after")))
        rows.append((w["name"], f"{w['layer']}/{w['category']}", tb,
                     w.get("comparison") or "", result))
    flags = [f"Flag: {f}." for f in cw.get("flags", [])]
    text = " ".join([cw["sentence"], *flags, f"Multiplicity: {cw['multiplicity']}."])
    flagged = len(cw.get("flagged", []))
    return Section(f"Unintended consequences ({flagged} flagged)" if flagged
                   else "Unintended consequences (none flagged)",
                   Table(["watch", "events", "target + buffer before / during / after",
                          "compared with", "result"], rows), text=text)


def _sections(report: dict[str, Any]) -> list[Section]:
    """Phases, counts, measures, the overdose watch, the dealing-site re-map, time contexts."""
    sections = [Section("Counts", Table(["layer", "area", "before", "during", "after"],
                                        _count_rows(report)))]
    phases = phases_section(report)
    if phases is not None:
        sections.insert(0, phases)
    mrows = _measure_rows(report)
    if mrows:
        sections.append(Section("Measures (ratio tests: Woolf 1955, Holm 1979; WDD family: "
                                "Wheeler & Ratcliffe 2018; Bowers & Johnson 2003; "
                                "Guerette 2009)",
                                Table(["layer", "measure", "estimate", "SE", "z", "p",
                                       "95 % CI", "note"], mrows)))
    watch = report.get("overdose_watch") or {}
    if watch.get("available"):
        wrows = [(area, w.get("before"), w.get("during"), w.get("after"))
                 for area, w in watch["counts"].items()]
        flag = "RISE flagged" if watch.get("rise") else "no significant rise"
        sections.append(Section(f"Overdose watch ({flag})",
                                Table(["area", "before", "during", "after"], wrows),
                                text=watch.get("statement")))
    consequences = consequences_section(report)
    if consequences is not None:
        sections.insert(1 if phases is not None else 0, consequences)
    sites = report.get("dealing_sites") or {}
    if sites.get("available"):
        srows = [(area, *v.values()) for area, v in sites["by_area"].items()]
        head = ["area", *next(iter(sites["by_area"].values())).keys()]
        sections.append(Section("Dealing-site re-map (partial intelligence)",
                                Table(head, srows), text=str(sites.get("sentence", ""))))
    sections += time_context_sections(report)
    return sections


def _main_chart(report: dict[str, Any], key: str | None) -> tuple[Markup | None, str | None]:
    """The time-context chart of the map's layer (else the first layer that has one)."""
    windows = report["parameters"]["windows"]
    with_tc = [la for la in report["layers"] if la.get("time_context")]
    la = next((la for la in with_tc if la["key"] == key), with_tc[0] if with_tc else None)
    if la is None:
        return None, None
    return (series_chart(la["key"], la["time_context"]["series"], windows,
                         report_phase_marks(report)),
            f"{la['key']} per month")


def operation_pack_html(store: Store, op_id: int, *, role: str, actor: str,
                        layer: str | None = None) -> str:
    """The operation's tasking pack: a meeting page (verdicts, key figures, the chart and
    map of ``layer``, default the first), then counts, measures and caveats."""
    report = report_for(store, op_id, role, actor)
    layers = operation_layers(store, report, role, actor, layer)
    main = main_map_layer(report, role, layer)
    chart, chart_title = _main_chart(report, main["key"] if main else None)
    m = build_map(layers, title=report["operation"]["name"], caveats=[],
                  parameters=operation_parameters(report), offline=True)
    map_html = render_html(m, offline=True)
    windows = report["parameters"].get("windows", {})
    # an operation without a during window has windows["during"] = None
    subtitle = " · ".join(f"{k} {v['start']} to {v['end']}" for k, v in windows.items() if v)
    return pack_page(title=f"Operation pack: {report['operation']['name']}", subtitle=subtitle,
                     map_html=map_html, sections=_sections(report),
                     caveats=operation_caveats(report) + [BASE_CAVEAT],
                     parameters=operation_parameters(report),
                     bottom_line=bottom_line(report), key_figures=key_figures(report),
                     key_note="Rates are events per 30 days of each window (windows differ "
                              "in length); detectable change: the smallest change the design "
                              "could detect at the report's alpha (80 % power).",
                     chart=chart, chart_title=chart_title)
