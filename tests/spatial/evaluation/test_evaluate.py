"""Tests of spatial.evaluation.evaluate: null operations at event level, typed results."""

from __future__ import annotations

import numpy as np

from spatial.evaluation.counting import MeasuredLayer, count_table
from spatial.evaluation.evaluate import current_baseline, evaluate_operation
from spatial.evaluation.results import OperationEvaluation
from tests.spatial.evaluation.scenes import (
    WINDOWS,
    make_areas,
    simulate_points,
)


def test_null_operations_rarely_claim_a_change() -> None:
    areas = make_areas()
    spec = MeasuredLayer("crime", "Drugs", "outcome")
    rng = np.random.default_rng(11)
    from spatial.evaluation.verdict import decide as verdict

    claimed = 0
    runs = 200
    for _ in range(runs):
        ev = simulate_points(rng, areas, {"target": 60, "buffer": 60, "control": 60}, {})
        lc = count_table(ev, areas, WINDOWS, [spec])[spec.key]
        table, _ = lc.table(time_weighted=False)
        assert table is not None
        claimed += int(verdict(table).code not in ("no_significant_change",
                                                   "insufficient_data"))
    print(f"null claim rate at event level {claimed / runs:.3f}")
    assert claimed / runs <= 0.05


def test_evaluation_is_typed_codes_and_numbers() -> None:
    """The core returns codes, counts and tests; the sentences are the service's."""
    areas = make_areas()
    spec = MeasuredLayer("crime", "Drugs", "outcome", 1.0)
    ev = simulate_points(np.random.default_rng(7), areas,
                         {"target": 400, "buffer": 400, "control": 400},
                         {"target": 0.5, "buffer": 1.4})
    out = evaluate_operation(ev, areas, WINDOWS, [spec], caveats=["concurrent_operations"])
    assert isinstance(out, OperationEvaluation)
    layer = out.layers[0]
    assert layer.verdict_code == "reduction_with_displacement"
    assert layer.caveats == ("concurrent_operations",)
    assert layer.table is not None and layer.measures is not None
    assert layer.measures["local_effect"]["estimate"] < 0
    assert layer.rings is not None and layer.rings[0].outer_m == 200.0
    assert out.harm_weighted.result is not None and not out.harm_weighted.output_weighted
    assert out.verdict_min_count == 35 and out.baseline_lock.locked is False
    # the baseline lock and the evaluation count the same events the same way
    snap = current_baseline(ev, areas, WINDOWS, [spec])
    assert snap["layers"][spec.key]["areas"]["target"] == layer.counts.count("target", "before")
    locked = evaluate_operation(ev, areas, WINDOWS, [spec], locked=snap)
    assert locked.baseline_lock.locked and locked.baseline_lock.changes == ()
    assert [n.code for n in locked.notes] == []


def test_overdose_watch_and_the_ambulance_verdict_rest_on_one_test() -> None:
    """The watch and the ambulance layer's verdict use the same net ratio test; the
    evaluation records whether they agree (the watch reads it at alpha, the verdict after
    Holm's correction), so the report can say how they differ."""
    from tests.spatial.evaluation.scenes import E0, N0, events_at

    areas = make_areas()
    # 100 -> 150 call-outs in the target while the control stays at 100: the watch flags a
    # rise (p = 0.034 unadjusted) that Holm's correction over the tests does not keep
    pts = ([(E0, N0, "before", "ambulance", "od")] * 100
           + [(E0, N0, "after", "ambulance", "od")] * 150
           + [(E0 + 2_000, N0, "before", "ambulance", "od")] * 100
           + [(E0 + 2_000, N0, "after", "ambulance", "od")] * 100)
    spec = MeasuredLayer("ambulance", "*", "outcome")
    out = evaluate_operation(events_at(pts), areas, WINDOWS, [spec])
    watch = out.overdose_watch
    layer = out.layers[0]
    assert layer.verdict is not None
    net = layer.verdict.tests["net_ratio"]
    after = watch["tests"]["controlled_after"]
    assert after["ratio"] == net["ratio"] and after["p_value"] == net["p_value"]
    assert watch["layer_verdict"]["code"] == layer.verdict.code
    assert watch["agrees"] == ((after["direction"] == 1) == (net["direction"] == 1))
    assert watch["rise"] and after["direction"] == 1 and net["direction"] == 0
    assert watch["agrees"] is False
