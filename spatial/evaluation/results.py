"""Typed results of an operation's evaluation: numbers, codes and tests, no sentences.

:func:`spatial.evaluation.evaluate.evaluate_operation` returns an
:class:`OperationEvaluation`; :mod:`service.render.operation_report` turns it
into the report the API and the CLI show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spatial.evaluation.areas import OperationAreas
from spatial.evaluation.cells import CellChange
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.counting import LayerCounts
from spatial.evaluation.harm_index import HarmSection
from spatial.evaluation.options import EvaluationOptions
from spatial.evaluation.rings import DistanceDecayResult
from spatial.evaluation.time_context import TimeContext
from spatial.evaluation.verdict import Verdict
from spatial.evaluation.wdd import EffectTest, HarmWeightedResult
from spatial.evaluation.windows import Windows


@dataclass(frozen=True)
class Note:
    """A warning as a code and its parameters (the service words it).

    Codes of a layer: ``count_note`` (``text``: a note of the count table),
    ``no_measures`` (``reason``), ``measure_not_computed`` (``measure``,
    ``reason``), ``effect_not_tested`` (``effect``, ``reason``),
    ``small_counts`` (``cells``: (area, window, count) triples),
    ``too_few_for_verdict``. Codes of the operation: ``area`` (``text``: a
    warning of :func:`~spatial.evaluation.areas.build_areas`),
    ``month_windows`` (the windows hold whole months), ``no_sppt``
    (``reason``), ``not_in_lock`` (``key``), ``baseline_changed``
    (``change``: an entry of :func:`~spatial.evaluation.baseline.compare_baseline`),
    ``harm_without_wdd`` (``key``).
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RingEffect:
    """One buffer ring tested as its own displacement area against the control."""

    inner_m: float | None
    outer_m: float | None
    counts: Mapping[str, int]          # before, during, after
    displacement_effect: EffectTest


@dataclass(frozen=True)
class LayerEvaluation:
    """Every measure of one layer/category.

    Attributes
    ----------
    counts : LayerCounts
        Counts per area and window (the locked before counts when locked).
    has_buffer_control : bool
    table : CountTable or None
        ``None`` when no table can be formed (``reason`` says why).
    reason : str or None
    verdict : Verdict or None
        The decision (:func:`spatial.evaluation.verdict.decide`); ``None``
        when there is no table.
    verdict_code : str
        ``insufficient_data`` when there is no table.
    measures : dict or None
        The verdict's tests (SM, BDM, WDQ, TNE, the effects, ``min_count``).
    caveats : tuple of str
        Caveat keys (or free text) for the verdict.
    wdd : EffectTest or None
        The total WDD, for the harm-weighted WDD.
    rings : tuple of RingEffect or None
        ``None`` when there is no table.
    distance_decay : DistanceDecayResult
        Measured from the target's edge, on raw counts.
    sppt : CellChange or None
    density_change : dict
        :func:`spatial.evaluation.cells.density_change`.
    density_uses_current_events : bool
        The density surfaces use the events as stored now, not a locked baseline.
    planning : dict
        :func:`spatial.evaluation.planning.plan_layer`.
    notes : tuple of Note
    """

    counts: LayerCounts
    has_buffer_control: bool
    table: CountTable | None
    reason: str | None
    verdict: Verdict | None
    verdict_code: str
    measures: Mapping[str, Any] | None
    caveats: tuple[str, ...]
    wdd: EffectTest | None
    rings: tuple[RingEffect, ...] | None
    distance_decay: DistanceDecayResult
    sppt: CellChange | None
    density_change: Mapping[str, Any]
    density_uses_current_events: bool
    planning: Mapping[str, Any]
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class HarmWeighted:
    """The harm-weighted WDD across layers, or ``None`` when no layer has a harm weight."""

    result: HarmWeightedResult | None
    double_counted: bool = False   # a layer's '*' and one of its categories both weighted
    output_weighted: bool = False  # an output layer carries a harm weight


@dataclass(frozen=True)
class BaselineLock:
    """Whether a locked baseline was used, and how the current before counts differ."""

    locked: bool
    changes: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class OperationEvaluation:
    """An operation's evaluation: per layer and across layers.

    Attributes
    ----------
    areas : OperationAreas
    windows : Windows
    options : EvaluationOptions
    layers : tuple of LayerEvaluation
    time_weighted : bool
        Before and after effective lengths differ for some layer, so counts
        are divided by them (effects in events per day).
    verdict_min_count : int
        The verdict's floor on target events.
    sppt_cells : int or None
        H3 cells of the SPPT (``None``: no SPPT).
    harm_weighted : HarmWeighted
    overdose_watch : dict
        :func:`spatial.evaluation.overdose_watch.overdose_watch`.
    dealing_sites : dict or None
        :func:`spatial.evaluation.sites.classify_sites`; ``None`` without records.
    baseline_lock : BaselineLock
    notes : tuple of Note
        Across layers, in order (may repeat; the report drops repeats).
    harm : HarmSection or None
        Harm on a standard scale (CCHI, CSS or a force's table) when
        ``options.harm_index`` is set.
    time_context : TimeContext or None
        The same windows a year earlier, the monthly series, seasonal
        expectation, placebo, regression to the mean and dispersion per layer
        (:func:`spatial.evaluation.time_context.time_context`).
    """

    areas: OperationAreas
    windows: Windows
    options: EvaluationOptions
    layers: tuple[LayerEvaluation, ...]
    time_weighted: bool
    verdict_min_count: int
    sppt_cells: int | None
    harm_weighted: HarmWeighted
    overdose_watch: Mapping[str, Any]
    dealing_sites: Mapping[str, Any] | None
    baseline_lock: BaselineLock
    notes: tuple[Note, ...]
    harm: HarmSection | None = None
    time_context: TimeContext | None = None

    @property
    def has_buffer_control(self) -> bool:
        return self.areas.buffer_control is not None
