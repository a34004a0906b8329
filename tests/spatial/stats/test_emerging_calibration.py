"""Calibration of Emerging Hot Spot Analysis's default inference on null cubes (issue 12).

50 cubes of Poisson counts with one mean for every bin (no cluster, no trend) on 217
H3 resolution-9 cells (a ``grid_disk`` of radius 8, ring-1 neighbours) over 12 steps:
every hot or cold category is false. Stated rate: with the defaults (Gi* with
total randomisation, 49,999 draws, two-sided, BH FDR over all bins at 0.05) at
most 1 % of units over all cubes fall into a hot or cold category, and at most 5 of
the 50 cubes (10 %) have any such unit. BH at 0.05 under the complete null keeps the
chance of any significant bin in a cube at or below 5 %, so the cube bound has room.
The figures are printed (``-s``); larger runs are in ``benchmarks/RESULTS.md``
(``benchmarks/bench_emerging.py``), with the normal-theory inference for comparison.
"""

from __future__ import annotations

import numpy as np
import pytest

from spatial.stats.emerging import emerging_hot_spots
from tests.spatial.stats.test_calibration import disk_cells_and_weights

CUBES = 50
STEPS = 12
MAX_UNIT_SHARE = 0.01
MAX_CUBES_WITH_ANY = 5


@pytest.mark.parametrize("mean", [0.2, 2.0])
def test_defaults_on_null_cubes(mean: float, capsys: pytest.CaptureFixture[str]) -> None:
    _, w = disk_cells_and_weights(radius=8)
    n = w.shape[0]
    flagged = cubes_any = 0
    for seed in range(CUBES):
        counts = np.random.default_rng(seed).poisson(mean, size=(n, STEPS))
        res = emerging_hot_spots(counts, w, seed=seed)
        assert res.parameters["inference"] == "randomization"
        assert res.parameters["correction"] == "fdr_bh"
        k = int(np.count_nonzero(res.code != 0))
        flagged += k
        cubes_any += k > 0
    share = flagged / (n * CUBES)
    with capsys.disabled():
        print(f"\nnull cubes, mean {mean}: {flagged} of {n * CUBES} units categorised "
              f"({share:.3%}); {cubes_any}/{CUBES} cubes with any")
    assert share <= MAX_UNIT_SHARE
    assert cubes_any <= MAX_CUBES_WITH_ANY
