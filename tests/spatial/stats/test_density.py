"""Kernel density: accuracy against exact sums, kernel formulas, mass, rules, surfaces.

Tolerance: 0.2 % of the peak of the exact kernel sum at cell centres, with
bandwidths of 5 cells (Gaussian) and 12.5 cells (quartic radius), the scale
of the architecture's measured FFT approach; the binning error falls as
(cell / bandwidth)^2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spatial.errors import InsufficientDataError, ParameterError
from spatial.stats.density import dual, kde, mean_per_unit, values_at
from spatial.stats.kernels import bandwidth, direct_density, kernel_value


def points(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(1000, 250, n // 2), rng.uniform(0, 4000, n - n // 2)])
    y = np.concatenate([rng.normal(2500, 150, n // 2), rng.uniform(0, 4000, n - n // 2)])
    return x, y


def test_gaussian_within_0_2_percent_of_exact_sum_everywhere() -> None:
    x, y = points()
    h = 100.0
    res = kde(x, y, cell_size_m=20, bandwidth_m=h, bounds=(0, 0, 4000, 4000))
    assert res.density.shape == (200, 200)
    # the Gaussian kernel is separable: the exact sum on every centre is a matrix product
    gx = np.exp(-((res.x_centres[:, None] - x[None, :]) ** 2) / (2 * h * h))
    gy = np.exp(-((res.y_centres[:, None] - y[None, :]) ** 2) / (2 * h * h))
    exact = gy @ gx.T / (2 * math.pi * h * h) * 1e6
    err = np.abs(res.density - exact).max() / exact.max()
    assert err < 0.002
    rows, cols = np.array([0, 77, 199]), np.array([5, 120, 199])
    np.testing.assert_allclose(direct_density(res, x, y, rows, cols), exact[rows, cols],
                               rtol=1e-10)


def test_quartic_within_0_2_percent_of_exact_sum() -> None:
    x, y = points()
    res = kde(x, y, cell_size_m=20, bandwidth_m=250.0, kernel="quartic",
              bounds=(0, 0, 4000, 4000))
    rng = np.random.default_rng(1)
    peak = np.unravel_index(np.argmax(res.density), res.density.shape)
    rows = np.r_[rng.integers(0, 200, 2000), peak[0] + np.arange(-5, 6)]
    cols = np.r_[rng.integers(0, 200, 2000), peak[1] + np.arange(-5, 6)]
    exact = direct_density(res, x, y, rows, cols)
    err = np.abs(res.density[rows, cols] - exact).max() / exact.max()
    assert err < 0.002


def test_quartic_kernel_formula() -> None:
    h = 300.0
    d = np.array([0.0, 100.0, 299.0, 300.0, 450.0])
    expected = np.where(d < h, 3 / (math.pi * h * h) * (1 - d**2 / h**2) ** 2, 0.0)
    np.testing.assert_allclose(kernel_value(d, h, "quartic"), expected, rtol=1e-14)
    # it integrates to one: 2π ∫ K(r) r dr over [0, h]
    r = np.linspace(0, h, 200_001)
    integral = np.trapezoid(kernel_value(r, h, "quartic") * 2 * math.pi * r, r)
    assert integral == pytest.approx(1.0, abs=1e-9)
    # one point at a cell centre: the surface there is K(0), per km²
    res = kde([505.0], [505.0], cell_size_m=10, bandwidth_m=h, kernel="quartic",
              bounds=(0, 0, 1000, 1000))
    assert res.density[50, 50] == pytest.approx(3 / (math.pi * h * h) * 1e6, rel=2e-3)
    g = kde([505.0], [505.0], cell_size_m=10, bandwidth_m=100.0, bounds=(0, 0, 1000, 1000))
    # (the binning correction adds cell²/(6h²) = 0.17 % at a lone point's own centre)
    assert g.density[50, 50] == pytest.approx(1e6 / (2 * math.pi * 100.0**2), rel=2e-3)


@pytest.mark.parametrize("kernel,h", [("gaussian", 60.0), ("quartic", 150.0),
                                      ("gaussian", 7.0), ("quartic", 12.0)])
def test_total_mass_is_the_number_of_events(kernel: str, h: float) -> None:
    x, y = points(500, seed=2)
    pad = 6 * h
    res = kde(x, y, cell_size_m=10, bandwidth_m=h, kernel=kernel,
              bounds=(x.min() - pad, y.min() - pad, x.max() + pad, y.max() + pad))
    count = res.density.sum() * res.cell_area_km2
    assert count == pytest.approx(500, rel=1e-5)
    assert res.mass_in_grid == pytest.approx(1.0, abs=1e-5)
    assert res.parameters["units"] == "events per km²"


def test_default_bounds_and_reported_parameters() -> None:
    x, y = points(300, seed=3)
    res = kde(x, y, cell_size_m=25, bandwidth_m=80.0)
    assert res.x_edges[0] == pytest.approx(x.min() - 240)
    assert res.y_edges[0] == pytest.approx(y.min() - 240)
    assert res.x_edges[-1] >= x.max() + 240 - 1e-9
    assert res.mass_in_grid > 0.99
    p = res.parameters
    assert p["bandwidth_m"] == 80.0 and p["bandwidth_rule"] == "fixed"
    assert p["cell_size_m"] == 25 and p["kernel"] == "gaussian"
    q = kde(x, y, cell_size_m=25, bandwidth_m=80.0, kernel="quartic")
    assert q.x_edges[0] == pytest.approx(x.min() - 80)
    assert q.mass_in_grid == pytest.approx(1.0, abs=1e-9)


def test_bandwidth_rules_formulas() -> None:
    x, y = points(1000, seed=4)
    n = x.size
    sbar = math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    assert bandwidth(x, y, "scott") == pytest.approx(sbar * n ** (-1 / 6))
    iqr = (np.subtract(*np.percentile(x, [75, 25])) + np.subtract(*np.percentile(y, [75, 25]))) / 2
    assert bandwidth(x, y, "silverman") == pytest.approx(min(sbar, iqr / 1.349) * n ** (-1 / 6))
    dx, dy = x - x.mean(), y - y.mean()
    sd = math.sqrt(((dx**2 + dy**2).sum()) / n)
    dm = float(np.median(np.hypot(dx, dy)))
    radius = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * n**-0.2
    assert bandwidth(x, y, "arcgis", "quartic") == pytest.approx(radius)
    assert bandwidth(x, y, "arcgis", "gaussian") == pytest.approx(radius / math.sqrt(8))
    assert bandwidth(x, y, "scott", "quartic") == pytest.approx(math.sqrt(8) * sbar * n ** (-1 / 6))
    res = kde(x, y, cell_size_m=50, bandwidth_m="silverman")
    assert res.bandwidth_rule == "silverman"
    assert res.bandwidth_m == pytest.approx(bandwidth(x, y, "silverman"))
    with pytest.raises(InsufficientDataError):
        bandwidth([1.0], [1.0])
    with pytest.raises(InsufficientDataError):
        kde([1.0, 1.0], [2.0, 2.0], cell_size_m=10)
    with pytest.raises(ParameterError):
        bandwidth(x, y, "plugin")


def test_weights_equal_repeated_points() -> None:
    x = np.array([100.0, 400.0, 250.0])
    y = np.array([100.0, 300.0, 260.0])
    bounds = (0, 0, 600, 600)
    a = kde(x, y, cell_size_m=10, bandwidth_m=50.0, bounds=bounds, weights=[2, 0, 1])
    b = kde(x[[0, 0, 2]], y[[0, 0, 2]], cell_size_m=10, bandwidth_m=50.0, bounds=bounds)
    np.testing.assert_allclose(a.density, b.density, rtol=0, atol=1e-9 * b.density.max())
    assert a.total_weight == 3 and a.parameters["weighted"] is True


def test_points_outside_the_grid_still_count() -> None:
    x, y = points(400, seed=5)
    big = kde(x, y, cell_size_m=20, bandwidth_m=60.0, bounds=(0, 0, 4000, 4000))
    small = kde(x, y, cell_size_m=20, bandwidth_m=60.0, bounds=(1000, 2000, 2000, 3000))
    sub = big.density[100:150, 50:100]
    np.testing.assert_allclose(small.density, sub, rtol=0, atol=1e-9 * sub.max())
    assert small.mass_in_grid < 0.9
    assert any("outside the grid" in m for m in small.warnings)


def test_dual_surfaces() -> None:
    x, y = points(400, seed=6)
    bounds = (0, 0, 4000, 4000)
    a = kde(x, y, cell_size_m=40, bandwidth_m=150.0, bounds=bounds)
    b = kde(x[:300], y[:300], cell_size_m=40, bandwidth_m=150.0, bounds=bounds)
    d = dual(a, b, "difference")
    np.testing.assert_allclose(d.density, a.density - b.density)
    r = dual(a, b, "ratio")
    ok = b.density > 0
    np.testing.assert_allclose(r.density[ok], a.density[ok] / b.density[ok])
    assert np.all(np.isnan(r.density[~ok]))
    other = kde(x, y, cell_size_m=50, bandwidth_m=150.0, bounds=bounds)
    with pytest.raises(ParameterError):
        dual(a, other)
    with pytest.raises(ParameterError):
        dual(a, b, "log")
    c = kde(x, y, cell_size_m=40, bandwidth_m=300.0, bounds=bounds)
    assert any("different smoothing" in m for m in dual(a, c).warnings)


def test_values_at_and_mean_per_unit() -> None:
    from shapely.geometry import Polygon, box

    x, y = points(400, seed=7)
    res = kde(x, y, cell_size_m=40, bandwidth_m=150.0, bounds=(0, 0, 4000, 4000))
    cx, cy = res.x_centres, res.y_centres
    np.testing.assert_allclose(values_at(res, cx[[3, 50]], cy[[7, 60]]),
                               res.density[[7, 60], [3, 50]])
    mid = values_at(res, [(cx[3] + cx[4]) / 2], [cy[7]])[0]
    assert mid == pytest.approx((res.density[7, 3] + res.density[7, 4]) / 2)
    assert np.isnan(values_at(res, [-1.0], [10.0])[0])
    means = mean_per_unit(res, [box(0, 0, 400, 400), box(1000, 1000, 1010, 1010), Polygon()])
    assert means[0] == pytest.approx(res.density[:10, :10].mean())
    assert means[1] == pytest.approx(values_at(res, [1005.0], [1005.0])[0])
    assert np.isnan(means[2])


def test_input_errors() -> None:
    with pytest.raises(InsufficientDataError):
        kde([], [], cell_size_m=10, bandwidth_m=10.0)
    with pytest.raises(ParameterError):
        kde([1.0], [1.0], cell_size_m=0, bandwidth_m=10.0)
    with pytest.raises(ParameterError):
        kde([1.0], [1.0], cell_size_m=10, bandwidth_m=-1.0)
    with pytest.raises(ParameterError):
        kde([1.0], [1.0], cell_size_m=10, bandwidth_m=10.0, kernel="epanechnikov")
    with pytest.raises(ParameterError):
        kde([1.0, np.nan], [1.0, 2.0], cell_size_m=10, bandwidth_m=10.0)
    with pytest.raises(ParameterError):
        kde([1.0], [1.0], cell_size_m=0.01, bandwidth_m=100.0, bounds=(0, 0, 1e5, 1e5))
    with pytest.raises(ParameterError):
        kde([1.0], [1.0], cell_size_m=10, bandwidth_m=10.0, weights=[-1.0])
    small = kde([1.0, 5.0], [1.0, 3.0], cell_size_m=10, bandwidth_m=5.0)
    assert any("under two cells" in m for m in small.warnings)


def test_quartic_radius_under_six_cells_is_warned_as_binning_error() -> None:
    """A quartic of radius r has sd r/sqrt(8): the gaussian's two-cell floor on the sd
    means a radius of 5.7 cells. Measured against the exact sum: radius 3 cells (150 m on
    50 m) is about 1.5 % of the peak off, 6 cells about 0.2 %."""
    rng = np.random.default_rng(7)
    x, y = rng.normal(0, 400, 500), rng.normal(0, 400, 500)
    coarse = kde(x, y, cell_size_m=50, bandwidth_m=150.0, kernel="quartic")
    assert any("quartic radius 150.0 m is under 5.7 cells" in w for w in coarse.warnings)
    fine = kde(x, y, cell_size_m=50, bandwidth_m=300.0, kernel="quartic")
    assert not any("binning error" in w for w in fine.warnings)
    gaussian = kde(x, y, cell_size_m=50, bandwidth_m=150.0, kernel="gaussian")
    assert not any("binning error" in w for w in gaussian.warnings)
