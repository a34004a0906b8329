"""Evaluate an operation: every measure, per layer and category, as a typed result.

Pure functions: no I/O, no web, no database. The service
(:mod:`service.app.operations`) loads events and hands them here as arrays,
and words the result (:mod:`service.render.operation_report`).

References
----------
Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement
    and diffusion of benefit effects of crime prevention activity. *Journal of
    Quantitative Criminology* 19(3), 275-301.
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11.
Andresen, M. A. (2009). Testing for similarity in area-based spatial
    patterns: a nonparametric Monte Carlo approach. *Applied Geography* 29(3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.errors import ParameterError
from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.baseline import (
    apply_locked,
    baseline_snapshot,
    compare_baseline,
    locked_cells,
)
from spatial.evaluation.cells import (
    cell_change,
    cell_counts,
    cell_index,
    density_change,
    sppt_units,
)
from spatial.evaluation.count_table import AREA_NAMES, SMALL_COUNT, CountTable
from spatial.evaluation.counting import (
    EventArrays,
    LayerCounts,
    MeasuredLayer,
    Placement,
    count_table,
    place_events,
)
from spatial.evaluation.harm_index import (
    HarmSection,
    category_weights,
    harm_section,
    load_harm_table,
    weightable_layer,
)
from spatial.evaluation.options import EvaluationOptions
from spatial.evaluation.overdose_watch import overdose_watch
from spatial.evaluation.planning import plan_layer
from spatial.evaluation.results import (
    BaselineLock,
    HarmWeighted,
    LayerEvaluation,
    Note,
    OperationEvaluation,
    RingEffect,
)
from spatial.evaluation.rings import distance_decay
from spatial.evaluation.sites import SiteRecords, classify_sites
from spatial.evaluation.time_context import time_context
from spatial.evaluation.verdict import Verdict, decide, minimum_events
from spatial.evaluation.wdd import EffectTest, displacement_effect, harm_weighted_wdd, wdd
from spatial.evaluation.windows import Windows
from spatial.place import units as unitsmod

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Measured:
    """Events placed and counted as they are stored now: where an evaluation and a
    baseline lock both start."""

    placed: Placement
    counts: dict[str, LayerCounts]
    units: unitsmod.UnitSet | None       # H3 cells of the SPPT (None: too many, or none)
    cells: dict[str, dict[str, IntArray]]
    watch: dict[str, Any]
    sppt_error: str | None

    def snapshot(self) -> dict[str, Any]:
        """The :func:`~spatial.evaluation.baseline.baseline_snapshot` of these counts."""
        ids = None if self.units is None else list(self.units.ids)
        return baseline_snapshot(self.counts, self.cells, ids, self.watch)


def measure(events: EventArrays, areas: OperationAreas, windows: Windows,
            specs: Sequence[MeasuredLayer], options: EvaluationOptions) -> Measured:
    """Place the events, count them per layer, area, window and SPPT cell, and watch overdoses."""
    placed = place_events(events, areas, windows)
    counts = count_table(events, areas, windows, specs, placed=placed)
    units: unitsmod.UnitSet | None = None
    error = None
    cells: dict[str, dict[str, IntArray]] = {}
    try:
        units = sppt_units(areas, options.h3_resolution)
    except ParameterError as exc:
        error = exc.message
    if units is not None:
        located = cell_index(events, placed, units)
        for key, lc in counts.items():
            cells[key] = cell_counts(events, placed, units, lc.spec, located=located)
    watch = overdose_watch(events, placed, windows, options.overdose_layer, alpha=options.alpha)
    return Measured(placed, counts, units, cells, watch, error)


def current_baseline(events: EventArrays, areas: OperationAreas, windows: Windows,
                     specs: Sequence[MeasuredLayer], *,
                     options: EvaluationOptions | None = None) -> dict[str, Any]:
    """The :func:`~spatial.evaluation.baseline.baseline_snapshot` of the events as they
    are now (what a lock freezes)."""
    return measure(events, areas, windows, specs, options or EvaluationOptions()).snapshot()


def evaluate_operation(events: EventArrays, areas: OperationAreas, windows: Windows,
                       specs: Sequence[MeasuredLayer], *,
                       options: EvaluationOptions | None = None,
                       sites: SiteRecords | None = None,
                       locked: Mapping[str, Any] | None = None,
                       caveats: Sequence[str] = (),
                       coverage: Mapping[str, date | None] | None = None
                       ) -> OperationEvaluation:
    """Evaluate an operation: every measure, per layer and category.

    Per layer/category: the count table (target, buffer, control [, buffer
    control] × before, during, after); SM, BDM, WDQ (only when SM < 0,
    otherwise the reason), TNE; the local effect, displacement effect and WDD
    with SE, z, two-sided p and CI (Wheeler & Ratcliffe 2018), time-weighted
    by the effective window lengths when they differ and area-weighted on
    request; the verdict code (:func:`spatial.evaluation.verdict.decide`);
    each buffer ring's displacement effect; distance-decay rings with
    intervals; the SPPT over H3 cells of target + buffer (before vs after);
    the dual kernel density difference; planning figures. Across layers: the
    harm-weighted WDD (layers with a harm weight), the overdose watch and the
    dealing-site re-map; with ``options.harm_index`` (CCHI, ONS CSS or a force's
    table), harm per area and window and the index's harm-weighted WDD
    (:mod:`spatial.evaluation.harm_index`).
    Per layer again, the time context
    (:func:`spatial.evaluation.time_context.time_context`): the same windows
    a year earlier, a 24-month series, seasonally expected counts, a placebo
    evaluation, regression to the mean and overdispersion; events outside the
    windows are used only there.

    Nothing divides by zero: a measure that cannot be computed is ``None``
    with its reason, and the layer's ``notes`` say so.

    Parameters
    ----------
    events : EventArrays
        Events of the evaluated layers (and the overdose layer).
    areas : OperationAreas
        Must have a control.
    windows : Windows
    specs : sequence of MeasuredLayer
    options : EvaluationOptions, optional
    sites : SiteRecords, optional
        Dealing-site records for the re-map.
    locked : mapping, optional
        A :func:`~spatial.evaluation.baseline.baseline_snapshot` frozen when the
        operation started: its before counts are used, and differences from the
        current counts are reported in ``baseline_lock.changes``.
    caveats : sequence of str
        Extra caveats for every verdict (e.g. ``"concurrent_operations"``).
    coverage : mapping of layer name to date, optional
        First day the store holds an event of each layer, for the time
        context (default: the first event of each layer in ``events``).

    Returns
    -------
    OperationEvaluation
    """
    opts = options or EvaluationOptions()
    if areas.control is None:
        raise ParameterError("control", "an evaluation needs a control area")
    if not specs:
        raise ParameterError("layers", "give at least one layer/category to evaluate")
    context_events = events
    # the measures see the windows' span only, as before the time context loaded more
    events = _within(events, windows)
    m = measure(events, areas, windows, specs, opts)
    notes = [Note("area", {"text": w}) for w in areas.warnings]
    if any(lc.month_precision for lc in m.counts.values()):
        notes.append(Note("month_windows"))
    if m.sppt_error is not None:
        notes.append(Note("no_sppt", {"reason": m.sppt_error}))
    counts, cells, watch, lock = _use_lock(m, locked, events, windows, opts, notes)

    time_weighted = any(lc.lengths["before"] != lc.lengths["after"] for lc in counts.values())
    layers = []
    harm: dict[str, tuple[EffectTest, float]] = {}
    for key, lc in counts.items():
        dens = density_change(events, m.placed, areas, lc.spec, lc.lengths,
                              cell_size_m=opts.kde_cell_m, bandwidth_m=opts.kde_bandwidth_m,
                              include_surface=opts.include_surface)
        layer = _evaluate_layer(lc, areas, opts, time_weighted=time_weighted, caveats=caveats,
                                cells=cells.get(key), units=m.units, density_result=dens,
                                locked=locked is not None)
        layers.append(layer)
        if lc.spec.harm_weight is not None:
            if layer.wdd is None:
                notes.append(Note("harm_without_wdd", {"key": key}))
            else:
                harm[key] = (layer.wdd, lc.spec.harm_weight)
    watch = _watch_beside_verdict(watch, layers, opts.overdose_layer)
    return OperationEvaluation(
        areas=areas, windows=windows, options=opts, layers=tuple(layers),
        time_weighted=time_weighted,
        verdict_min_count=(minimum_events(opts.alpha) if opts.min_count is None
                           else opts.min_count),
        sppt_cells=None if m.units is None else len(m.units.ids),
        harm_weighted=_harm_weighted(harm, counts, opts.alpha), overdose_watch=watch,
        dealing_sites=None if sites is None else classify_sites(sites, areas, windows),
        baseline_lock=lock, notes=tuple(notes),
        harm=_harm(events, m, areas, windows, specs, opts, locked, time_weighted),
        time_context=time_context(context_events, areas, windows, counts, options=opts,
                                  time_weighted=time_weighted, coverage=coverage))


def _harm(events: EventArrays, m: Measured, areas: OperationAreas, windows: Windows,
          specs: Sequence[MeasuredLayer], opts: EvaluationOptions,
          locked: Mapping[str, Any] | None, time_weighted: bool) -> HarmSection | None:
    """The harm section (:func:`spatial.evaluation.harm_index.harm_section`): every single
    category of the evaluated weightable layers ('*' and '+' specs split into their
    categories), counted like the layers and with the lock's before counts."""
    if opts.harm_index is None:
        return None
    table = load_harm_table(opts.harm_index)
    refused: dict[str, str] = {}
    wanted: dict[str, MeasuredLayer] = {}
    for spec in specs:
        ok, why = weightable_layer(spec.layer)
        if not ok:
            refused[spec.layer] = str(why)
            continue
        cats = spec.categories or tuple(sorted(map(str, pd.unique(
            events.category[events.layer == spec.layer]))))
        for cat in cats:
            wanted.setdefault(f"{spec.layer}/{cat}", MeasuredLayer(spec.layer, cat, spec.role))
    counts = count_table(events, areas, windows, list(wanted.values()), placed=m.placed)
    weighted = category_weights(table, [k.split("/", 1)[1] for k in counts],
                                include_police_generated=opts.harm_include_police_generated)
    notes = []
    if locked is not None:
        for key, lc in counts.items():
            lk = locked.get("layers", {}).get(key)
            if lk is None and key.split("/", 1)[1] in weighted.weights:
                notes.append(f"{key} was not in the baseline lock: its current before counts "
                             "are in the harm figures")
            elif lk is not None:
                counts[key] = apply_locked(lc, lk)
    area_km2 = ({a: areas.area_km2(a) for a in AREA_NAMES} if opts.area_weights else None)
    tables = {k: lc.table(time_weighted=time_weighted, area_km2=area_km2,
                          has_buffer_control=areas.buffer_control is not None)
              for k, lc in counts.items()}
    lengths = (next(iter(counts.values())).lengths if counts
               else windows.lengths(False))
    return harm_section(table, {k: lc.areas for k, lc in counts.items()}, tables, lengths,
                        alpha=opts.alpha,
                        include_police_generated=opts.harm_include_police_generated,
                        refused=refused, notes=notes)


