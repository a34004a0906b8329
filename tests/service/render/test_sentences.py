"""Tests of service.render.sentences: the verdict said in English, with its caveats apart."""

from __future__ import annotations

import json
import re

import pytest

from service.render.sentences import CAVEAT_TEXT, render
from service.render.sentences import explain as verdict
from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.rate_ratios import detectable_fall, detectable_rise
from spatial.evaluation.verdict import (
    CAVEAT_KEYS,
    OUTPUT_CODES,
    VERDICT_CODES,
    Verdict,
    decide,
    trend_bias,
)

#: A table (and role) that produces each verdict code (and harm signal).
CASES: dict[str, tuple[str, dict[str, tuple[float, float]]]] = {
    "insufficient_data": ("outcome", {"target": (20, 14), "buffer": (10, 12),
                                      "control": (40, 41)}),
    "no_significant_change": ("outcome", {"target": (100, 95), "buffer": (100, 104),
                                          "control": (100, 100)}),
    "reduction_no_displacement": ("outcome", {"target": (400, 200), "buffer": (1000, 1010),
                                              "control": (1000, 1000)}),
    "reduction_displacement_not_detected": ("outcome", {"target": (100, 50),
                                                        "buffer": (30, 31),
                                                        "control": (100, 100)}),
    "reduction_with_diffusion": ("outcome", {"target": (400, 200), "buffer": (400, 250),
                                             "control": (1000, 1000)}),
    "reduction_with_displacement": ("outcome", {"target": (794, 392), "buffer": (861, 1129),
                                                "control": (1562, 1493)}),
    "displacement_exceeds_reduction": ("outcome", {"target": (738, 557),
                                                   "buffer": (900, 1432),
                                                   "control": (1614, 1501)}),
    "increase": ("outcome", {"target": (40, 80), "buffer": (30, 31), "control": (50, 50)}),
    "harm_signal": ("outcome", {"target": (60, 55), "buffer": (100, 180),
                                "control": (100, 100)}),
    "activity_fell": ("output", {"target": (400, 200), "buffer": (400, 250),
                                 "control": (1000, 1000)}),
    "activity_rose": ("output", {"target": (40, 80), "buffer": (30, 31), "control": (50, 50)}),
    "activity_rose_nearby": ("output", {"target": (60, 55), "buffer": (100, 180),
                                        "control": (100, 100)}),
}
#: More tables for the branches within a code.
EXTRA: list[tuple[str, dict[str, tuple[float, float]]]] = [
    ("outcome", {"target": (200, 240), "buffer": (200, 240), "control": (2000, 2000)}),
    ("output", {"target": (200, 240), "buffer": (200, 240), "control": (2000, 2000)}),
    ("outcome", {"target": (60, 20), "buffer": (5, 9), "control": (0, 0)}),
    ("outcome", {"target": (100, 50), "buffer": (0, 0), "control": (100, 100)}),
    ("output", {"target": (100, 50), "buffer": (0, 0), "control": (100, 100)}),
    ("outcome", {"target": (800, 300), "buffer": (800, 1000), "control": (2000, 2000)}),
    ("outcome", {"target": (43, 32), "buffer": (30, 31), "control": (200, 190)}),
    ("output", {"target": (100, 95), "buffer": (100, 104), "control": (100, 100)}),
    ("output", {"target": (794, 392), "buffer": (861, 1129), "control": (1562, 1493)}),
    ("outcome", {"target": (60, 1), "buffer": (3, 60), "control": (50, 50)}),
    ("outcome", {"target": (12, 30), "buffer": (3, 2), "control": (40, 41)}),
]
FORBIDDEN_FOR_OUTPUTS = re.compile(r"reduction|increase|displacement|harm", re.IGNORECASE)


def _table(pairs: dict[str, tuple[float, float]], **kw: object) -> CountTable:
    return CountTable.from_pairs(**pairs, **kw)  # type: ignore[arg-type]


def _sentences(text: str) -> int:
    """Sentence ends: a full stop, ! or ? followed by a space or the end."""
    return len(re.findall(r"[.!?](?=\s|$)", text))


def _all_explanations() -> list[tuple[str, object]]:
    out = []
    for role, pairs in list(CASES.values()) + EXTRA:
        for weights in (None, (92, 59)):
            out.append((role, verdict(_table(pairs, time_weights=weights), role=role,
                                      what="offences")))
    return out


def test_every_code_has_a_table_and_a_sentence() -> None:
    for code, (role, pairs) in CASES.items():
        said = verdict(_table(pairs), role=role, what="offences")
        assert said.code == code
        assert said.sentence.endswith(".") and len(said.sentence) > 40
    assert set(CASES) == set(VERDICT_CODES)


