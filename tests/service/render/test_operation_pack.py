"""The operation pack's verdict parts: ratio tests first, p-values as people write them, the
overdose watch's one statement."""

from __future__ import annotations

import numpy as np
import pytest

from service.render.operation_map import main_map_layer
from service.render.operation_pack import _sections, bottom_line, key_figures
from service.render.operation_report import operation_report_dict
from service.render.pack_page import map_for_pack, parameter_rows
from spatial.errors import ParameterError
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
    verdict = bottom_line(_report())[0]
    assert verdict.code == "activity_fell" and "police activity" in verdict.sentence


def test_pack_overdose_section_carries_the_statement() -> None:
    report = _report()
    report["overdose_watch"] = {"available": True, "rise": True, "counts": {"target": {
        "before": 3, "during": 1, "after": 9}}, "statement": "The overdose watch flags a rise "
        "that the ambulance/* verdict (no_significant_change) does not claim."}
    [watch] = [s for s in _sections(report) if s.title.startswith("Overdose watch")]
    assert watch.text == report["overdose_watch"]["statement"]


def test_key_figures_are_rates_per_30_days_with_the_detectable_change() -> None:
    report = _report()
    table = key_figures(report)
    [row] = table.rows
    la = report["layers"][0]
    c, days = la["counts"]["target"], la["lengths_days"]
    assert row[0] == "crime/Drugs"
    assert row[1] == (f"{round(c['before'] * 30 / days['before'], 1):g} \u2192 "
                      f"{round(c['after'] * 30 / days['after'], 1):g}")
    ratio = la["measures"]["local_ratio"]["ratio"]
    assert row[4] == f"{(ratio - 1) * 100:+.0f} %"
    assert f"target fall \u2265 {la['verdict']['detectable_fall_pct']:.0f} %" in row[5]


def test_key_figures_of_a_withheld_layer_keep_suppressed_counts() -> None:
    report = _report()
    la = report["layers"][0]
    report["layers"] = [{"key": "ambulance/*", "layer": "ambulance", "role": "outcome",
                         "counts": {a: {"before": "<5", "after": 9} for a in la["counts"]},
                         "verdict": {"code": "no_significant_change", "sentence": "s",
                                     "caveats": []}, "measures": None}]
    report["parameters"]["effective_lengths_days"] = {"ambulance/*": {"before": 90.0,
                                                                      "after": 30.0}}
    [row] = key_figures(report).rows
    assert row[1] == "<5 \u2192 9" and row[4] == "withheld"


def test_parameters_are_rows_never_python_literals() -> None:
    rows = dict(parameter_rows({"alpha": 0.05, "windows": {"before": {"start": "2019-01-01"},
                                                           "during": None},
                                "buffer_edges_m": [0.0, 400.0], "areas": {}}))
    assert rows == {"alpha": "0.05", "windows / before / start": "2019-01-01",
                    "windows / during": "none", "buffer_edges_m": "0.0, 400.0",
                    "areas": "none"}
    assert not any("{" in v or "[" in v for v in rows.values())


def test_map_layer_defaults_to_the_first_and_names_the_choices() -> None:
    report = _report()
    assert main_map_layer(report, "analyst")["key"] == "crime/Drugs"
    assert main_map_layer(report, "analyst", "CRIME/drugs")["key"] == "crime/Drugs"
    with pytest.raises(ParameterError, match="its layers are crime/Drugs"):
        main_map_layer(report, "analyst", "crime/Burglary")


def test_map_in_pack_hides_its_own_text_boxes() -> None:
    page = map_for_pack("<html><head><title>m</title></head><body></body></html>", 110, 92)
    assert page.index(".remap-caveats") < page.index("</head>")
    # a fixed size in px (110 mm less the border, 63 %; 92 mm less the border)
    assert ".folium-map { width: 261px !important; height: 346px !important; }" in page
    with pytest.raises(ValueError, match="map_html"):
        map_for_pack("<div>no head</div>", 110, 92)


def test_legend_swatches_and_ramps_are_svg_shapes_that_print() -> None:
    from service.render.legend import ramp, swatch

    box = swatch("#fc8d59", "5-13")
    outline = swatch("transparent", "Target", line="#111111", dash="8 6")
    bar = ramp([(0.0, "#2166ac"), (1.0, "#b2182b")], ["-1", "+1"], gradient_id="g")
    assert "<rect" in box and "fill='#fc8d59'" in box and "background" not in box
    assert "fill='none'" in outline and "stroke='#111111'" in outline and "8 6" in outline
    assert "<linearGradient id='g'>" in bar and "url(#g)" in bar and "background" not in bar
