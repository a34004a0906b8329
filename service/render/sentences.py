"""Say a verdict in plain English, for a tasking meeting.

:func:`spatial.evaluation.verdict.decide` decides (codes, caveat keys, the
numbers); this module writes the sentence: the movement of each area in
words, the local and displacement effects with intervals rounded to the
precision their standard errors support, and the caveats as text.
:func:`explain` does both in one call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from service.render.numbers import p_text
from spatial.evaluation.count_table import SMALL_COUNT, CountTable
from spatial.evaluation.verdict import Verdict, decide

#: Standard caveats by key, one for each of :data:`spatial.evaluation.verdict.CAVEAT_KEYS`.
#: Any other string passed as a caveat is used as written.
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


@dataclass(frozen=True)
class Explanation:
    """A verdict code, the sentence for the meeting, its caveats and the tests behind it."""

    code: str
    sentence: str
    caveats: tuple[str, ...]
    tests: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "sentence": self.sentence, "caveats": list(self.caveats),
                "tests": self.tests}


# --------------------------------------------------------------------------
# numbers
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


def _effect(test: Mapping[str, Any], unit: str) -> str:
    """'−20, 95 % CI −31 to −9' (rounded to the precision its SE supports).

    ``test`` is an :meth:`spatial.evaluation.wdd.EffectTest.as_dict`.
    """
    estimate = float(test["estimate"])
    if test["ci_low"] is None or test["ci_high"] is None:
        return f"{_num(estimate, signed=True)}{unit} (no interval: {test['reason']})"
    d = _decimals(float(test["se"]))
    if abs(estimate - round(estimate)) < 1e-9:
        est = _num(estimate, signed=True)
    else:
        est = _fixed(estimate, d, signed=True)
    return (f"{est}{unit}, {_conf(test['alpha'])} CI "
            f"{_fixed(test['ci_low'], d)} to {_fixed(test['ci_high'], d)}")


# --------------------------------------------------------------------------
# movement of an area, units
# --------------------------------------------------------------------------


def _movement(table: CountTable, area: str, *, steady_band: float = 0.0,
              unit: str = "day") -> str:
    """'fell from 40 to 18', 'rose from …', 'stayed at 40' or 'was steady (308 to 318)'.

    Direction is judged on rates when the windows differ in length.
    """
    b = table.count(area, "before")
    a = table.count(area, "after")
    rb = b / table.weight(area, "before")
    ra = a / table.weight(area, "after")
    steady = steady_band > 0 and abs(ra - rb) <= steady_band * max(ra, rb)
    if table.has_time_weights:
        lb = _num(float(table.before_length or 0))
        la = _num(float(table.after_length or 0))
        span = (f"from {_count(b)} in the {lb} {unit}s before to {_count(a)} in the {la} "
                f"{unit}s after")
        if steady:
            return f"was steady ({_count(b)} in the {lb} {unit}s before, {_count(a)} in the {la} " \
                   f"{unit}s after)"
        if ra < rb:
            return "fell " + span
        if ra > rb:
            return "rose " + span
        return "stayed level, " + span
    if steady and a != b:
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


# --------------------------------------------------------------------------
# caveats
# --------------------------------------------------------------------------


def caveat_text(caveat: str) -> str:
    """The text of a caller's caveat: a :data:`CAVEAT_TEXT` key's text, or the free text."""
    return CAVEAT_TEXT.get(caveat, caveat.strip().rstrip("."))


def _data_caveat_text(key: str, table: CountTable, tests: Mapping[str, Any], what: str,
                      unit: str) -> str:
    """Text of a :data:`spatial.evaluation.verdict.DATA_CAVEAT_KEYS` key."""
    if key == "small_counts":
        return (f"some counts are below {SMALL_COUNT}, where the normal approximation "
                f"behind the tests is rough")
    if key == "trend_bias":
        bias = float(tests["multiplicative_trend_bias"])
        change = table.count("control", "after") / table.weight("control", "after") / (
            table.count("control", "before") / table.weight("control", "before")) - 1.0
        return (f"the control changed by {_num(100.0 * change, signed=True)} % and started "
                f"from a different level than the target; the test assumes changes add "
                f"rather than multiply, so about {_num(bias, signed=True)}{unit} of the "
                f"local effect could be that shared trend")
    if key == "small_buffer":
        return (f"the buffer recorded only {_count(table.total('buffer'))} {what}, too "
                f"few to rule out displacement")
    raise ValueError(f"unknown data caveat {key!r}")


# --------------------------------------------------------------------------
# the sentence
# --------------------------------------------------------------------------


def _insufficient_sentence(v: Verdict, table: CountTable, what: str) -> str:
    if v.insufficient == "no_control_events":
        return (f"No conclusion can be drawn: the control area recorded no {what} in either "
                f"period, so there is no trend to compare the target area against.")
    floor = v.tests["min_count"]
    return (f"Too few {what} to draw a conclusion: the target area recorded "
            f"{_count(table.count('target', 'before'))} before and "
            f"{_count(table.count('target', 'after'))} after "
            f"({_count(table.total('target'))} in all), "
            f"and with fewer than {floor} events even a halving could not be told apart "
            f"from chance at the {_conf(v.tests['alpha'])} level.")


def _reduction_sentence(v: Verdict, what: str, in_buffer: str) -> str:
    """Rows 3-6 of the decision table; ``in_buffer`` is '(… there …; displacement effect …)'."""
    quotient = v.tests["wdq"]["value"]
    wdq_text = f" (WDQ {_num(quotient)})" if quotient is not None else ""
    rose = "That is a significant reduction, but the buffer rose relative to its control "
    if v.code == "displacement_exceeds_reduction":
        return (f"{rose}{in_buffer}, as much as or more than the target's fall{wdq_text}: "
                f"the activity appears to have moved rather than gone.")
    if v.code == "reduction_with_displacement":
        return (f"{rose}{in_buffer}, so some activity appears to have moved next door; the "
                f"displacement is smaller than the reduction{wdq_text}.")
    if v.code == "reduction_with_diffusion":
        return (f"That is a significant reduction, and the buffer also fell relative to "
                f"its control {in_buffer}: the benefit appears to have spread to the "
                f"surrounding area (diffusion of benefits).")
    if v.buffer == "untested":
        return (f"That is a significant reduction; the buffer recorded no {what} in "
                f"either period, so displacement could not be tested.")
    return (f"That is a significant reduction, and the buffer shows no "
            f"significant displacement {in_buffer}.")


def _second_sentence(v: Verdict, table: CountTable, what: str, time_unit: str,
                     unit: str) -> str:
    """What the tests show, after the lead sentence on the target and control."""
    in_buffer = (f"({what} there {_movement(table, 'buffer', unit=time_unit)}; "
                 f"displacement effect {_effect(v.tests['displacement_effect'], unit)})")
    p_local = v.tests["local_effect"]["p_value"]
    if v.code == "increase":
        return f"That is a significant increase relative to the control area ({p_text(p_local)})."
    if v.code != "no_significant_change":
        return _reduction_sentence(v, what, in_buffer)
    second = (f"That is not statistically significant ({p_text(p_local)}), so no change in "
              f"the target area can be claimed.")
    if v.buffer in ("rose", "fell"):
        second += (f" The buffer {v.buffer} relative to its control {in_buffer}, but without "
                   f"a clear change in the target this is not evidence of displacement or "
                   f"diffusion.")
    return second


def render(v: Verdict, table: CountTable, *, what: str = "events", time_unit: str = "day",
           area_unit: str = "km²") -> Explanation:
    """The sentence and caveat texts of a verdict :func:`~spatial.evaluation.verdict.decide` made.

    Parameters
    ----------
    v : Verdict
        The decision for ``table``.
    table : CountTable
        The counts the decision was made on.
    what : str
        What was counted, for the sentence (e.g. ``"violent offences"``).
    time_unit, area_unit : str
        Units of the time and area weights, for the sentence.
    """
    unit = _unit(table, time_unit, area_unit)
    notes = [caveat_text(c) for c in v.caveats]
    notes += [_data_caveat_text(k, table, v.tests, what, unit) for k in v.data_caveats]
    if v.code == "insufficient_data":
        sentence = _insufficient_sentence(v, table, what)
    else:
        lead = (f"In the target area, recorded {what} "
                f"{_movement(table, 'target', unit=time_unit)} while the control area "
                f"{_movement(table, 'control', steady_band=0.05, unit=time_unit)}"
                f": a local effect of {_effect(v.tests['local_effect'], unit)}.")
        sentence = f"{lead} {_second_sentence(v, table, what, time_unit, unit)}"
    if notes:
        sentence += " Read with care: " + "; ".join(notes) + "."
    return Explanation(v.code, sentence, tuple(notes), v.tests)


def explain(table: CountTable, *, alpha: float = 0.05, min_count: int | None = None,
            caveats: Sequence[str] = (), what: str = "events", time_unit: str = "day",
            area_unit: str = "km²") -> Explanation:
    """Decide what a before/after evaluation shows, and say it in plain English.

    :func:`spatial.evaluation.verdict.decide` (its decision table, and its
    ``alpha``, ``min_count`` and ``caveats``: keys of :data:`CAVEAT_TEXT` or
    free text, used as written) followed by :func:`render` (``what``,
    ``time_unit`` and ``area_unit`` are words for the sentence). The caveats
    the data imply (counts under 10, a buffer too small to rule out
    displacement, a shared trend the additive test may misread) are said too.

    Returns
    -------
    Explanation
        ``code`` (one of :data:`spatial.evaluation.verdict.VERDICT_CODES`),
        ``sentence``, ``caveats`` (all of them, in words) and ``tests``
        (every measure as a dict).
    """
    v = decide(table, alpha=alpha, min_count=min_count, caveats=caveats)
    return render(v, table, what=what, time_unit=time_unit, area_unit=area_unit)
