"""The time context in words, in the report, in the pack's chart, and as the service loads it."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from service.app.operation_areas import areas_from_definition
from service.app.operation_definitions import OperationIn
from service.render.colours import AREA_STYLES
from service.render.html import Table, render
from service.render.operation_map import _partner_safe_report
from service.render.operation_pack import _sections
from service.render.operation_report import operation_report_dict
from service.render.time_context import series_chart, time_context_sections
from service.store import Store
from spatial.evaluation.evaluate import evaluate_operation
from spatial.evaluation.time_context import time_context_span
from spatial.evaluation.windows import Window, Windows
from tests.spatial.evaluation.scenes import WINDOWS, make_areas
from tests.spatial.evaluation.test_time_context import OPTS, SPECS, scene


def hand_report(coverage: dict[str, date | None]) -> dict[str, Any]:
    ev = evaluate_operation(scene(), make_areas(), WINDOWS, SPECS, options=OPTS,
                            coverage=coverage)
    return operation_report_dict(ev)


def test_each_part_in_one_sentence_with_its_numbers() -> None:
    report = hand_report({"crime": date(2017, 6, 1)})
    json.dumps(report, allow_nan=False, default=str)
    assert report["time_context"]["series_months"] == 24
    assert report["time_context"]["coverage_source"] == "store"
    tc = report["layers"][0]["time_context"]
    s = tc["sentences"]
    assert s["year_earlier"].startswith(
        "A year earlier (before 2018-01-01 to 2018-01-31, after 2018-03-01 to 2018-03-31) the "
        "same design counted target 2 \u2192 2, buffer 1 \u2192 4, control 5 \u2192 7")
    assert tc["year_earlier"]["verdict_code"].replace("_", " ") in s["year_earlier"]
    assert s["series"] == (
        "Of the 24 months 2017-04 to 2019-03, 22 are held: target 2.41 a month (2 to 10), "
        "buffer 1.14 a month (1 to 4), control 5.14 a month (5 to 7); 2 months before the "
        "store's first crime event (2017-06-01) are unknown, not zero.")
    assert s["seasonal"] == (
        "Expected in the after window from the same dates of 1 earlier year, scaled by the "
        "control's level change (\u00d71.2): target 2.4 (observed 3), buffer 4.8 (observed 1), "
        "control 8.4 (observed 5).")
    assert "3 months earlier (before 2018-10-01 to 2018-10-31" in s["placebo"] and s["placebo"].endswith("as it should.")
    assert s["regression_to_mean"] == (
        "Regression to the mean: the target's before-window rate (10 in 31 days) is well above "
        "its own rate over the 19 months before (38 in 579 days; rate ratio 4.92, p < 0.001), "
        "so a fall of about 8 events (80 %) in the after window is expected from regression to "
        "the mean alone.")
    assert s["dispersion"].startswith("Dispersion of the monthly counts over 19 months")
    assert "target 0.00, buffer 0.40" in s["dispersion"]
    assert all(v.count(". ") == 0 for v in s.values())  # one sentence each
    # the regression-to-the-mean warning also stands beside the verdict
    assert s["regression_to_mean"] in report["layers"][0]["warnings"]
    assert s["placebo"] not in report["layers"][0]["warnings"]


def test_unavailable_parts_say_why() -> None:
    s = hand_report({"crime": date(2018, 11, 1)})["layers"][0]["time_context"]["sentences"]
    assert s["year_earlier"] == (
        "The same windows a year earlier cannot be evaluated: crime events are needed from "
        "2018-01-01, but the first the store holds is dated 2018-11-01.")
    assert s["seasonal"].startswith("No seasonally expected counts: needs the same windows")
    assert s["placebo"].startswith("No placebo evaluation: crime events are needed from "
                                   "2018-10-01")
    assert s["regression_to_mean"].startswith("Regression to the mean cannot be checked: needs "
                                              "at least 3 whole months")
    assert s["dispersion"].startswith("Overdispersion cannot be estimated")
    assert "19 months before the store's first crime event (2018-11-01) are unknown" in s["series"]


def test_placebo_that_finds_an_effect_is_worded_as_a_warning() -> None:
    from tests.spatial.evaluation.test_time_context import T
    events = scene(extra={T: {(2018, 10): 38, (2018, 12): 2}})
    ev = evaluate_operation(events, make_areas(), WINDOWS, SPECS, options=OPTS,
                            coverage={"crime": date(2017, 6, 1)})
    layer = operation_report_dict(ev)["layers"][0]
    s = layer["time_context"]["sentences"]["placebo"]
    assert "finds an effect where there was none" in s
    assert s in layer["warnings"]


def test_chart_is_inline_svg_with_three_lines_windows_and_axes() -> None:
    report = hand_report({"crime": date(2017, 6, 1)})
    tc = report["layers"][0]["time_context"]
    svg = str(series_chart("crime/Drugs", tc["series"], report["parameters"]["windows"]))
    assert svg.count("<svg") == 1 and "<script" not in svg
    # one segment per line (the missing months lead the series), a dot per held month
    assert svg.count("<polyline") == 3
    assert svg.count("<circle") == 3 * 22
    # each area's line is drawn as its outline on the map: no red line to read as "more"
    for area in ("target", "buffer", "control"):
        style = AREA_STYLES[area]
        assert f'stroke="{style["color"]}"' in svg
        if style["dashArray"]:
            assert f'stroke-dasharray="{style["dashArray"]}"' in svg
    assert "#b2182b" not in svg
    # before, during and after shaded, and their legend swatches
    for fill in ("#d9d9d9", "#fdd49e", "#c6dbef"):
        assert svg.count(f'fill="{fill}"') == 2
    assert "events per month" in svg and "calendar month" in svg
    assert "Mar 2019" in svg and "Jun 2017" in svg
    assert "unknown" in svg  # the missing months are explained
    # the y axis reaches the largest count (10)
    assert re.search(r'text-anchor="end">10<', svg)


def test_chart_escapes_what_it_is_given() -> None:
    report = hand_report({"crime": date(2017, 6, 1)})
    tc = report["layers"][0]["time_context"]
    svg = str(series_chart('<script>alert("x")</script>', tc["series"],
                           report["parameters"]["windows"]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_pack_has_a_time_context_section_per_layer() -> None:
    report = hand_report({"crime": date(2017, 6, 1)})
    sections = time_context_sections(report)
    assert [s.title for s in sections] == ["Time context: crime/Drugs"]
    sec = sections[0]
    assert sec.figure is not None and sec.table is not None
    rows = {r[0]: r for r in sec.table.rows}
    assert rows["a year earlier"][2:5] == ("2 \u2192 2", "1 \u2192 4", "5 \u2192 7")
    assert rows["placebo"][2:5] == ("2 \u2192 2", "1 \u2192 1", "5 \u2192 5")
    assert rows["seasonally expected after"][2] == "2.4 (observed 3)"
    # the pack's own section list ends with it, and the page renders it
    assert _sections({**report, "overdose_watch": {}, "dealing_sites": {}})[-1].title == (
        "Time context: crime/Drugs")
    page = render("pack.html", title="t", subtitle="s", made="now", map_html="",
                  sections=sections, caveats=[], parameters=Table(["parameter", "value"], []),
                  bottom_line=[], bottom_text=None, key_figures=None, key_note=None,
                  chart=None, chart_title=None, map_width_mm=186,
                  map_height_mm=150)
    assert page.count("<svg") == 1 and "Regression to the mean" in page


def test_partners_see_no_time_context_of_health_layers() -> None:
    report = hand_report({"crime": date(2017, 6, 1)})
    amb = {**report["layers"][0], "key": "ambulance/*", "layer": "ambulance"}
    report = {**report, "layers": [report["layers"][0], amb]}
    safe = _partner_safe_report(report, "partner")
    assert "time_context" in safe["layers"][0]
    assert "time_context" not in safe["layers"][1]
    assert [s.title for s in time_context_sections(safe)] == ["Time context: crime/Drugs"]


def test_service_loads_the_months_the_context_needs(store: Store, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from service.app import operations
    from tests.service.api.test_operations_api import definition, load

    t = load(store, tmp_path, scale=0.15)
    op = operations.create_operation(store, definition(t), actor="test")
    seen: list[Any] = []
    real = store.scan_events

    def spy(slices: Any, **kw: Any) -> Any:
        seen.append(list(slices))
        return real(slices, **kw)

    monkeypatch.setattr(store, "scan_events", spy)
    report = operations.operation_report(store, op["id"], actor="test")
    windows = Windows(before=Window("before", date(2018, 10, 1), date(2018, 12, 31)),
                      during=Window("during", date(2019, 1, 1), date(2019, 1, 14)),
                      after=Window("after", date(2019, 1, 15), date(2019, 4, 30)))
    first = time_context_span(windows)[0]
    # one query; the windows with the density margin, as always; the months before
    # them without
    assert len(seen) == 1
    record = store.operation(op["id"])
    req = OperationIn.model_validate(json.loads(record.definition)["request"])
    areas = areas_from_definition(json.loads(record.definition))
    spans = [(s.start, s.end, s.bbox) for s in seen[0] if "ambulance" in s.layers
             and "crime" in s.layers]
    midnight = datetime.min.time()
    assert spans == [
        (datetime.combine(date(2018, 10, 1), midnight), datetime(2019, 5, 1),
         areas.extent_wgs84(6.0 * req.options.kde_bandwidth_m)),
        (datetime.combine(first, midnight), datetime(2018, 10, 1), areas.extent_wgs84(0.0))]
    assert report["time_context"]["span"] == [first.isoformat(), "2019-04-30"]
    first = {name: times[0].date().isoformat()
             for name, (_box, times) in store.layer_extents().items()}
    assert first["crime"] == "2018-10-01"  # the town was imported from 2018-10
    for layer in report["layers"]:
        tc = layer["time_context"]
        assert tc["first_stored"] == first[layer["layer"]]
        assert not tc["year_earlier"]["available"]
        assert f"the first the store holds is dated {first[layer['layer']]}" in (
            tc["year_earlier"]["reason"])
        assert tc["series"]["missing_months"] == 24 - 7  # 2018-10 .. 2019-04 are held
        assert len(tc["sentences"]) == 6


def test_first_event_times_per_layer(store: Store, tmp_path: Path) -> None:
    from tests.service.api.test_operations_api import load

    load(store, tmp_path, scale=0.15)
    got = store.first_event_times(["crime", "ambulance", "no_such_layer"])
    assert set(got) == {"crime", "ambulance"}
    ext = store.layer_extents()
    for name, t in got.items():
        assert t == ext[name][1][0]
    assert store.first_event_times([]) == {}


def test_cli_prints_each_part(capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli.operations import _print_report

    report = hand_report({"crime": date(2017, 6, 1)})
    _print_report({**report, "operation": {"id": 1, "name": "hand", "status": "planned"}})
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("  time context: ")]
    assert len(lines) == 6
    assert lines[0].startswith("  time context: A year earlier (before 2018-01-01")
