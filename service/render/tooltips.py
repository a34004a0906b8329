"""What a unit's tooltip lists: the unit, its name, its counts and statistics.

Tooltips are HTML made by the ``map_parts.html`` macros (escaped where each
value is placed) and carried in each feature's ``_remap_tooltip`` property.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from markupsafe import Markup

from service.render.classify import format_value
from service.render.features import kept_fields, slim
from service.render.html import macros
from service.render.map_inputs import MapLayer

#: How fields are named in tooltips.
FIELD_LABELS: Final[dict[str, str]] = {
    "unit_id": "Unit", "label": "Name", "count": "Count", "GiZScore": "Gi* z-score",
    "GiPValue": "p-value", "p_adjusted": "p-value (adjusted)", "Gi_Bin": "Gi* bin",
    "NNeighbors": "Neighbours", "cluster": "LISA cluster", "Is": "Local Moran's I",
    "z": "z-score", "p_sim": "Pseudo p-value", "p_norm": "p-value (normal)",
    "role": "Area", "ring": "Ring", "distance_m": "Distance (m)", "category": "Category",
    "time": "Time", "layer": "Layer", "rate": "Rate", "months": "Months",
}

#: Statistics shown in tooltips by default, per kind, when present.
DEFAULT_STATS: Final[dict[str, tuple[str, ...]]] = {
    "choropleth": ("count",),
    "gi_bins": ("count", "GiZScore", "GiPValue", "p_adjusted", "NNeighbors", "Gi_Bin"),
    "lisa": ("count", "Is", "z", "p_sim", "p_norm", "p_adjusted", "cluster"),
    "outline": ("count",),
    "areas": ("role", "ring", "distance_m", "count"),
    "points_aggregated": ("count",),
    "points": ("category", "time", "layer"),
    "monthly": (),
    "density": (),
}


def unit_of(f: Mapping[str, Any]) -> Any:
    """The feature's unit: its ``unit_id`` property, else its id."""
    props = f.get("properties") or {}
    uid = props.get("unit_id")
    return uid if uid is not None else f.get("id")


def label_of(f: Mapping[str, Any], layer: MapLayer) -> Any:
    """The feature's display name (the layer's ``label_field``, default ``label``)."""
    props = f.get("properties") or {}
    return props.get(layer.label_field or "label")


def tooltip_rows(f: Mapping[str, Any], layer: MapLayer, fields: Iterable[str],
                 extra: Sequence[tuple[str, Any]] = (), *, unit_name: str = "Unit"
                 ) -> list[tuple[str, Any]]:
    """``(name, value)`` rows of a feature: unit, name, ``fields``, the layer's, ``extra``."""
    props = f.get("properties") or {}
    rows: list[tuple[str, Any]] = []
    label = label_of(f, layer)
    unit = unit_of(f)
    if unit is not None:
        rows.append((unit_name, unit))
    if label is not None and label != unit:
        rows.append(("Name", label))
    seen = {"unit_id", layer.label_field or "label"}
    for name in (*fields, *layer.tooltip_fields):
        if name in seen or name not in props:
            continue
        seen.add(name)
        rows.append((FIELD_LABELS.get(name, name), props[name]))
    rows.extend(extra)
    return rows


def _texts(rows: Sequence[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(str(k), format_value(v)) for k, v in rows]


def tooltip_html(rows: Sequence[tuple[str, Any]], *, title: str | None = None) -> Markup:
    """An escaped HTML table of ``(name, value)`` rows for a tooltip."""
    return macros("map_parts.html").tooltip(title, _texts(rows))  # type: ignore[no-any-return]


def tooltip_halves(head: Sequence[tuple[str, Any]], tail: Sequence[tuple[str, Any]], *,
                   title: str | None = None) -> tuple[Markup, Markup]:
    """A tooltip cut in two, for a script to insert rows between ``head`` and ``tail``."""
    parts = macros("map_parts.html")
    return parts.tooltip_head(title, _texts(head)), parts.tooltip_tail(_texts(tail))


def slim_features(feats: Sequence[Mapping[str, Any]], layer: MapLayer, stats: Sequence[str],
                  extra: Callable[[Mapping[str, Any]], Sequence[tuple[str, Any]]] | None = None,
                  *, unit_name: str = "Unit") -> list[dict[str, Any]]:
    """Slim copies of ``feats`` (:func:`service.render.features.slim`) with their tooltips.

    Each tooltip shows :func:`tooltip_rows` of ``stats`` and, when given, the
    rows ``extra(f)`` (what the feature's colour means).
    """
    keep = kept_fields(layer, stats)
    return [slim(f, keep, tooltip_html(tooltip_rows(f, layer, stats, extra(f) if extra else (),
                                                    unit_name=unit_name), title=layer.name), i)
            for i, f in enumerate(feats)]
