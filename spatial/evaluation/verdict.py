"""Decide what a before/after evaluation shows: a verdict code, its caveats and the tests.

The verdict rests on three **ratio-of-rate-ratio** tests
(:mod:`spatial.evaluation.rate_ratios`): the local effect (target against
its control), the displacement effect (buffer against its control) and the
net effect (target + buffer against the control), two-sided, with Holm's
correction over the three. Ratios, not differences, because crime trends
multiply: with a shared ±20 % trend and a control four times the target's
size, the additive WDD (Wheeler & Ratcliffe 2018) calls a change in most
evaluations with no effect at all, while the ratio tests keep their level.
The WDD family (local and displacement effects, WDD, SM, BDM, WDQ, TNE;
Bowers & Johnson 2003) is computed and reported beside them, for comparison
with the published literature, but does not decide.

Every word of a verdict rests on a test: a reduction needs the local test;
"exceeds" needs the net test to show the whole area worse off; "no
displacement" needs a design able to detect a rise of a stated size in the
buffer (otherwise "displacement not detected", with the size it could have
detected); a significant rise in the buffer or in the whole area is a
``harm_signal``, never "no change"; and an *output* layer (recorded police
activity) gets activity words, never a reduction or increase of harm.

This module decides and writes no prose: :func:`decide` returns codes and
keys (:data:`VERDICT_CODES`, :data:`CAVEAT_KEYS`, :data:`DATA_CAVEAT_KEYS`,
:data:`BUFFER_CODES`, :data:`INSUFFICIENT_CODES`, :data:`HARM_SIGNALS`) and
the numbers behind them; :mod:`service.render.sentences` says it in English.
See :func:`decide` for the decision table.

References
----------
Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement
    and diffusion of benefit effects of crime prevention activity. *Journal of
    Quantitative Criminology* 19(3), 275-301.
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics* 6(2), 65-70.
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Final

from spatial.errors import ParameterError
from spatial.evaluation.count_table import SMALL_COUNT, CountTable
from spatial.evaluation.measures import (
    buffer_displacement_measure,
    success_measure,
    total_net_effect,
    wdq,
)
from spatial.evaluation.rate_ratios import (
    DetectableRise,
    RatioTest,
    detectable_fall,
    detectable_rise,
    holm,
    operation_ratio_tests,
)
from spatial.evaluation.wdd import displacement_effect, local_effect, wdd

VERDICT_CODES: Final = (
    "insufficient_data",
    "no_significant_change",
    "reduction_no_displacement",
    "reduction_displacement_not_detected",
    "reduction_with_diffusion",
    "reduction_with_displacement",
    "displacement_exceeds_reduction",
    "increase",
    "harm_signal",
    "activity_fell",
    "activity_rose",
    "activity_rose_nearby",
)

#: Codes of an *output* layer (recorded police activity, e.g. drug offences):
#: activity words, never a reduction or increase of harm.
OUTPUT_CODES: Final = ("insufficient_data", "no_significant_change", "activity_fell",
                       "activity_rose", "activity_rose_nearby")

#: Why a verdict is ``harm_signal`` (or ``activity_rose_nearby``): the buffer
#: rose significantly against its comparison, or the target and buffer
#: together rose significantly against the control (``net_rose``).
HARM_SIGNALS: Final = ("buffer_rose", "net_rose")

#: Why a verdict is ``insufficient_data``: too few target events (row 1 of
#: the decision table) or a control with no events at all (row 2).
INSUFFICIENT_CODES: Final = ("too_few_events", "no_control_events")

#: What the displacement (buffer) test found: a significant rise or fall
#: relative to the buffer's control, no significant change, or no test
#: possible (no events in the buffer or its control).
BUFFER_CODES: Final = ("rose", "fell", "no_change", "untested")

#: The verdict's layer roles: ``outcome`` (harm: crimes against victims,
#: call-outs) or ``output`` (police activity).
ROLES: Final = ("outcome", "output")

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
#: reaches half the additive local effect's SE, so the WDD (not the verdict,
#: which rests on ratio tests) may misread it;
#: ``small_buffer`` -- a reduction, but the buffer holds fewer events than
#: the verdict's floor.
DATA_CAVEAT_KEYS: Final = ("small_counts", "trend_bias", "small_buffer")

#: The smallest buffer rise worth detecting, as a fraction: "no displacement"
#: is said only when the design could detect a rise this large (power 0.8).
DEFAULT_DISPLACEMENT_SIZE: Final = 0.3


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
        One of :data:`VERDICT_CODES` (:data:`OUTPUT_CODES` for an output layer).
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
        Every measure as a dict (the additive WDD family and the ratio tests
        the verdict rests on), plus ``alpha``, ``min_count``,
        ``target_total``, ``correction``, ``displacement_size`` and
        ``detectable_rise``.
    role : str
        ``outcome`` or ``output`` (:data:`ROLES`).
    harm_signal : str or None
        One of :data:`HARM_SIGNALS` for ``harm_signal`` and
        ``activity_rose_nearby``; else ``None``.
    detectable_rise_pct : float or None
        Smallest buffer rise, per cent, the displacement test would detect
        with power 0.8 (``None``: no buffer test possible); set when the
        data suffice.
    detectable_fall_pct : float or None
        Smallest fall of the target, per cent, the local test would detect
        with power 0.8 at Holm's first-step level α/3 (``None``: not even a
        complete stop could be detected).
    """

    code: str
    insufficient: str | None
    buffer: str | None
    caveats: tuple[str, ...]
    data_caveats: tuple[str, ...]
    tests: dict[str, Any] = field(default_factory=dict)
    role: str = "outcome"
    harm_signal: str | None = None
    detectable_rise_pct: float | None = None
    detectable_fall_pct: float | None = None

    @property
    def caveat_keys(self) -> tuple[str, ...]:
        """Every caveat that applies: the caller's, then the data-implied keys."""
        return self.caveats + self.data_caveats

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "insufficient": self.insufficient, "buffer": self.buffer,
                "caveats": list(self.caveats), "data_caveats": list(self.data_caveats),
                "role": self.role, "harm_signal": self.harm_signal,
                "detectable_rise_pct": self.detectable_rise_pct,
                "detectable_fall_pct": self.detectable_fall_pct, "tests": self.tests}


