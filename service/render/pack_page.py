"""The page of a tasking pack: a meeting page on A4, then the technical pages.

Rendered from ``templates/pack.html`` (autoescaped). Page 1 holds what a tasking
meeting reads: the bottom line (each layer's verdict), key figures, the main
layer's chart and the map with its legend. Everything technical (measures,
per-layer time context, caveats, parameters as tables) follows on later pages.
The map is a whole page of its own, escaped into the ``srcdoc`` of a sandboxed
frame; in a pack its own title, parameter and caveat boxes are hidden (the pack
prints them as text) so that nothing covers the map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from service.render.html import Section, Table, Verdict, render

#: Share of the map frame's width the map takes beside the chart, and alone; the legend
#: is a column in the rest.
_MAP_SHARE, _ALONE_MAP_SHARE = 0.63, 0.76
#: CSS px per mm (96 px per inch).
_PX_PER_MM = 96 / 25.4
#: Width of the map frame beside the chart, and alone; height of the frame alone (mm).
_BESIDE_CHART_MM, _ALONE_MM, _ALONE_HEIGHT_MM = 110, 186, 150
#: Height of the meeting page's map beside the chart (mm) with up to
#: :data:`_ROOMY_LAYERS` verdicts; each verdict more takes :data:`_MM_PER_VERDICT` from it.
_MAP_MM, _MIN_MAP_MM, _ROOMY_LAYERS, _MM_PER_VERDICT = 86, 56, 5, 13


def meeting_map_mm(verdicts: int) -> int:
    """The map's height on the meeting page, so that page 1 still fits on A4 with
    ``verdicts`` layer verdicts above it (each verdict is up to two sentences)."""
    return max(_MIN_MAP_MM, _MAP_MM - _MM_PER_VERDICT * max(0, verdicts - _ROOMY_LAYERS))


def map_in_pack_css(width_mm: float, height_mm: float) -> str:
    """CSS added to the map's own page inside the pack.

    The pack prints the title, parameters and caveats as text, so the map shows
    none of them; the legend is a column beside the map (never over it: on a
    small map a corner legend covers the target). The map has a fixed size in
    px, the frame's: a size that does not wait for the frame's layout lets the
    map fit its bounds as its script runs, so the map is drawn before print.
    """
    inner_w = width_mm * _PX_PER_MM - 2  # the frame's 1 px border
    inner_h = height_mm * _PX_PER_MM - 2
    map_w = round(inner_w * (_ALONE_MAP_SHARE if width_mm >= _ALONE_MM else _MAP_SHARE))
    return ("<style>.remap-title, .remap-params, .remap-caveats "
            "{ display: none !important; } "
            f".folium-map {{ width: {map_w}px !important; height: {round(inner_h)}px "
            "!important; } "
            f".remap-legend {{ left: {map_w}px; right: 0; top: 0; bottom: 0; max-width: none; "
            "max-height: none; overflow: hidden; border: none; border-left: 1px solid "
            "#bdbdbd; border-radius: 0; box-shadow: none; background: #fff; "
            "font-size: 9px; line-height: 1.15; padding: 3px 4px; } "
            ".remap-legend-section { margin-bottom: 3px; } "
            ".remap-legend-row { margin: 0; } "
            ".remap-ramp, .remap-ramp-ticks { width: 100%; } "
            ".remap-legend-note { font-size: 8px; margin-top: 0; }</style>")


def map_for_pack(map_html: str, width_mm: float, height_mm: float) -> str:
    """The map page as a pack frame of this size shows it (see :func:`map_in_pack_css`)."""
    head_end = map_html.find("</head>")
    if head_end < 0:
        raise ValueError("map_html: no </head> in the map page")
    return map_html[:head_end] + map_in_pack_css(width_mm, height_mm) + map_html[head_end:]


def parameter_rows(parameters: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Parameters flattened to (name, value) rows: nested names joined with " / ",
    lists written out, never a Python dict or list literal."""
    rows: list[tuple[str, str]] = []
    for name, value in parameters.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            rows += parameter_rows(value, f"{key} / ") if value else [(key, "none")]
        elif isinstance(value, list | tuple):
            if value and all(isinstance(v, Mapping) for v in value):
                for i, v in enumerate(value, 1):
                    rows += parameter_rows(v, f"{key} {i} / ")
            else:
                rows.append((key, ", ".join("none" if v is None else str(v) for v in value)
                             or "none"))
        else:
            rows.append((key, "none" if value is None else str(value)))
    return rows


def pack_page(*, title: str, subtitle: str, map_html: str, sections: Sequence[Section],
              caveats: Sequence[str], parameters: dict[str, Any],
              bottom_line: Sequence[Verdict] = (), bottom_text: str | None = None,
              key_figures: Table | None = None, key_note: str | None = None,
              chart: Markup | None = None, chart_title: str | None = None) -> str:
    """One self-contained page: the meeting page (bottom line, key figures, chart, map),
    then the sections, caveats and parameters (as a table), with A4 print CSS."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # beside the chart the map shrinks as verdicts grow; alone it takes the page's width
    width, height = ((_BESIDE_CHART_MM, meeting_map_mm(len(bottom_line))) if chart is not None
                     else (_ALONE_MM, _ALONE_HEIGHT_MM))
    return render("pack.html", title=title, subtitle=subtitle, made=made,
                  map_html=map_for_pack(map_html, width, height), sections=sections,
                  caveats=caveats,
                  parameters=Table(["parameter", "value"], parameter_rows(parameters)),
                  bottom_line=bottom_line, bottom_text=bottom_text, key_figures=key_figures,
                  key_note=key_note, chart=chart, chart_title=chart_title,
                  map_width_mm=width, map_height_mm=height)