@pytest.mark.parametrize("role, pairs", list(CASES.values()) + EXTRA)
@pytest.mark.parametrize("weights", [None, (92, 59), (28, 28)])
def test_sentences_a_person_can_sign(role: str, pairs: dict[str, tuple[float, float]],
                                     weights: tuple[int, int] | None) -> None:
    said = verdict(_table(pairs, time_weights=weights), role=role, what="offences",
                   caveats=["snapped_locations"])
    s = said.sentence
    assert 1 <= _sentences(s) <= 2, s
    assert not re.search(r"[−-]0(?:\.0*)?(?![.\d])", s), s
    assert not re.search(r"\de[-+]?\d", s), s
    for pct in re.findall(r"(?:fall of|fell) ([\d.]+) %", s):
        assert float(pct) <= 100, s
    for pct in re.findall(r"a fall of [\d.]+ % to ([\d.]+) %", s):
        assert float(pct) <= 100, s
    if role == "output":
        assert said.code in OUTPUT_CODES
        assert not FORBIDDEN_FOR_OUTPUTS.search(s), s
    # caveats are a list of their own, never appended to the verdict
    assert CAVEAT_TEXT["snapped_locations"] in said.caveats
    assert "Read with care" not in s and CAVEAT_TEXT["snapped_locations"] not in s
    if weights is not None and weights[0] != weights[1] and said.code != "insufficient_data":
        assert "per 30 days" in s and "in the 92 days" not in s
    else:
        assert "per 30 days" not in s
    if said.code in ("no_significant_change", "harm_signal", "activity_rose_nearby"):
        assert ("could detect only a fall of" in s
                or "even a complete stop could not have been detected" in s), s
    json.dumps(said.as_dict())


def test_wheeler_ratcliffe_example_reads_as_a_reduction_whose_displacement_was_not_detectable(
) -> None:
    # Before the ratio tests this read reduction_no_displacement: but a buffer of 178 events
    # can only show a rise of about 60 % (power 0.8), twice the 30 % "no displacement" needs.
    t = CountTable.from_pairs(target=(207, 110), control=(308, 318), buffer=(178, 157),
                              buffer_control=(150, 140))
    v = verdict(t, what="crimes")
    assert v.code == "reduction_displacement_not_detected"
    assert v.sentence.startswith(
        "In the target area, recorded crimes fell from 207 to 110 while the control area was "
        "steady (308 to 318): a fall of 49 % relative to the control (95 % CI a fall of 32 % "
        "to 61 %, Holm-adjusted p < 0.001), a significant reduction.")
    assert "Displacement not detected (could detect only a rise of 60 % or more" in v.sentence
    assert "where 30 % was asked for" in v.sentence
    assert v.tests["wdd"]["estimate"] == -118
    assert v.additive is not None and "assumes changes add" in v.additive
    assert "−118" in v.additive
    json.dumps(v.as_dict())


def test_a_larger_displacement_size_allows_no_displacement() -> None:
    t = CountTable.from_pairs(target=(207, 110), control=(308, 318), buffer=(178, 157),
                              buffer_control=(150, 140))
    v = verdict(t, displacement_size=0.8)
    assert v.code == "reduction_no_displacement"
    assert v.sentence.split(". ")[1].startswith("No displacement: the buffer fell 5.5 %")
    assert "could detect a rise of 60 % or more" in v.sentence


def test_wdq_example_no_longer_exceeds_on_point_estimates() -> None:
    # WDQ −1 ("displacement as large as the gain") but the buffer's rise is not significant
    # after Holm's correction, and the whole area did not fare significantly worse.
    t = CountTable.from_pairs(target=(100, 50), buffer=(100, 150), control=(100, 100))
    v = verdict(t)
    assert v.tests["wdq"]["value"] == -1.0
    assert v.code == "reduction_displacement_not_detected"
    assert "exceed" not in v.sentence
    assert "Holm-adjusted p = 0.07" in v.sentence


def test_the_issue_calculator_cases() -> None:
    a = verdict(CountTable.from_pairs(target=(794, 392), buffer=(861, 1129),
                                      control=(1562, 1493)))
    assert a.code == "reduction_with_displacement"
    assert "exceed" not in a.sentence
    assert "whether the area as a whole is better off is uncertain" in a.sentence
    assert "the target and buffer together fell 3.8 % relative to the control" in a.sentence
    b = verdict(CountTable.from_pairs(target=(738, 557), buffer=(900, 1432),
                                      control=(1614, 1501)))
    assert b.code == "displacement_exceeds_reduction"
    assert "significantly worse off" in b.sentence and "rose 31 %" in b.sentence


