"""Decide what a before/after evaluation shows: a verdict code, its caveats and the tests.

The verdict rests on two separate Poisson tests, as Wheeler & Ratcliffe
(2018) recommend reporting them: the **local effect** (target against its
control, ΔT − ΔCt) and the **displacement effect** (buffer against its
control, ΔD − ΔCd), with the WDQ (Bowers & Johnson 2003) for their balance.
The total WDD alone is not used to decide: noise in the buffer can hide a
real reduction in the target.

This module decides and writes no prose: :func:`decide` returns codes and
keys (:data:`VERDICT_CODES`, :data:`CAVEAT_KEYS`, :data:`DATA_CAVEAT_KEYS`,
:data:`BUFFER_CODES`, :data:`INSUFFICIENT_CODES`) and the numbers behind
them; :mod:`service.render.sentences` says it in English. See
:func:`decide` for the decision table.

References
----------
Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement
    and diffusion of benefit effects of crime prevention activity. *Journal of
    Quantitative Criminology* 19(3), 275-301.
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Final

from spatial.errors import ParameterError
from spatial.evaluation.count_table import SMALL_COUNT, CountTable
from spatial.evaluation.measures import (
    Measure,
    buffer_displacement_measure,
    success_measure,
    total_net_effect,
    wdq,
)
from spatial.evaluation.wdd import EffectTest, displacement_effect, local_effect, wdd

VERDICT_CODES: Final = (
    "insufficient_data",
    "no_significant_change",
    "reduction_no_displacement",
    "reduction_with_diffusion",
    "reduction_with_displacement",
    "displacement_exceeds_reduction",
    "increase",
)

#: Why a verdict is ``insufficient_data``: too few target events (row 1 of
#: the decision table) or a control with no events at all (row 2).
INSUFFICIENT_CODES: Final = ("too_few_events", "no_control_events")

#: What the displacement (buffer) test found: a significant rise or fall
#: relative to the buffer's control, no significant change, or no test
#: possible (no events in the buffer or its control).
BUFFER_CODES: Final = ("rose", "fell", "no_change", "untested")

#: Standard caveats a caller may pass by key. Any other string is free text.
CAVEAT_KEYS: Final = (
    "snapped_locations",
    "month_precision",
    "partial_intelligence",
    "concurrent_operations",
    "output_layer",
)

#: Caveats the data imply, in the order they are added:
#: ``small_counts`` -- some cell is below :data:`SMALL_COUNT`;
#: ``trend_bias`` -- a shared multiplicative trend (:func:`trend_bias`)
#: reaches half the local effect's SE;
#: ``small_buffer`` -- a reduction, but the buffer holds fewer events than
#: the verdict's floor, too few to rule out displacement.
DATA_CAVEAT_KEYS: Final = ("small_counts", "trend_bias", "small_buffer")


def minimum_events(alpha: float = 0.05) -> int:
    r"""Fewest target events (before + after) at which a halving can reach significance.

    Take the most favourable case, a control with no noise at all. A target
    that halves from T_b to T_b/2 has local effect −T_b/2 and variance at
    least T_b + T_b/2 = n, the before + after total; so −T_b/2 = −n/3 and

    .. math:: |z| = \frac{n/3}{\sqrt{n}} = \frac{\sqrt n}{3}
              \ge z_{1-\alpha/2} \iff n \ge 9\,z_{1-\alpha/2}^2 .

    At α = 0.05: 9 × 1.95996² = 34.57, so **35**. Below that not even an
    observed halving can be told apart from chance, whatever the control
    does; a real noisy control only raises the bar. (To *detect* a true
    halving 80 % of the time needs about 9·(z_{1−α/2} + z_{0.8})² ≈ 71.)
    """
    if not (0 < alpha < 1):
        raise ParameterError("alpha", f"must be strictly between 0 and 1, got {alpha!r}")
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    return math.ceil(9.0 * z * z - 1e-9)


def trend_bias(table: CountTable) -> float | None:
    r"""Local effect a shared *multiplicative* trend would produce with no real effect.

    The WDD assumes changes add. If instead every area's rate is multiplied
    by the control's ratio r = (C_a/w)/(C_b/w), the local effect is expected
    to be (r − 1)(T_b/w − C_b/w), not 0, whenever target and control start
    from different levels. ``None`` when the control before count is 0.
    The verdict adds a caveat when this reaches half the local effect's SE.
    """
    cb = table.count("control", "before") / table.weight("control", "before")
    if cb == 0:
        return None
    r = table.count("control", "after") / table.weight("control", "after") / cb
    tb = table.count("target", "before") / table.weight("target", "before")
    return (r - 1.0) * (tb - cb)


@dataclass(frozen=True)
class Verdict:
    """What an evaluation shows, as codes: no sentence (see :mod:`service.render.sentences`).

    Attributes
    ----------
    code : str
        One of :data:`VERDICT_CODES`.
    insufficient : str or None
        One of :data:`INSUFFICIENT_CODES` when ``code`` is
        ``insufficient_data``, else ``None``.
    buffer : str or None
        One of :data:`BUFFER_CODES`; ``None`` when the data are insufficient.
    caveats : tuple of str
        The caller's caveats, as given: keys of :data:`CAVEAT_KEYS` or free text.
    data_caveats : tuple of str
        Keys of :data:`DATA_CAVEAT_KEYS` that the data imply, in order.
    tests : dict
        Every measure as a dict, plus ``alpha``, ``min_count``,
        ``target_total`` and (when the data suffice)
        ``multiplicative_trend_bias``.
    """

    code: str
    insufficient: str | None
    buffer: str | None
    caveats: tuple[str, ...]
    data_caveats: tuple[str, ...]
    tests: dict[str, Any] = field(default_factory=dict)

    @property
    def caveat_keys(self) -> tuple[str, ...]:
        """Every caveat that applies: the caller's, then the data-implied keys."""
        return self.caveats + self.data_caveats

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "insufficient": self.insufficient, "buffer": self.buffer,
                "caveats": list(self.caveats), "data_caveats": list(self.data_caveats),
                "tests": self.tests}


