"""Say a verdict in plain English, for a tasking meeting.

:func:`spatial.evaluation.verdict.decide` decides (codes, caveat keys, the
numbers); this module writes what a person can sign: a verdict of at most
two sentences resting on the tests that decided it (the ratio-of-rate-ratio
tests, as relative changes in per cent with their interval and Holm-adjusted
p), and the caveats as a separate list. :func:`render` words a
:class:`~spatial.evaluation.verdict.Verdict` already made; :func:`explain`
decides and words in one call.

Conventions: rates per 30 days whenever the before and after windows differ
in length (counts otherwise); p-values as reports write them
(:func:`service.render.numbers.p_text`); a fall is at most 100 %; a rise of
tenfold or more is said in words; "not significant" and "not detected" come
with the smallest change the design could have detected (power 0.8).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from service.render.numbers import p_text
from spatial.evaluation.count_table import SMALL_COUNT, CountTable
from spatial.evaluation.verdict import DEFAULT_DISPLACEMENT_SIZE, Verdict, decide

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
#: Days a rate is given per when the before and after windows differ in length.
RATE_DAYS: Final = 30
#: Power at which the smallest detectable changes are stated.
DETECT_POWER: Final = 0.8
#: A ratio at or above this is said as "more than tenfold", not in per cent.
TENFOLD: Final = 10.0


@dataclass(frozen=True)
class Explanation:
    """A verdict code, the sentence for the meeting, its caveats and the tests behind it.

    ``sentence`` is at most two sentences and rests on the ratio tests;
    ``caveats`` are separate; ``additive`` words the WDD (which assumes
    changes add) for comparison; ``detectable_fall_pct`` is the smallest fall
    in the target the local test would detect (power 0.8, Holm's first-step
    level α/3), ``None`` when even a complete stop could not be detected or
    there is no test.
    """

    code: str
    sentence: str
    caveats: tuple[str, ...]
    tests: dict[str, Any] = field(default_factory=dict)
    additive: str | None = None
    detectable_fall_pct: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "sentence": self.sentence, "caveats": list(self.caveats),
                "additive": self.additive, "detectable_fall_pct": self.detectable_fall_pct,
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
    if float(text) == 0:
        text = text.lstrip("-")
    if text.startswith("-"):
        return MINUS + text[1:]
    if signed and float(text) > 0:
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


def _pct(x: float) -> str:
    """A non-negative percentage: whole above 10, one decimal below, never '100' for < 100."""
    text = f"{x:.0f}" if x >= 9.95 else f"{x:.1f}".removesuffix(".0")
    if float(text) >= 100 > x:
        return "more than 99"
    return text


def _fall(ratio: float) -> str:
    """Per cent fallen at ``ratio`` < 1: in [0, 100]."""
    return _pct(100.0 * (1.0 - max(ratio, 0.0)))


def _rise(ratio: float) -> str:
    """Per cent risen at ``ratio`` > 1, or 'more than tenfold'."""
    if ratio >= TENFOLD:
        return "more than tenfold"
    return _pct(100.0 * (ratio - 1.0)) + " %"


def _change(ratio: float) -> str:
    """'a fall of 38 %', 'a rise of 45 %', 'a more than tenfold rise', 'no change'."""
    if ratio < 1 and _fall(ratio) != "0":
        return f"a fall of {_fall(ratio)} %"
    if ratio > 1 and _pct(100.0 * (ratio - 1.0)) != "0":
        return "a more than tenfold rise" if ratio >= TENFOLD else f"a rise of {_rise(ratio)}"
    return "no change"


def _interval(lo: float, hi: float) -> str:
    """A ratio interval in words: '22 % to 50 % lower' style, or 'a fall of … to a rise of …'."""
    if hi < 1:
        return f"a fall of {_fall(hi)} % to {_fall(lo)} %"
    if lo >= TENFOLD:
        return "a rise of more than tenfold"
    if lo > 1:
        return f"a rise of {_rise(lo)} to {_rise(hi)}"
    return f"a fall of {_fall(lo)} % to a rise of {_rise(hi)}"


def _p_of(test: Mapping[str, Any]) -> str:
    """The p that decided: Holm-adjusted when the verdict corrected it."""
    p_adj, p_raw = test.get("p_adjusted"), test.get("p_value")
    if p_adj is not None and p_raw is not None and p_adj != p_raw:
        return "Holm-adjusted " + p_text(p_adj)
    return p_text(p_raw)


def _verb(ratio: float) -> str:
    """'fell 38 %', 'rose 45 %', 'rose more than tenfold', 'was unchanged'."""
    if ratio < 1 and _fall(ratio) != "0":
        return f"fell {_fall(ratio)} %"
    if ratio > 1 and _pct(100.0 * (ratio - 1.0)) != "0":
        return f"rose {_rise(ratio)}"
    return "was unchanged"


def relative(test: Mapping[str, Any], against: str, *, verb: bool = False) -> str:
    """'a fall of 38 % relative to the control (95 % CI a fall of 22 % to 50 %, p < 0.001)'.

    With ``verb``: 'fell 38 % relative to the control (…)'. ``test`` is a
    :meth:`spatial.evaluation.rate_ratios.RatioTest.as_dict`; its p is the
    Holm-adjusted one when the verdict corrected it.
    """
    ratio = test.get("ratio")
    if ratio is None:
        lead = "could not be compared" if verb else "no relative change could be tested"
        return f"{lead} ({test.get('reason')})"
    ci = ""
    if test.get("ci_low") is not None and test.get("ci_high") is not None:
        ci = f"{_conf(float(test['alpha']))} CI {_interval(test['ci_low'], test['ci_high'])}, "
    said = _verb(float(ratio)) if verb else _change(float(ratio))
    return f"{said} relative to {against} ({ci}{_p_of(test)})"


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
# what the design could have detected
# --------------------------------------------------------------------------


def _target_detectable(v: Verdict, table: CountTable) -> float | None:
    return v.detectable_fall_pct


def _could_fall(pct: float | None) -> str:
    if pct is None:
        return "even a complete stop could not have been detected"
    return f"the design could detect only a fall of {_pct(pct)} % or more"


def _could_rise(pct: float | None) -> str:
    if pct is None:
        return "no rise there could be tested"
    if pct >= 100.0 * (TENFOLD - 1.0):
        return "the design could not detect even a tenfold rise"
    return f"the design could detect only a rise of {_pct(pct)} % or more"


# --------------------------------------------------------------------------
# movement of an area, units
# --------------------------------------------------------------------------


def _rate(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _movement(table: CountTable, area: str, *, steady_band: float = 0.0,
              unit: str = "day") -> str:
    """'fell from 40 to 18', 'rose from 14.0 to 16.3 per 30 days', 'was steady (308 to 318)'.

    Counts when the windows are equally long; rates per 30 days (per
    ``unit`` when the windows are not in days) when they differ, so that the
    numbers compared are comparable.
    """
    b, a = table.count(area, "before"), table.count(area, "after")
    lb, la = table.before_length, table.after_length
    if table.has_time_weights and lb is not None and la is not None and lb != la:
        per = RATE_DAYS if unit == "day" else 1
        vb, va = b / lb * per, a / la * per
        unit_text = f" per {RATE_DAYS} days" if unit == "day" else f" per {unit}"
        shown_b, shown_a = _rate(vb), _rate(va)
    else:
        vb, va, unit_text = b, a, ""
        shown_b, shown_a = _count(b), _count(a)
    steady = steady_band > 0 and abs(va - vb) <= steady_band * max(va, vb)
    if steady and shown_b != shown_a:
        return f"was steady ({shown_b} to {shown_a}{unit_text})"
    if va < vb and shown_b != shown_a:
        return f"fell from {shown_b} to {shown_a}{unit_text}"
    if va > vb and shown_b != shown_a:
        return f"rose from {shown_b} to {shown_a}{unit_text}"
    return f"stayed at {shown_b}{unit_text}"


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


def _data_caveat_text(key: str, table: CountTable, v: Verdict, what: str, unit: str) -> str:
    """Text of a :data:`spatial.evaluation.verdict.DATA_CAVEAT_KEYS` key."""
    if key == "small_counts":
        return (f"some counts are below {SMALL_COUNT}, where the normal approximation "
                f"behind the tests is rough")
    if key == "trend_bias":
        bias = float(v.tests["multiplicative_trend_bias"])
        change = table.count("control", "after") / table.weight("control", "after") / (
            table.count("control", "before") / table.weight("control", "before")) - 1.0
        return (f"the additive WDD figures assume changes add: the control changed by "
                f"{_num(100.0 * change, signed=True)} % from a different level than the "
                f"target, so about {_num(bias, signed=True)}{unit} of the WDD's local effect "
                f"could be that shared trend alone; the verdict rests on ratio tests, which "
                f"a shared trend does not bias")
    if key == "small_buffer":
        rule_out = ("to say whether recorded activity moved there" if v.role == "output"
                    else "to rule out displacement")
        return (f"the buffer recorded only {_count(table.total('buffer'))} {what}, too "
                f"few {rule_out}")
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


def _lead(v: Verdict, table: CountTable, what: str, time_unit: str,
          target_detectable: float | None) -> str:
    """Sentence 1: the target against the control, and what the local test found."""
    local = v.tests["local_ratio"]
    direction = int(local.get("direction") or 0)
    output = v.role == "output"
    subject = (f"recorded {what} \N{EM DASH} a measure of police activity \N{EM DASH}"
               if output else f"recorded {what}")
    if direction < 0:
        found = "a significant fall in recorded activity" if output else "a significant reduction"
    elif direction > 0:
        found = "a significant rise in recorded activity" if output else "a significant increase"
    else:
        found = f"not a significant change ({_could_fall(target_detectable)})"
    return (f"In the target area, {subject} {_movement(table, 'target', unit=time_unit)} "
            f"while the control area "
            f"{_movement(table, 'control', steady_band=0.05, unit=time_unit)}: "
            f"{relative(local, 'the control')}, {found}.")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _second(v: Verdict) -> str:
    """Sentence 2: the buffer and the whole area, as the code says."""
    dis, net = v.tests["displacement_ratio"], v.tests["net_ratio"]
    buffer = "the buffer " + relative(dis, "its control", verb=True)
    together = "the target and buffer together " + relative(net, "the control", verb=True)
    size = _pct(100.0 * float(v.tests.get("displacement_size", DEFAULT_DISPLACEMENT_SIZE)))
    rise = v.detectable_rise_pct
    code = v.code
    if code == "displacement_exceeds_reduction":
        return (f"But {buffer}, and the whole area is significantly worse off: {together}; "
                f"the activity appears to have moved rather than gone.")
    if code == "reduction_with_displacement":
        if int(net.get("direction") or 0) < 0:
            return (f"But {buffer}, so some activity appears to have moved next door; the "
                    f"gain outweighs it: {together}.")
        return (f"But {buffer}, so some activity appears to have moved next door; whether "
                f"the area as a whole is better off is uncertain: {together}.")
    if code == "reduction_with_diffusion":
        return (f"And {buffer}: the benefit appears to have spread (diffusion of benefits).")
    if code == "reduction_no_displacement":
        return (f"No displacement: {buffer}, not a significant change, and the design could "
                f"detect a rise of {_pct(rise or 0.0)} % or more there.")
    if code == "reduction_displacement_not_detected":
        if rise is None:
            reason = (v.tests.get("detectable_rise") or {}).get("reason") or dis.get("reason")
            return f"Displacement could not be tested: {reason}."
        return (f"Displacement not detected ({_could_rise(rise).removeprefix('the design ')} "
                f"in the buffer, where "
                f"{size} % was asked for): {buffer}.")
    if code in ("harm_signal", "activity_rose_nearby"):
        label = ("officers may have worked there, or activity moved" if v.role == "output"
                 else "a possible harm signal (displacement, or a rise of its own) to look into")
        return f"But {together if v.harm_signal == 'net_rose' else buffer}: {label}."
    # increase, activity_fell, activity_rose, no_significant_change: the buffer, neutrally
    if dis.get("ratio") is None:
        return f"The buffer could not be compared: {dis.get('reason')}."
    if v.buffer == "no_change":
        lead = ("Nor did the buffer change significantly" if code == "no_significant_change"
                else "The buffer showed no significant change")
        return (f"{lead}: it {relative(dis, 'its control', verb=True)}, and "
                f"{_could_rise(rise)}.")
    if code == "no_significant_change":
        return (f"{_upper_first(buffer)}, but without a clear change in the target this says "
                f"nothing about the operation.")
    return f"{_upper_first(buffer)}."


def _additive(v: Verdict, unit: str) -> str | None:
    w = v.tests.get("wdd")
    if not w or w.get("estimate") is None:
        return None
    return (f"The WDD, which assumes changes add, gives a net effect of "
            f"{_effect(w, unit)} ({p_text(w.get('p_value'))}); the verdict rests on the "
            f"ratio tests instead.")


def render(v: Verdict, table: CountTable, *, what: str = "events", time_unit: str = "day",
           area_unit: str = "km²", caveat_words: Mapping[str, str] | None = None
           ) -> Explanation:
    """The sentence and caveat texts of a verdict :func:`~spatial.evaluation.verdict.decide` made.

    Parameters
    ----------
    v : Verdict
        The decision for ``table`` (rendered as decided, never re-decided).
    table : CountTable
        The counts the decision was made on.
    what : str
        What was counted, for the sentence (e.g. ``"violent offences"``).
    time_unit, area_unit : str
        Units of the time and area weights, for the sentence.
    caveat_words : mapping, optional
        Texts of caller caveat keys beyond :data:`CAVEAT_TEXT`.
    """
    unit = _unit(table, time_unit, area_unit)
    words = {**CAVEAT_TEXT, **(caveat_words or {})}
    notes = [words.get(c, caveat_text(c)) for c in v.caveats]
    notes += [_data_caveat_text(k, table, v, what, unit) for k in v.data_caveats]
    if v.code == "insufficient_data":
        return Explanation(v.code, _insufficient_sentence(v, table, what), tuple(notes),
                           v.tests, _additive(v, unit))
    fall = _target_detectable(v, table)
    sentence = f"{_lead(v, table, what, time_unit, fall)} {_second(v)}"
    return Explanation(v.code, sentence, tuple(notes), v.tests, _additive(v, unit), fall)


def explain(table: CountTable, *, alpha: float = 0.05, min_count: int | None = None,
            caveats: Sequence[str] = (), what: str = "events", time_unit: str = "day",
            area_unit: str = "km²", role: str = "outcome",
            displacement_size: float = DEFAULT_DISPLACEMENT_SIZE) -> Explanation:
    """Decide what a before/after evaluation shows, and say it in plain English.

    :func:`spatial.evaluation.verdict.decide` (its decision table, and its
    ``alpha``, ``min_count``, ``caveats``, ``role`` and ``displacement_size``)
    followed by :func:`render`. For callers with only a table; an evaluation
    that already holds its :class:`~spatial.evaluation.verdict.Verdict`
    should call :func:`render`.

    Returns
    -------
    Explanation
        ``code`` (one of :data:`spatial.evaluation.verdict.VERDICT_CODES`),
        ``sentence`` (at most two), ``caveats`` (all of them, in words) and
        ``tests`` (every measure as a dict).
    """
    v = decide(table, alpha=alpha, min_count=min_count, caveats=caveats, role=role,
               displacement_size=displacement_size)
    return render(v, table, what=what, time_unit=time_unit, area_unit=area_unit)
