"""Tests of spatial.evaluation.controls: suggested controls."""

from __future__ import annotations

import pytest

from spatial.errors import ParameterError
from spatial.evaluation.controls import suggest_controls
from tests.spatial.evaluation.scenes import (
    E0,
    N0,
    make_areas,
    square,
)


def test_suggest_controls_excludes_touching_and_prefers_similar_nearby() -> None:
    areas = make_areas()
    # a row of 400 m squares east of the target: the first touches the buffer
    cands = [square(E0 + 400 * k, N0, 200) for k in range(1, 7)]
    counts = [50, 40, 10, 38, 41, 0]
    out = suggest_controls([f"U{k}" for k in range(1, 7)], cands, counts, 40,
                               target_m=areas.target, buffer_m=areas.buffer,
                               labels=[f"unit {k}" for k in range(1, 7)], max_units=3,
                               max_distance_m=1_900)
    excluded = {e["id"]: e["reason"] for e in out["excluded"]}
    assert "touches" in excluded["U1"]
    assert "beyond" in excluded["U6"]  # 1,800 m from the target's edge... and empty
    assert out["chosen"] == ["U2"]     # its baseline equals the target's: adding more is worse
    first = out["ranked"][0]
    assert first["id"] == "U2" and first["chosen"]
    assert "does not touch the buffer" in first["reason"] and "ratio 1.00" in first["reason"]
    # small units are combined until the control's baseline is near the target's
    few = suggest_controls(["A", "B", "C"], cands[1:4], [15, 14, 16], 45,
                               target_m=areas.target, buffer_m=areas.buffer, max_units=5)
    assert sorted(few["chosen"]) == ["A", "B", "C"] and few["control_baseline"] == 45
    none = suggest_controls(["U1"], cands[:1], [40], 40, target_m=areas.target,
                                buffer_m=areas.buffer)
    assert none["chosen"] == [] and none["warnings"]


def test_suggest_controls_matches_the_profile_not_only_the_total() -> None:
    areas = make_areas()
    cands = [square(E0 + 400 * k, N0, 200) for k in range(2, 5)]
    # columns: Drugs, all crime. B has the target's total but no drug offences.
    counts = [[2, 300], [20, 290], [60, 900]]
    out = suggest_controls(["A", "B", "C"], cands, counts, [20, 300],
                               target_m=areas.target, buffer_m=areas.buffer,
                               columns=["crime/Drugs", "crime/*"], max_units=2)
    assert out["chosen"] == ["B"]
    assert out["control_baseline"] == [20.0, 290.0] and out["target_baseline"] == [20.0, 300.0]
    assert out["ranked"][0]["reason"].startswith(
        "baseline crime/Drugs 20, crime/* 290 against the target's crime/Drugs 20, crime/* 300")
    with pytest.raises(ParameterError, match="matched columns"):
        suggest_controls(["A"], cands[:1], [[1, 2]], [1, 2, 3], target_m=areas.target,
                             buffer_m=areas.buffer)
