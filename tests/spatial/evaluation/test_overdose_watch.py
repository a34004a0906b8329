"""Tests of spatial.evaluation.overdose_watch."""

from __future__ import annotations

import pytest

from spatial.evaluation.counting import place_events
from spatial.evaluation.overdose_watch import overdose_watch
from tests.spatial.evaluation.scenes import (
    E0,
    N0,
    WINDOWS,
    events_at,
    make_areas,
)


def test_overdose_watch_flags_a_rise() -> None:
    areas = make_areas()
    pts = ([(E0, N0, "before", "ambulance", "od")] * 10
           + [(E0 + 250, N0, "during", "ambulance", "od")] * 12
           + [(E0, N0, "after", "ambulance", "od")] * 11)
    ev = events_at(pts)
    placed = place_events(ev, areas, WINDOWS)
    out = overdose_watch(ev, placed, WINDOWS, "ambulance")
    assert out["total"] == {"before": 10, "during": 12, "after": 11}
    during = out["tests"]["before_vs_during"]
    assert during["rate_ratio"] == pytest.approx((12 / 14) / (10 / 31))
    assert during["rise_flag"] and out["rise"]
    assert not out["tests"]["before_vs_after"]["rise_flag"]
    assert out["rise_windows"] == ["during"]
    missing = overdose_watch(ev, placed, WINDOWS, "no_such_layer")
    assert missing["available"] is False and "no 'no_such_layer' events" in missing["reason"]


def test_watch_is_relative_to_the_control_when_the_control_has_call_outs() -> None:
    """A rise the control shares is not flagged; the same rise alone is."""
    areas = make_areas()
    # window lengths cancel in the ratio of rate ratios
    shared = ([(E0, N0, "before", "ambulance", "od")] * 20
              + [(E0, N0, "after", "ambulance", "od")] * 40
              + [(E0 + 2_000, N0, "before", "ambulance", "od")] * 20
              + [(E0 + 2_000, N0, "after", "ambulance", "od")] * 40)
    ev = events_at(shared)
    out = overdose_watch(ev, place_events(ev, areas, WINDOWS), WINDOWS, "ambulance")
    assert out["comparison"] == "control"
    assert out["control"]["before"] == 20 and out["control"]["after"] == 40
    rel = out["tests"]["controlled_after"]
    assert rel["ratio"] == pytest.approx(1.0)
    assert out["tests"]["before_vs_after"]["rise_flag"]   # the raw rate did rise ...
    assert not out["rise"] and out["rise_windows"] == []   # ... but so did the control's
    alone = ([(E0, N0, "before", "ambulance", "od")] * 40
             + [(E0, N0, "after", "ambulance", "od")] * 80
             + [(E0 + 2_000, N0, "before", "ambulance", "od")] * 40
             + [(E0 + 2_000, N0, "after", "ambulance", "od")] * 40)
    ev = events_at(alone)
    out = overdose_watch(ev, place_events(ev, areas, WINDOWS), WINDOWS, "ambulance")
    assert out["tests"]["controlled_after"]["ratio"] == pytest.approx(2.0)
    assert out["rise"] and out["rise_windows"] == ["after"]
