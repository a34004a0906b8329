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
    assert "rose during the operation" in out["flags"][0]
    missing = overdose_watch(ev, placed, WINDOWS, "no_such_layer")
    assert missing["available"] is False and "no 'no_such_layer' events" in missing["reason"]
