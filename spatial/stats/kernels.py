"""Kernels, bandwidth rules and the discrete kernel :func:`spatial.stats.density.kde` convolves.

Kernels (``d`` = distance in metres, ``h`` = bandwidth in metres)
----------------------------------------------------------------
* ``"gaussian"``: ``K(d) = exp(-d^2 / (2 h^2)) / (2 pi h^2)``; ``h`` is the
  standard deviation along each axis. Truncated at ``5 h`` (the mass beyond
  is ``exp(-12.5) = 3.7e-6``).
* ``"quartic"`` (biweight, the ArcGIS kernel): ``K(d) = 3 / (pi h^2) (1 - d^2
  / h^2)^2`` for ``d < h``, else 0; ``h`` is the radius of the support.
  Its standard deviation along each axis is ``h / sqrt(8)``.

Bandwidth rules (``n`` points, unweighted positions)
----------------------------------------------------
* ``"scott"``: Scott (1992) normal reference for d = 2:
  ``sigma = sbar n^(-1/6)``, ``sbar = sqrt((s_x^2 + s_y^2) / 2)`` (sample
  standard deviations).
* ``"silverman"``: Silverman (1986, eq. 4.14 with the robust spread of
  eq. 3.30): ``sigma = min(sbar, IQRbar / 1.349) n^(-1/6)``, ``IQRbar`` the
  mean of the x and y interquartile ranges. (For d = 2 Silverman's
  normal-reference constant is 1, so it differs from Scott only by the
  robust spread, which guards against a few distant points.)
* ``"arcgis"``: the default search radius of ArcGIS Pro's Kernel Density:
  ``r = 0.9 min(SD, sqrt(1 / ln 2) D_m) n^(-0.2)``, with ``SD`` the standard
  distance ``sqrt(sum((x - xbar)^2 + (y - ybar)^2) / n)`` and ``D_m`` the
  median distance to the mean centre.

The two normal-reference rules give a Gaussian standard deviation, the
ArcGIS rule a quartic radius; a rule used with the other kernel is converted
by matching the standard deviation (``radius = sqrt(8) sigma``). The value
used and the rule are reported in the result.

Discrete kernel
---------------
Linear binning blurs each point by a tent of variance ``cell²/6`` per axis,
which adds ``(cell²/12) ∇²K`` to the surface on average; the discrete kernel
has that term subtracted (kept non-negative), then is scaled so that its sum
times the cell area equals the continuous kernel's integral over its support.

References
----------
Silverman, B. W. (1986) *Density Estimation for Statistics and Data
Analysis*. Chapman & Hall.
Scott, D. W. (1992) *Multivariate Density Estimation*. Wiley.
Wand, M. P. & Jones, M. C. (1995) *Kernel Smoothing*. Chapman & Hall.
Esri, ArcGIS Pro documentation, "How Kernel Density works".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from spatial.errors import InsufficientDataError, ParameterError

if TYPE_CHECKING:
    from spatial.stats.density import DensityResult

FloatArray = npt.NDArray[np.float64]


KERNELS: tuple[str, ...] = ("gaussian", "quartic")
BANDWIDTH_RULES: tuple[str, ...] = ("silverman", "scott", "arcgis")
#: Gaussian kernels are truncated at this many standard deviations.
GAUSSIAN_TRUNCATION = 5.0
#: sqrt(8): a quartic of support radius r has the standard deviation r / sqrt(8) on each axis.
SQRT8 = math.sqrt(8.0)


def bandwidth(x: npt.ArrayLike, y: npt.ArrayLike, rule: str = "silverman",
              kernel: str = "gaussian") -> float:
    """Bandwidth in metres from a rule (see the module notes for formulas).

    Returns the Gaussian standard deviation for ``kernel="gaussian"`` and the
    support radius for ``kernel="quartic"``.
    """
    if kernel not in KERNELS:
        raise ParameterError("kernel", f"{kernel!r}: expected one of {', '.join(KERNELS)}")
    if rule not in BANDWIDTH_RULES:
        raise ParameterError("bandwidth_m", f"{rule!r}: expected metres or one of "
                             f"{', '.join(BANDWIDTH_RULES)}")
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    n = xa.size
    if n < 2:
        raise InsufficientDataError("a bandwidth rule needs at least 2 points; "
                                    "give bandwidth_m in metres", details={"points": n})
    if rule == "arcgis":
        dx = xa - xa.mean()
        dy = ya - ya.mean()
        d = np.hypot(dx, dy)
        sd = math.sqrt(float((dx * dx + dy * dy).sum()) / n)
        spread = min(sd, math.sqrt(1.0 / math.log(2.0)) * float(np.median(d)))
        radius = 0.9 * spread * n ** -0.2
        h = radius if kernel == "quartic" else radius / SQRT8
    else:
        sbar = math.sqrt((float(xa.var(ddof=1)) + float(ya.var(ddof=1))) / 2.0)
        if rule == "silverman":
            iqr = (float(np.subtract(*np.percentile(xa, [75, 25])))
                   + float(np.subtract(*np.percentile(ya, [75, 25])))) / 2.0
            if iqr > 0:
                sbar = min(sbar, iqr / 1.349)
        sigma = sbar * n ** (-1.0 / 6.0)
        h = sigma if kernel == "gaussian" else sigma * SQRT8
    if not h > 0:
        raise InsufficientDataError("the points have no spread: a bandwidth rule cannot be "
                                    "applied; give bandwidth_m in metres")
    return float(h)


def kernel_value(d: npt.ArrayLike, h: float, kernel: str) -> FloatArray:
    """Kernel density at distance ``d`` (metres) for bandwidth ``h``, per m²."""
    d = np.asarray(d, dtype=np.float64)
    if kernel == "gaussian":
        return np.asarray(np.exp(-(d * d) / (2.0 * h * h)) / (2.0 * math.pi * h * h))
    if kernel == "quartic":
        u = 1.0 - (d * d) / (h * h)
        return np.asarray(np.where(u > 0, 3.0 / (math.pi * h * h) * u * u, 0.0))
    raise ParameterError("kernel", f"{kernel!r}: expected one of {', '.join(KERNELS)}")


BINNING_CORRECTION = True


def _kernel_laplacian(d: FloatArray, h: float, kernel: str) -> FloatArray:
    k = kernel_value(d, h, kernel)
    if kernel == "gaussian":
        return np.asarray(k * (d * d - 2.0 * h * h) / h**4)
    a = 3.0 / (math.pi * h * h)
    return np.asarray(np.where(d < h, -8.0 * a / (h * h) * (1.0 - 2.0 * d * d / (h * h)), 0.0))


def kernel_halfwidth(h: float, cell: float, kernel: str) -> tuple[float, int]:
    reach = GAUSSIAN_TRUNCATION * h if kernel == "gaussian" else h
    return reach, max(1, math.ceil(reach / cell))


def discrete_kernel(h: float, cell: float, kernel: str) -> tuple[FloatArray, int]:
    """Kernel on the grid offsets, per m², scaled to its continuous cell integral."""
    reach, m = kernel_halfwidth(h, cell, kernel)
    off = np.arange(-m, m + 1) * cell
    d = np.hypot(off[None, :], off[:, None])
    k = kernel_value(d, h, kernel)
    if BINNING_CORRECTION:
        # Linear binning blurs each point by a tent of variance cell²/6 per axis,
        # adding (cell²/12)∇²K on average; subtract it (kept non-negative).
        k = np.maximum(k - cell * cell / 12.0 * _kernel_laplacian(d, h, kernel), 0.0)
    if kernel == "gaussian":
        k[d > reach] = 0.0
        # integral over the disc of radius `reach`
        target = 1.0 - math.exp(-(reach * reach) / (2.0 * h * h))
    else:
        target = 1.0
    total = float(k.sum()) * cell * cell
    if total > 0:
        k *= target / total
    return k, m


M2_PER_KM2 = 1.0e6


def direct_density(result: DensityResult, x: npt.ArrayLike, y: npt.ArrayLike,
                   rows: npt.ArrayLike, cols: npt.ArrayLike,
                   weights: npt.ArrayLike | None = None) -> FloatArray:
    """Exact kernel sum (events per km²) at chosen cell centres, for checking.

    Evaluates ``sum_i w_i K(centre - point_i)`` directly, with the kernel of
    ``result`` untruncated and unbinned. Cost ``len(rows) × n``.
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    wa = np.ones(xa.size) if weights is None else np.asarray(weights, dtype=np.float64)
    cx = result.x_centres[np.asarray(cols)]
    cy = result.y_centres[np.asarray(rows)]
    out = np.empty(cx.size)
    step = max(1, 2_000_000 // max(xa.size, 1))
    for a in range(0, cx.size, step):
        d = np.hypot(cx[a:a + step, None] - xa[None, :], cy[a:a + step, None] - ya[None, :])
        out[a:a + step] = kernel_value(d, result.bandwidth_m, result.kernel) @ wa
    return out * M2_PER_KM2
