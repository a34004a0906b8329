"""The problem profile as a chart, tables and a page.

:func:`trend_chart` draws the monthly trend as an inline SVG (from
``templates/profile_trend.html``, autoescaped, no script, so it works offline
and prints); :func:`profile_sections` gives the pack sections (a pack may
include them as they are); :func:`profile_page` a page of its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

from markupsafe import Markup

from service.render.html import Section, Table, render

_W, _H = 640, 210
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 28, 34
#: At most this many month labels under the bars.
_MAX_TICKS: Final = 12


def _nice_max(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5, 10 x 10^k that is at least ``v`` (1 for nothing)."""
    if v <= 0:
        return 1.0
    mag = 10.0 ** math.floor(math.log10(v))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= v)


def trend_chart(months: Sequence[str], counts: Sequence[Any], *, title: str) -> Markup:
    """Events per calendar month as bars; a protected count (``"<5"``) is drawn as a
    dashed empty box with its label, never as a height."""
    labels = [date.fromisoformat(m + "-01").strftime("%b %Y") for m in months]
    return bar_chart(list(months), labels, counts, title=title, axis="events per month")


def bar_chart(keys: Sequence[str], labels: Sequence[str], counts: Sequence[Any], *,
              title: str, axis: str) -> Markup:
    """Counts as bars (``keys`` in the tooltips, ``labels`` under the axis, thinned to
    at most 12); a protected count is a dashed empty box with its label."""
    n = max(len(keys), 1)
    step = (_W - _LEFT - _RIGHT) / n
    numbers = [c for c in counts if isinstance(c, int | float) and not isinstance(c, bool)]
    top = _nice_max(max(numbers, default=0))
    plot_h = _H - _TOP - _BOTTOM

    def y(v: float) -> float:
        return round(_TOP + plot_h * (1 - v / top), 1)

    bars = []
    for i, (m, c) in enumerate(zip(keys, counts, strict=True)):
        number = isinstance(c, int | float) and not isinstance(c, bool)
        bars.append({"month": m, "x": round(_LEFT + i * step + step * 0.1, 1),
                     "width": round(step * 0.8, 1), "y": y(float(c)) if number else _TOP,
                     "suppressed": not number, "label": f"{c:,}" if number else str(c)})
    every = max(1, math.ceil(len(keys) / _MAX_TICKS))
    ticks = [{"x": round(_LEFT + (i + 0.5) * step, 1), "label": label}
             for i, label in enumerate(labels) if i % every == 0]
    yticks = [{"y": y(v), "label": f"{v:g}"} for v in (0, top / 2, top)]
    suppressed = [b["label"] for b in bars if b["suppressed"]]
    return Markup(render("profile_trend.html", title=title, width=_W, height=_H, left=_LEFT,
                         right=_W - _RIGHT, top=_TOP, bottom=_H - _BOTTOM, bars=bars,
                         ticks=ticks, yticks=yticks, any_suppressed=bool(suppressed),
                         suppressed_label=suppressed[0] if suppressed else "", axis=axis))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


_CW, _CH = 440, 260
_CLEFT, _CRIGHT, _CTOP, _CBOTTOM = 40, 92, 10, 34  # room on the right for the legend
#: How each kind of place is drawn (told apart in greyscale too).
CURVE_STYLE: Final = {"units": ("#b2182b", ""), "streets": ("#2166ac", "6 3")}


def concentration_chart(concentration: Mapping[str, Any], *, unit: str) -> Markup | None:
    """The concentration curves (share of events against share of places, places with
    most events first) of units and streets as an inline SVG; None without events."""
    plot_w, plot_h = _CW - _CLEFT - _CRIGHT, _CH - _CTOP - _CBOTTOM

    def xy(percent: float, share: float) -> str:
        return (f"{round(_CLEFT + plot_w * percent / 100, 1)},"
                f"{round(_CTOP + plot_h * (1 - share), 1)}")

    lines = []
    for kind in ("units", "streets"):
        c = concentration[kind]
        if not c["curve"]["shares"]:
            continue
        colour, dash = CURVE_STYLE[kind]
        name = f"{unit} units" if kind == "units" else "streets"
        lines.append({"name": f"{name} (Gini {c['gini']:.2f})", "colour": colour, "dash": dash,
                      "points": " ".join(xy(p, s) for p, s in
                                         zip(c["curve"]["percents"], c["curve"]["shares"],
                                             strict=True))})
    if not lines:
        return None
    ticks = [{"x": round(_CLEFT + plot_w * v / 100, 1), "y": round(_CTOP + plot_h * (1 - v / 100), 1),
              "label": str(v)} for v in (0, 20, 40, 60, 80, 100)]
    return Markup(render("profile_curve.html", title="concentration: share of events against "
                         "share of places", width=_CW, height=_CH, left=_CLEFT,
                         right=_CW - _CRIGHT, top=_CTOP, bottom=_CH - _CBOTTOM, lines=lines,
                         ticks=ticks, lx=_CLEFT + 0.35 * plot_w,
                         ly=_CH - _CBOTTOM - 14 * (len(lines) + 1) - 4))