def _check_inputs(table: CountTable, alpha: float, min_count: int | None,
                  caveats: Sequence[str], role: str,
                  displacement_size: float) -> tuple[int, tuple[str, ...]]:
    """The verdict's floor on target events and the caller's caveats, checked."""
    if not isinstance(table, CountTable):
        raise ParameterError("table", "must be a CountTable")
    if not (0 < alpha < 1):
        raise ParameterError("alpha", f"must be strictly between 0 and 1, got {alpha!r}")
    if role not in ROLES:
        raise ParameterError("role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    if not (math.isfinite(displacement_size) and displacement_size > 0):
        raise ParameterError("displacement_size",
                             f"must be a positive fraction, got {displacement_size!r}")
    floor = minimum_events(alpha) if min_count is None else int(min_count)
    if floor < 0:
        raise ParameterError("min_count", f"must be >= 0, got {min_count!r}")
    for c in caveats:
        if not isinstance(c, str) or not c.strip():
            raise ParameterError("caveats", f"each caveat must be a non-empty string, got {c!r}")
    return floor, tuple(caveats)


def _tests(table: CountTable, alpha: float, floor: int, ratios: dict[str, RatioTest],
           rise: DetectableRise, displacement_size: float) -> dict[str, Any]:
    return {
        "alpha": alpha,
        "min_count": floor,
        "target_total": table.total("target"),
        "decided_by": "ratio_of_rate_ratios",
        "correction": "holm",
        "displacement_size": displacement_size,
        "local_ratio": ratios["local"].as_dict(),
        "displacement_ratio": ratios["displacement"].as_dict(),
        "net_ratio": ratios["net"].as_dict(),
        "detectable_rise": rise.as_dict(),
        "local_effect": local_effect(table, alpha).as_dict(),
        "displacement_effect": displacement_effect(table, alpha).as_dict(),
        "wdd": wdd(table, alpha).as_dict(),
        "success_measure": success_measure(table).as_dict(),
        "buffer_displacement_measure": buffer_displacement_measure(table).as_dict(),
        "wdq": wdq(table).as_dict(),
        "total_net_effect": total_net_effect(table).as_dict(),
    }


def _buffer_code(dis: RatioTest) -> str:
    if dis.p_value is None:
        return "untested"
    return {1: "rose", -1: "fell"}.get(dis.direction, "no_change")


def _reduction_code(dis: RatioTest, net: RatioTest, rise: DetectableRise,
                    displacement_size: float) -> str:
    """Rows 3-7 of the decision table: the local test found a significant reduction."""
    if dis.direction > 0:
        return ("displacement_exceeds_reduction" if net.direction > 0
                else "reduction_with_displacement")
    if dis.direction < 0:
        return "reduction_with_diffusion"
    if rise.percent is not None and rise.percent <= 100.0 * displacement_size:
        return "reduction_no_displacement"
    return "reduction_displacement_not_detected"


def _small_cells(table: CountTable) -> bool:
    cells = [table.count(area, period) for area in ("target", "buffer", "control")
             for period in ("before", "after")]
    if table.has_buffer_control:
        cells += [table.count("buffer_control", p) for p in ("before", "after")]
    return min(cells) < SMALL_COUNT


def _rise_signal(dis: RatioTest, net: RatioTest) -> str | None:
    if dis.direction > 0:
        return "buffer_rose"
    if net.direction > 0:
        return "net_rose"
    return None


def decide(table: CountTable, *, alpha: float = 0.05, min_count: int | None = None,
           caveats: Sequence[str] = (), role: str = "outcome",
           displacement_size: float = DEFAULT_DISPLACEMENT_SIZE,
           dispersion: float = 1.0,
           adjusted: Mapping[str, RatioTest] | None = None,
           family_size: int = 3, correction: str = "holm") -> Verdict:
    """Decide what a before/after evaluation shows.

    The verdict rests on three ratio-of-rate-ratio tests
    (:mod:`spatial.evaluation.rate_ratios`), which a shared multiplicative
    trend leaves unbiased: L (target vs control), D (buffer vs buffer
    control) and N (target + buffer vs control), two-sided, with Holm's
    correction over the three so that, when nothing happened, any claim at
    all is made in at most α of evaluations. "Significant" below means
    Holm-adjusted p < α. The additive WDD family (Wheeler & Ratcliffe 2018;
    Bowers & Johnson 2003) is reported beside it in ``tests``, not used to
    decide.

    Decision table for an **outcome** layer (first matching row wins):

    ===  ======================================================  ===========================================
    #    condition                                               code
    ===  ======================================================  ===========================================
    1    target before + after < ``min_count``                   ``insufficient_data``
    2    control recorded nothing in either period               ``insufficient_data``
    3    L < 1, D > 1 and N > 1 (the whole area worse off)       ``displacement_exceeds_reduction``
    4    L < 1 and D > 1                                         ``reduction_with_displacement``
    5    L < 1 and D < 1                                         ``reduction_with_diffusion``
    6    L < 1, D not significant, and the design detects a      ``reduction_no_displacement``
         buffer rise of ``displacement_size`` (power 0.8)
    7    L < 1 otherwise (D not detectable at that size, or      ``reduction_displacement_not_detected``
         untestable)
    8    L > 1                                                   ``increase``
    9    D > 1 or N > 1                                          ``harm_signal``
    10   otherwise                                               ``no_significant_change``
    ===  ======================================================  ===========================================

    For an **output** layer (police activity) the same tests give
    activity words: L < 1 ``activity_fell``, L > 1 ``activity_rose``, D > 1 or
    N > 1 ``activity_rose_nearby``, else ``no_significant_change``.

    ``detectable_rise_pct`` is the smallest buffer rise the D test detects
    with power 0.8 at level α/2 (its Holm level once L is significant);
    ``detectable_fall_pct`` the smallest target fall the L test detects at
    α/3 (its level when it is the first of the three to pass).

    Parameters
    ----------
    table : CountTable
        Counts (and weights) for target, buffer, control (and buffer control).
    alpha : float
        Two-sided family-wise level of the three tests.
    min_count : int, optional
        Override of the minimum target before + after total
        (default :func:`minimum_events`, 35 at α = 0.05).
    caveats : sequence of str
        Keys of :data:`CAVEAT_KEYS` or free text, kept as given.
    role : {"outcome", "output"}
    displacement_size : float
        The buffer rise (fraction) "no displacement" must be able to detect.
    dispersion : float
        Overdispersion factor φ ≥ 1 for the ratio tests' variances.
    adjusted : mapping, optional
        The three ratio tests (``local``, ``displacement``, ``net``) with
        their p-values already adjusted over a larger family by the caller
        (e.g. Holm over every phase's tests of a rolling operation,
        :func:`decide_family`); by default they are computed from ``table``
        and Holm-adjusted over the three.
    family_size : int
        Tests in the correction's family (3 by default). The detectable
        rise and fall are computed at the levels Holm gives them at their
        earliest step: α/(m − 1) for the buffer test once the local test has
        passed and α/m for the local test, with m = ``family_size``.
    correction : str
        How the p-values were adjusted, as ``tests["correction"]`` reports it.

    Returns
    -------
    Verdict
    """
    floor, given = _check_inputs(table, alpha, min_count, caveats, role, displacement_size)
    if family_size < 3:
        raise ParameterError("family_size", f"must be at least 3, got {family_size!r}")
    ratios = (dict(adjusted) if adjusted is not None
              else holm(operation_ratio_tests(table, alpha, dispersion=dispersion)))
    loc, dis, net = ratios["local"], ratios["displacement"], ratios["net"]
    rise = detectable_rise(table.count("buffer", "before"),
                           table.count("buffer_control", "before"),
                           table.count("buffer_control", "after"),
                           alpha=alpha / (family_size - 1.0), dispersion=dispersion)
    fall = detectable_fall(table.count("target", "before"), table.count("control", "before"),
                           table.count("control", "after"), alpha=alpha / family_size,
                           dispersion=dispersion)
    tests = _tests(table, alpha, floor, ratios, rise, displacement_size)
    tests["correction"] = correction
    tests["family_size"] = family_size
    tests["detectable_fall"] = {"percent": fall, "alpha": alpha / family_size, "power": 0.8}
    # rows 1-2: insufficient data
    if table.total("target") < floor:
        return Verdict("insufficient_data", "too_few_events", None, given, (), tests, role,
                       None, None, fall)
    if table.total("control") == 0:
        return Verdict("insufficient_data", "no_control_events", None, given, (), tests, role,
                       None, None, fall)

    implied = ["small_counts"] if _small_cells(table) else []
    bias = trend_bias(table)
    tests["multiplicative_trend_bias"] = bias
    loc_add = tests["local_effect"]
    if bias is not None and loc_add["se"] > 0 and abs(bias) >= 0.5 * loc_add["se"]:
        implied.append("trend_bias")
    signal = None
    if loc.direction < 0:
        if 0 < table.total("buffer") < floor:
            implied.append("small_buffer")
        code = ("activity_fell" if role == "output"
                else _reduction_code(dis, net, rise, displacement_size))
    elif loc.direction > 0:
        code = "activity_rose" if role == "output" else "increase"
    elif (signal := _rise_signal(dis, net)) is not None:
        code = "activity_rose_nearby" if role == "output" else "harm_signal"
    else:
        code = "no_significant_change"
    return Verdict(code, None, _buffer_code(dis), given, tuple(implied), tests, role, signal,
                   rise.percent, fall)


def decide_family(tables: Sequence[CountTable | None], *, alpha: float = 0.05,
                  min_count: int | None = None,
                  caveats: Sequence[Sequence[str]] | None = None, role: str = "outcome",
                  displacement_size: float = DEFAULT_DISPLACEMENT_SIZE,
                  dispersion: float = 1.0) -> list[Verdict | None]:
    """Decide several evaluations of one layer as one family (the phases of an operation).

    Each table gets the three ratio tests of :func:`decide`; Holm's
    correction then runs over **all** their tests together (3 × the tables
    with a table; tests that cannot run take no part), so that when nothing
    happened in any phase the chance that *any* phase's verdict claims a
    change is at most α, under any dependence between the phases (they
    share one before window, so their tests are positively correlated and
    Holm is conservative). Each table is then decided by the rows of
    :func:`decide` on its own adjusted tests. A table of ``None`` (no count
    table could be formed) gives ``None``.

    Parameters
    ----------
    tables : sequence of CountTable or None
    alpha : float
        Family-wise level over every phase's tests.
    min_count, role, displacement_size, dispersion
        As :func:`decide`.
    caveats : sequence of sequences of str, optional
        Each table's caveats (default none).

    Returns
    -------
    list of Verdict or None
    """
    if not (0 < alpha < 1):
        raise ParameterError("alpha", f"must be strictly between 0 and 1, got {alpha!r}")
    cav = list(caveats) if caveats is not None else [() for _ in tables]
    if len(cav) != len(tables):
        raise ParameterError("caveats", "give one list of caveats per table")
    family: dict[str, RatioTest] = {}
    for i, table in enumerate(tables):
        if table is None:
            continue
        for name, test in operation_ratio_tests(table, alpha, dispersion=dispersion).items():
            family[f"{i}/{name}"] = test
    adjusted = holm(family)
    size = max(3, sum(1 for t in family.values() if t.p_value is not None))
    k = sum(1 for t in tables if t is not None)
    how = "holm" if k <= 1 else f"holm over the {size} ratio tests of {k} phases"
    out: list[Verdict | None] = []
    for i, table in enumerate(tables):
        if table is None:
            out.append(None)
            continue
        mine = {name: adjusted[f"{i}/{name}"] for name in ("local", "displacement", "net")}
        out.append(decide(table, alpha=alpha, min_count=min_count, caveats=cav[i], role=role,
                          displacement_size=displacement_size, dispersion=dispersion,
                          adjusted=mine, family_size=size, correction=how))
    return out
