"""Turn displacement measures into a verdict and a sentence a tasking meeting can read.

The verdict rests on two separate Poisson tests, as Wheeler & Ratcliffe
(2018) recommend reporting them: the **local effect** (target against its
control, ΔT − ΔCt) and the **displacement effect** (buffer against its
control, ΔD − ΔCd), with the WDQ (Bowers & Johnson 2003) for their balance.
The total WDD alone is not used to decide: noise in the buffer can hide a
real reduction in the target.

See :func:`verdict` for the decision table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Final

from spatial.errors import ParameterError
from spatial.evaluation.displacement import (
    SMALL_COUNT,
    CountTable,
    EffectTest,
    buffer_displacement_measure,
    displacement_effect,
    local_effect,
    success_measure,
    total_net_effect,
    wdd,
    wdq,
)

VERDICT_CODES: Final = (
    "insufficient_data",
    "no_significant_change",
    "reduction_no_displacement",
    "reduction_with_diffusion",
    "reduction_with_displacement",
    "displacement_exceeds_reduction",
    "increase",
)

#: Standard caveats by key. Any other string passed as a caveat is used as written.
CAVEAT_TEXT: Final[dict[str, str]] = {
    "snapped_locations": ("locations are snapped to anonymised map points, so events near an "
                          "area's edge may be counted in the neighbouring area"),
    "month_precision": ("dates are known only to the month, so the windows are whole months and "
                        "events from the strike period may fall into either"),
    "partial_intelligence": ("intelligence is partial: an area with nothing recorded is not an "
                             "area without dealing"),
    "concurrent_operations": ("other operations ran at the same time, so the change cannot be "
                              "put down to this operation alone"),
    "output_layer": ("recorded drug offences measure police activity (an output), not the size "
                     "of the market, so a rise or fall may show where officers looked rather "
                     "than how much dealing there was"),
}

MINUS: Final = "\u2212"


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


@dataclass(frozen=True)
class Verdict:
    """A verdict code, the sentence for the meeting, its caveats and the tests behind it."""

    code: str
    sentence: str
    caveats: tuple[str, ...]
    tests: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "sentence": self.sentence, "caveats": list(self.caveats),
                "tests": self.tests}


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------


def _num(x: float, *, signed: bool = False) -> str:
    """A number as a meeting reads it: whole numbers plain, others rounded sensibly."""
    if abs(x - round(x)) < 1e-9:
        text = str(int(round(x)))
    elif abs(x) >= 10:
        text = f"{x:.0f}"
    elif abs(x) >= 1:
        text = f"{x:.1f}"
    else:
        text = f"{x:.2g}"
    if text in ("-0", "-0.0"):
        text = text[1:]
    if text.startswith("-"):
        return MINUS + text[1:]
    if signed and x > 0 and text.strip("0.") != "":
        return "+" + text
    return text


def _count(x: float) -> str:
    return _num(x)


def _conf(alpha: float) -> str:
    return f"{100.0 * (1.0 - alpha):g} %"


def _p(p: float | None) -> str:
    if p is None:
        return "p not computable"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.01 else f"p = {p:.3f}"


def _decimals(se: float) -> int:
    """Decimals to print an estimate whose standard error is ``se``: 0 when se ≥ 10."""
    if se >= 10 or se <= 0:
        return 0
    return max(0, 1 - math.floor(math.log10(se)))


def _fixed(x: float, decimals: int, *, signed: bool = False) -> str:
    text = f"{x:.{decimals}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    elif text.startswith("-"):
        text = MINUS + text[1:]
    elif signed:
        text = "+" + text
    return text


def _effect(test: EffectTest, unit: str) -> str:
    """'−20, 95 % CI −31 to −9' (rounded to the precision its SE supports)."""
    if test.ci_low is None or test.ci_high is None:
        return f"{_num(test.estimate, signed=True)}{unit} (no interval: {test.reason})"
    d = _decimals(test.se)
    if abs(test.estimate - round(test.estimate)) < 1e-9:
        est = _num(test.estimate, signed=True)
    else:
        est = _fixed(test.estimate, d, signed=True)
    return (f"{est}{unit}, {_conf(test.alpha)} CI "
            f"{_fixed(test.ci_low, d)} to {_fixed(test.ci_high, d)}")


def _movement(table: CountTable, area: str, *, steady_band: float = 0.0,
              unit: str = "day") -> str:
    """'fell from 40 to 18', 'rose from …', 'stayed at 40' or 'was steady (308 to 318)'.

    Direction is judged on rates when the windows differ in length.
    """
    b = table.count(area, "before")
    a = table.count(area, "after")
    wb = table.weight(area, "before")
    wa = table.weight(area, "after")
    rb, ra = b / wb, a / wa
    if table.has_time_weights:
        lb = _num(float(table.before_length or 0))
        la = _num(float(table.after_length or 0))
        span = (f"from {_count(b)} in the {lb} {unit}s before to {_count(a)} in the {la} "
                f"{unit}s after")
        if steady_band > 0 and abs(ra - rb) <= steady_band * max(ra, rb):
            return f"was steady ({_count(b)} in the {lb} {unit}s before, {_count(a)} in the {la} " \
                   f"{unit}s after)"
        if ra < rb:
            return "fell " + span
        if ra > rb:
            return "rose " + span
        return "stayed level, " + span
    if steady_band > 0 and abs(ra - rb) <= steady_band * max(ra, rb) and a != b:
        return f"was steady ({_count(b)} to {_count(a)})"
    if a < b:
        return f"fell from {_count(b)} to {_count(a)}"
    if a > b:
        return f"rose from {_count(b)} to {_count(a)}"
    return f"stayed at {_count(b)}"


def _unit(table: CountTable, time_unit: str, area_unit: str) -> str:
    parts = []
    if table.has_time_weights:
        parts.append(f" per {time_unit}")
    if table.has_area_weights:
        parts.append(f" per {area_unit}")
    return "".join(parts)


def _caveat_texts(caveats: Sequence[str]) -> list[str]:
    out = []
    for c in caveats:
        if not isinstance(c, str) or not c.strip():
            raise ParameterError("caveats", f"each caveat must be a non-empty string, got {c!r}")
        out.append(CAVEAT_TEXT.get(c, c.strip().rstrip(".")))
    return out


# --------------------------------------------------------------------------
# the verdict
# --------------------------------------------------------------------------


def verdict(table: CountTable, *, alpha: float = 0.05, min_count: int | None = None,
            caveats: Sequence[str] = (), what: str = "events", time_unit: str = "day",
            area_unit: str = "km²") -> Verdict:
    """Decide what a before/after evaluation shows, and say it in plain English.

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
    reported in the sentence of ``no_significant_change`` but not claimed as
    displacement.

    ``min_count`` defaults to :func:`spatial.evaluation.verdict.minimum_events` (35 at
    α = 0.05): with fewer target events, even a halving cannot reach
    significance even against a noiseless control, so any verdict would be
    printing noise.

    Parameters
    ----------
    table : CountTable
        Counts (and weights) for target, buffer, control (and buffer control).
    alpha : float
        Two-sided significance level of both tests.
    min_count : int, optional
        Override of the minimum target before + after total.
    caveats : sequence of str
        Keys of :data:`CAVEAT_TEXT` (``snapped_locations``,
        ``month_precision``, ``partial_intelligence``,
        ``concurrent_operations``, ``output_layer``) or free text. They are
        added to the sentence; caveats the data imply (counts under 10, a
        buffer too small to rule out displacement, a shared trend the
        additive test may misread -- see :func:`trend_bias`) are added too.
    what : str
        What was counted, for the sentence (e.g. ``"violent offences"``).
    time_unit, area_unit : str
        Units of the time and area weights, for the sentence.

    Returns
    -------
    Verdict
        ``code`` (one of :data:`VERDICT_CODES`), ``sentence``, ``caveats``
        (all of them, in words) and ``tests`` (every measure as a dict).
    """
    if not isinstance(table, CountTable):
        raise ParameterError("table", "must be a CountTable")
    if not (0 < alpha < 1):
        raise ParameterError("alpha", f"must be strictly between 0 and 1, got {alpha!r}")
    floor = minimum_events(alpha) if min_count is None else int(min_count)
    if floor < 0:
        raise ParameterError("min_count", f"must be >= 0, got {min_count!r}")
    notes = _caveat_texts(caveats)

    loc = local_effect(table, alpha)
    dis = displacement_effect(table, alpha)
    total = wdd(table, alpha)
    quotient = wdq(table)
    tests: dict[str, Any] = {
        "alpha": alpha,
        "min_count": floor,
        "target_total": table.total("target"),
        "local_effect": loc.as_dict(),
        "displacement_effect": dis.as_dict(),
        "wdd": total.as_dict(),
        "success_measure": success_measure(table).as_dict(),
        "buffer_displacement_measure": buffer_displacement_measure(table).as_dict(),
        "wdq": quotient.as_dict(),
        "total_net_effect": total_net_effect(table).as_dict(),
    }
    unit = _unit(table, time_unit, area_unit)
    conf = _conf(alpha)

    # rows 1-2: insufficient data
    n_target = table.total("target")
    if n_target < floor:
        sentence = (f"Too few {what} to draw a conclusion: the target area recorded "
                    f"{_count(table.count('target', 'before'))} before and "
                    f"{_count(table.count('target', 'after'))} after ({_count(n_target)} in all), "
                    f"and with fewer than {floor} events even a halving could not be told apart "
                    f"from chance at the {conf} level.")
        return _finish("insufficient_data", sentence, notes, tests)
    if table.total("control") == 0:
        sentence = (f"No conclusion can be drawn: the control area recorded no {what} in either "
                    f"period, so there is no trend to compare the target area against.")
        return _finish("insufficient_data", sentence, notes, tests)

    # automatic caveats
    cells = [table.count(area, period) for area in ("target", "buffer", "control")
             for period in ("before", "after")]
    if table.has_buffer_control:
        cells += [table.count("buffer_control", p) for p in ("before", "after")]
    if min(cells) < SMALL_COUNT:
        notes.append(f"some counts are below {SMALL_COUNT}, where the normal approximation "
                     f"behind the tests is rough")
    bias = trend_bias(table)
    tests["multiplicative_trend_bias"] = bias
    if bias is not None and loc.se > 0 and abs(bias) >= 0.5 * loc.se:
        change = table.count("control", "after") / table.weight("control", "after") / (
            table.count("control", "before") / table.weight("control", "before")) - 1.0
        notes.append(f"the control changed by {_num(100.0 * change, signed=True)} % and started "
                     f"from a different level than the target; the test assumes changes add "
                     f"rather than multiply, so about {_num(bias, signed=True)}{unit} of the "
                     f"local effect could be that shared trend")

    lead = (f"In the target area, recorded {what} {_movement(table, 'target', unit=time_unit)} "
            f"while the control area {_movement(table, 'control', steady_band=0.05, unit=time_unit)}"
            f": a local effect of {_effect(loc, unit)}.")
    buffer_move = _movement(table, "buffer", unit=time_unit)
    d_text = _effect(dis, unit)
    wdq_text = f" (WDQ {_num(quotient.value)})" if quotient.value is not None else ""

    if loc.direction < 0:
        if 0 < table.total("buffer") < floor:
            notes.append(f"the buffer recorded only {_count(table.total('buffer'))} {what}, too "
                         f"few to rule out displacement")
        if dis.direction > 0:
            # compare events, not densities: undo the area weights (time weights are common)
            a_t = float(table.target_area or 1.0) if table.has_area_weights else 1.0
            a_b = float(table.buffer_area or 1.0) if table.has_area_weights else 1.0
            exceeds = ((quotient.value is not None and quotient.value < -1)
                       or dis.estimate * a_b >= abs(loc.estimate) * a_t)
            if exceeds:
                code = "displacement_exceeds_reduction"
                second = (f"That is a significant reduction, but the buffer rose relative to "
                          f"its control ({what} there {buffer_move}; displacement effect "
                          f"{d_text}), as much as or more than the target's fall{wdq_text}: "
                          f"the activity appears to have moved rather than gone.")
            else:
                code = "reduction_with_displacement"
                second = (f"That is a significant reduction, but the buffer rose relative to "
                          f"its control ({what} there {buffer_move}; displacement effect "
                          f"{d_text}), so some activity appears to have moved next door; the "
                          f"displacement is smaller than the reduction{wdq_text}.")
        elif dis.direction < 0:
            code = "reduction_with_diffusion"
            second = (f"That is a significant reduction, and the buffer also fell relative to "
                      f"its control ({what} there {buffer_move}; displacement effect {d_text}): "
                      f"the benefit appears to have spread to the surrounding area (diffusion "
                      f"of benefits).")
        else:
            code = "reduction_no_displacement"
            if dis.p_value is None:
                second = (f"That is a significant reduction; the buffer recorded no {what} in "
                          f"either period, so displacement could not be tested.")
            else:
                second = (f"That is a significant reduction, and the buffer shows no "
                          f"significant displacement ({what} there {buffer_move}; displacement "
                          f"effect {d_text}).")
    elif loc.direction > 0:
        code = "increase"
        second = f"That is a significant increase relative to the control area ({_p(loc.p_value)})."
    else:
        code = "no_significant_change"
        second = (f"That is not statistically significant ({_p(loc.p_value)}), so no change in "
                  f"the target area can be claimed.")
        if dis.direction != 0:
            side = "rose" if dis.direction > 0 else "fell"
            second += (f" The buffer {side} relative to its control ({what} there "
                       f"{buffer_move}; displacement effect {d_text}), but without a clear "
                       f"change in the target this is not evidence of displacement or "
                       f"diffusion.")
    return _finish(code, f"{lead} {second}", notes, tests)


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


def _finish(code: str, sentence: str, notes: list[str], tests: dict[str, Any]) -> Verdict:
    if notes:
        sentence += " Read with care: " + "; ".join(notes) + "."
    return Verdict(code, sentence, tuple(notes), tests)
