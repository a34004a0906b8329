"""Distance decay: before/after counts in successive rings around the target.

Each ring gets the control-adjusted rate ratio with its exact conditional
interval (the headline), the raw difference and the control-adjusted excess
with Poisson normal intervals, and the after share with its Clopper-Pearson
interval. The conditional binomial test of each ring is the rate-ratio test
of :mod:`spatial.evaluation.rate_ratio` (Krishnamoorthy & Thomson 2004), with
the control trend standing in for the exposures.

References
----------
Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial
    limits illustrated in the case of the binomial. *Biometrika* 26, 404-413.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from spatial.errors import ParameterError
from spatial.evaluation.binomial import binom_test_pvalue, clopper_pearson
from spatial.evaluation.count_table import SMALL_COUNT, check_alpha, check_count, jsonable
from spatial.evaluation.normal import z_crit
from spatial.evaluation.rate_ratio import share_to_ratio


@dataclass(frozen=True)
class RingResult:
    """Before/after in one ring ``[inner_m, outer_m)`` around the target.

    Attributes
    ----------
    difference, difference_ci_low/high
        after − before, with the Poisson normal interval (var = before+after).
    expected_after, excess, excess_ci_low/high
        before × Ca/Cb (what the control trend predicts), after − expected,
        normal interval with var = after + (Ca/Cb)²·before (the control ratio
        taken as known).
    after_share, share_ci_low/high
        after/(before+after) with the exact Clopper-Pearson interval.
    null_share
        Ca/(Ca+Cb): the after share if the ring followed the control trend.
    rate_ratio, rate_ratio_ci_low/high, p_value
        Control-adjusted rate ratio (after/before)/(Ca/Cb) and its exact
        conditional interval (share interval transformed); p from the exact
        binomial test of after | before+after against ``null_share``.
    small_counts
        before or after < :data:`~spatial.evaluation.count_table.SMALL_COUNT`:
        read the exact interval, not the normal one.
    """

    inner_m: float
    outer_m: float
    before: float
    after: float
    difference: float
    difference_ci_low: float | None
    difference_ci_high: float | None
    expected_after: float | None
    excess: float | None
    excess_ci_low: float | None
    excess_ci_high: float | None
    after_share: float | None
    share_ci_low: float | None
    share_ci_high: float | None
    null_share: float | None
    rate_ratio: float | None
    rate_ratio_ci_low: float | None
    rate_ratio_ci_high: float | None
    p_value: float | None
    small_counts: bool
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


@dataclass(frozen=True)
class DistanceDecayResult:
    rings: tuple[RingResult, ...]
    control_before: float
    control_after: float
    control_ratio: float | None
    alpha: float
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"rings": [r.as_dict() for r in self.rings],
                **jsonable({k: getattr(self, k) for k in
                            ("control_before", "control_after", "control_ratio", "alpha",
                             "reason")})}


def _ring_inputs(before_counts_per_ring: Sequence[float], after_counts_per_ring: Sequence[float],
                 ring_edges_m: Sequence[float], control_before: float,
                 control_after: float) -> tuple[list[float], list[float], list[float]]:
    """Checked ``(before, after, edges)`` as floats."""
    before = [float(x) for x in before_counts_per_ring]
    after = [float(x) for x in after_counts_per_ring]
    edges = [float(x) for x in ring_edges_m]
    if len(before) != len(after):
        raise ParameterError("after_counts_per_ring",
                             f"has {len(after)} rings, before has {len(before)}")
    if len(edges) != len(before) + 1:
        raise ParameterError("ring_edges_m",
                             f"need {len(before) + 1} edges for {len(before)} rings, got {len(edges)}")
    if any(not math.isfinite(e) for e in edges) or any(
            b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ParameterError("ring_edges_m", "must be finite and strictly increasing")
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        check_count(f"before_counts_per_ring[{i}]", b, integer=True)
        check_count(f"after_counts_per_ring[{i}]", a, integer=True)
    check_count("control_before", control_before)
    check_count("control_after", control_after)
    return before, after, edges


def _ring(inner: float, outer: float, b: float, a: float, ratio: float | None,
          null_share: float | None, overall: str | None, alpha: float) -> RingResult:
    """One ring's measures; ``ratio`` = Ca/Cb and ``null_share`` = Ca/(Ca+Cb), or ``None``."""
    zc = z_crit(alpha)
    reasons: list[str] = []
    n = b + a
    diff = a - b
    d_lo = d_hi = None
    if n > 0:
        half = zc * math.sqrt(n)
        d_lo, d_hi = diff - half, diff + half
    else:
        reasons.append("no events before or after: no interval")
    expected = excess = e_lo = e_hi = None
    if ratio is not None:
        expected = b * ratio
        excess = a - expected
        var = a + ratio * ratio * b
        if var > 0:
            half = zc * math.sqrt(var)
            e_lo, e_hi = excess - half, excess + half
    elif overall:
        reasons.append(overall)
    share = s_lo = s_hi = rr = rr_lo = rr_hi = p = None
    if n > 0:
        share = a / n
        k, trials = int(round(a)), int(round(n))
        s_lo, s_hi = clopper_pearson(k, trials, 1.0 - alpha)
        if ratio is not None and null_share is not None:
            p = binom_test_pvalue(k, trials, null_share)
            if b == 0:
                reasons.append("before count is 0: rate ratio infinite (upper limit unbounded)")
            else:
                rr = (a / b) / ratio
            rr_lo = share_to_ratio(s_lo, 1.0 / ratio)
            rr_hi = share_to_ratio(s_hi, 1.0 / ratio)
    return RingResult(
        inner_m=inner, outer_m=outer, before=b, after=a, difference=diff,
        difference_ci_low=d_lo, difference_ci_high=d_hi, expected_after=expected,
        excess=excess, excess_ci_low=e_lo, excess_ci_high=e_hi, after_share=share,
        share_ci_low=s_lo, share_ci_high=s_hi, null_share=null_share, rate_ratio=rr,
        rate_ratio_ci_low=rr_lo, rate_ratio_ci_high=rr_hi, p_value=p,
        small_counts=(b < SMALL_COUNT or a < SMALL_COUNT), reasons=tuple(reasons))