def trend_svg(profile: Mapping[str, Any], *, title: str) -> str:
    """The profile's monthly trend as a standalone SVG document."""
    chart = str(trend_chart(profile["trend"]["months"], profile["trend"]["counts"],
                            title=title))
    # the chart is a <figure> for pages; the file is the <svg> inside it
    svg = chart[chart.index("<svg"):chart.rindex("</svg>") + len("</svg>")]
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f} %"


def profile_sections(profile: Mapping[str, Any], *, title: str = "Problem profile"
                     ) -> list[Section]:
    """The profile of :func:`service.app.profile.problem_profile` as pack sections:
    the trend (chart and time statement), top streets, repeat locations and
    concentration; withheld parts say so instead of a table."""
    p = profile["parameters"]
    cats = p.get("categories")
    what = f"{p['layer']}" + ("" if cats in (None, "all") else f" ({', '.join(cats)})")
    sections = [Section(
        title=f"{title}: trend",
        figure=trend_chart(profile["trend"]["months"], profile["trend"]["counts"],
                           title=f"{what}: events per calendar month"),
        text=f"{profile['events']} events in {p['area']}. {_sentence(profile['time_statement'])}")]
    dow = profile.get("day_of_week")
    if dow is not None:
        sections.append(Section(title=f"{title}: day of week",
                                table=Table(["day", "events"],
                                            list(zip(dow["days"], dow["counts"], strict=True)))))
    hour = profile.get("hour")
    if hour is not None:
        hours = [f"{h:02d}" for h in range(24)]
        sections.append(Section(title=f"{title}: hour of day",
                                figure=bar_chart(hours, hours, hour, axis="events per hour",
                                                 title=f"{what}: events per hour of day")))
    if profile.get("top_streets") is None:
        for why in profile.get("withheld", []):
            sections.append(Section(title=f"{title}: places", text=why))
        return sections
    sections.append(Section(
        title=f"{title}: top streets",
        table=Table(["street (police.uk)", "events", "share"],
                    [(s["street"], s["count"], _pct(s["share"])) for s in profile["top_streets"]]),
        text=(f"{profile['streets']:,} streets hold events; "
              f"{profile['events_without_street']:,} events have no street.")))
    sections.append(Section(
        title=f"{title}: repeat locations",
        table=Table(["street", "lon", "lat", "events", "share"],
                    [(r["street"], f"{r['lon']:.6f}", f"{r['lat']:.6f}", r["count"],
                      _pct(r["share"])) for r in profile["repeat_locations"]]),
        text=(f"{profile['repeat_location_count']:,} points hold two or more events, "
              f"{profile['events_at_repeat_locations']:,} events in all.")))
    conc = profile["concentration"]
    rows = []
    for kind in ("units", "streets"):
        c = conc[kind]
        for s in c["top_shares"]:
            rows.append((kind, f"top {s['percent']:g} % ({s['top']:,} of {c['units']:,})",
                         _pct(s["share"])))
        rows.append((kind, "least share holding half the events", _pct(c["half_share"])))
        rows.append((kind, "least share holding 80 % of the events", _pct(c["eighty_share"])))
        rows.append((kind, "Gini coefficient",
                     "-" if c["gini"] is None else f"{c['gini']:.3f}"))
    sections.append(Section(title=f"{title}: concentration",
                            figure=concentration_chart(conc, unit=p["unit"]),
                            table=Table(["over", "figure", "share of events"], rows),
                            text=(f"units: every {p['unit']} unit of the area, zeros "
                                  "included; streets: streets with events only.")))
    return sections


def profile_page(profile: Mapping[str, Any], *, title: str = "Problem profile") -> str:
    """A self-contained page of the profile (A4 print CSS, no script)."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return render("profile_page.html", title=title, made=made,
                  sections=profile_sections(profile, title=title),
                  caveats=list(profile.get("warnings", [])),
                  parameters={k: _plain(v) for k, v in profile["parameters"].items()})


def _plain(value: Any) -> Any:
    """A parameter as words: dicts and lists spelt out, never as Python reprs."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(_plain(v)) for v in value)
    return value
