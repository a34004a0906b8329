"""Tests of planning (minimum detectable change, after window) and the simulator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatial.errors import ParameterError
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.power import after_window_needed, minimum_detectable_change
from spatial.evaluation.simulation import simulate_operation
from spatial.evaluation.wdd import local_effect

# --------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------


def test_minimum_detectable_change_hand_calculation() -> None:
    m = minimum_detectable_change({"target": 100, "control": 100})
    # Z = z_.975 + z_.8; V0 k^2 = (1 + 1)(100 + 100) = 400
    z = 1.959963984540054 + 0.8416212335729143
    delta = (-(z**2) + math.sqrt(z**4 + 4 * z**2 * 400)) / 2  # 52.2445...
    assert m.reduction == pytest.approx(delta, rel=1e-12)
    assert m.reduction == pytest.approx(52.2445, abs=1e-4)
    assert m.reduction_fraction == pytest.approx(delta / 100)
    # at that delta the z-test sits exactly at the power quantile
    assert m.variance_under_h1 is not None
    assert delta / math.sqrt(m.variance_under_h1) == pytest.approx(z, rel=1e-12)
    assert m.variance_under_h1 == pytest.approx(100 - delta + 100 + 100 + 100)


def test_minimum_detectable_change_time_ratio_and_wdd() -> None:
    # k = 2, local: V0 k^2 = (1 + 1/2)(150 + 200) * 4 = 2100
    m = minimum_detectable_change({"target": 150, "control": 200}, time_ratio=2.0)
    z2 = (1.959963984540054 + 0.8416212335729143) ** 2
    delta = (-z2 + math.sqrt(z2**2 + 4 * z2 * 2100)) / 2
    assert m.reduction == pytest.approx(delta)
    assert m.expected_after == 300
    assert m.effect == pytest.approx(-delta / 2)
    # total WDD with a shared control: S = 150 + 80 + 4*200
    w = minimum_detectable_change({"target": 150, "control": 200, "buffer": 80}, test="wdd")
    assert w.reduction == pytest.approx((-z2 + math.sqrt(z2**2 + 4 * z2 * 2 * 1030)) / 2)
    # a CountTable baseline gives the same as the mapping
    t = CountTable.from_pairs(target=(150, 0), control=(200, 0), buffer=(80, 0))
    assert minimum_detectable_change(t, 2.0).reduction == pytest.approx(m.reduction)


def test_minimum_detectable_change_unattainable() -> None:
    m = minimum_detectable_change({"target": 3, "control": 5})
    assert m.reduction is None and m.reason and "100 %" in m.reason
    m = minimum_detectable_change({"target": 0, "control": 5})
    assert m.reduction is None and m.reason == "target before count is 0: there is nothing to reduce"


def test_after_window_needed_inverts_mdc() -> None:
    base = {"target": 200, "control": 250}
    w = after_window_needed(base, 0.35, before_days=28)
    assert w.time_ratio is not None and w.after_days == pytest.approx(28 * w.time_ratio)
    m = minimum_detectable_change(base, w.time_ratio)
    assert m.reduction_fraction == pytest.approx(0.35, rel=1e-9)
    # by hand: k = Z^2 (S - f Tb) / (f^2 Tb^2 - Z^2 S), S = 450
    z2 = (1.959963984540054 + 0.8416212335729143) ** 2
    assert w.time_ratio == pytest.approx(z2 * (450 - 70) / (0.35**2 * 200**2 - z2 * 450))
    # the floor: as k -> infinity the detectable fraction -> Z sqrt(S) / Tb
    z = 1.959963984540054 + 0.8416212335729143
    assert w.best_fraction == pytest.approx(z * math.sqrt(450) / 200)
    never = after_window_needed(base, 0.25)
    assert never.time_ratio is None and never.reason and "any after-window length" in never.reason
    capped = after_window_needed(base, 0.35, max_ratio=2.0)
    assert capped.time_ratio is None and capped.reason and "maximum 2" in capped.reason


def test_mdc_power_by_simulation() -> None:
    """With the MDC planted, ~80 % of simulated operations are detected by the local test."""
    base = {"target": 150.0, "control": 200.0, "buffer": 120.0, "buffer_control": 180.0}
    k = 1.5
    m = minimum_detectable_change(base, time_ratio=k)
    assert m.reduction_fraction is not None
    rng = np.random.default_rng(20250611)
    runs = 600
    detected = 0
    for _ in range(runs):
        t = simulate_operation(rng, base, {"target": 1.0 - m.reduction_fraction}, time_ratio=k)
        detected += local_effect(t).direction < 0
    rate = detected / runs
    print(f"MDC {m.reduction_fraction:.3f}: detected in {rate:.3f} of {runs} runs")
    assert 0.72 <= rate <= 0.88


def test_simulate_operation() -> None:
    rng = np.random.default_rng(1)
    t = simulate_operation(rng, {"target": 100, "buffer": 50, "control": 80}, time_ratio=2.0,
                           before_length=28)
    assert t.before_length == 28 and t.after_length == 56
    assert not t.has_buffer_control
    with pytest.raises(ParameterError):
        simulate_operation(rng, {"target": 1, "buffer": 1})
