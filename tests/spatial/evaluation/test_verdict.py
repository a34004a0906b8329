"""Tests of spatial.evaluation.verdict: the decision table, its codes and its error rates."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from spatial.evaluation.count_table import CountTable
from spatial.evaluation.simulation import simulate_operation
from spatial.evaluation.verdict import (
    BUFFER_CODES,
    DATA_CAVEAT_KEYS,
    INSUFFICIENT_CODES,
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
    assert set(out) == {"code", "insufficient", "buffer", "caveats", "data_caveats", "tests"}
    assert v.code == "reduction_no_displacement" and v.insufficient is None
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
    rose = verdict(CountTable.from_pairs(target=(100, 50), buffer=(100, 150), control=(100, 100)))
    assert (rose.code, rose.buffer) == ("displacement_exceeds_reduction", "rose")
