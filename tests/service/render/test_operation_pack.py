"""The operation pack's verdict parts: ratio tests first, p-values as people write them, the
overdose watch's one statement."""

from __future__ import annotations

import numpy as np

from service.render.operation_pack import _sections
from service.render.operation_report import operation_report_dict
from spatial.evaluation.counting import MeasuredLayer
from spatial.evaluation.evaluate import evaluate_operation
from tests.spatial.evaluation.scenes import WINDOWS, make_areas, simulate_points


def _report() -> dict:
    areas = make_areas()
    ev = simulate_points(np.random.default_rng(7), areas,
                         {"target": 400, "buffer": 400, "control": 400}, {"target": 0.5})
    return operation_report_dict(evaluate_operation(ev, areas, WINDOWS,
                                                    [MeasuredLayer("crime", "Drugs", "output")]))


def test_pack_measures_lead_with_the_ratio_tests_and_write_p_plainly() -> None:
    sections = {s.title.split(" (")[0]: s for s in _sections(_report())}
    table = sections["Measures"].table
    assert table is not None
    names = [row[1] for row in table.rows]
    assert names[:3] == ["local ratio", "displacement ratio", "net ratio"]
    ps = [row[5] for row in table.rows if row[5] is not None]
    assert ps and all(isinstance(p, str) and "e-" not in p for p in ps)
    assert "< 0.001" in ps
    assert "decides the verdict" in table.rows[0][7]
    verdict = sections["Verdicts"].verdicts[0]
    assert verdict.code == "activity_fell" and "police activity" in verdict.sentence


def test_pack_overdose_section_carries_the_statement() -> None:
    report = _report()
    report["overdose_watch"] = {"available": True, "rise": True, "counts": {"target": {
        "before": 3, "during": 1, "after": 9}}, "statement": "The overdose watch flags a rise "
        "that the ambulance/* verdict (no_significant_change) does not claim."}
    [watch] = [s for s in _sections(report) if s.title.startswith("Overdose watch")]
    assert watch.text == report["overdose_watch"]["statement"]