def distance_decay(before_counts_per_ring: Sequence[float], after_counts_per_ring: Sequence[float],
                   ring_edges_m: Sequence[float], control_before: float, control_after: float,
                   *, alpha: float = 0.05) -> DistanceDecayResult:
    r"""Before/after counts in successive rings around the target, each with intervals.

    Ring k spans ``[ring_edges_m[k], ring_edges_m[k+1])`` metres from the
    target's edge (or centre: the caller decides and says so); rings should
    continue past the buffer so displacement that lands just beyond it shows.

    Choice of measure: the **control-adjusted rate ratio**

    .. math:: RR_k = \frac{a_k / b_k}{C_a / C_b}

    is the headline, because rings differ in area and a ratio is comparable
    across rings without knowing their areas (RR > 1: the ring rose more than
    the control trend, i.e. possible displacement; RR < 1: fell more, i.e.
    possible diffusion). Its interval is exact and conditional: given
    n_k = b_k + a_k, a_k ~ Binomial(n_k, π_k) with
    π_k = RR_k·r/(1 + RR_k·r), r = C_a/C_b, so the Clopper-Pearson interval
    of π transforms to RR = π/(1−π)/r, and the p-value is the exact binomial
    test of a_k | n_k against π₀ = C_a/(C_a+C_b). The control ratio is taken
    as known: fine when the control's counts dwarf a ring's, optimistic
    otherwise.

    Also reported: the raw difference a − b with the Poisson normal interval
    (var = b + a), and the control-adjusted excess a − b·r with normal
    interval (var = a + r²·b). Rings with fewer than
    :data:`~spatial.evaluation.count_table.SMALL_COUNT` events in either
    period are flagged ``small_counts``: read the exact interval there.

    Parameters
    ----------
    before_counts_per_ring, after_counts_per_ring : sequence of float
        Counts per ring (length k, integers for the exact parts).
    ring_edges_m : sequence of float
        k+1 strictly increasing edges in metres.
    control_before, control_after : float
        Control-area counts for the same windows (their ratio carries any
        difference in window length).
    """
    check_alpha(alpha)
    before, after, edges = _ring_inputs(before_counts_per_ring, after_counts_per_ring,
                                        ring_edges_m, control_before, control_after)
    cb, ca = float(control_before), float(control_after)
    ratio: float | None = None
    null_share: float | None = None
    overall: str | None = None
    if cb == 0 or ca == 0:
        overall = (f"control {'before' if cb == 0 else 'after'} count is 0: the control trend "
                   "Ca/Cb is unusable, so no control-adjusted measure")
    else:
        ratio = ca / cb
        null_share = ca / (ca + cb)
    rings = tuple(_ring(edges[k], edges[k + 1], b, a, ratio, null_share, overall, alpha)
                  for k, (b, a) in enumerate(zip(before, after, strict=True)))
    return DistanceDecayResult(rings, cb, ca, ratio, alpha, overall)
