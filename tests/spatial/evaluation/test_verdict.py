"""Tests of spatial.evaluation.verdict: the decision table, its codes and its error rates."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.simulation import simulate_operation
from spatial.evaluation.verdict import (
    BUFFER_CODES,
    DATA_CAVEAT_KEYS,
    INSUFFICIENT_CODES,
    OUTPUT_CODES,
    VERDICT_CODES,
    minimum_events,
)
from spatial.evaluation.verdict import decide as verdict

BASE = {"target": 300.0, "buffer": 300.0, "control": 300.0, "buffer_control": 300.0}


def test_minimum_events_derivation() -> None:
    # 9 * 1.95996^2 = 34.57 -> 35
    assert minimum_events(0.05) == 35
    assert minimum_events(0.01) == 60  # 9 * 2.5758^2 = 59.7
    # a halving T_b -> T_b/2 with n = 1.5 T_b events has |z| = (n/3)/sqrt(n) = sqrt(n)/3:
    # just significant at n = 35, not at n = 34
    assert (35 / 3) / 35**0.5 > 1.959964 > (34 / 3) / 34**0.5


#: a large buffer and control: the design can detect a 30 % rise in the buffer
BIG_BUFFER = {"target": 300.0, "buffer": 1500.0, "control": 1500.0}


@pytest.mark.parametrize("base, effects, expected, threshold", [
    (BASE, {"target": 0.25, "buffer": 1.5}, "reduction_with_displacement", 0.80),
    (BASE, {"target": 0.6, "buffer": 2.2}, "displacement_exceeds_reduction", 0.85),
    (BASE, {"target": 0.5, "buffer": 0.5}, "reduction_with_diffusion", 0.90),
    (BIG_BUFFER, {"target": 0.5}, "reduction_no_displacement", 0.85),
    (BASE, {"target": 0.5}, "reduction_displacement_not_detected", 0.85),
    (BASE, {"target": 1.5}, "increase", 0.90),
    (BASE, {"buffer": 1.6}, "harm_signal", 0.90),
    (BASE, {}, "no_significant_change", 0.90),
])
def test_planted_effects_are_recovered(base: dict[str, float], effects: dict[str, float],
                                       expected: str, threshold: float) -> None:
    rng = np.random.default_rng(20240611)
    runs = 100
    codes = Counter(verdict(simulate_operation(rng, base, effects)).code for _ in range(runs))
    assert codes.most_common(1)[0][0] == expected
    assert codes[expected] / runs >= threshold, codes
    # and one seeded operation, read in full
    one = verdict(simulate_operation(np.random.default_rng(1), base, effects))
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
    assert rate <= 0.05


def test_every_code_is_known() -> None:
    rng = np.random.default_rng(5)
    for effects in ({}, {"target": 0.5}, {"target": 0.5, "buffer": 1.5}, {"target": 2.0}):
        for _ in range(10):
            assert verdict(simulate_operation(rng, BASE, effects)).code in VERDICT_CODES


def test_decision_holds_codes_and_numbers_but_no_sentence() -> None:
    t = CountTable.from_pairs(target=(100, 50), buffer=(10, 12), control=(100, 100))
    v = verdict(t, caveats=["output_layer", "the strike fell over a bank holiday."])
    out = v.as_dict()
    assert "sentence" not in out and not hasattr(v, "sentence")
    assert set(out) == {"code", "insufficient", "buffer", "caveats", "data_caveats", "tests",
                        "role", "harm_signal", "detectable_rise_pct", "detectable_fall_pct"}
    # 10 -> 12 in the buffer: nothing significant, but such a small buffer could only show a
    # rise of about 230 %, so the verdict must not say "no displacement"
    assert v.code == "reduction_displacement_not_detected" and v.insufficient is None
    assert v.detectable_rise_pct is not None and v.detectable_rise_pct > 200
    assert v.buffer in BUFFER_CODES
    # the caller's caveats are kept as given; the data's are keys, never prose
    assert v.caveats == ("output_layer", "the strike fell over a bank holiday.")
    assert v.data_caveats == ("small_buffer",)
    assert v.caveat_keys == v.caveats + v.data_caveats
    for value in (v.code, v.buffer, *v.data_caveats):
        assert value is not None and " " not in value
    json.dumps(out)


def test_data_caveats_and_reasons_are_codes() -> None:
    small = verdict(CountTable.from_pairs(target=(60, 20), buffer=(5, 9), control=(50, 60)))
    assert "small_counts" in small.data_caveats
    trend = verdict(CountTable.from_pairs(target=(100, 70), buffer=(200, 210),
                                          control=(600, 800)))
    assert "trend_bias" in trend.data_caveats
    assert set(small.data_caveats + trend.data_caveats) <= set(DATA_CAVEAT_KEYS)
    few = verdict(CountTable.from_pairs(target=(20, 14), buffer=(10, 12), control=(40, 41)))
    assert (few.code, few.insufficient, few.buffer) == ("insufficient_data", "too_few_events",
                                                        None)
    no_control = verdict(CountTable.from_pairs(target=(60, 20), buffer=(5, 9), control=(0, 0)))
    assert no_control.insufficient == "no_control_events"
    assert set(INSUFFICIENT_CODES) == {"too_few_events", "no_control_events"}
    untested = verdict(CountTable.from_pairs(target=(100, 50), buffer=(0, 0), control=(100, 100),
                                             buffer_control=(0, 0)))
    assert untested.buffer == "untested"
    assert untested.code == "reduction_displacement_not_detected"
    assert untested.detectable_rise_pct is None
    assert "no events in the buffer" in untested.tests["detectable_rise"]["reason"]
    # the buffer's rise of 50 % (p = 0.07 after Holm) is not significant: not "exceeds"
    rose = verdict(CountTable.from_pairs(target=(100, 50), buffer=(100, 150), control=(100, 100)))
    assert (rose.code, rose.buffer) == ("reduction_displacement_not_detected", "no_change")
    exceeds = verdict(CountTable.from_pairs(target=(100, 50), buffer=(200, 400),
                                            control=(300, 300)))
    assert (exceeds.code, exceeds.buffer) == ("displacement_exceeds_reduction", "rose")
    assert exceeds.tests["net_ratio"]["significant"]


def test_issue_calculator_cases_follow_their_tests() -> None:
    """The two calculator cases a reviewer found (issue 10)."""
    # net WDD +4 (p ~ 0.9), WDQ -0.83: the buffer rose, but the whole area did not get worse
    v = verdict(CountTable.from_pairs(target=(794, 392), buffer=(861, 1129),
                                      control=(1562, 1493)))
    assert v.code == "reduction_with_displacement"
    assert not v.tests["net_ratio"]["significant"]
    # the buffer rose by +645 (net WDD +577, p 5e-6): never no_significant_change
    v = verdict(CountTable.from_pairs(target=(738, 557), buffer=(900, 1432),
                                      control=(1614, 1501)))
    assert v.code != "no_significant_change"
    assert v.buffer == "rose" and v.tests["net_ratio"]["direction"] == 1
    assert v.code == "displacement_exceeds_reduction"


def test_harm_signal_without_a_target_change() -> None:
    # target flat against a flat control; the buffer rose by half
    v = verdict(CountTable.from_pairs(target=(200, 200), buffer=(200, 300), control=(400, 400)))
    assert v.tests["local_ratio"]["direction"] == 0
    assert (v.code, v.harm_signal, v.buffer) == ("harm_signal", "buffer_rose", "rose")
    # target and buffer each up a little, together significantly: a net rise
    v = verdict(CountTable.from_pairs(target=(300, 360), buffer=(300, 360), control=(3000, 3000)))
    assert v.tests["local_ratio"]["direction"] == 0
    assert v.tests["displacement_ratio"]["direction"] == 0
    assert (v.code, v.harm_signal) == ("harm_signal", "net_rose")


@pytest.mark.parametrize("table, outcome, output", [
    (((100, 50), (100, 100), (300, 300)), "reduction_displacement_not_detected", "activity_fell"),
    (((100, 200), (100, 100), (300, 300)), "increase", "activity_rose"),
    (((200, 200), (200, 300), (400, 400)), "harm_signal", "activity_rose_nearby"),
    (((200, 200), (200, 200), (400, 400)), "no_significant_change", "no_significant_change"),
])
def test_output_layers_get_activity_words(table: tuple[tuple[int, int], ...], outcome: str,
                                          output: str) -> None:
    t = CountTable.from_pairs(target=table[0], buffer=table[1], control=table[2])
    assert verdict(t).code == outcome
    v = verdict(t, role="output")
    assert (v.code, v.role) == (output, "output")
    assert v.code in OUTPUT_CODES


def test_no_displacement_needs_a_design_that_could_see_it() -> None:
    t = CountTable.from_pairs(target=(300, 150), buffer=(2000, 2000), control=(2000, 2000))
    v = verdict(t)
    assert v.detectable_rise_pct is not None and v.detectable_rise_pct < 30
    assert v.code == "reduction_no_displacement"
    # the same table read against a stricter size: not detectable -> not "no displacement"
    strict = verdict(t, displacement_size=0.05)
    assert strict.code == "reduction_displacement_not_detected"
    assert strict.tests["displacement_size"] == 0.05


def test_ratio_tests_ignore_time_and_area_weights() -> None:
    plain = CountTable.from_pairs(target=(120, 60), buffer=(80, 90), control=(400, 380))
    weighted = CountTable.from_pairs(target=(120, 60), buffer=(80, 90), control=(400, 380),
                                     time_weights=(92, 59),
                                     area_weights={"target": 0.4, "buffer": 1.1, "control": 5.0})
    a, b = verdict(plain), verdict(weighted)
    assert a.code == b.code
    for k in ("local_ratio", "displacement_ratio", "net_ratio"):
        assert a.tests[k]["ratio"] == pytest.approx(b.tests[k]["ratio"], abs=1e-12)
        assert a.tests[k]["p_adjusted"] == pytest.approx(b.tests[k]["p_adjusted"], abs=1e-12)


def test_bad_role_and_size_are_named() -> None:
    t = CountTable.from_pairs(target=(100, 50), buffer=(10, 12), control=(100, 100))
    with pytest.raises(ParameterError) as err:
        verdict(t, role="activity")
    assert err.value.parameter == "role"
    with pytest.raises(ParameterError) as err:
        verdict(t, displacement_size=0)
    assert err.value.parameter == "displacement_size"