def _within(events: EventArrays, windows: Windows) -> EventArrays:
    """The events from the before window's first day to the after window's last."""
    lo, hi = windows.before.start64, windows.after.end64
    t = np.asarray(events.time, dtype="datetime64[ns]")
    keep = (t >= lo) & (t < hi)
    if keep.all():
        return events
    at = np.flatnonzero(keep)
    if at.size and at[-1] - at[0] + 1 == at.size:
        # one run of events (a report's: the earlier months come first): views, no copies
        return events.take(slice(int(at[0]), int(at[-1]) + 1))
    return events.take(at)


def _watch_beside_verdict(watch: Mapping[str, Any], layers: Sequence[LayerEvaluation],
                          overdose_layer: str) -> dict[str, Any]:
    """The overdose watch with the overdose layer's own verdict beside it, when evaluated.

    Both rest on the same net ratio test (target + buffer against the
    control, after window); the watch reads it at α, the verdict after Holm's
    correction over its three tests. ``agrees`` says whether they reach the
    same answer on a rise, so the report can say how they differ when not.
    """
    out = dict(watch)
    for layer in layers:
        spec = layer.counts.spec
        if spec.layer != overdose_layer or spec.category != "*" or layer.verdict is None:
            continue
        net = layer.verdict.tests["net_ratio"]
        out["layer_verdict"] = {"key": spec.key, "code": layer.verdict.code, "net_ratio": net}
        after = (out.get("tests") or {}).get("controlled_after")
        if out.get("available") and after:
            out["agrees"] = (after.get("direction") == 1) == (net.get("direction") == 1)
        break
    return out


