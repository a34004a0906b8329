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

#: Added to the map's own page inside the pack: the pack prints the title, parameters and
#: caveats as text, so the map shows none of them; the legend is a column beside the map
#: (never over it: on a small map a corner legend covers the target).
MAP_IN_PACK_CSS = ("<style>.remap-title, .remap-params, .remap-caveats "
                   "{ display: none !important; } "
                   ".folium-map { width: 63% !important; } "
                   ".remap-legend { left: 63%; right: 0; top: 0; bottom: 0; max-width: none; "
                   "max-height: none; overflow: hidden; border: none; border-left: 1px solid "
                   "#bdbdbd; border-radius: 0; box-shadow: none; background: #fff; "
                   "font-size: 9px; line-height: 1.15; padding: 3px 4px; } "
                   ".remap-legend-section { margin-bottom: 3px; } "
                   ".remap-legend-row { margin: 0; } "
                   ".remap-ramp, .remap-ramp-ticks { width: 100%; } "
                   ".remap-legend-note { font-size: 8px; margin-top: 0; }</style>")


def map_for_pack(map_html: str) -> str:
    """The map page with its own text boxes hidden (see :data:`MAP_IN_PACK_CSS`)."""
    head_end = map_html.find("</head>")
    if head_end < 0:
        raise ValueError("map_html: no </head> in the map page")
    return map_html[:head_end] + MAP_IN_PACK_CSS + map_html[head_end:]


#: Height of the meeting page's map beside the chart (mm) with up to
#: :data:`_ROOMY_LAYERS` verdicts; each verdict more takes :data:`_MM_PER_VERDICT` from it.
_MAP_MM, _MIN_MAP_MM, _ROOMY_LAYERS, _MM_PER_VERDICT = 92, 60, 5, 13


def meeting_map_mm(verdicts: int) -> int:
    """The map's height on the meeting page, so that page 1 still fits on A4 with
    ``verdicts`` layer verdicts above it (each verdict is up to two sentences)."""
    return max(_MIN_MAP_MM, _MAP_MM - _MM_PER_VERDICT * max(0, verdicts - _ROOMY_LAYERS))


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
    return render("pack.html", title=title, subtitle=subtitle, made=made,
                  map_html=map_for_pack(map_html), sections=sections, caveats=caveats,
                  parameters=Table(["parameter", "value"], parameter_rows(parameters)),
                  bottom_line=bottom_line, bottom_text=bottom_text, key_figures=key_figures,
                  key_note=key_note, chart=chart, chart_title=chart_title,
                  map_mm=meeting_map_mm(len(bottom_line)))
