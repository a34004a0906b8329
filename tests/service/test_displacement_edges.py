"""The displacement calculator on edge inputs: no negative zero, NaN or infinity in its
JSON or text, and a clear error naming the field for bad input (never a 500).

``remap displacement calc``, :func:`service.app.displacement.calculate` and
``POST /v1/displacement/calculate`` (issue 10, item 7: "WDQ −0").
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app.displacement import calculate
from service.render.html import ENV
from service.render.operation_pack import _measure_rows

#: a minus sign before a zero with no other digit: "-0", "-0.0", "−0.00", "-0e+00"
NEGATIVE_ZERO = re.compile(r"(?<![\w.])[-\u2212]0(?:\.0*)?(?:e[-+]?\d+)?(?![\d.]*[1-9])")


def _pair(before: float, after: float) -> dict[str, float]:
    return {"before": before, "after": after}


def _leaves(obj: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(obj, dict):
        return [leaf for k, v in obj.items() for leaf in _leaves(v, f"{path}.{k}")]
    if isinstance(obj, list):
        return [leaf for v in obj for leaf in _leaves(v, f"{path}[]")]
    return [(path, obj)]


def _check_clean(out: dict[str, Any], body: dict[str, Any]) -> None:
    json.dumps(out, allow_nan=False)  # no NaN, no infinity
    for path, value in _leaves(out):
        if isinstance(value, float):
            assert not (value == 0 and math.copysign(1.0, value) < 0), (path, body)
        if isinstance(value, str):
            assert not NEGATIVE_ZERO.search(value), (path, value, body)
            assert not re.search(r"\b(nan|inf|infinity)\b", value, re.I), (path, value, body)


#: zeros everywhere, an empty buffer, a zero control, a buffer that did not move
EDGE_TABLES = [
    {"target": _pair(0, 0), "buffer": _pair(0, 0), "control": _pair(0, 0)},
    {"target": _pair(40, 10), "buffer": _pair(0, 0), "control": _pair(30, 30)},
    {"target": _pair(40, 10), "buffer": _pair(5, 5), "control": _pair(0, 0)},
    {"target": _pair(40, 10), "buffer": _pair(5, 5), "control": _pair(0, 30)},
    {"target": _pair(10, 0), "buffer": _pair(0, 0), "control": _pair(10, 10)},
    {"target": _pair(0, 0), "buffer": _pair(10, 0), "control": _pair(0, 0)},
]


def test_the_buffer_that_did_not_move_has_a_wdq_of_zero_not_minus_zero() -> None:
    out = calculate({"target": _pair(10, 0), "buffer": _pair(0, 0), "control": _pair(10, 10)})
    assert out["wdq"]["value"] == 0 and math.copysign(1.0, out["wdq"]["value"]) == 1.0
    assert out["wdq"]["label"] == "no displacement or diffusion"
    assert '"value": -0' not in json.dumps(out)


def test_edge_tables_give_clean_json() -> None:
    weights: list[dict[str, Any]] = [{}, {"time_weights": _pair(92, 59)},
                                     {"area_weights": {"target": 0.8, "buffer": 1.9,
                                                       "control": 2.4}},
                                     {"buffer_control": _pair(0, 0)}, {"harm_weights": 0}]
    for table, extra in itertools.product(EDGE_TABLES, weights):
        body = {**table, **extra}
        _check_clean(calculate(body), body)
    # every table of counts 0, 10 and 100
    for counts in itertools.product((0, 10, 100), repeat=6):
        body = {"target": _pair(*counts[:2]), "buffer": _pair(*counts[2:4]),
                "control": _pair(*counts[4:])}
        _check_clean(calculate(body), body)


def test_a_zero_harm_weight_gives_zero_not_minus_zero() -> None:
    body = {"categories": {"a": {"target": _pair(10, 5), "buffer": _pair(3, 3),
                                 "control": _pair(10, 10)},
                           "b": {"target": _pair(0, 0), "buffer": _pair(0, 0),
                                 "control": _pair(0, 0)}},
            "harm_weights": {"a": 0, "b": 2}}
    out = calculate(body)
    _check_clean(out, body)
    assert out["harm_weighted_wdd"]["contributions"]["a"]["weighted_estimate"] == 0


@pytest.mark.parametrize("args", [
    ("--target", "0,0", "--buffer", "10,0", "--control", "0,0", "--time-weights", "92,59"),
    ("--target", "10,0", "--buffer", "10,10", "--control", "10,0", "--time-weights", "92,59"),
    ("--target", "10,0", "--buffer", "0,0", "--control", "10,10"),
    ("--target", "0,0", "--buffer", "0,0", "--control", "0,0"),
])
def test_cli_prints_no_negative_zero(run, args: tuple[str, ...]) -> None:
    r = run("displacement", "calc", *args)
    assert r.exit_code == 0, r.output
    assert not NEGATIVE_ZERO.search(r.output), r.output
    assert not re.search(r"\b(nan|inf)\b", r.output, re.I), r.output


def test_cli_rounded_interval_ends_lose_the_sign_of_zero(run) -> None:
    # WDD -0.109 per day, CI -0.175 to -0.041: to one decimal "[-0.2, 0.0]", never "-0.0"
    r = run("displacement", "calc", "--target", "0,0", "--buffer", "10,0", "--control", "0,0",
            "--time-weights", "92,59")
    assert "CI [-0.2, 0.0]" in r.output and "WDD -0.108696" in r.output


@pytest.mark.parametrize(("args", "field", "reason"), [
    (("--target", "1e-300,0", "--buffer", "0,0", "--control", "1,1"), "target.before",
     "0 or at least 1e-06"),
    (("--target", "10,5", "--buffer", "3,3", "--control", "1e12,1e-300"), "control.after",
     "0 or at least 1e-06"),
    (("--target", "10,5", "--buffer", "3,3", "--control", "10,10", "--alpha", "nan"), "alpha",
     "finite"),
    (("--target", "nan,5", "--buffer", "3,3", "--control", "10,10"), "target.before", "finite"),
])
def test_cli_bad_input_names_the_field(run, args: tuple[str, ...], field: str,
                                       reason: str) -> None:
    r = run("displacement", "calc", *args, "--json")
    assert r.exit_code == 2, r.output
    err = json.loads(r.stdout)
    assert err["details"]["parameter"] == field and reason in err["message"], err


def test_api_edge_inputs_answer_or_name_the_field(client: TestClient, keys) -> None:
    h = keys["analyst"]
    for table in EDGE_TABLES:
        r = client.post("/v1/displacement/calculate", headers=h, json=table)
        assert r.status_code == 200, (table, r.text)
        assert not re.search(r"-0\.0\b(?![\d]*[1-9])|NaN|Infinity", r.text), r.text
    # a control of 1e-300 events made its change 1e312-fold: an infinity, then a 500
    body = {"target": _pair(1e12, 1e12), "buffer": _pair(1e12, 0),
            "control": _pair(1e-300, 1e12)}
    r = client.post("/v1/displacement/calculate", headers=h, json=body)
    assert r.status_code == 422 and r.json()["message"].startswith("control.before: ")
    assert "at least 1e-06" in r.json()["message"]
    # the smallest count allowed, against the largest, with extreme weights, still answers
    body = {"target": _pair(1e12, 0), "buffer": _pair(0, 1e-6), "control": _pair(1e-6, 1e12),
            "time_weights": _pair(1e-6, 1e9),
            "area_weights": {"target": 1e-6, "buffer": 1e9, "control": 1e-6}}
    r = client.post("/v1/displacement/calculate", headers=h, json=body)
    assert r.status_code == 200, r.text
    _check_clean(r.json(), body)


def test_pack_tables_print_no_negative_zero() -> None:
    number = ENV.filters["number"]
    assert number(-0.0) == "0" and number(-0.004) == "-0.004" and number(-1234.5) == "-1,234.5"
    report = {"layers": [{"key": "crime", "measures": {
        "wdd": {"estimate": -3.0, "se": 2.0, "z": -1.5, "p_value": 0.13, "ci_low": -6.9,
                "ci_high": -0.0},
        "wdq": {"value": -0.0, "label": "no displacement or diffusion"}}}]}
    rows = _measure_rows(report)
    wdd = next(r for r in rows if r[1] == "wdd")
    assert wdd[6] == "-6.9 to 0"
    wdq = next(r for r in rows if r[1] == "WDQ")
    assert number(wdq[2]) == "0"
