"""Tests of service.render.sentences: the verdict said in English, with its caveats."""

from __future__ import annotations

import json

import pytest

from service.render.sentences import CAVEAT_TEXT, render
from service.render.sentences import explain as verdict
from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.verdict import CAVEAT_KEYS, decide, trend_bias


def test_wheeler_ratcliffe_example_reads_as_reduction_without_displacement() -> None:
    t = CountTable.from_pairs(target=(207, 110), control=(308, 318), buffer=(178, 157),
                              buffer_control=(150, 140))
    v = verdict(t, what="crimes")
    assert v.code == "reduction_no_displacement"
    assert v.sentence.startswith(
        "In the target area, recorded crimes fell from 207 to 110 while the control area was "
        "steady (308 to 318): a local effect of −107, 95 % CI −167 to −47.")
    assert "displacement effect −11" in v.sentence
    assert v.tests["wdd"]["estimate"] == -118
    json.dumps(v.as_dict())


def test_wdq_example_reads_as_displacement_exceeding_reduction() -> None:
    t = CountTable.from_pairs(target=(100, 50), buffer=(100, 150), control=(100, 100))
    v = verdict(t)
    assert v.code == "displacement_exceeds_reduction"
    assert "(WDQ −1)" in v.sentence
    assert v.tests["wdq"]["value"] == -1.0


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
    t = CountTable.from_pairs(target=(100, 50), buffer=(0, 0), control=(100, 100),
                              buffer_control=(0, 0))
    v = verdict(t)
    assert v.code == "reduction_no_displacement"
    assert "displacement could not be tested" in v.sentence


def test_caveats_go_into_the_sentence() -> None:
    t = CountTable.from_pairs(target=(40, 18), buffer=(30, 31), control=(50, 52),
                              time_weights=(28, 28))
    v = verdict(t, what="drug offences",
                caveats=["output_layer", "snapped_locations", "month_precision",
                         "partial_intelligence", "concurrent_operations",
                         "the strike fell over a bank holiday."])
    for key in ("output_layer", "snapped_locations", "month_precision", "partial_intelligence",
                "concurrent_operations"):
        assert CAVEAT_TEXT[key] in v.sentence
        assert CAVEAT_TEXT[key] in v.caveats
    assert "the strike fell over a bank holiday" in v.caveats
    assert "per day" in v.sentence and "in the 28 days before" in v.sentence
    with pytest.raises(ParameterError):
        verdict(t, caveats=[""])


def test_increase_and_no_change_sentences() -> None:
    up = verdict(CountTable.from_pairs(target=(40, 80), buffer=(30, 31), control=(50, 50)))
    assert up.code == "increase"
    assert "rose from 40 to 80" in up.sentence and "significant increase" in up.sentence
    flat = verdict(CountTable.from_pairs(target=(60, 55), buffer=(100, 180), control=(100, 100)))
    assert flat.code == "no_significant_change"
    assert "no change in the target area can be claimed" in flat.sentence
    assert "not evidence of displacement" in flat.sentence


def test_multiplicative_trend_caveat() -> None:
    t = CountTable.from_pairs(target=(100, 70), buffer=(200, 210), control=(600, 800))
    # control ratio 4/3: bias (1/3) * (100 - 600) = -166.7
    assert trend_bias(t) == pytest.approx(-500 / 3)
    v = verdict(t)
    assert "changes add rather than multiply" in v.sentence
    assert "−167" in v.sentence


def test_displacement_versus_reduction_compared_in_events_not_densities() -> None:
    # target 0.5 km² falls 300 -> 150 (-300/km², 150 events); buffer 0.2 km² rises
    # 300 -> 400 (+500/km², but only 100 events): displacement smaller than the gain
    t = CountTable.from_pairs(target=(300, 150), control=(300, 300), buffer=(300, 400),
                              buffer_control=(300, 300),
                              area_weights={"target": 0.5, "control": 1.0, "buffer": 0.2,
                                            "buffer_control": 0.2})
    v = verdict(t)
    assert v.tests["local_effect"]["estimate"] == pytest.approx(-300)
    assert v.tests["displacement_effect"]["estimate"] == pytest.approx(500)
    assert v.tests["wdq"]["value"] == pytest.approx((400 / 300 - 1) / (150 / 300 - 1))
    assert v.code == "reduction_with_displacement"
    assert "per km²" in v.sentence


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