def _use_lock(m: Measured, locked: Mapping[str, Any] | None, events: EventArrays,
              windows: Windows, opts: EvaluationOptions, notes: list[Note]
              ) -> tuple[dict[str, LayerCounts], dict[str, dict[str, IntArray]],
                         dict[str, Any], BaselineLock]:
    """Counts, cells and overdose watch with a lock's before counts in place of the current."""
    if locked is None:
        return m.counts, m.cells, m.watch, BaselineLock(locked=False)
    current = m.snapshot()
    watch = m.watch
    if "overdose" in locked:
        watch = overdose_watch(events, m.placed, windows, opts.overdose_layer, alpha=opts.alpha,
                               locked_before=locked["overdose"])
    changes = compare_baseline(locked, current)
    counts, cells = dict(m.counts), dict(m.cells)
    for key, lc in m.counts.items():
        lk = locked.get("layers", {}).get(key)
        if lk is None:
            notes.append(Note("not_in_lock", {"key": key}))
            continue
        counts[key] = apply_locked(lc, lk)
        if m.units is not None and "cells" in lk:
            cells[key] = {"before": locked_cells(m.units, lk["cells"]),
                          "after": cells[key]["after"]}
    notes += [Note("baseline_changed", {"change": c}) for c in changes]
    return counts, cells, watch, BaselineLock(locked=True, changes=tuple(changes))