def _check_inputs(table: CountTable, alpha: float, min_count: int | None,
                  caveats: Sequence[str]) -> tuple[int, tuple[str, ...]]:
    """The verdict's floor on target events and the caller's caveats, checked."""
    if not isinstance(table, CountTable):
        raise ParameterError("table", "must be a CountTable")
    if not (0 < alpha < 1):
        raise ParameterError("alpha", f"must be strictly between 0 and 1, got {alpha!r}")
    floor = minimum_events(alpha) if min_count is None else int(min_count)
    if floor < 0:
        raise ParameterError("min_count", f"must be >= 0, got {min_count!r}")
    for c in caveats:
        if not isinstance(c, str) or not c.strip():
            raise ParameterError("caveats", f"each caveat must be a non-empty string, got {c!r}")
    return floor, tuple(caveats)


def _tests(table: CountTable, alpha: float, floor: int,
           loc: EffectTest, dis: EffectTest, quotient: Measure) -> dict[str, Any]:
    return {
        "alpha": alpha,
        "min_count": floor,
        "target_total": table.total("target"),
        "local_effect": loc.as_dict(),
        "displacement_effect": dis.as_dict(),
        "wdd": wdd(table, alpha).as_dict(),
        "success_measure": success_measure(table).as_dict(),
        "buffer_displacement_measure": buffer_displacement_measure(table).as_dict(),
        "wdq": quotient.as_dict(),
        "total_net_effect": total_net_effect(table).as_dict(),
    }


def _buffer_code(dis: EffectTest) -> str:
    if dis.p_value is None:
        return "untested"
    return {1: "rose", -1: "fell"}.get(dis.direction, "no_change")


def _reduction_code(table: CountTable, loc: EffectTest, dis: EffectTest,
                    quotient: Measure) -> str:
    """Rows 3-6 of the decision table: the local test found a significant reduction."""
    if dis.direction > 0:
        # compare events, not densities: undo the area weights (time weights are common)
        exceeds = ((quotient.value is not None and quotient.value < -1)
                   or dis.estimate * table.area("buffer") >= abs(loc.estimate)
                   * table.area("target"))
        return "displacement_exceeds_reduction" if exceeds else "reduction_with_displacement"
    if dis.direction < 0:
        return "reduction_with_diffusion"
    return "reduction_no_displacement"


