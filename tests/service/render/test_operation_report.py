"""Tests of service.render.operation_report over spatial.evaluation.evaluate and
spatial.evaluation.summary: the baseline lock, planted effects at event level, zero counts,
the report's shape, and the calculator."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pytest

from service.render.operation_report import (
    displacement_summary_report,
    operation_report_dict,
    overdose_watch_dict,
    sppt_too_few,
    watch_flags,
)
from spatial.evaluation.baseline import fingerprint
from spatial.evaluation.count_table import CountTable
from spatial.evaluation.counting import MeasuredLayer
from spatial.evaluation.evaluate import current_baseline, evaluate_operation
from spatial.evaluation.options import EvaluationOptions
from spatial.evaluation.sites import SiteRecords
from tests.spatial.evaluation.scenes import (
    E0,
    HAND_POINTS,
    N0,
    WINDOWS,
    empty_events,
    events_at,
    make_areas,
    simulate_points,
    square,
    wgs,
)


def evaluate_report(*args, **kwargs) -> dict:
    """The report the API shows: the typed evaluation, worded."""
    return operation_report_dict(evaluate_operation(*args, **kwargs))


def test_baseline_lock_reports_changes_and_uses_locked_counts() -> None:
    areas = make_areas()
    specs = [MeasuredLayer("crime", "Drugs", "output")]
    ev = events_at(HAND_POINTS)
    locked = current_baseline(ev, areas, WINDOWS, specs)
    fp = fingerprint(locked)
    assert len(fp) == 64 and fp == fingerprint(json.loads(json.dumps(locked)))
    assert locked["layers"]["crime/Drugs"]["areas"]["target"] == 3
    extra = events_at(HAND_POINTS + [(E0 + 5, N0 + 5, "before", "crime", "Drugs")] * 3)
    report = evaluate_report(extra, areas, WINDOWS, specs, locked=locked)
    changes = report["baseline_lock"]["changes"]
    assert changes[0]["message"] == ("3 events imported after the baseline lock changed the "
                                     "before count of crime/Drugs in target: 3 → 6; the "
                                     "locked figures were used")
    assert any("H3 cell" in c["message"] for c in changes)
    layer = report["layers"][0]
    assert layer["counts"]["target"]["before"] == 3  # the locked figure
    assert layer["count_table"]["target_before"] == 3
    assert changes[0]["message"] in report["warnings"]
    assert fingerprint(locked) == fp  # the lock itself is not modified


@pytest.mark.parametrize(("effects", "expected"), [
    ({"target": 0.5, "buffer": 1.4}, {"reduction_with_displacement"}),
    ({"target": 0.5, "buffer": 0.6}, {"reduction_with_diffusion"}),
    # 400 buffer events can only show a rise of about 35 % (power 0.8), more than the 30 %
    # "no displacement" needs (this read reduction_no_displacement before the ratio tests)
    ({"target": 0.5}, {"reduction_displacement_not_detected"}),
    ({}, {"no_significant_change"}),
])
def test_planted_effects_recovered_from_points(effects: dict[str, float],
                                               expected: set[str]) -> None:
    areas = make_areas()
    rng = np.random.default_rng(7)
    ev = simulate_points(rng, areas, {"target": 400, "buffer": 400, "control": 400}, effects)
    report = evaluate_report(ev, areas, WINDOWS,
                                    [MeasuredLayer("crime", "Drugs", "outcome")])
    assert report["layers"][0]["verdict"]["code"] in expected
    json.dumps(report, allow_nan=False)


def test_displacement_size_option_decides_no_displacement_and_is_reported() -> None:
    areas = make_areas()
    ev = simulate_points(np.random.default_rng(7), areas,
                         {"target": 400, "buffer": 400, "control": 400}, {"target": 0.5})
    report = evaluate_report(ev, areas, WINDOWS, [MeasuredLayer("crime", "Drugs", "outcome")],
                             options=EvaluationOptions(displacement_size=0.4))
    verdict = report["layers"][0]["verdict"]
    assert verdict["code"] == "reduction_no_displacement"
    assert verdict["displacement_size"] == 0.4
    assert "No displacement" in verdict["sentence"]
    assert "could detect a rise of 35 % or more" in verdict["sentence"]
    assert report["parameters"]["options"]["displacement_size"] == 0.4


def test_layers_render_the_evaluations_own_verdict() -> None:
    areas = make_areas()
    ev = simulate_points(np.random.default_rng(7), areas,
                         {"target": 400, "buffer": 400, "control": 400}, {"target": 0.5})
    evaluation = evaluate_operation(ev, areas, WINDOWS,
                                    [MeasuredLayer("crime", "Drugs", "output")])
    layer = evaluation.layers[0]
    assert layer.verdict is not None and layer.verdict.code == "activity_fell"
    report = operation_report_dict(evaluation)
    said = report["layers"][0]["verdict"]
    assert said["code"] == "activity_fell" and said["role"] == "output"
    assert "a measure of police activity" in said["sentence"]
    assert not re.search(r"reduction|increase|displacement|harm", said["sentence"], re.I)
    assert said["decided_by"] == "ratio_of_rate_ratios" and said["correction"] == "holm"
    # a verdict swapped in is worded as it stands: nothing decides again
    other = dataclasses.replace(layer.verdict, code="activity_rose_nearby",
                                harm_signal="buffer_rose")
    swapped = dataclasses.replace(evaluation, layers=(dataclasses.replace(layer,
                                                                          verdict=other),))
    assert operation_report_dict(swapped)["layers"][0]["verdict"]["code"] == (
        "activity_rose_nearby")


def test_zero_counts_never_crash_and_say_why() -> None:
    areas = make_areas(buffer_control=wgs(square(E0 - 2_000, N0, 300)))
    specs = [MeasuredLayer("crime", "Drugs", "output", 1.0),
             MeasuredLayer("crime", "Burglary", "outcome")]
    site_none = SiteRecords(x=np.zeros(0), y=np.zeros(0), status=np.zeros(0, dtype=object),
                                first_seen=np.zeros(0, dtype="datetime64[ns]"),
                                last_seen=np.zeros(0, dtype="datetime64[ns]"))
    report = evaluate_report(empty_events(), areas, WINDOWS, specs, sites=site_none)
    json.dumps(report, allow_nan=False)
    for layer in report["layers"]:
        assert layer["verdict"]["code"] == "insufficient_data"
        assert "Too few" in layer["verdict"]["sentence"]
        assert any("success measure not computed: control before count is 0" in w
                   for w in layer["warnings"])
        assert any("wdd not tested" in w for w in layer["warnings"])
        assert layer["sppt"]["reason"].startswith("no events before")
        assert layer["density_change"]["available"] is False
        assert layer["planning"]["mdc_local"]["reason"].startswith("target before count is 0")
    assert report["overdose_watch"]["available"] is False
    assert report["dealing_sites"]["available"] is False
    assert report["harm_weighted_wdd"]["total"]["reason"].startswith("every count")
    # events in the target only: the control is empty
    only_target = events_at([(E0, N0, "before", "crime", "Drugs")] * 40
                            + [(E0, N0, "after", "crime", "Drugs")] * 10)
    rep2 = evaluate_report(only_target, areas, WINDOWS, specs[:1])
    json.dumps(rep2, allow_nan=False)
    layer = rep2["layers"][0]
    assert layer["verdict"]["code"] == "insufficient_data"
    assert "control area recorded no" in layer["verdict"]["sentence"]
    assert layer["distance_decay"]["reason"].startswith("control before count is 0")


def test_report_shape_parameters_and_caveats() -> None:
    areas = make_areas()
    rng = np.random.default_rng(3)
    ev = simulate_points(rng, areas, {"target": 200, "buffer": 200, "control": 200},
                         {"target": 0.5, "buffer": 1.3})
    specs = [MeasuredLayer("crime", "Drugs", "output", 2.0)]
    rep = evaluate_report(ev, areas, WINDOWS, specs, caveats=["concurrent_operations"],
                                 options=EvaluationOptions(alpha=0.1, area_weights=True))
    p = rep["parameters"]
    assert p["crs"] == "EPSG:27700" and p["options"]["alpha"] == 0.1
    assert p["area_weights"]["target"] == pytest.approx(0.16)
    assert p["windows"]["before"] == {"start": "2019-01-01", "end": "2019-01-31", "days": 31}
    assert p["time_weights"] is None  # equal windows
    layer = rep["layers"][0]
    assert layer["role"] == "output" and "police activity" in layer["role_note"]
    for key in ("success_measure", "buffer_displacement_measure", "wdq", "total_net_effect",
                "local_effect", "displacement_effect", "wdd"):
        assert key in layer["measures"]
    assert layer["count_table"]["target_area"] == pytest.approx(0.16)
    caveats = " ".join(layer["verdict"]["caveats"])
    assert "other operations ran at the same time" in caveats
    assert "police activity" in caveats
    assert layer["buffer_rings"][0]["outer_m"] == 200.0
    assert layer["distance_decay"]["rings"][0]["inner_m"] == 0.0
    assert layer["sppt"]["n_units"] > 0
    assert layer["density_change"]["available"] is True
    assert rep["harm_weighted_wdd"]["total"]["estimate"] == pytest.approx(
        2.0 * layer["measures"]["wdd"]["estimate"])
    assert rep["baseline_lock"]["locked"] is False
    json.dumps(rep, allow_nan=False)


def test_displacement_summary_wheeler_ratcliffe() -> None:
    t = CountTable.from_pairs(target=(207, 110), control=(308, 318), buffer=(178, 157),
                              buffer_control=(150, 140))
    out = displacement_summary_report(t, harm_weight=2.0)
    w = out["wdd"]
    assert w["estimate"] == -118 and w["variance"] == 1568
    assert w["se"] == pytest.approx(math.sqrt(1568)) and round(w["z"], 2) == -2.98
    assert [round(c) for c in w["ci"]] == [-196, -40]
    assert out["harm_weighted_wdd"]["estimate"] == -236
    assert out["harm_weighted_wdd"]["se"] == pytest.approx(2 * math.sqrt(1568))
    # was reduction_no_displacement: the buffer (178 events) could show only a rise >= 60 %
    assert out["verdict"]["code"] == "reduction_displacement_not_detected"
    assert out["verdict"]["detectable_rise_pct"] == pytest.approx(60, abs=1)
    assert out["ratio_tests"]["local"]["ratio"] == pytest.approx((110 / 207) / (318 / 308))
    assert out["parameters"]["displacement_size"] == 0.3
    assert out["parameters"]["role"] == "outcome"
    roomy = displacement_summary_report(t, displacement_size=0.8)
    assert roomy["verdict"]["code"] == "reduction_no_displacement"
    assert roomy["parameters"]["displacement_size"] == 0.8
    assert displacement_summary_report(t, role="output")["verdict"]["code"] == "activity_fell"
    zero = displacement_summary_report(CountTable.from_pairs(target=(0, 0), buffer=(0, 0),
                                                          control=(0, 0)))
    assert zero["wdd"]["z"] is None and zero["sm"]["value"] is None
    assert any("sm not computed" in w for w in zero["warnings"])
    json.dumps(zero, allow_nan=False)


# --------------------------------------------------------------------------- one voice


def _watch(rise: bool, p: float, **extra: object) -> dict:
    test = {"p_value": p, "rate_ratio": 1.8, "rise_flag": rise, "alpha": 0.05,
            "rate_before": 0.5, "rate_after": 0.9, "ci_low": 1.1, "ci_high": 2.9}
    return {"available": True, "layer": "ambulance", "rise": rise, "alpha": 0.05,
            "flags": ["a rise"] if rise else [], "counts": {},
            "tests": {"before_vs_during": None, "before_vs_after": test}, **extra}


def _ambulance(code: str, net_p: float, net_direction: int) -> dict:
    net = {"ratio": 1.5, "ci_low": 0.8, "ci_high": 2.8, "p_value": net_p / 2,
           "p_adjusted": net_p, "alpha": 0.05, "direction": net_direction}
    return {"key": "ambulance/*", "layer": "ambulance", "category": "*",
            "verdict": {"code": code}, "measures": {"net_ratio": net}}


def test_overdose_watch_and_ambulance_verdict_speak_with_one_voice() -> None:
    # the demo's case: the uncontrolled watch flags a rise, the corrected verdict does not
    out = overdose_watch_dict(_watch(True, 0.0009),
                              [_ambulance("no_significant_change", 0.55, 0)])
    assert out["agrees"] is False
    s = out["statement"]
    assert "flags a rise that the ambulance/* verdict (no_significant_change) does not claim" in s
    assert "with no control, at the 5 % level without correction, p < 0.001" in s
    assert "corrects for its three tests (Holm)" in s and "Holm-adjusted p = 0.55" in s
    assert "not an established change" in s
    both = overdose_watch_dict(_watch(False, 0.4),
                               [_ambulance("no_significant_change", 0.55, 0)])
    assert both["agrees"] is True
    assert both["statement"].startswith("The overdose watch and the ambulance/* verdict "
                                        "(no_significant_change) agree: no significant rise")
    up = overdose_watch_dict(_watch(False, 0.4), [_ambulance("harm_signal", 0.01, 1)])
    assert up["agrees"] is False and "finds a rise that the overdose watch does not flag" in (
        up["statement"])


def test_overdose_statement_uses_the_controlled_watch_and_given_agreement() -> None:
    controlled = {"p_value": 0.02, "p_adjusted": 0.02, "ratio": 1.6, "alpha": 0.05}
    watch = _watch(True, 0.001, comparison="control",
                   layer_verdict={"key": "ambulance/*", "code": "harm_signal"}, agrees=True)
    watch["tests"].update({"controlled_during": None, "controlled_after": controlled})
    out = overdose_watch_dict(watch, [_ambulance("harm_signal", 0.03, 1)])
    assert out["agrees"] is True
    assert "agree: overdose call-outs rose" in out["statement"]
    assert "(watch, p = 0.02" in out["statement"]


def test_overdose_statement_without_a_layer_verdict() -> None:
    assert "statement" not in overdose_watch_dict(_watch(True, 0.01), [])
    few = overdose_watch_dict(_watch(True, 0.01), [_ambulance("insufficient_data", 1.0, 0)])
    assert "too few call-outs for a verdict of its own, so only the watch speaks" in (
        few["statement"])
    assert overdose_watch_dict({"available": False, "reason": "x"}, []) == {
        "available": False, "reason": "x"}


def testsppt_too_few_is_said_when_the_result_reports_it() -> None:
    class Result:
        too_few, min_unit_events = True, 23

    said = sppt_too_few(Result())
    assert said["too_few"] is True and said["min_unit_events"] == 23
    assert said["sentence"] == ("Too few events to tell whether the pattern moved: no single "
                                "cell's change could reach significance after the correction "
                                "unless it held at least 23 events.")
    assert sppt_too_few(object()) == {}

    class Enough:
        too_few, min_unit_events = False, 4

    assert "sentence" not in sppt_too_few(Enough())


def test_watch_flags_use_rates_per_30_days_and_plain_p() -> None:
    # the demo's watch: 54 call-outs in 92 days before, 108 in 106 days after
    after = {"before_count": 54, "before_exposure": 92.0, "after_count": 108,
             "after_exposure": 106.0, "rate_before": 54 / 92, "rate_after": 108 / 106,
             "rate_ratio": (108 / 106) / (54 / 92), "p_value": 0.000884751, "ci_low": 1.2409,
             "ci_high": 2.4533, "alpha": 0.05, "rise_flag": True}
    watch = {"available": True, "rise": True, "alpha": 0.05, "layer": "ambulance",
             "tests": {"before_vs_during": None, "before_vs_after": after},
             "flags": ["108 in 106 days against 54 in 92 days before (p = 0.000885)"]}
    [flag] = watch_flags(watch)
    assert flag == ("overdose call-outs in the target and buffer rose after the operation, "
                    "from 17.6 to 30.6 per 30 days (rate ratio 1.74, 95 % CI 1.24 to 2.45, "
                    "p < 0.001)")
    assert overdose_watch_dict(watch, [])["flags"] == [flag]
    controlled = {"ratio": 1.6, "ci_low": 1.1, "ci_high": 2.3, "p_value": 0.02,
                  "p_adjusted": 0.02, "alpha": 0.05, "direction": 1}
    both = {**watch, "comparison": "control",
            "tests": {"controlled_during": None, "controlled_after": controlled}}
    assert watch_flags(both) == [
        "overdose call-outs in the target and buffer after the operation rose 60 % relative "
        "to the control (95 % CI a rise of 10 % to 130 %, p = 0.02)"]


def test_partner_watch_flags_carry_no_numbers() -> None:
    """Rates per 30 days over known window lengths would give partners the counts back."""
    import re

    from service.render.operation_map import _partner_safe_report

    watch = {"available": True, "layer": "ambulance", "rise": True, "comparison": "control",
             "rise_windows": ["after"], "counts": {"target": {"before": 3, "after": 9}},
             "flags": ["overdose call-outs ... from 1.0 to 2.5 per 30 days (p = 0.01)"]}
    out = _partner_safe_report({"layers": [], "overdose_watch": watch}, "partner")
    flags = out["overdose_watch"]["flags"]
    assert flags == ["overdose call-outs in the target and buffer rose after the operation "
                     "relative to the control"]
    assert not any(re.search(r"\d", f) for f in flags)