def _harm_weighted(harm: Mapping[str, tuple[EffectTest, float]],
                   counts: Mapping[str, LayerCounts], alpha: float) -> HarmWeighted:
    if not harm:
        return HarmWeighted(result=None)
    whole = {k.split("/")[0] for k in harm if k.endswith("/*")}
    double = len(harm) > 1 and bool(whole) and any(
        k.split("/")[0] in whole and not k.endswith("/*") for k in harm)
    return HarmWeighted(result=harm_weighted_wdd(harm, alpha), double_counted=double,
                        output_weighted=any(counts[k].spec.role == "output" for k in harm))


def _layer_caveats(lc: LayerCounts, extra: Sequence[str]) -> tuple[str, ...]:
    keys: list[str] = []
    if lc.spec.role == "output":
        keys.append("output_layer")
    if lc.month_precision:
        keys.append("month_precision")
    if "snapped" in lc.location_precisions:
        keys.append("snapped_locations")
    if "rounded" in lc.location_precisions:
        keys.append("rounded_locations")
    if lc.spec.layer in ("dealing_site", "community_report"):
        keys.append("partial_intelligence")
    return (*keys, *extra)


def _measure_notes(tests: Mapping[str, Any]) -> list[Note]:
    notes = []
    for name in ("success_measure", "buffer_displacement_measure", "wdq", "total_net_effect"):
        if tests[name].get("value") is None:
            notes.append(Note("measure_not_computed",
                              {"measure": name, "reason": tests[name].get("reason")}))
    for name in ("local_effect", "displacement_effect", "wdd"):
        if tests[name].get("reason"):
            notes.append(Note("effect_not_tested",
                              {"effect": name, "reason": tests[name]["reason"]}))
    return notes


