"""Tests of spatial.evaluation.evaluate: null operations at event level, typed results."""

from __future__ import annotations

import numpy as np

from spatial.evaluation.counting import MeasuredLayer, count_table
from tests.spatial.evaluation.scenes import (
    WINDOWS,
    make_areas,
    simulate_points,
)


def test_null_operations_rarely_claim_a_change() -> None:
    areas = make_areas()
    spec = MeasuredLayer("crime", "Drugs", "outcome")
    rng = np.random.default_rng(11)
    from spatial.evaluation.verdict import verdict

    claimed = 0
    runs = 200
    for _ in range(runs):
        ev = simulate_points(rng, areas, {"target": 60, "buffer": 60, "control": 60}, {})
        lc = count_table(ev, areas, WINDOWS, [spec])[spec.key]
        table, _ = lc.table(time_weighted=False)
        assert table is not None
        claimed += int(verdict(table).code not in ("no_significant_change",
                                                   "insufficient_data"))
    assert claimed / runs <= 0.085
