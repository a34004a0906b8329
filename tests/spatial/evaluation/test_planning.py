"""Tests of spatial.evaluation.planning: hand calculation and power by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatial.evaluation.areas import AREA_NAMES
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.counting import LayerCounts, MeasuredLayer
from spatial.evaluation.planning import plan_layer


def test_plan_layer_hand_calculation() -> None:
    lc = LayerCounts(
        spec=MeasuredLayer("crime", "Drugs", "output"),
        areas={"target": {"before": 100, "during": 0, "after": 0},
               "buffer": {"before": 80, "during": 0, "after": 0},
               "control": {"before": 100, "during": 0, "after": 0},
               "buffer_control": {"before": 0, "during": 0, "after": 0}},
        rings=[], decay_before=[], decay_after=[],
        lengths={"before": 30.0, "during": None, "after": 30.0}, month_precision=False,
        location_precisions=[], n_events=0)
    plan = plan_layer(lc, reduction=0.5)
    # Z = 1.95996 + 0.84162; V0 k² a² = 2 (100 + 100) = 400;
    # delta = (-Z² + sqrt(Z⁴ + 4 Z² 400)) / 2 = 52.25
    z = 1.959963984540054 + 0.8416212335729143
    delta = (-z * z + math.sqrt(z**4 + 4 * z * z * 400)) / 2
    assert plan["mdc_local"]["reduction"] == pytest.approx(delta, rel=1e-9)
    assert delta == pytest.approx(52.25, abs=0.01)
    assert plan["verdict_possible"] is True
    assert "52%" in plan["sentence"] and "30-day before window" in plan["sentence"]
    tiny = LayerCounts(**{**lc.__dict__, "areas": {
        a: {"before": 5, "during": 0, "after": 0} for a in AREA_NAMES}})
    small = plan_layer(tiny)
    assert small["verdict_possible"] is False and "below the 35 a verdict needs" in \
        small["sentence"]


def test_mdc_from_plan_is_detected_about_80_percent_of_the_time() -> None:
    """Plant the planned minimum detectable reduction at event level; ~80 % detected."""
    from spatial.evaluation.wdd import local_effect

    rng = np.random.default_rng(20190101)
    base = {"target": 120, "buffer": 100, "control": 120}
    lc = LayerCounts(
        spec=MeasuredLayer("crime", "Drugs", "output"),
        areas={a: {"before": v, "during": 0, "after": 0} for a, v in
               {**base, "buffer_control": 0}.items()},
        rings=[], decay_before=[], decay_after=[],
        lengths={"before": 31.0, "during": None, "after": 31.0}, month_precision=False,
        location_precisions=[], n_events=0)
    delta = plan_layer(lc)["mdc_local"]["reduction"]
    detected = 0
    runs = 300
    for _ in range(runs):
        tb, ta = rng.poisson(base["target"]), rng.poisson(base["target"] - delta)
        cb, ca = rng.poisson(base["control"]), rng.poisson(base["control"])
        t = CountTable.from_pairs(target=(tb, ta), buffer=(100, 100), control=(cb, ca))
        le = local_effect(t)
        detected += int(le.significant and le.estimate < 0)
    assert 0.72 <= detected / runs <= 0.88