def test_net_gain_is_said_when_the_whole_area_fell() -> None:
    v = verdict(CountTable.from_pairs(target=(800, 300), buffer=(800, 1000),
                                      control=(2000, 2000)))
    assert v.code == "reduction_with_displacement"
    assert "the gain outweighs it: the target and buffer together fell" in v.sentence


def test_insufficient_data() -> None:
    t = CountTable.from_pairs(target=(20, 14), buffer=(10, 12), control=(40, 41))
    v = verdict(t, what="overdoses")
    assert v.code == "insufficient_data"
    assert "fewer than 35 events" in v.sentence and "34 in all" in v.sentence
    assert verdict(t, min_count=30).code != "insufficient_data"


@pytest.mark.parametrize("pairs", [
    {"target": (0, 0), "buffer": (0, 0), "control": (0, 0)},
    {"target": (60, 20), "buffer": (5, 9), "control": (0, 0)},
    {"target": (0, 0), "buffer": (40, 30), "control": (50, 60)},
    {"target": (60, 20), "buffer": (5, 9), "control": (0, 0), "buffer_control": (0, 0)},
])
def test_zero_counts_never_crash(pairs: dict[str, tuple[int, int]]) -> None:
    v = verdict(CountTable.from_pairs(target=pairs["target"], buffer=pairs["buffer"],
                                      control=pairs["control"],
                                      buffer_control=pairs.get("buffer_control")))
    assert v.code == "insufficient_data"
    assert v.sentence
    json.dumps(v.as_dict())


def test_zero_buffer_says_displacement_untested() -> None:
    # was reduction_no_displacement: an empty buffer cannot show that nothing moved
    t = CountTable.from_pairs(target=(100, 50), buffer=(0, 0), control=(100, 100),
                              buffer_control=(0, 0))
    v = verdict(t)
    assert v.code == "reduction_displacement_not_detected"
    assert "Displacement could not be tested: no events in the buffer before" in v.sentence


def test_caveats_are_a_list_apart_from_the_sentence() -> None:
    t = CountTable.from_pairs(target=(40, 18), buffer=(30, 31), control=(50, 52),
                              time_weights=(28, 28))
    v = verdict(t, what="drug offences",
                caveats=["output_layer", "snapped_locations", "month_precision",
                         "partial_intelligence", "concurrent_operations",
                         "the strike fell over a bank holiday."])
    for key in ("output_layer", "snapped_locations", "month_precision", "partial_intelligence",
                "concurrent_operations"):
        assert CAVEAT_TEXT[key] not in v.sentence
        assert CAVEAT_TEXT[key] in v.caveats
    assert "the strike fell over a bank holiday" in v.caveats
    # equal windows: counts, not rates
    assert "fell from 40 to 18" in v.sentence and "per 30 days" not in v.sentence
    with pytest.raises(ParameterError):
        verdict(t, caveats=[""])


def test_unequal_windows_are_said_as_rates_per_30_days() -> None:
    # the issue's "rose from 43 in the 92 days before to 32 in the 59 days after"
    t = CountTable.from_pairs(target=(43, 32), buffer=(30, 31), control=(200, 190),
                              time_weights=(92, 59))
    v = verdict(t, what="Drugs crimes")
    assert "rose from 14.0 to 16.3 per 30 days" in v.sentence
    assert "in the 92 days" not in v.sentence and "in the 59 days" not in v.sentence


def test_increase_and_harm_signal_sentences() -> None:
    up = verdict(CountTable.from_pairs(target=(40, 80), buffer=(30, 31), control=(50, 50)))
    assert up.code == "increase"
    assert "rose from 40 to 80" in up.sentence and "a significant increase" in up.sentence
    # was no_significant_change: a buffer that rose 80 % is a harm signal, not "no change"
    flat = verdict(CountTable.from_pairs(target=(60, 55), buffer=(100, 180),
                                         control=(100, 100)))
    assert flat.code == "harm_signal"
    assert "not a significant change (the design could detect only a fall of" in flat.sentence
    assert "But the buffer rose 80 % relative to its control" in flat.sentence
    assert "a possible harm signal" in flat.sentence
    net = verdict(CountTable.from_pairs(target=(200, 240), buffer=(200, 240),
                                        control=(2000, 2000)))
    assert net.code == "harm_signal"
    assert "But the target and buffer together rose 20 % relative to the control" in net.sentence