def _small_cells(table: CountTable) -> bool:
    cells = [table.count(area, period) for area in ("target", "buffer", "control")
             for period in ("before", "after")]
    if table.has_buffer_control:
        cells += [table.count("buffer_control", p) for p in ("before", "after")]
    return min(cells) < SMALL_COUNT


def decide(table: CountTable, *, alpha: float = 0.05, min_count: int | None = None,
           caveats: Sequence[str] = ()) -> Verdict:
    """Decide what a before/after evaluation shows.

    Decision table (first matching row wins; L = local effect test, D =
    displacement effect test, both two-sided at ``alpha``):

    ===  =====================================================  ==================================
    #    condition                                              code
    ===  =====================================================  ==================================
    1    target before + after < ``min_count``                  ``insufficient_data``
    2    control recorded nothing in either period              ``insufficient_data``
    3    L significantly < 0 and D significantly > 0 and        ``displacement_exceeds_reduction``
         (WDQ < −1 or D·a_B ≥ |L|·a_T)
    4    L significantly < 0 and D significantly > 0            ``reduction_with_displacement``
    5    L significantly < 0 and D significantly < 0            ``reduction_with_diffusion``
    6    L significantly < 0 (D not significant / untestable)   ``reduction_no_displacement``
    7    L significantly > 0                                    ``increase``
    8    otherwise                                              ``no_significant_change``
    ===  =====================================================  ==================================

    In row 3, a_T and a_B are the target and buffer areas when the table has
    area weights (1 otherwise), so the buffer's rise and the target's fall
    are compared as numbers of events, not densities.

    Every claim of a change needs the local test to be significant, so when
    nothing happened anywhere a change is claimed in about α of evaluations
    (the buffer test only qualifies a claim, it never makes one). A
    significant buffer change without a significant target change is
    recorded in ``buffer`` for ``no_significant_change`` but not claimed as
    displacement.

    ``min_count`` defaults to :func:`minimum_events` (35 at α = 0.05): with
    fewer target events, even a halving cannot reach significance even
    against a noiseless control, so any verdict would be printing noise.

    Parameters
    ----------
    table : CountTable
        Counts (and weights) for target, buffer, control (and buffer control).
    alpha : float
        Two-sided significance level of both tests.
    min_count : int, optional
        Override of the minimum target before + after total.
    caveats : sequence of str
        Keys of :data:`CAVEAT_KEYS` or free text, kept as given. Caveats the
        data imply (counts under :data:`SMALL_COUNT`, a buffer too small to
        rule out displacement, a shared trend the additive test may misread
        -- see :func:`trend_bias`) are added as :data:`DATA_CAVEAT_KEYS`.

    Returns
    -------
    Verdict
        ``code``, ``insufficient``, ``buffer``, ``caveats``, ``data_caveats``
        and ``tests`` (every measure as a dict).
    """
    floor, given = _check_inputs(table, alpha, min_count, caveats)

    loc = local_effect(table, alpha)
    dis = displacement_effect(table, alpha)
    quotient = wdq(table)
    tests = _tests(table, alpha, floor, loc, dis, quotient)
    # rows 1-2: insufficient data
    if table.total("target") < floor:
        return Verdict("insufficient_data", "too_few_events", None, given, (), tests)
    if table.total("control") == 0:
        return Verdict("insufficient_data", "no_control_events", None, given, (), tests)

    implied = ["small_counts"] if _small_cells(table) else []
    bias = trend_bias(table)
    tests["multiplicative_trend_bias"] = bias
    if bias is not None and loc.se > 0 and abs(bias) >= 0.5 * loc.se:
        implied.append("trend_bias")
    if loc.direction < 0:
        if 0 < table.total("buffer") < floor:
            implied.append("small_buffer")
        code = _reduction_code(table, loc, dis, quotient)
    elif loc.direction > 0:
        code = "increase"
    else:
        code = "no_significant_change"
    return Verdict(code, None, _buffer_code(dis), given, tuple(implied), tests)
