"""The profile's chart, sections and page: heights match counts, protected counts
have no height, text is escaped, withheld parts say so."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from service.render.profile import profile_page, profile_sections, trend_chart

SVG = "{http://www.w3.org/2000/svg}"


def _rects(markup: str) -> list[ElementTree.Element]:
    svg = markup[markup.index("<svg"):markup.rindex("</svg>") + 6]
    return list(ElementTree.fromstring(svg).iter(f"{SVG}rect"))


def test_bar_heights_are_proportional_and_protected_counts_have_none() -> None:
    chart = str(trend_chart(["2019-01", "2019-02", "2019-03"], [40, "<5", 20], title="t"))
    rects = _rects(chart)
    bars = [r for r in rects if r.get("class") == "bar"]
    assert [float(b.get("height") or 0) for b in bars][0] == \
        2 * float(bars[1].get("height") or 0)
    suppressed = [r for r in rects if r.get("class") == "suppressed"]
    assert len(suppressed) == 1 and "&lt;5" in chart


def _profile(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "events": 3, "trend": {"months": ["2019-01"], "counts": [3]}, "day_of_week": None,
        "hour": None, "time_statement": "every event's time is known to the month only",
        "top_streets": [{"street": "<b>Main</b> Road", "count": 2, "share": 2 / 3}],
        "streets": 2, "events_without_street": 0,
        "repeat_locations": [{"lon": -1.5, "lat": 53.4, "street": "Main Road", "count": 2,
                              "share": 2 / 3}],
        "repeat_location_count": 1, "events_at_repeat_locations": 2,
        "concentration": {k: {"kind": k, "units": 4, "units_with_events": 2, "events": 3,
                              "top_shares": [{"percent": 20.0, "top": 1, "share": 2 / 3}],
                              "half_share": 0.25, "eighty_share": 0.5, "gini": 0.5,
                              "curve": {"percents": [0, 50, 100], "shares": [0, 0.8, 1]}}
                          for k in ("units", "streets")},
        "withheld": [], "warnings": ["few events"],
        "parameters": {"layer": "crime", "categories": ["Drugs"], "unit": "h3:8",
                       "area": "bbox:1,2,3,4", "window": {"start": None, "end_exclusive": None}},
    }
    p.update(over)
    return p


def test_sections_and_page_escape_and_spell_out() -> None:
    titles = [s.title for s in profile_sections(_profile())]
    assert titles == ["Problem profile: trend", "Problem profile: top streets",
                      "Problem profile: repeat locations", "Problem profile: concentration"]
    page = profile_page(_profile())
    assert "&lt;b&gt;Main&lt;/b&gt; Road" in page and "<b>Main</b>" not in page
    assert "66.7 %" in page and "Every event" in page
    assert "{'start'" not in page  # parameters as words, never Python dicts
    # the concentration curves: units and streets, from (0 %, 0 %) to (100 %, 100 %)
    svg = page[page.index('<svg', page.index("profilecurve")):]
    curves = [r for r in _rects_or_lines(svg) if r.get("class") == "curve"]
    assert len(curves) == 2
    first = [tuple(map(float, xy.split(","))) for xy in (curves[0].get("points") or "").split()]
    assert first[0] == (40.0, 226.0) and first[-1] == (348.0, 10.0)


def _rects_or_lines(markup: str) -> list[ElementTree.Element]:
    svg = markup[markup.index("<svg"):markup.index("</svg>") + 6]
    return list(ElementTree.fromstring(svg).iter(f"{SVG}polyline"))


def test_withheld_profile_has_no_place_tables() -> None:
    why = "streets ... are withheld"
    p = _profile(top_streets=None, repeat_locations=None, concentration=None, withheld=[why],
                 day_of_week={"days": ["Monday"], "counts": ["<5"]})
    sections = profile_sections(p)
    assert [s.title for s in sections] == ["Problem profile: trend",
                                           "Problem profile: day of week",
                                           "Problem profile: places"]
    assert sections[-1].text == why
    assert "Main Road" not in profile_page(p)


def test_hour_of_day_is_drawn_when_times_have_it() -> None:
    hours = [0] * 24
    hours[22] = 7
    sections = profile_sections(_profile(hour=hours, day_of_week={
        "days": ["Monday"], "counts": [7]}))
    hour = next(s for s in sections if s.title == "Problem profile: hour of day")
    assert hour.figure is not None
    bars = [r for r in _rects(str(hour.figure)) if r.get("class") == "bar"]
    assert len(bars) == 24
    tallest = max(bars, key=lambda r: float(r.get("height") or 0))
    assert "22: 7" in ElementTree.tostring(tallest, encoding="unicode")
