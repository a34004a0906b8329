"""The displacement calculator: every measure of one count table, for analysts with counts.

Numbers, codes and tests only; :mod:`service.render.operation_report` words them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spatial.evaluation.count_table import AREA_NAMES, SMALL_COUNT, CountTable
from spatial.evaluation.verdict import DEFAULT_DISPLACEMENT_SIZE, Verdict
from spatial.evaluation.verdict import decide as decide_verdict
from spatial.evaluation.wdd import (
    EffectTest,
    displacement_effect,
    harm_weighted_wdd,
    local_effect,
    wdd,
)


@dataclass(frozen=True)
class DisplacementSummary:
    """Every displacement measure of one count table.

    Attributes
    ----------
    table : CountTable
    alpha : float
        Two-sided significance level of every test.
    harm_weight : float or None
        w of the harm-weighted WDD w·WDD (SE w·SE).
    min_count : int or None
        The verdict's floor as asked (``None``: the default).
    verdict : Verdict
        The decision (:func:`spatial.evaluation.verdict.decide`).
    verdict_code : str
        One of :data:`spatial.evaluation.verdict.VERDICT_CODES`.
    measures : dict
        The verdict's tests: SM, BDM, WDQ, TNE (value or ``None`` with the
        reason), the effects, ``min_count`` (the floor used) and more.
    wdd, local_effect, displacement_effect : EffectTest
    harm_weighted : EffectTest or None
    small_cells : tuple of (area, window)
        Before/after counts below :data:`SMALL_COUNT`.
    """

    table: CountTable
    alpha: float
    harm_weight: float | None
    min_count: int | None
    verdict: Verdict
    verdict_code: str
    measures: Mapping[str, Any]
    wdd: EffectTest
    local_effect: EffectTest
    displacement_effect: EffectTest
    harm_weighted: EffectTest | None
    small_cells: tuple[tuple[str, str], ...]


def displacement_summary(table: CountTable, *, alpha: float = 0.05,
                         harm_weight: float | None = None,
                         min_count: int | None = None, role: str = "outcome",
                         displacement_size: float = DEFAULT_DISPLACEMENT_SIZE
                         ) -> DisplacementSummary:
    """Every displacement measure of one count table, for analysts who already have counts.

    SM, BDM, WDQ and TNE (value or ``None`` with the reason), the WDD, local
    effect and displacement effect with SE, z, two-sided p and CI, the verdict
    code, and (with ``harm_weight`` w) the harm-weighted WDD w·WDD with SE
    w·SE. See :mod:`spatial.evaluation.wdd` for the formulas
    (Wheeler & Ratcliffe 2018; Bowers & Johnson 2003).
    """
    v = decide_verdict(table, alpha=alpha, min_count=min_count, role=role,
                       displacement_size=displacement_size)
    total = wdd(table, alpha)
    harm = None
    if harm_weight is not None:
        harm = harm_weighted_wdd({"table": (total, harm_weight)}, alpha).total
    names = AREA_NAMES if table.has_buffer_control else AREA_NAMES[:3]
    small = tuple((a, p) for a in names for p in ("before", "after")
                  if table.count(a, p) < SMALL_COUNT)
    return DisplacementSummary(
        table=table, alpha=alpha, harm_weight=harm_weight, min_count=min_count,
        verdict=v, verdict_code=v.code, measures=v.tests, wdd=total,
        local_effect=local_effect(table, alpha),
        displacement_effect=displacement_effect(table, alpha),
        harm_weighted=harm, small_cells=small)
