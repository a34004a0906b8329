"""Tests of spatial.evaluation.verdict: the decision table, the sentence, and its error rates."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from spatial.errors import ParameterError
from spatial.evaluation.displacement import CountTable, simulate_operation
from spatial.evaluation.verdict import (
    CAVEAT_TEXT,
    VERDICT_CODES,
    minimum_events,
    trend_bias,
    verdict,
)

BASE = {"target": 300.0, "buffer": 300.0, "control": 300.0, "buffer_control": 300.0}


def test_minimum_events_derivation() -> None:
    # 9 * 1.95996^2 = 34.57 -> 35
    assert minimum_events(0.05) == 35
    assert minimum_events(0.01) == 60  # 9 * 2.5758^2 = 59.7
    # a halving T_b -> T_b/2 with n = 1.5 T_b events has |z| = (n/3)/sqrt(n) = sqrt(n)/3:
    # just significant at n = 35, not at n = 34
    assert (35 / 3) / 35**0.5 > 1.959964 > (34 / 3) / 34**0.5


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


@pytest.mark.parametrize("effects, expected, threshold", [
    ({"target": 0.25, "buffer": 1.5}, "reduction_with_displacement", 0.80),
    ({"target": 0.6, "buffer": 1.8}, "displacement_exceeds_reduction", 0.85),
    ({"target": 0.5, "buffer": 0.5}, "reduction_with_diffusion", 0.90),
    ({"target": 0.5}, "reduction_no_displacement", 0.85),
    ({"target": 1.5}, "increase", 0.90),
    ({}, "no_significant_change", 0.90),
])
def test_planted_effects_are_recovered(effects: dict[str, float], expected: str,
                                       threshold: float) -> None:
    rng = np.random.default_rng(20240611)
    runs = 100
    codes = Counter(verdict(simulate_operation(rng, BASE, effects)).code for _ in range(runs))
    assert codes.most_common(1)[0][0] == expected
    assert codes[expected] / runs >= threshold, codes
    # and one seeded operation, read in full
    one = verdict(simulate_operation(np.random.default_rng(1), BASE, effects))
    assert one.code == expected


def test_null_false_positive_rate() -> None:
    """No effect anywhere: a change is claimed in about alpha of evaluations."""
    baselines = [
        {"target": 100.0, "buffer": 150.0, "control": 120.0},
        {"target": 200.0, "buffer": 250.0, "control": 200.0, "buffer_control": 300.0},
        {"target": 300.0, "buffer": 100.0, "control": 250.0, "buffer_control": 150.0},
    ]
    rng = np.random.default_rng(99)
    runs = 0
    claims = 0
    for base in baselines:
        for _ in range(200):
            code = verdict(simulate_operation(rng, base)).code
            runs += 1
            claims += code not in ("no_significant_change", "insufficient_data")
    rate = claims / runs
    print(f"null false-positive rate {rate:.3f} over {runs} runs")
    assert rate <= 0.08


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


def test_every_code_is_known() -> None:
    rng = np.random.default_rng(5)
    for effects in ({}, {"target": 0.5}, {"target": 0.5, "buffer": 1.5}, {"target": 2.0}):
        for _ in range(10):
            assert verdict(simulate_operation(rng, BASE, effects)).code in VERDICT_CODES


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
