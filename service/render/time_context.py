"""The time context of an evaluation in words and as a chart.

:func:`spatial.evaluation.time_context.time_context` computes the numbers;
this module says each part in one sentence with its numbers
(:func:`time_context_dict`, in the report the API and CLI show) and draws the
24-month series as an inline SVG for the operation pack
(:func:`series_chart`, from ``templates/time_chart.html``, autoescaped, no
script, greyscale-safe dash patterns so it prints).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from markupsafe import Markup

from service.render.colours import AREA_STYLES
from service.render.html import Section, Table, render
from service.render.numbers import p_text, plain
from spatial.evaluation.time_context import SERIES_AREAS, LayerTimeContext, TimeContext

#: How each area's line is drawn: the colour and dash pattern of the area's outline on
#: the map (black, purple, green; told apart in greyscale too), so no line reads as
#: "red = more" and the chart's key is the map's.
LINE_STYLE: Final = {area: (AREA_STYLES[area]["color"], AREA_STYLES[area]["dashArray"] or "")
                     for area in ("target", "buffer", "control")}
WINDOW_FILL: Final = {"before": "#d9d9d9", "during": "#fdd49e", "after": "#c6dbef"}


def _code_words(code: str | None) -> str:
    return "no verdict" if code is None else f"\u201c{code.replace('_', ' ')}\u201d"


def _counts_text(counts: Mapping[str, Mapping[str, int]], lengths: Mapping[str, Any]) -> str:
    """``target 2 → 2, buffer 1 → 4, control 5 → 7`` (with days when lengths differ)."""
    lb, la = lengths.get("before"), lengths.get("after")
    days = lb != la
    parts = []
    for area in SERIES_AREAS:
        c = counts[area]
        if days:
            parts.append(f"{area} {c['before']} in {plain(lb or 0)} days \u2192 {c['after']} in "
                         f"{plain(la or 0)} days")
        else:
            parts.append(f"{area} {c['before']} \u2192 {c['after']}")
    return ", ".join(parts)


def _window_span(w: Mapping[str, Any]) -> str:
    return f"before {w['before']['start']} to {w['before']['end']}, after " \
           f"{w['after']['start']} to {w['after']['end']}"


def year_earlier_sentence(ye: Mapping[str, Any]) -> str:
    if not ye["available"]:
        return f"The same windows a year earlier cannot be evaluated: {ye['reason']}."
    return (f"A year earlier ({_window_span(ye['windows'])}) the same design counted "
            f"{_counts_text(ye['counts'], ye['lengths_days'])} (before \u2192 after) and would "
            f"have read {_code_words(ye['verdict_code'])}.")


def series_sentence(s: Mapping[str, Any], first_stored: str | None, layer: str) -> str:
    months = s["months"]
    span = f"{months[0]} to {months[-1]}"
    held = len(months) - s["missing_months"]
    parts = []
    for area in SERIES_AREAS:
        vals = [v for v in s["counts"][area] if v is not None]
        if vals:
            parts.append(f"{area} {plain(sum(vals) / len(vals), 3)} a month "
                         f"({min(vals)} to {max(vals)})")
    if not parts:
        return (f"No month of the 24 ({span}) is held: the store has no {layer} events "
                f"before the after window ends.")
    missing = ("" if not s["missing_months"] else
               f"; {s['missing_months']} months before the store's first {layer} event "
               f"({first_stored}) are unknown, not zero")
    return (f"Of the 24 months {span}, {held} are held: {', '.join(parts)}{missing}.")


def seasonal_sentence(se: Mapping[str, Any]) -> str:
    if not se["available"]:
        return f"No seasonally expected counts: {se['reason']}."
    years = len(se["years_back"])
    parts = [f"{a} {plain(v['expected'], 3)} (observed {v['observed']})"
             for a, v in se["areas"].items()]
    return (f"Expected in the after window from the same dates of {years} earlier "
            f"year{'s' if years > 1 else ''}, scaled by the control's level change "
            f"(\u00d7{plain(se['control_level_change'], 3)}): {', '.join(parts)}.")


def placebo_sentence(pl: Mapping[str, Any]) -> str:
    if not pl["available"]:
        return f"No placebo evaluation: {pl['reason']}."
    head = (f"Placebo: the same design {pl['shift']} earlier ({_window_span(pl['windows'])}), "
            f"when no operation ran, reads {_code_words(pl['verdict_code'])}")
    if pl["verdict_code"] == "insufficient_data":
        return head + ", so it cannot check the design."
    if pl["found_effect"]:
        return (head + ": the design finds an effect where there was none, so it picks up "
                       "differences that were already there; read the verdict with that in mind.")
    return head + ", as it should."


def rtm_sentence(r: Mapping[str, Any]) -> str:
    if not r["available"]:
        return f"Regression to the mean cannot be checked: {r['reason']}."
    test = r["test"]
    ratio = test["rate_ratio"]
    level = (f"its own rate over the {len(r['long_run_months'])} months before "
             f"({r['long_run_count']} in {plain(r['long_run_days'])} days; rate ratio "
             f"{'not computable' if ratio is None else plain(ratio, 3)}, "
             f"{p_text(test['p_value'])})")
    before = f"the target's before-window rate ({r['before_count']} in " \
             f"{plain(r['before_days'])} days)"
    if r["well_above"]:
        return (f"Regression to the mean: {before} is well above {level}, so a fall of about "
                f"{plain(-r['expected_change_events'], 2)} events "
                f"({plain(-r['expected_change_percent'], 2)} %) in the after window is expected "
                f"from regression to the mean alone.")
    return (f"Regression to the mean: {before} is not significantly above {level}, so no fall "
            f"from regression to the mean alone is expected.")


def dispersion_sentence(d: Mapping[str, Mapping[str, Any]]) -> str:
    known = {a: v for a, v in d.items() if v["factor"] is not None}
    if not known:
        reason = next(iter(d.values()))["reason"]
        return f"Overdispersion cannot be estimated: {reason}."
    months = next(iter(known.values()))["months"]
    parts = ", ".join(f"{a} {v['factor']:.2f}" for a, v in known.items())
    over = [a for a, v in known.items() if v["factor"] > 1 and v["p_value"] < 0.05]
    tail = (f"; {', '.join(over)} vary more than Poisson counts, so the Poisson standard errors "
            f"understate the noise there" if over else "; none varies significantly more than "
            "Poisson counts")
    return (f"Dispersion of the monthly counts over {months} months (Pearson \u03c7\u00b2/df, 1 "
            f"for Poisson counts): {parts}{tail}.")


def time_context_dict(lt: LayerTimeContext) -> dict[str, Any]:
    """One layer's time context: its numbers and one sentence per part."""
    out = lt.as_dict()
    out["sentences"] = {
        "year_earlier": year_earlier_sentence(out["year_earlier"]),
        "series": series_sentence(out["series"], out["first_stored"], lt.key.split("/")[0]),
        "seasonal": seasonal_sentence(out["seasonal"]),
        "placebo": placebo_sentence(out["placebo"]),
        "regression_to_mean": rtm_sentence(out["regression_to_mean"]),
        "dispersion": dispersion_sentence(out["dispersion"]),
    }
    return out