def _ring_effects(lc: LayerCounts, areas: OperationAreas, table: CountTable,
                  alpha: float) -> tuple[RingEffect, ...]:
    """Each buffer ring as its own displacement area against the control."""
    rings = []
    for k, r in enumerate(lc.rings):
        edges = areas.buffer_edges_m
        kw = table.as_dict()
        kw.update(buffer_before=r["before"], buffer_after=r["after"],
                  buffer_during=(r["during"] if kw.get("buffer_during") is not None else None))
        if kw.get("buffer_area") is not None:
            kw["buffer_area"] = float(areas.buffer_rings[k].area) / 1e6
        rings.append(RingEffect(inner_m=edges[k] if edges else None,
                                outer_m=edges[k + 1] if edges else None, counts=r,
                                displacement_effect=displacement_effect(CountTable(**kw), alpha)))
    return tuple(rings)


def _evaluate_layer(lc: LayerCounts, areas: OperationAreas, options: EvaluationOptions, *,
                    time_weighted: bool, caveats: Sequence[str],
                    cells: Mapping[str, IntArray] | None, units: unitsmod.UnitSet | None,
                    density_result: Mapping[str, Any], locked: bool) -> LayerEvaluation:
    alpha = options.alpha
    has_bc = areas.buffer_control is not None
    notes = [Note("count_note", {"text": n}) for n in lc.notes]
    area_km2 = ({a: areas.area_km2(a) for a in AREA_NAMES} if options.area_weights else None)
    table, reason = lc.table(time_weighted=time_weighted, area_km2=area_km2,
                             has_buffer_control=has_bc)
    code, tests, total, rings = "insufficient_data", None, None, None
    verdict: Verdict | None = None
    if table is None:
        notes.append(Note("no_measures", {"reason": reason}))
    else:
        verdict = decide(table, alpha=alpha, min_count=options.min_count,
                         caveats=_layer_caveats(lc, caveats), role=lc.spec.role,
                         displacement_size=options.displacement_size)
        code, tests = verdict.code, verdict.tests
        notes += _measure_notes(tests)
        total = wdd(table, alpha)
        names = AREA_NAMES if has_bc else AREA_NAMES[:3]
        small = tuple((a, w, lc.count(a, w)) for a in names for w in ("before", "after")
                      if lc.count(a, w) < SMALL_COUNT)
        if small:
            notes.append(Note("small_counts", {"cells": small}))
        if code == "insufficient_data":
            notes.append(Note("too_few_for_verdict"))
        rings = _ring_effects(lc, areas, table, alpha)
    # distance decay on raw counts (the control ratio carries unequal windows)
    decay = distance_decay(lc.decay_before, lc.decay_after, list(areas.decay_edges_m),
                           lc.count("control", "before") if areas.control is not None else 0,
                           lc.count("control", "after") if areas.control is not None else 0,
                           alpha=alpha)
    change = (cell_change(units, cells["before"], cells["after"], alpha, options.h3_resolution)
              if cells is not None and units is not None else None)
    planning = plan_layer(lc, alpha=alpha, power=options.power,
                          reduction=options.planned_reduction, has_buffer_control=has_bc,
                          min_count=options.min_count)
    return LayerEvaluation(
        counts=lc, has_buffer_control=has_bc, table=table, reason=reason, verdict=verdict,
        verdict_code=code,
        measures=tests, caveats=_layer_caveats(lc, caveats), wdd=total, rings=rings,
        distance_decay=decay, sppt=change, density_change=density_result,
        density_uses_current_events=locked, planning=planning, notes=tuple(notes))
