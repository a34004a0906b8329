"""Bowers & Johnson's ratio measures and Guerette's total net effect.

- :func:`success_measure` (SM), :func:`buffer_displacement_measure` (BDM)
  and their quotient :func:`wdq` with :func:`wdq_label` (Bowers & Johnson
  2003);
- :func:`total_net_effect` (Guerette 2009).

All are computed from raw counts of a
:class:`~spatial.evaluation.count_table.CountTable`; each returns a
:class:`Measure` whose value is ``None`` with a reason when a control count
is 0.

References
----------
Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement
    and diffusion of benefit effects of crime prevention activity. *Journal of
    Quantitative Criminology* 19(3), 275-301.
Guerette, R. T. (2009). *Analyzing Crime Displacement and Diffusion*.
    Problem-Oriented Guides for Police, Problem-Solving Tools No. 10.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

from spatial.evaluation.count_table import CountTable, jsonable

WDQ_LABELS: Final[dict[str, str]] = {
    "diffusion_exceeds_direct": "diffusion greater than the direct effect",
    "diffusion": "diffusion of benefits",
    "none": "no displacement or diffusion",
    "displacement_smaller": "displacement smaller than the gain",
    "displacement_equal": "displacement equal to the gain",
    "displacement_larger": "displacement larger than the gain",
}


@dataclass(frozen=True)
class Measure:
    """A single measure: its value, or ``None`` and the reason it is undefined."""

    name: str
    value: float | None
    reason: str | None = None
    label: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def _ratio_terms(table: CountTable, area: str, symbol: str) -> tuple[float | None, str | None]:
    """``X_a/C_a − X_b/C_b`` from raw counts, or ``None`` with a reason."""
    for period, sub in (("before", "b"), ("after", "a")):
        if table.count("control", period) == 0:
            return None, (f"control {period} count is 0: {symbol}{sub}/C{sub} undefined")
    value = (table.count(area, "after") / table.count("control", "after")
             - table.count(area, "before") / table.count("control", "before"))
    return value, None


def success_measure(table: CountTable) -> Measure:
    r"""Success measure of Bowers & Johnson (2003).

    .. math:: SM = \frac{R_a}{C_a} - \frac{R_b}{C_b}

    Negative: the target improved relative to the control. Computed from raw
    counts (time weights cancel within a period; area weights would only
    rescale it, and Bowers & Johnson define it on counts). ``None`` when a
    control count is 0.
    """
    value, reason = _ratio_terms(table, "target", "R")
    return Measure("success_measure", value, reason)


def buffer_displacement_measure(table: CountTable) -> Measure:
    r"""Buffer displacement measure of Bowers & Johnson (2003).

    .. math:: BDM = \frac{B_a}{C_a} - \frac{B_b}{C_b}

    Positive: displacement into the buffer; negative: diffusion of benefits.
    Uses the control area C as Bowers & Johnson do (one control area for
    both); ``buffer_control`` is not used here. ``None`` when a control
    count is 0.
    """
    value, reason = _ratio_terms(table, "buffer", "B")
    return Measure("buffer_displacement_measure", value, reason)


def wdq_label(value: float) -> tuple[str, str]:
    """Interpretation key and label of a WDQ value (Bowers & Johnson 2003, table 1).

    ============  ===========================================
    WDQ > 1       diffusion greater than the direct effect
    0 < WDQ ≤ 1   diffusion of benefits
    WDQ = 0       no displacement or diffusion
    −1 < WDQ < 0  displacement smaller than the gain
    WDQ = −1      displacement equal to the gain
    WDQ < −1      displacement larger than the gain
    ============  ===========================================
    """
    if value > 1:
        key = "diffusion_exceeds_direct"
    elif value > 0:
        key = "diffusion"
    elif value == 0:
        key = "none"
    elif value > -1:
        key = "displacement_smaller"
    elif value == -1:
        key = "displacement_equal"
    else:
        key = "displacement_larger"
    return key, WDQ_LABELS[key]


def wdq(table: CountTable) -> Measure:
    r"""Weighted displacement quotient (Bowers & Johnson 2003).

    .. math:: WDQ = \frac{BDM}{SM}
              = \frac{B_a/C_a - B_b/C_b}{R_a/C_a - R_b/C_b}

    Meaningful only when SM < 0 (the target improved relative to control);
    otherwise ``None`` with the reason. The label interprets the value (see
    :func:`wdq_label`). The quotient is unstable as SM → 0: a tiny
    improvement in the target makes any buffer change look huge.
    """
    sm = success_measure(table)
    if sm.value is None:
        return Measure("wdq", None, sm.reason)
    if sm.value >= 0:
        return Measure("wdq", None,
                       "SM ≥ 0: no relative improvement in the target, WDQ is not meaningful")
    bdm = buffer_displacement_measure(table)
    if bdm.value is None:  # pragma: no cover - same control counts as SM
        return Measure("wdq", None, bdm.reason)
    value = bdm.value / sm.value + 0.0  # 0/(SM < 0) is -0.0: "no displacement" has no sign
    _, label = wdq_label(value)
    return Measure("wdq", value, None, label)


def total_net_effect(table: CountTable) -> Measure:
    r"""Total net effect (Guerette 2009).

    .. math:: TNE = \left[R_b \frac{C_a}{C_b} - R_a\right]
                  + \left[B_b \frac{C_a}{C_b} - B_a\right]

    Events prevented (positive) or added (negative) in target plus buffer,
    relative to what the control's trend predicts. ``None`` when C_b = 0.
    """
    cb = table.count("control", "before")
    if cb == 0:
        return Measure("total_net_effect", None,
                       "control before count is 0: the control trend Ca/Cb is undefined")
    trend = table.count("control", "after") / cb
    value = ((table.count("target", "before") * trend - table.count("target", "after"))
             + (table.count("buffer", "before") * trend - table.count("buffer", "after")))
    return Measure("total_net_effect", value, None)