def time_context_parameters(tc: TimeContext) -> dict[str, Any]:
    """The settings and methods of every time context (no counts)."""
    return tc.parameters()


# --------------------------------------------------------------------------- the chart

_W, _H = 640, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 28, 40


def _nice_max(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5, 10 × 10^k that is at least ``v`` (1 for nothing)."""
    if v <= 0:
        return 1.0
    mag = 10.0 ** math.floor(math.log10(v))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= v)


def _month_position(d: date, first: date) -> float:
    """Months from the first month's first day to ``d`` (fractional within a month)."""
    whole = (d.year - first.year) * 12 + d.month - first.month
    return whole + (d.day - 1) / calendar.monthrange(d.year, d.month)[1]


def _span_x(start: str, end: str, first: date, n: int) -> tuple[float, float] | None:
    """Month positions of an inclusive date window on the chart (``None``: off the chart)."""
    x0 = max(0.0, _month_position(date.fromisoformat(start), first))
    last = date.fromisoformat(end)
    x1 = min(float(n), _month_position(last, first)
             + 1 / calendar.monthrange(last.year, last.month)[1])
    return None if x1 <= 0 or x0 >= n else (x0, x1)


def series_chart(key: str, series: Mapping[str, Any], windows: Mapping[str, Any],
                 phases: Sequence[Mapping[str, Any]] | None = None) -> Markup:
    """The 24-month series of one layer as an inline SVG (``templates/time_chart.html``).

    Three lines (target, buffer, control) with gaps where months are
    unknown, the before/during/after windows shaded, month labels every
    three months and a count axis. A rolling operation's strike ``phases``
    (``name``, ``start``, ``end``) are marked inside the during window,
    numbered from 1, with their names under the chart.
    """
    months: Sequence[str] = series["months"]
    n = len(months)
    step = (_W - _LEFT - _RIGHT) / n
    counts = series["counts"]
    top = _nice_max(max([v for a in SERIES_AREAS for v in counts[a] if v is not None] or [0]))
    plot_h = _H - _TOP - _BOTTOM

    def y(v: float) -> float:
        return round(_TOP + plot_h * (1 - v / top), 1)

    lines = []
    for area in SERIES_AREAS:
        colour, dash = LINE_STYLE[area]
        segments: list[list[str]] = []
        current: list[str] = []
        points = []
        for i, v in enumerate(counts[area]):
            if v is None:
                if current:
                    segments.append(current)
                current = []
                continue
            points.append((round(_LEFT + (i + 0.5) * step, 1), y(v)))
            current.append(f"{points[-1][0]},{points[-1][1]}")
        if current:
            segments.append(current)
        lines.append({"area": area, "colour": colour, "dash": dash, "points": points,
                      "segments": [" ".join(s) for s in segments]})
    first = date.fromisoformat(months[0] + "-01")
    shades = []
    for name in ("before", "during", "after"):
        w = windows.get(name)
        if not w:
            continue
        x0 = max(0.0, _month_position(date.fromisoformat(w["start"]), first))
        end = date.fromisoformat(w["end"])
        x1 = min(float(n), _month_position(end, first)
                 + 1 / calendar.monthrange(end.year, end.month)[1])
        if x1 <= 0 or x0 >= n:
            continue
        shades.append({"name": name, "fill": WINDOW_FILL[name],
                       "x": round(_LEFT + x0 * step, 1), "width": round((x1 - x0) * step, 1)})
    phase_marks = []
    for i, ph in enumerate(phases or ()):
        span = _span_x(ph["start"], ph["end"], first, n)
        if span is None:
            continue
        phase_marks.append({"label": str(i + 1), "name": str(ph["name"]),
                            "x": round(_LEFT + span[0] * step, 1),
                            "width": max(1.0, round((span[1] - span[0]) * step, 1))})
    ticks = [{"x": round(_LEFT + (i + 0.5) * step, 1),
              "label": date.fromisoformat(m + "-01").strftime("%b %Y")}
             for i, m in enumerate(months) if i % 3 == (n - 1) % 3]
    yticks = [{"y": y(v), "label": f"{v:g}"} for v in (0, top / 2, top)]
    missing = [{"x": round(_LEFT + i * step, 1), "width": round(step, 1)}
               for i, v in enumerate(counts[SERIES_AREAS[0]]) if v is None]
    return Markup(render("time_chart.html", key=key, width=_W, height=_H, left=_LEFT,
                         right=_W - _RIGHT, top=_TOP, bottom=_H - _BOTTOM, lines=lines,
                         shades=shades, ticks=ticks, yticks=yticks, missing=missing,
                         phase_marks=phase_marks,
                         legend_y=_TOP - 12))


# --------------------------------------------------------------------------- the pack


def _pair(counts: Mapping[str, Mapping[str, Any]] | None, area: str) -> str:
    if not counts:
        return ""
    c = counts[area]
    return f"{c['before']} \u2192 {c['after']}"


def _comparison_rows(layer: Mapping[str, Any], windows: Mapping[str, Any]
                     ) -> list[tuple[Any, ...]]:
    tc = layer["time_context"]
    rows: list[tuple[Any, ...]] = [
        ("this evaluation", _window_span(windows),
         *(_pair(layer["counts"], a) for a in SERIES_AREAS), layer["verdict"]["code"])]
    for label, part in (("a year earlier", tc["year_earlier"]), ("placebo", tc["placebo"])):
        if part["available"]:
            rows.append((label, _window_span(part["windows"]),
                         *(_pair(part["counts"], a) for a in SERIES_AREAS),
                         part["verdict_code"]))
        else:
            rows.append((label, "not available", "", "", "", ""))
    se = tc["seasonal"]
    if se["available"]:
        rows.append(("seasonally expected after", f"{len(se['years_back'])} earlier year(s)",
                     *(f"{plain(se['areas'][a]['expected'], 3)} (observed "
                       f"{se['areas'][a]['observed']})" for a in SERIES_AREAS), ""))
    return rows


def report_phase_marks(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A rolling operation's strike phases as the chart marks them (none otherwise)."""
    out = []
    for ph in (report.get("phases") or {}).get("phases", []):
        during = ph["windows"]["during"]
        out.append({"name": ph["name"], "start": during["start"], "end": during["end"]})
    return out


def time_context_sections(report: Mapping[str, Any]) -> list[Section]:
    """One pack section per layer with a time context: the chart, the comparison table
    and one sentence per part (layers a role may not see in detail carry none)."""
    windows = report["parameters"]["windows"]
    marks = report_phase_marks(report)
    sections = []
    for layer in report["layers"]:
        tc = layer.get("time_context")
        if not tc:
            continue
        sections.append(Section(
            f"Time context: {layer['key']}",
            table=Table(["", "windows", "target before \u2192 after",
                         "buffer before \u2192 after", "control before \u2192 after",
                         "verdict"], _comparison_rows(layer, windows)),
            text=" ".join(tc["sentences"].values()),
            figure=series_chart(layer["key"], tc["series"], windows, marks)))
    return sections
