"""The boxes on every map page: title, parameters, what the map cannot show, legend.

Made by ``templates/map_boxes.html`` (autoescaped), styled by
``templates/map_style.css``, and placed in the page through
:class:`service.render.safe_html.RawHtml` (never re-read as a template).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import folium

from service.render.classify import format_value
from service.render.colours import HATCH_ID
from service.render.features import MapContext
from service.render.html import render
from service.render.safe_html import RawHtml

#: Always the first caveat: what any map of recorded events cannot show.
BASE_CAVEAT: Final = ("Only recorded and reported events are mapped: intelligence is always "
                      "partial, and an empty area is not an area without drug activity.")

#: The caveat box opens by itself only when it is this short; a longer one starts
#: collapsed to its heading (with the count) so that it does not cover the map.
CAVEATS_OPEN_MAX: Final = 3

#: Parameters nested deeper than this are written as one JSON text.
_PARAM_DEPTH: Final = 2

#: ``(name, text)`` for a value, ``(name, items)`` for a nested mapping.
ParamItems = list[tuple[str, Any]]


def caveats_for(warnings: Sequence[str]) -> list[str]:
    """The warnings once each, in order."""
    return list(dict.fromkeys(warnings))


def _param_items(params: Mapping[str, Any], depth: int = 0) -> ParamItems:
    items: ParamItems = []
    for k, v in params.items():
        if isinstance(v, Mapping) and depth < _PARAM_DEPTH:
            items.append((str(k), _param_items(v, depth + 1)))
        elif isinstance(v, Mapping):
            items.append((str(k), json.dumps(v, default=str, ensure_ascii=False)))
        else:
            items.append((str(k), format_value(v)))
    return items


def page_boxes(title: str, caveats: Sequence[str], parameters: Mapping[str, Any] | None,
               ctx: MapContext) -> str:
    """The HTML of the boxes: caveats once each, parameters, and each layer's parameters."""
    layer_parameters = [(name, _param_items(p)) for name, p in ctx.layer_parameters.items()
                        if isinstance(p, Mapping) and p]
    return render("map_boxes.html", hatch_id=HATCH_ID, title=title,
                  parameters=_param_items(parameters) if parameters else [],
                  layer_parameters=layer_parameters, caveats=caveats_for(caveats),
                  caveats_open_max=CAVEATS_OPEN_MAX,
                  map_name=ctx.map_name, legends=[html for _, _, html in ctx.legends])


def add_page_boxes(m: folium.Map, title: str, caveats: Sequence[str],
                   parameters: Mapping[str, Any] | None, ctx: MapContext) -> None:
    """Put the CSS and the boxes in the map's page."""
    root = m.get_root()
    root.header.add_child(RawHtml(render("map_style.css")),  # type: ignore[attr-defined]
                          name="remap_css")
    root.html.add_child(RawHtml(  # type: ignore[attr-defined]
        page_boxes(title, caveats, parameters, ctx)), name="remap_boxes")
