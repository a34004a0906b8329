"""The Knox near-repeat test against a hand computation, an exact enumeration of every
permutation, its margins, its stability across seeds, null maps and a planted process."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from spatial.errors import InsufficientDataError, ParameterError, TooLargeError
from spatial.stats import near_repeat as nr

# --------------------------------------------------------------------------- the small case
# Eight events, metres and day numbers. Bands: 2 of 100 m, 2 of 7 days, so the table has
# rows same location | up to 100 m | 100 to 200 m | more than 200 m and columns
# 0 to 7 days | 8 to 14 days | more than 14 days.
X = np.array([0.0, 0.0, 50.0, 0.0, 300.0, 1000.0, 1000.0, 5000.0])
Y = np.array([0.0, 0.0, 0.0, 150.0, 0.0, 1000.0, 1050.0, 5000.0])
DAYS = np.array([0, 3, 5, 20, 1, 2, 9, 40])
BANDS = {"distance_band_m": 100.0, "n_distance_bands": 2, "time_band_days": 7,
         "n_time_bands": 2}
S, R1, R2, RB = 0, 1, 2, 3  # rows
C0, C1, CB = 0, 1, 2  # columns

# Every one of the 28 pairs, worked by hand: (i, j, distance m, days apart, row, column).
HAND_PAIRS = [
    (0, 1, 0.0, 3, S, C0), (0, 2, 50.0, 5, R1, C0), (0, 3, 150.0, 20, R2, CB),
    (0, 4, 300.0, 1, RB, C0), (0, 5, 1414.2, 2, RB, C0), (0, 6, 1450.0, 9, RB, C1),
    (0, 7, 7071.1, 40, RB, CB), (1, 2, 50.0, 2, R1, C0), (1, 3, 150.0, 17, R2, CB),
    (1, 4, 300.0, 2, RB, C0), (1, 5, 1414.2, 1, RB, C0), (1, 6, 1450.0, 6, RB, C0),
    (1, 7, 7071.1, 37, RB, CB), (2, 3, 158.1, 15, R2, CB), (2, 4, 250.0, 4, RB, C0),
    (2, 5, 1379.3, 3, RB, C0), (2, 6, 1416.0, 4, RB, C0), (2, 7, 7035.8, 35, RB, CB),
    (3, 4, 335.4, 19, RB, CB), (3, 5, 1312.4, 18, RB, CB), (3, 6, 1345.4, 11, RB, C1),
    (3, 7, 6965.8, 20, RB, CB), (4, 5, 1220.7, 1, RB, C0), (4, 6, 1261.9, 8, RB, C1),
    (4, 7, 6862.2, 39, RB, CB), (5, 6, 50.0, 7, R1, C0), (5, 7, 5656.9, 38, RB, CB),
    (6, 7, 5621.6, 31, RB, CB),
]
# The table those pairs make, written out.
HAND_OBSERVED = np.array([[1, 0, 0],
                          [3, 0, 0],
                          [0, 0, 3],
                          [9, 3, 9]])
# Row totals 1, 3, 3, 21; column totals 13, 3, 12; 28 pairs: expected = row x col / 28.
HAND_EXPECTED = np.array([[13, 3, 12], [39, 9, 36], [39, 9, 36], [273, 63, 252]]) / 28


def test_hand_pairs_are_the_pairs() -> None:
    assert len(HAND_PAIRS) == math.comb(8, 2)
    for i, j, d, dt, row, col in HAND_PAIRS:
        assert math.hypot(X[i] - X[j], Y[i] - Y[j]) == pytest.approx(d, abs=0.1)
        assert abs(DAYS[i] - DAYS[j]) == dt
        assert nr.distance_row(np.array([d]), 100.0, 2)[0] == row
        assert nr.time_column(np.array([dt]), 7, 2)[0] == col
    table = np.zeros((4, 3), dtype=int)
    for *_, row, col in HAND_PAIRS:
        table[row, col] += 1
    np.testing.assert_array_equal(table, HAND_OBSERVED)


def test_knox_table_and_expected_match_the_hand_computation() -> None:
    r = nr.knox_table(X, Y, DAYS, **BANDS, permutations=9999, seed=1)
    np.testing.assert_array_equal(r.observed, HAND_OBSERVED)
    np.testing.assert_allclose(r.expected_exact, HAND_EXPECTED, rtol=0, atol=1e-12)
    assert r.events == 8 and r.pairs == 28 and r.candidate_pairs == 7  # pairs <= 200 m
    # the Monte Carlo mean within 4 standard errors of the exact mean (binomial-ish bound)
    se = np.sqrt(np.maximum(HAND_EXPECTED, 1e-9) / 9999)
    assert (np.abs(r.expected - HAND_EXPECTED) <= 4 * se + 1e-12).all()
    np.testing.assert_allclose(r.ratio, HAND_OBSERVED / r.expected, rtol=1e-12)
    assert [b.label for b in r.distance_bands] == ["same location", "up to 100 m",
                                                   "100 to 200 m", "more than 200 m"]
    assert [b.label for b in r.time_bands] == ["0 to 7 days", "8 to 14 days",
                                               "more than 14 days"]


def _exact_distribution() -> np.ndarray:
    """The table under every one of the 8! permutations of the dates: brute force over
    the hand pairs, independent of the module."""
    perms = np.array(list(itertools.permutations(range(8))), dtype=np.int64)
    days = DAYS[perms]  # (40320, 8)
    tables = np.zeros((len(perms), 4, 3), dtype=np.int64)
    for i, j, _d, _dt, row, _col in HAND_PAIRS:
        dt = np.abs(days[:, i] - days[:, j])
        col = np.where(dt <= 7, 0, np.where(dt <= 14, 1, 2))
        np.add.at(tables, (np.arange(len(perms)), row, col), 1)
    return tables


def test_exact_enumeration_mean_p_values_and_seed_stability() -> None:
    tables = _exact_distribution()
    np.testing.assert_allclose(tables.mean(axis=0), HAND_EXPECTED, rtol=0, atol=1e-12)
    p_exact = (tables >= HAND_OBSERVED).mean(axis=0)  # one-sided, exact
    reps = 1999
    ps = [nr.knox_table(X, Y, DAYS, **BANDS, permutations=reps, seed=s).p_one_sided
          for s in (1, 2, 3)]
    # stated tolerance: a Monte Carlo p is within 4 standard errors of the exact p
    # (sqrt(p (1 - p) / R)) plus the (n + 1)/(R + 1) offset of 1/(R + 1); two seeds
    # then differ by at most twice that
    tol = 4 * np.sqrt(p_exact * (1 - p_exact) / reps) + 1.0 / (reps + 1) + 1e-12
    for p in ps:
        assert (np.abs(p - p_exact) <= tol).all(), (p, p_exact)
    for a, b in itertools.combinations(ps, 2):
        assert (np.abs(a - b) <= 2 * tol).all()
    # the same seed gives the same answer
    again = nr.knox_table(X, Y, DAYS, **BANDS, permutations=reps, seed=1)
    np.testing.assert_array_equal(again.n_ge, nr.knox_table(X, Y, DAYS, **BANDS,
                                                            permutations=reps, seed=1).n_ge)


def test_expected_margins_equal_observed_margins() -> None:
    rng = np.random.default_rng(5)
    n = 400
    x, y = rng.uniform(0, 3000, n), rng.uniform(0, 3000, n)
    days = rng.integers(0, 200, n)
    x[:20] = x[20:40]  # some same-location pairs
    y[:20] = y[20:40]
    r = nr.knox_table(x, y, days, permutations=199, seed=2)
    # dates are permuted among events: every simulated table keeps the observed row
    # totals (the locations) and column totals (the multiset of date differences)
    np.testing.assert_allclose(r.expected.sum(axis=1), r.observed.sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(r.expected.sum(axis=0), r.observed.sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(r.expected_exact.sum(axis=0), r.observed.sum(axis=0),
                               rtol=1e-9)
    assert r.observed.sum() == r.pairs == n * (n - 1) // 2
    assert r.observed[0].sum() >= 20
    # an independent count of the whole observed table by brute force
    i, j = np.triu_indices(n, 1)
    d = np.hypot(x[i] - x[j], y[i] - y[j])
    dt = np.abs(days[i] - days[j])
    row = np.where(d == 0, 0, np.minimum(np.ceil(d / 100), 6)).astype(int)
    col = np.minimum(np.where(dt == 0, 0, (dt - 1) // 7), 5)
    brute = np.zeros((7, 6), dtype=int)
    np.add.at(brute, (row, col), 1)
    np.testing.assert_array_equal(r.observed, brute)


def test_manhattan_metric_bands_by_axis_distance() -> None:
    # (60, 60) is 84.9 m away in a straight line but 120 m along the axes
    x, y, days = np.array([0.0, 60.0, 500.0]), np.array([0.0, 60.0, 0.0]), np.array([0, 1, 2])
    e = nr.knox_table(x, y, days, permutations=19, seed=0)
    m = nr.knox_table(x, y, days, permutations=19, seed=0, metric="manhattan")
    assert e.observed[1, 0] == 1 and e.observed[2, 0] == 0
    assert m.observed[1, 0] == 0 and m.observed[2, 0] == 1
    assert m.parameters["metric"] == "manhattan"


def _events(rng: np.random.Generator, n: int, side: float, span: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rng.uniform(0, side, n), rng.uniform(0, side, n), rng.integers(0, span, n)


def test_null_maps_rarely_show_a_pattern() -> None:
    """Stated rate: with random space and random time, the default (999 permutations,
    two-sided, BH at 0.05 over the tested cells) calls a pattern on at most 5 % of maps
    in expectation; over 100 maps, at most 10 (P(X > 10) ~ 1 % at 5 %)."""
    rng = np.random.default_rng(20240601)
    found = 0
    for k in range(100):
        x, y, days = _events(rng, 150, 2500.0, 365)
        r = nr.knox_table(x, y, days, seed=k)
        found += r.pattern != "none"
    assert found <= 10, found


def test_a_planted_near_repeat_process_is_found() -> None:
    rng = np.random.default_rng(11)
    x, y, days = _events(rng, 200, 3000.0, 365)
    seeds = rng.choice(200, 40, replace=False)
    # each of 40 events has two follow-ups within 80 m and 1-6 days
    angle = rng.uniform(0, 2 * np.pi, 80)
    dist = rng.uniform(5, 80, 80)
    src = np.repeat(seeds, 2)
    x = np.concatenate([x, x[src] + dist * np.cos(angle)])
    y = np.concatenate([y, y[src] + dist * np.sin(angle)])
    days = np.concatenate([days, days[src] + rng.integers(1, 7, 80)])
    r = nr.knox_table(x, y, days, seed=3)
    assert r.pattern == "near_repeat"
    assert r.significant[1, 0] and r.ratio[1, 0] > 3
    assert r.extent_m is not None and r.extent_m >= 100
    assert r.parameters["correction"] == "fdr_bh" and r.parameters["seed"] == 3
    # the NRC's one-sided p of the planted cell is the smallest possible
    assert r.p_one_sided[1, 0] == pytest.approx(1 / 1000)


def test_same_location_repeats_are_found_and_named() -> None:
    rng = np.random.default_rng(4)
    x, y, days = _events(rng, 150, 3000.0, 365)
    src = rng.choice(150, 40, replace=False)
    x = np.concatenate([x, x[src]])
    y = np.concatenate([y, y[src]])
    days = np.concatenate([days, days[src] + rng.integers(0, 5, 40)])
    r = nr.knox_table(x, y, days, permutations=1999, seed=1)
    assert r.observed[0, 0] == 40 and r.significant[0, 0] and r.ratio[0, 0] > 10
    # a repeat at one place is no pattern in the near bands, and vice versa
    only_same = np.zeros((7, 6), dtype=bool)
    only_same[0, 0] = True
    assert nr.pattern_code(only_same, 100.0, 7) == ("repeat_only", 0.0, 7.0)
    near = only_same.copy()
    near[2, 3] = True
    assert nr.pattern_code(near, 100.0, 7) == ("near_repeat", 200.0, 28.0)
    assert nr.pattern_code(np.zeros((7, 6), dtype=bool), 100.0, 7) == ("none", None, None)


def test_month_precision_is_refused_naming_field_and_precision() -> None:
    times = pd.to_datetime(["2019-01-01", "2019-02-01", "2019-02-01", "2019-03-01"])
    lon = np.array([-1.47, -1.46, -1.45, -1.44])
    lat = np.array([53.38, 53.38, 53.39, 53.39])
    with pytest.raises(ParameterError) as info:
        nr.near_repeat(lon, lat, times, np.array(["month"] * 4, dtype=object))
    assert info.value.parameter == "time_precision"
    assert "'month'" in info.value.reason and "4 of 4" in info.value.reason
    with pytest.raises(ParameterError, match="1 of 4 events have time precision 'month'"):
        nr.near_repeat(lon, lat, times, np.array(["day", "day", "month", "instant"],
                                                 dtype=object))


def test_projection_is_bng_in_britain_and_utm_elsewhere() -> None:
    times = pd.to_datetime(["2019-01-01", "2019-01-02", "2019-01-05", "2019-03-01"])
    prec = np.array(["day"] * 4, dtype=object)
    uk = nr.near_repeat(np.array([-1.47, -1.4705, -1.45, -1.44]),
                        np.array([53.38, 53.38, 53.39, 53.39]), times, prec, permutations=19)
    assert uk.parameters["crs"] == "EPSG:27700"
    # 0.0005 degrees of longitude at 53.38 N is about 33 m
    assert uk.observed[1, 0] == 1
    tempe = nr.near_repeat(np.array([-111.93, -111.9305, -111.90, -111.91]),
                           np.array([33.42, 33.42, 33.40, 33.41]), times, prec,
                           permutations=19)
    assert tempe.parameters["crs"] == "EPSG:32612"


def test_parameters_and_limits_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for kwargs, field in (({"distance_band_m": 0.5}, "distance_band"),
                          ({"n_distance_bands": 0}, "distance_bands"),
                          ({"time_band_days": 0}, "time_band"),
                          ({"n_time_bands": 21}, "time_bands"),
                          ({"metric": "chebyshev"}, "metric"),
                          ({"permutations": 5}, "permutations"),
                          ({"alpha": 1.0}, "alpha")):
        with pytest.raises(ParameterError) as info:
            nr.knox_table(X, Y, DAYS, **kwargs)  # type: ignore[arg-type]
        assert info.value.parameter == field
    with pytest.raises(InsufficientDataError):
        nr.knox_table(X[:2], Y[:2], DAYS[:2])
    monkeypatch.setattr(nr, "MAX_PAIRS", 5)
    with pytest.raises(TooLargeError, match="7 pairs of events lie within 200 m"):
        nr.knox_table(X, Y, DAYS, **BANDS)


def test_results_do_not_depend_on_the_chunk_size_only_through_the_seed() -> None:
    # the observed table, exact expectation and margins never depend on chunking
    a = nr.knox_table(X, Y, DAYS, **BANDS, permutations=99, seed=4, chunk_elements=7)
    b = nr.knox_table(X, Y, DAYS, **BANDS, permutations=99, seed=4, chunk_elements=10_000)
    np.testing.assert_array_equal(a.observed, b.observed)
    np.testing.assert_array_equal(a.expected_exact, b.expected_exact)
    np.testing.assert_allclose(a.expected.sum(axis=1), b.expected.sum(axis=1))


def test_band_edges_tolerate_projection_rounding() -> None:
    # a 400 m grid reprojected from lon/lat: neighbours are 400.0000001 m apart
    rows = nr.distance_row(np.array([400.0000001, 400.01, 1e-9, 0.0, 1200.0]), 400.0, 3)
    np.testing.assert_array_equal(rows, [1, 2, 0, 0, 3])
    np.testing.assert_array_equal(nr.time_column(np.array([0, 7, 8, 14, 15, 36]), 7, 5),
                                  [0, 0, 1, 1, 2, 5])