def test_output_layers_speak_of_police_activity() -> None:
    for code in ("activity_fell", "activity_rose", "activity_rose_nearby"):
        role, pairs = CASES[code]
        s = verdict(_table(pairs), role=role, what="drug offences").sentence
        assert "recorded drug offences \N{EM DASH} a measure of police activity \N{EM DASH}" in s
        assert not FORBIDDEN_FOR_OUTPUTS.search(s)
    s = verdict(_table(CASES["activity_fell"][1]), role="output").sentence
    assert "a significant fall in recorded activity" in s


def test_trend_caveat_concerns_the_wdd_only() -> None:
    t = CountTable.from_pairs(target=(100, 70), buffer=(200, 210), control=(600, 800))
    # control ratio 4/3: bias (1/3) * (100 - 600) = -166.7
    assert trend_bias(t) == pytest.approx(-500 / 3)
    v = verdict(t)
    [caveat] = [c for c in v.caveats if "shared trend" in c]
    assert "the additive WDD figures assume changes add" in caveat
    assert "−167" in caveat and "the verdict rests on ratio tests" in caveat
    assert "shared trend" not in v.sentence


def test_densities_stay_with_the_wdd_and_the_verdict_uses_counts() -> None:
    t = CountTable.from_pairs(target=(300, 150), control=(300, 300), buffer=(300, 400),
                              buffer_control=(300, 300),
                              area_weights={"target": 0.5, "control": 1.0, "buffer": 0.2,
                                            "buffer_control": 0.2})
    v = verdict(t)
    assert v.tests["local_effect"]["estimate"] == pytest.approx(-300)
    assert v.tests["displacement_effect"]["estimate"] == pytest.approx(500)
    assert v.code == "reduction_with_displacement"
    assert "fell from 300 to 150" in v.sentence and "rose 33 % relative to its control" in v.sentence
    assert v.additive is not None and "per km²" in v.additive


def test_falls_are_bounded_and_big_rises_said_in_words() -> None:
    v = verdict(CountTable.from_pairs(target=(60, 1), buffer=(3, 60), control=(50, 50)))
    assert "more than tenfold" in v.sentence
    for pct in re.findall(r"(?:fall of|fell) ([\d.]+|more than 99) %", v.sentence):
        assert pct == "more than 99" or float(pct) <= 100


def test_detectable_fall_mirrors_detectable_rise() -> None:
    # large counts: a fall of f is about as detectable as a rise of 1/(1-f) - 1
    fall = detectable_fall(1000, 1000, 1000, alpha=0.05)
    rise = detectable_rise(1000, 1000, 1000, alpha=0.05).percent
    assert fall is not None and rise is not None
    assert 100 * (1 / (1 - fall / 100) - 1) == pytest.approx(rise, rel=0.05)
    assert 0 < fall < 100
    # a target of 5 events: not even a complete stop could be told apart from chance
    assert detectable_fall(5, 40, 41, alpha=0.05 / 3) is None
    assert detectable_fall(0, 40, 41, alpha=0.05) is None
    small = verdict(CountTable.from_pairs(target=(12, 30), buffer=(3, 2), control=(40, 41)),
                    min_count=0)
    assert small.detectable_fall_pct is None or small.detectable_fall_pct <= 100


def test_every_standard_caveat_has_a_text() -> None:
    assert tuple(CAVEAT_TEXT) == CAVEAT_KEYS


def test_render_says_what_decide_decided() -> None:
    t = CountTable.from_pairs(target=(100, 70), buffer=(10, 12), control=(600, 800),
                              time_weights=(28, 28))
    caveats = ["snapped_locations", "  a free-text caveat. "]
    decision = decide(t, caveats=caveats)
    said = render(decision, t, what="thefts", time_unit="day")
    assert said == verdict(t, caveats=caveats, what="thefts")
    assert said.code == decision.code and said.tests is decision.tests
    assert said.caveats[:2] == (CAVEAT_TEXT["snapped_locations"], "a free-text caveat")
    assert len(said.caveats) == len(decision.caveat_keys)


def test_render_never_decides_again() -> None:
    # a Verdict made elsewhere (here: as an output) is worded as it is
    t = CountTable.from_pairs(target=(400, 200), buffer=(400, 250), control=(1000, 1000))
    made: Verdict = decide(t, role="output")
    assert render(made, t).code == "activity_fell"
    assert verdict(t).code == "reduction_with_diffusion"
    said = render(made, t, caveat_words={"rounded_locations": "rounded to 400 m"})
    assert said.code == made.code


def test_caller_caveat_words() -> None:
    t = CountTable.from_pairs(target=(400, 200), buffer=(400, 250), control=(1000, 1000))
    made = decide(t, caveats=["rounded_locations"])
    said = render(made, t, caveat_words={"rounded_locations": "rounded to 400 m"})
    assert said.caveats == ("rounded to 400 m",)
