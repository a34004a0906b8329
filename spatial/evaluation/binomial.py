"""The exact binomial test and Clopper-Pearson interval, without ``scipy.stats``' overhead.

``scipy.stats.binomtest(k, n, p).pvalue`` and its
``proportion_ci(method="exact")`` evaluate the binomial pmf, cdf and sf through
``rv_discrete``'s array machinery (argument checks, ``argsreduce``, ``place``):
about 60 µs a call, some 40 calls per interval root (``brentq``) and two roots
per interval. A report tests a few dozen rings and rate ratios, so that overhead
was a tenth of a second. Here the same scalar functions (``scipy.special``'s
``_binom_pmf``/``_binom_cdf``/``_binom_sf``, which ``scipy.stats.binom`` calls),
the same support and clipping rules, the same two-sided p-value algorithm and the
same ``brentq`` roots: **the same floats**, bit for bit
(``tests/spatial/evaluation/test_binomial.py`` checks them against
``scipy.stats.binomtest`` over a grid of k, n and p).

References
----------
Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits
    illustrated in the case of the binomial. *Biometrika* 26(4), 404-413.
"""

from __future__ import annotations

import math

import scipy.special._ufuncs as _scu  # the kernels scipy.stats.binom calls
from scipy.optimize import brentq

from spatial.errors import ParameterError


def _clip01(v: float) -> float:
    return 0.0 if v < 0.0 else 1.0 if v > 1.0 else v


def binom_pmf(k: float, n: int, p: float) -> float:
    """``scipy.stats.binom.pmf(k, n, p)`` for scalars (0 off the support or off the
    integers)."""
    if k < 0 or k > n or math.floor(k) != k:
        return 0.0
    return _clip01(float(_scu._binom_pmf(float(k), float(n), p)))


def binom_cdf(k: float, n: int, p: float) -> float:
    """``scipy.stats.binom.cdf(k, n, p)`` for scalars."""
    if k >= n:
        return 1.0
    if k < 0:
        return 0.0
    return _clip01(float(_scu._binom_cdf(float(math.floor(k)), float(n), p)))


def binom_sf(k: float, n: int, p: float) -> float:
    """``scipy.stats.binom.sf(k, n, p)`` for scalars."""
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return _clip01(float(_scu._binom_sf(float(math.floor(k)), float(n), p)))


def _check(k: int, n: int, p: float) -> None:
    if n < 1 or k < 0 or k > n:
        raise ParameterError("binomial", f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    if not 0.0 <= p <= 1.0:
        raise ParameterError("binomial", f"p must be in [0, 1], got {p}")


def _search(a: object, d: float, lo: float, hi: float) -> float:
    """scipy's ``_binary_search_for_binom_tst``: ``i`` in ``[lo, hi]`` with
    ``a(i) <= d < a(i+1)``, ``a`` ascending there."""
    f = a  # type: ignore[assignment]
    while lo < hi:
        mid = lo + (hi - lo) // 2
        midval = f(mid)  # type: ignore[operator]
        if midval < d:
            lo = mid + 1
        elif midval > d:
            hi = mid - 1
        else:
            return mid
    return lo if f(lo) <= d else lo - 1  # type: ignore[operator]


def binom_test_pvalue(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial test of ``k`` successes in ``n`` trials against ``p``:
    ``scipy.stats.binomtest(k, n, p).pvalue`` (the sum of the outcomes no more likely
    than ``k``, with scipy's relative tolerance of 1e-7)."""
    _check(k, n, p)
    d = binom_pmf(k, n, p)
    rerr = 1 + 1e-7
    if k == p * n:
        return 1.0
    if k < p * n:
        ix = _search(lambda x1: -binom_pmf(x1, n, p), -d * rerr, float(math.ceil(p * n)),
                     float(n))
        y = n - ix + int(d * rerr == binom_pmf(ix, n, p))
        pval = binom_cdf(k, n, p) + binom_sf(n - y, n, p)
    else:
        ix = _search(lambda x1: binom_pmf(x1, n, p), d * rerr, 0.0, float(math.floor(p * n)))
        y = ix + 1
        pval = binom_cdf(y - 1, n, p) + binom_sf(k - 1, n, p)
    return min(1.0, pval)


def clopper_pearson(k: int, n: int, confidence_level: float) -> tuple[float, float]:
    """Two-sided exact (Clopper-Pearson) interval of the proportion ``k / n``:
    ``scipy.stats.binomtest(k, n).proportion_ci(confidence_level, method="exact")``
    as ``(low, high)``."""
    _check(k, n, 0.5)
    if not 0.0 <= confidence_level <= 1.0:
        raise ParameterError("confidence_level", f"must be in [0, 1], got {confidence_level}")
    alpha = (1 - confidence_level) / 2
    low = 0.0 if k == 0 else float(brentq(lambda q: binom_sf(k - 1, n, q) - alpha, 0, 1))
    high = 1.0 if k == n else float(brentq(lambda q: binom_cdf(k, n, q) - alpha, 0, 1))
    return low, high
