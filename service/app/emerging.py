"""Emerging hot spots of a layer, categories and window, shared by ``remap emerging``
and ``GET /v1/hotspots/emerging``.

The request is a :class:`service.app.analysis.CountsRequest` and goes through the
same disclosure gate as counts (:func:`service.app.analysis.unit_counts`). The
events are put in a space-time cube (:mod:`spatial.stats.space_time_cube`) and
analysed as ArcGIS's Emerging Hot Spot Analysis (:mod:`spatial.stats.emerging`).

Disclosure: the categories, Gi* and trend figures are functions of the exact
counts of every unit and step, so a role whose counts of the layer are protected
(health and intelligence layers for partners and viewers) is refused them, as
``/v1/hotspots`` refuses Gi* (:func:`service.app.hotspots.hotspots`); such a role
may still ask ``/v1/counts`` for protected counts. Counts per step that are
shown pass through :func:`service.app.disclosure.shown_counts`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from service.app import disclosure
from service.app.analysis import CountsRequest, UnitCounts, unit_counts
from service.render.geojson import feature_collection, geometry_features
from service.store import Store
from spatial.disclosure import needs_small_number_suppression
from spatial.errors import ParameterError, PermissionDeniedError
from spatial.place import units as unitsmod
from spatial.stats.emerging import (
    DEFAULT_ALPHA,
    DEFAULT_TIME_STEPS,
    PATTERN_NAMES,
    SCHEMES,
    SF_NAMES,
    emerging_hot_spots,
)
from spatial.stats.significance import CORRECTIONS
from spatial.stats.space_time_cube import STEPS, build_cube


@dataclass(frozen=True)
class EmergingOptions:
    """Method parameters, validated; ``None`` means "the documented default"."""

    step: str | None = None           # None: from the data's precision and span
    time_steps: int = DEFAULT_TIME_STEPS
    k: int = 1                        # H3 neighbour ring
    permutations: int | None = None   # None: staged up to 49,999; 0: normal theory
    seed: int | None = None
    correction: str = "fdr_bh"
    alpha: float = DEFAULT_ALPHA
    scheme: str = "arcgis"            # or "sfhotspot"

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ParameterError("scheme", f"{self.scheme!r} is not one of {', '.join(SCHEMES)}")
        if self.step is not None and self.step not in STEPS:
            raise ParameterError("step", f"{self.step!r} is not one of {', '.join(STEPS)}")
        if not 0 <= self.time_steps <= 12:
            raise ParameterError("time_steps", "must be 0..12 previous steps")
        if not 1 <= self.k <= 5:
            raise ParameterError("k", "H3 neighbour ring must be 1..5")
        if self.permutations is not None and not 0 <= self.permutations <= 99_999:
            raise ParameterError("permutations", "must be 0..99999")
        if self.correction not in CORRECTIONS:
            raise ParameterError("correction",
                                 f"{self.correction!r} is not one of {', '.join(CORRECTIONS)}")
        if not 1e-6 <= self.alpha < 0.5:
            raise ParameterError("alpha", "must be between 1e-6 and 0.5")

    def resolved_seed(self) -> int:
        return self.seed if self.seed is not None else secrets.randbelow(2**31 - 1)


def _weights(uc: UnitCounts, k: int) -> tuple[Any, str]:
    if uc.units.kind == "h3":
        return unitsmod.neighbours(uc.units, k=k), f"H3 grid_disk k={k}"
    if uc.units.kind == "boundary":
        return unitsmod.neighbours(uc.units), "queen contiguity"
    if uc.units.kind == "street":
        return unitsmod.neighbours(uc.units), str(uc.units.parameters["neighbours"])
    return unitsmod.neighbours(uc.units), "8 surrounding squares"


def _refuse(role: str, layer: str) -> None:
    raise PermissionDeniedError(
        f"layer {layer!r} is health or restricted data: role {role!r} receives its protected "
        "counts only (/v1/counts), not emerging hot spot categories, Gi* or trends, which are "
        "made from the exact counts of every unit and step (the rule /v1/hotspots applies "
        "to Gi*)")


def emerging_collection(store: Store, req: CountsRequest, opts: EmergingOptions, *,
                        role: str, actor: str | None = None) -> dict[str, Any]:
    """Every unit of the study area with its emerging hot spot category, as GeoJSON.

    Properties per unit: ``unit_id``, ``label``, ``category`` (e.g. ``new_hot``),
    ``pattern`` (ArcGIS's name, e.g. "New Hot Spot"), ``code`` (+1..+8 hot,
    -1..-8 cold, 0; with ``scheme="sfhotspot"`` sfhotspot's classes and codes), ``trend_z``, ``trend_p``, ``trend_tau`` (Mann-Kendall of the
    unit's Gi* z series), ``hot_steps``, ``cold_steps``, ``bins`` (per step: +1
    significant hot, -1 cold, 0), ``count`` (all steps) and ``counts`` (per step).
    ``parameters`` adds ``step``, ``steps``, ``step_labels``, ``step_reason``,
    ``cube_shape``, ``alpha``, ``correction``, ``permutations``, ``seed``,
    ``time_steps``, ``neighbours``, ``category_counts`` and the Gi* run's ``gi_*``.
    """
    if needs_small_number_suppression(role, [req.layer]):
        _refuse(role, req.layer)
    uc = unit_counts(store, req, role=role, actor=actor)
    ev = uc.events
    cube = build_cube(uc.index, ev["time"].to_numpy(), ev["time_precision"].to_numpy(dtype=object),
                      len(uc.unit_ids), step=opts.step, start=req.window.start,
                      end=req.window.end)
    w, neighbours = _weights(uc, opts.k)
    res = emerging_hot_spots(cube.counts, w, time_steps=opts.time_steps, alpha=opts.alpha,
                             correction=opts.correction, permutations=opts.permutations,
                             seed=opts.resolved_seed(), scheme=opts.scheme)
    names = PATTERN_NAMES if opts.scheme == "arcgis" else SF_NAMES
    bins = res.hot.astype(np.int8) - res.cold.astype(np.int8)
    props: list[dict[str, Any]] = []
    for i, (u, lab) in enumerate(zip(uc.unit_ids, uc.labels, strict=True)):
        cat = str(res.category[i])
        props.append({
            "unit_id": str(u), "label": lab, "category": cat, "pattern": names[cat],
            "code": int(res.code[i]), "trend_z": _f(res.trend_z[i]), "trend_p": _f(res.trend_p[i]),
            "trend_tau": _f(res.trend_tau[i]), "hot_steps": int(res.hot[i].sum()),
            "cold_steps": int(res.cold[i].sum()), "bins": bins[i].tolist(),
            "count": disclosure.shown_counts(role, req.layer, [cube.counts[i].sum()])[0],
            "counts": disclosure.shown_counts(role, req.layer, cube.counts[i]),
        })
    params: dict[str, Any] = {**uc.parameters}
    params.update({
        "method": "emerging", "neighbours": neighbours, "weights": "binary",
        "step": cube.step, "steps": cube.shape[1], "step_labels": cube.labels,
        "step_reason": cube.parameters["step_reason"],
        "step_alignment": cube.parameters["step_alignment"],
        "span_start": cube.parameters["span_start"],
        "span_end_exclusive": cube.parameters["span_end_exclusive"],
        "time_precision": cube.parameters["time_precision"],
        "events_in_cube": disclosure.shown_total(role, (req.layer,),
                                                 cube.parameters["events_counted"]),
        "events_outside_steps": disclosure.shown_total(role, (req.layer,),
                                                       cube.parameters["events_outside_steps"]),
        "p_values": "two-sided",
    })
    params.update(res.parameters)
    warnings = list(uc.warnings) + list(cube.warnings) + list(res.warnings)
    return feature_collection(geometry_features(uc.units.geometry.to_numpy(), props,
                                                ids=[str(u) for u in uc.unit_ids]),
                              parameters=params, warnings=warnings)


def category_summary(fc: dict[str, Any]) -> str:
    """"N new hot, M persistent hot, ..." of the categories present (no pattern last)."""
    counts = fc["parameters"]["category_counts"]
    names = SF_NAMES if fc["parameters"].get("scheme") == "sfhotspot" else PATTERN_NAMES
    parts = [f"{n} {names[c].lower()}{'' if n == 1 else 's'}"
             for c, n in counts.items() if n and c not in ("no_pattern", "mixed")]
    if counts.get("mixed"):
        parts.append(f"{counts['mixed']} mixed hot/coldspot")
    parts.append(f"{counts.get('no_pattern', 0)} no pattern")
    return ", ".join(parts)


def _f(v: Any) -> float | None:
    v = float(v)
    return None if not np.isfinite(v) else v


def demo_emerging(store: Store, out_dir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Emerging hot spots on the demo town, for ``remap demo`` to call.

    Two runs over the town (the beats as study area): overdose call-outs
    (``ambulance``, day precision: the step is chosen from the span) on 500 m
    squares, and Drugs offences (``crime``, police.uk-like month precision:
    monthly steps) on H3 resolution-9 cells. (On the 24 beats themselves too few
    units make every neighbourhood ordinary: no pattern.) Writes
    ``emerging_<layer>.geojson`` and ``.html`` (the map in ArcGIS's emerging
    colours) into ``out_dir`` and returns their paths and the category counts.
    """
    from service.render.emerging_layer import emerging_map_html

    out: dict[str, Any] = {}
    runs = (("ambulance", (), "grid:500"), ("crime", ("Drugs",), "h3:9"))
    for layer, cats, unit in runs:
        req = CountsRequest.parse(layer=layer, categories=cats, unit=unit, area="boundary:beats")
        opts = EmergingOptions(seed=20181001)
        fc = emerging_collection(store, req, opts, role="analyst", actor="demo")
        geo = out_dir / f"emerging_{layer}.geojson"
        geo.write_text(json.dumps(fc, default=str), encoding="utf-8")
        html = out_dir / f"emerging_{layer}.html"
        html.write_text(emerging_map_html(fc, title=f"remap: emerging hot spots, {layer}"
                                          + (f" ({', '.join(cats)})" if cats else "")
                                          + f" by {unit}"), encoding="utf-8")
        p = fc["parameters"]
        say(f"  emerging hot spots, {layer}{' (' + ', '.join(cats) + ')' if cats else ''} on "
            f"{unit} ({p['steps']} {p['step']} steps, {p['step_labels'][0]}..{p['step_labels'][-1]}, "
            f"seed {p['seed']}): {category_summary(fc)}: {html}")
        out[layer] = {"geojson": str(geo), "html": str(html), "unit": unit, "step": p["step"],
                      "steps": p["steps"], "category_counts": p["category_counts"]}
    return out
