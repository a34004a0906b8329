"""Re-emergence watch: a Poisson CUSUM on counts per period after an operation.

After a closure, a market "coming back" shows as counts rising from the
post-operation level towards the pre-operation level. Each watched series
(a layer in an area: the target, the buffer, a known dealing site) is charted
with the upper Poisson CUSUM of Lucas (1985), Page's (1954) cumulative sum for
counts::

    S_0 = 0,   S_t = max(0, S_{t-1} + x_t - k),   alarm when S_t >= h

where ``x_t`` is the count in period ``t`` (a week by default; 28 days or a
calendar month as options; month-precision data only monthly). After an alarm
the chart restarts at 0, so the average run length (ARL) between false alarms
is the ARL of a fresh chart.

* **In-control level** ``mu0``: the post-operation level, the mean count per
  period over a stated baseline window after the operation, with an exact
  (Garwood) 95 % interval. Zero counts give ``mu0`` = half an event over the
  window (said in ``warnings``).
* **Out-of-control level** ``mu1``: the pre-operation level (the market back
  where it was, rule ``pre``), or ``mu0 (1 + rise)`` (rule ``rise``). A
  pre-operation level not above ``mu0 (1 + MIN_RETURN)`` cannot be told apart
  from the post-operation level: the rise rule is used and said.
* **Reference value** ``k = (mu1 - mu0) / ln(mu1 / mu0)``, the value that
  makes the CUSUM the sequential likelihood-ratio test of ``mu0`` against
  ``mu1`` (Lucas 1985, eq. 2).
* **Decision interval** ``h``: the smallest value whose in-control ARL
  reaches the target ``ARL0`` (52 weekly periods by default: one false alarm
  a year per series). ARLs are computed by the Markov chain of Brook & Evans
  (1972): ``S`` is kept on a lattice of step ``1/m`` (``k`` rounded to it, the
  only approximation; the chart then uses that same rounded ``k``, so its ARL
  is the chain's exactly), the transient states ``0 .. H-1`` (``h = H / m``)
  give ``ARL = (I - R)^-1 1``. The transition matrix is built in one
  vectorised expression.
* **Estimation of mu0**: by default (``account_for_estimation=True``) ``h``
  is chosen so that the false-alarm rate *averaged over the uncertainty of
  mu0* (its Jeffreys posterior Gamma(x + 1/2, n) for ``x`` events in ``n``
  baseline periods, averaged over ``ESTIMATION_NODES`` equal-probability
  points) meets the target; a plug-in ``h`` from a short baseline gives more false
  alarms than stated (Jones, Champ & Rigdon 2001). Both ARL0s are reported.
* **Detection delay** ``ARL1``: the ARL at ``mu1`` with the same ``k`` and
  ``h`` (the chart starting from 0 when the change happens).
* **Several series**: the expected number of false alarms a year across the
  watch is ``sum_i periods_per_year / ARL0_i``; the user sets either the ARL0
  per series or that family-wide rate (:func:`family_arl0`).

Pure: arrays in, frozen dataclasses out; the per-period recursion loops over
periods (tens to hundreds) with every series at once, never over events.

References
----------
Page, E. S. (1954). Continuous inspection schemes. *Biometrika* 41, 100-115.
Lucas, J. M. (1985). Counted data CUSUM's. *Technometrics* 27(2), 129-144.
Brook, D. & Evans, D. A. (1972). An approach to the probability distribution
of CUSUM run length. *Biometrika* 59(3), 539-549.
Jones, L. A., Champ, C. W. & Rigdon, S. E. (2001). The performance of
exponentially weighted moving average charts with estimated parameters.
*Technometrics* 43(2), 156-167 (estimated parameters shorten the ARL0).
Garwood, F. (1936). Fiducial limits for the Poisson distribution.
*Biometrika* 28, 437-442.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy import stats

from spatial.errors import InsufficientDataError, ParameterError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Periods a watch may count in, and their length in days (a month: the mean).
PERIOD_DAYS: Final = {"week": 7.0, "28days": 28.0, "month": 365.25 / 12.0}
PERIODS: Final = tuple(PERIOD_DAYS)
#: Periods in a year, for the family-wide false-alarm rate.
PERIODS_PER_YEAR: Final = {p: 365.25 / d for p, d in PERIOD_DAYS.items()}
#: Default in-control ARL per series: one false alarm a year.
DEFAULT_ARL0: Final = {"week": 52.0, "28days": 13.0, "month": 12.0}
#: Rules for the out-of-control level.
MU1_RULES: Final = ("pre", "rise")
#: Default relative rise of the ``rise`` rule (and the fallback of ``pre``).
DEFAULT_RISE: Final = 0.5
#: ``pre`` needs the pre-operation level at least this much above mu0.
MIN_RETURN: Final = 0.2
#: Largest number of transient states of the Markov chain.
MAX_STATES: Final = 100
#: Chains of at most this many states are solved by LAPACK, larger ones by
#: :func:`_solve_ones`'s own elimination.
SMALL_SOLVE: Final = 40
#: Finest lattice: ``k`` is rounded to a multiple of ``1 / MAX_LATTICE``.
MAX_LATTICE: Final = 20
#: Equal-probability points over mu0's posterior when accounting for estimation.
ESTIMATION_NODES: Final = 9
#: Coverage of the stated interval of mu0.
MU0_COVERAGE: Final = 0.95


# --------------------------------------------------------------------------- design


def reference_value(mu0: float, mu1: float) -> float:
    """Lucas's reference value ``k = (mu1 - mu0) / ln(mu1 / mu0)`` (counts per period).

    Parameters
    ----------
    mu0, mu1 : float
        In-control and out-of-control mean counts per period, ``0 < mu0 < mu1``.
    """
    if not (mu0 > 0 and mu1 > mu0 and math.isfinite(mu1)):
        raise ParameterError("mu1", f"the levels must satisfy 0 < mu0 < mu1 (got mu0={mu0:g}, "
                                    f"mu1={mu1:g})")
    return (mu1 - mu0) / math.log(mu1 / mu0)


def transition_matrices(mus: npt.ArrayLike, k_steps: int, h_steps: int, m: int
                        ) -> FloatArray:
    """The Brook-Evans transient matrices of a Poisson CUSUM on the lattice ``1/m``, one
    per mean of ``mus`` (shape ``(len(mus), h_steps, h_steps)``).

    States ``i = 0 .. h_steps-1`` stand for ``S = i / m``; with ``K = k_steps``
    (``k = K / m``) a count ``x`` takes state ``i`` to ``max(0, i + m x - K)``,
    and to the absorbing alarm state when that is ``>= h_steps``.
    """
    mu = np.asarray(mus, dtype=float).reshape(-1)
    i = np.arange(h_steps)[:, None]
    j = np.arange(h_steps)[None, :]
    d = j - i + k_steps                       # = m x for a move from i to j >= 1
    hit = (d >= 0) & (d % m == 0) & (j >= 1)
    x_max = (h_steps + k_steps) // m + 1
    pmf = stats.poisson.pmf(np.arange(x_max + 1)[None, :], mu[:, None])  # (n_mu, x)
    cdf = np.cumsum(pmf, axis=1)
    r = np.where(hit[None], pmf[:, np.clip(d // m, 0, x_max)], 0.0)
    # to 0: m x <= K - i, i.e. x <= floor((K - i) / m)
    lim = (k_steps - np.arange(h_steps)) // m
    r[:, :, 0] = np.where(lim[None] >= 0, cdf[:, np.clip(lim, 0, x_max)], 0.0)
    return np.asarray(r, dtype=float)


def transition_matrix(mu: float, k_steps: int, h_steps: int, m: int) -> FloatArray:
    """:func:`transition_matrices` for one mean."""
    return transition_matrices([mu], k_steps, h_steps, m)[0]


def chain_arls(mus: npt.ArrayLike, k_steps: int, h_steps: int, m: int) -> FloatArray:
    """Average run lengths (periods, from ``S = 0``) of the lattice CUSUM at each mean
    of ``mus``: ``L = (I - R)^-1 1``, solved for every mean at once."""
    mu = np.asarray(mus, dtype=float).reshape(-1)
    if h_steps < 1:
        return np.ones(mu.size)
    a = np.eye(h_steps)[None] - transition_matrices(mu, k_steps, h_steps, m)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = _solve_ones(a)[:, 0]
    return np.where((out > 0) & np.isfinite(out), out, math.inf)


def _solve_ones(a: FloatArray) -> FloatArray:
    """``x`` with ``a[b] x[b] = 1`` for each matrix of the batch ``a``, by Gaussian
    elimination without pivoting, vectorised over the batch.

    ``I - R`` with ``R`` substochastic is a nonsingular M-matrix (weakly row
    diagonally dominant), for which elimination without pivoting is stable. Written
    out rather than :func:`numpy.linalg.solve` so that no BLAS thread pool is
    involved: with several processes on few cores the pool's spinning made one
    solve of 100 states take a second.
    """
    n = a.shape[1]
    if n <= SMALL_SOLVE:  # small: LAPACK runs single-threaded and is quickest
        return np.asarray(np.linalg.solve(a, np.ones((a.shape[0], n, 1)))[:, :, 0])
    a = a.copy()
    b = np.ones(a.shape[:2])
    for c in range(n - 1):
        f = a[:, c + 1:, c] / a[:, c, c][:, None]
        a[:, c + 1:, c + 1:] -= f[:, :, None] * a[:, None, c, c + 1:]
        b[:, c + 1:] -= f * b[:, c, None]
    x = np.zeros_like(b)
    for c in range(n - 1, -1, -1):
        x[:, c] = (b[:, c] - np.einsum("bj,bj->b", a[:, c, c + 1:], x[:, c + 1:])) / a[:, c, c]
    return x


def chain_arl(mu: float, k_steps: int, h_steps: int, m: int) -> float:
    """Average run length (periods, from ``S = 0``) of the lattice CUSUM at mean ``mu``."""
    return float(chain_arls([mu], k_steps, h_steps, m)[0])


def arl(mu: float, k: float, h: float, *, m: int = 20) -> float:
    """ARL (periods) of the Poisson CUSUM with reference ``k`` and interval ``h`` at
    mean ``mu``, by the Brook-Evans chain on the lattice ``1/m`` (``k`` and ``h``
    rounded to it)."""
    return chain_arl(mu, int(round(k * m)), int(math.ceil(h * m - 1e-9)), m)


def _mean_rate(mus: FloatArray, k_steps: int, h_steps: int, m: int) -> float:
    """False alarms per period averaged over ``mus`` (1 / ARL at each)."""
    return float(np.mean(1.0 / chain_arls(mus, k_steps, h_steps, m)))


@dataclass(frozen=True)
class CusumDesign:
    """A Poisson CUSUM's design.

    Attributes
    ----------
    mu0, mu1 : float
        In-control and out-of-control levels (counts per period).
    k_exact : float
        Lucas's ``k`` from ``mu0`` and ``mu1``.
    k, h : float
        The reference value and decision interval the chart uses (on the lattice).
    lattice : int
        ``m``: ``S`` moves on multiples of ``1/m``.
    arl0 : float
        In-control ARL at ``mu0`` (plug-in), periods.
    arl0_predictive : float or None
        ARL0 averaged over mu0's uncertainty (1 / mean false-alarm rate), when
        the design accounted for it.
    arl0_target : float
    arl1 : float
        ARL at ``mu1``: the expected delay to an alarm once the level is ``mu1``.
    """

    mu0: float
    mu1: float
    k_exact: float
    k: float
    h: float
    lattice: int
    arl0: float
    arl0_predictive: float | None
    arl0_target: float
    arl1: float

    def as_dict(self) -> dict[str, Any]:
        return {"mu0": self.mu0, "mu1": self.mu1, "k_exact": self.k_exact, "k": self.k,
                "h": self.h, "lattice": self.lattice, "arl0": self.arl0,
                "arl0_predictive": self.arl0_predictive, "arl0_target": self.arl0_target,
                "arl1": self.arl1}


def _smallest_h(mus: FloatArray, k_steps: int, m: int, target: float, lo: int = 0,
                hi: int = 1) -> int:
    """The fewest transient states ``H`` whose mean false-alarm rate over ``mus`` is at
    most ``target``, searched from the bracket ``(lo, hi]`` (widened when it misses)."""
    def ok(h_steps: int) -> bool:
        return _mean_rate(mus, k_steps, h_steps, m) <= target

    if lo > 0 and ok(lo):
        lo, hi = 0, lo
    hi = max(hi, lo + 1)
    while not ok(hi):
        lo, hi = hi, 2 * hi
        if hi > 64 * MAX_STATES:
            raise ParameterError("arl0", f"an in-control ARL of {1 / target:g} periods cannot "
                                         "be reached for these levels")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def design_cusum(mu0: float, mu1: float, arl0: float, *,
                 mu0_uncertainty: tuple[float, float] | None = None) -> CusumDesign:
    """The CUSUM for ``mu0`` against ``mu1`` with in-control ARL at least ``arl0``.

    ``h`` is searched on a coarse lattice (``m = 2``) first, then on the fine one
    (``m`` up to :data:`MAX_LATTICE`, at most :data:`MAX_STATES` states) within one
    unit of the coarse value.

    Parameters
    ----------
    mu0, mu1 : float
        Levels, counts per period, ``0 < mu0 < mu1``.
    arl0 : float
        Target in-control ARL, periods (> 1).
    mu0_uncertainty : (events, periods), optional
        The baseline ``mu0`` was estimated from. When given, ``h`` makes the
        false-alarm rate averaged over mu0's Jeffreys posterior
        Gamma(events + 1/2, periods) at most ``1 / arl0``.

    Returns
    -------
    CusumDesign
    """
    if not (arl0 > 1 and math.isfinite(arl0)):
        raise ParameterError("arl0", f"must be a number of periods above 1 (got {arl0:g})")
    k_exact = reference_value(mu0, mu1)
    mus = np.array([mu0])
    if mu0_uncertainty is not None:
        events, periods = mu0_uncertainty
        q = (np.arange(ESTIMATION_NODES) + 0.5) / ESTIMATION_NODES
        mus = np.maximum(stats.gamma.ppf(q, events + 0.5, scale=1.0 / periods), 1e-9)
    target = 1.0 / arl0
    h_coarse = _smallest_h(mus, max(int(round(2 * k_exact)), 1), 2, target) / 2.0
    m = int(max(1, min(MAX_LATTICE, MAX_STATES // (h_coarse + 1.0))))
    k_steps = max(int(round(k_exact * m)), 1)
    h_steps = _smallest_h(mus, k_steps, m, target, lo=max(0, int((h_coarse - 1.0) * m)),
                          hi=int(math.ceil((h_coarse + 1.0) * m)))
    plug = chain_arl(mu0, k_steps, h_steps, m)
    pred = (1.0 / _mean_rate(mus, k_steps, h_steps, m)) if mu0_uncertainty is not None \
        else None
    return CusumDesign(mu0=float(mu0), mu1=float(mu1), k_exact=k_exact, k=k_steps / m,
                       h=h_steps / m, lattice=m, arl0=plug, arl0_predictive=pred,
                       arl0_target=float(arl0), arl1=chain_arl(mu1, k_steps, h_steps, m))


def family_arl0(n_series: int, false_alarms_per_year: float, period: str) -> float:
    """The ARL0 per series that gives ``false_alarms_per_year`` across ``n_series``
    (``n periods_per_year / rate``)."""
    if n_series < 1:
        raise ParameterError("series", "a watch needs at least one series")
    if not (false_alarms_per_year > 0 and math.isfinite(false_alarms_per_year)):
        raise ParameterError("false_alarms_per_year", "must be a positive number")
    return n_series * PERIODS_PER_YEAR[_period(period)] / false_alarms_per_year


# --------------------------------------------------------------------------- charts


def cusum_path(counts: npt.ArrayLike, k: npt.ArrayLike, h: npt.ArrayLike
               ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Upper Poisson CUSUM of each row of ``counts`` (series x periods), restarting at 0
    after each alarm.

    Returns
    -------
    values : ndarray (series, periods)
        ``S_t`` after period ``t`` (before any restart).
    alarms : ndarray of bool (series, periods)
        ``S_t >= h``.
    """
    x = np.atleast_2d(np.asarray(counts, dtype=float))
    kk = np.broadcast_to(np.asarray(k, dtype=float).reshape(-1), (x.shape[0],))
    hh = np.broadcast_to(np.asarray(h, dtype=float).reshape(-1), (x.shape[0],))
    values = np.zeros_like(x)
    alarms = np.zeros(x.shape, dtype=bool)
    s = np.zeros(x.shape[0])
    tol = 1e-9  # k and h are on a lattice: compare without float noise
    for t in range(x.shape[1]):  # one step per period, every series at once
        s = np.maximum(0.0, s + x[:, t] - kk)
        values[:, t] = s
        alarms[:, t] = s >= hh - tol
        s = np.where(alarms[:, t], 0.0, s)
    return values, alarms


def simulate_run_lengths(mu: float, k: float, h: float, n_runs: int, seed: int, *,
                         max_periods: int = 100_000) -> IntArray:
    """Run lengths (periods to the first alarm) of ``n_runs`` CUSUMs on Poisson(``mu``)
    counts, seeded; runs with no alarm by ``max_periods`` get ``max_periods + 1``."""
    rng = np.random.default_rng(seed)
    s = np.zeros(n_runs)
    out = np.full(n_runs, max_periods + 1, dtype=np.int64)
    alive = np.ones(n_runs, dtype=bool)
    for t in range(1, max_periods + 1):
        idx = np.flatnonzero(alive)
        if not idx.size:
            break
        s[idx] = np.maximum(0.0, s[idx] + rng.poisson(mu, idx.size) - k)
        done = idx[s[idx] >= h - 1e-9]
        out[done] = t
        alive[done] = False
    return out


def _period(period: str) -> str:
    if period not in PERIOD_DAYS:
        raise ParameterError("period", f"must be one of {', '.join(PERIODS)} (got {period!r})")
    return period


def period_starts(anchor: date, before: int, after: int, period: str) -> list[date]:
    """Starts of ``before`` periods before ``anchor`` and ``after`` from it (the
    first of those is ``anchor``), plus the end of the last one: ``before + after + 1``
    edges. Months are calendar months (``anchor`` moved to the first of its month)."""
    _period(period)
    if period == "month":
        base = anchor.year * 12 + anchor.month - 1
        return [date((base + i) // 12, (base + i) % 12 + 1, 1)
                for i in range(-before, after + 1)]
    step = int(PERIOD_DAYS[period])
    return [anchor + timedelta(days=step * i) for i in range(-before, after + 1)]


def bin_counts(times: npt.ArrayLike, member: npt.ArrayLike, edges: list[date]) -> IntArray:
    """Counts per series and period: ``member`` (series x events, bool) says which
    series each event counts in; ``edges`` are period starts (and the last end)."""
    t = np.asarray(times, dtype="datetime64[ns]")
    mem = np.atleast_2d(np.asarray(member, dtype=bool))
    e = np.asarray([np.datetime64(d, "ns") for d in edges], dtype="datetime64[ns]")
    n_p = len(edges) - 1
    idx = np.searchsorted(e, t, side="right") - 1
    ok = (idx >= 0) & (idx < n_p)
    out = np.zeros((mem.shape[0], max(n_p, 0)), dtype=np.int64)
    if n_p <= 0 or not t.size:
        return out
    s, ev = np.nonzero(mem & ok[None, :])
    np.add.at(out, (s, idx[ev]), 1)
    return out


# --------------------------------------------------------------------------- the watch


@dataclass(frozen=True)
class SeriesChart:
    """One watched series' chart.

    Attributes
    ----------
    name : str
    baseline_counts, counts : tuple of int
        Counts in the baseline periods and in the monitored periods.
    cusum : tuple of float
        ``S_t`` after each monitored period.
    alarms : tuple of int
        Indexes (into the monitored periods) of the periods that alarmed.
    first_alarm : int or None
    pre_level : float
        Pre-operation level, counts per period.
    mu0_interval : (float, float)
        Exact 95 % interval of the post-operation level.
    mu1_rule : str
        ``pre`` or ``rise`` as used (``pre`` may fall back to ``rise``).
    design : CusumDesign or None
        None when the series could not be charted (see ``warnings``).
    warnings : tuple of str
    """

    name: str
    baseline_counts: tuple[int, ...]
    counts: tuple[int, ...]
    cusum: tuple[float, ...]
    alarms: tuple[int, ...]
    first_alarm: int | None
    pre_level: float
    mu0_interval: tuple[float, float]
    mu1_rule: str
    design: CusumDesign | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchResult:
    """Every series of a watch, charted with a common period and false-alarm rate.

    ``parameters``: period, periods per year, baseline and monitored periods
    (starts), ARL0 target per series, expected false alarms a year across the
    watch (target and as designed), mu1 rule and rise, estimation handling,
    lattice bound, references.
    """

    series: tuple[SeriesChart, ...]
    period_starts: tuple[date, ...]
    baseline_starts: tuple[date, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def alarming(self) -> tuple[SeriesChart, ...]:
        return tuple(s for s in self.series if s.alarms)


def mu0_interval(events: int, periods: int, coverage: float = MU0_COVERAGE
                 ) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson mean per period from ``events`` in ``periods``."""
    a = 1.0 - coverage
    lo = 0.0 if events == 0 else stats.chi2.ppf(a / 2, 2 * events) / 2.0
    hi = stats.chi2.ppf(1 - a / 2, 2 * events + 2) / 2.0
    return float(lo) / periods, float(hi) / periods


def watch_charts(names: list[str], baseline: npt.ArrayLike, monitored: npt.ArrayLike,
                 pre_level: npt.ArrayLike, *, period: str, arl0: float | None = None,
                 false_alarms_per_year: float | None = None, mu1_rule: str = "pre",
                 rise: float = DEFAULT_RISE, account_for_estimation: bool = True,
                 period_starts: list[date] | None = None,
                 baseline_starts: list[date] | None = None) -> WatchResult:
    """Chart every series of a watch.

    Parameters
    ----------
    names : list of str
        One per series.
    baseline : array (series, baseline periods) of int
        Counts in the post-operation baseline window: ``mu0`` is their mean.
    monitored : array (series, monitored periods) of int
        Counts after the baseline window, charted.
    pre_level : array (series,)
        Pre-operation level, counts per period.
    period : str
        ``week``, ``28days`` or ``month``.
    arl0 : float, optional
        In-control ARL per series (periods); default :data:`DEFAULT_ARL0`.
    false_alarms_per_year : float, optional
        Instead of ``arl0``: the expected false alarms a year across the watch;
        each series gets ``arl0 = n periods_per_year / rate``.
    mu1_rule : str
        ``pre`` (the pre-operation level) or ``rise`` (``mu0 (1 + rise)``).
    rise : float
        Relative rise of the ``rise`` rule (and the fallback of ``pre``).
    account_for_estimation : bool
        Choose ``h`` for the false-alarm rate averaged over mu0's uncertainty.

    Returns
    -------
    WatchResult
    """
    period = _period(period)
    if mu1_rule not in MU1_RULES:
        raise ParameterError("mu1_rule", f"must be one of {', '.join(MU1_RULES)}")
    if not (rise > 0 and math.isfinite(rise)):
        raise ParameterError("rise", "must be a positive fraction (0.5 = 50 %)")
    if arl0 is not None and false_alarms_per_year is not None:
        raise ParameterError("arl0", "give the ARL0 per series or the false alarms a year "
                                     "across the watch, not both")
    base = np.atleast_2d(np.asarray(baseline, dtype=np.int64))
    mon = np.atleast_2d(np.asarray(monitored, dtype=np.int64))
    pre = np.asarray(pre_level, dtype=float).reshape(-1)
    n = len(names)
    if base.shape[0] != n or mon.shape[0] != n or pre.size != n:
        raise ParameterError("series", "names, baseline, monitored and pre_level must have "
                                       "one row per series")
    n_b = base.shape[1]
    if n_b < 1:
        raise InsufficientDataError("the baseline window after the operation holds no whole "
                                    "period: the post-operation level cannot be estimated")
    ppy = PERIODS_PER_YEAR[period]
    target = (family_arl0(n, false_alarms_per_year, period) if false_alarms_per_year
              is not None else float(arl0 if arl0 is not None else DEFAULT_ARL0[period]))
    charts: list[SeriesChart] = []
    designs: list[CusumDesign] = []
    warnings: list[str] = []
    for i, name in enumerate(names):
        w: list[str] = []
        events = int(base[i].sum())
        mu0 = events / n_b
        if events == 0:
            mu0 = 0.5 / n_b
            w.append(f"{name}: no events in the {n_b} baseline period(s); the post-operation "
                     f"level is taken as half an event over them ({mu0:.3g} per {period})")
        rule = mu1_rule
        if rule == "pre" and not pre[i] > mu0 * (1 + MIN_RETURN):
            rule = "rise"
            w.append(f"{name}: the pre-operation level ({pre[i]:.3g} per {period}) is not "
                     f"{100 * MIN_RETURN:.0f} % above the post-operation level ({mu0:.3g}); "
                     f"watching for a rise of {100 * rise:.0f} % instead")
        mu1 = float(pre[i]) if rule == "pre" else mu0 * (1 + rise)
        design = design_cusum(mu0, mu1, target, mu0_uncertainty=(
            (events, n_b) if account_for_estimation else None))
        values, alarms = cusum_path(mon[i], design.k, design.h)
        hit = tuple(int(t) for t in np.flatnonzero(alarms[0]))
        charts.append(SeriesChart(
            name=name, baseline_counts=tuple(int(c) for c in base[i]),
            counts=tuple(int(c) for c in mon[i]), cusum=tuple(float(v) for v in values[0]),
            alarms=hit, first_alarm=hit[0] if hit else None, pre_level=float(pre[i]),
            mu0_interval=mu0_interval(events, n_b), mu1_rule=rule, design=design,
            warnings=tuple(w)))
        designs.append(design)
        warnings += w
    if n_b < 8:
        warnings.append(f"the post-operation level rests on {n_b} {period} period(s) only: "
                        "its uncertainty is wide (see each series' interval)")
    if mon.shape[1] == 0:
        warnings.append("no whole period after the baseline window yet: nothing charted")
    designed_rate = sum(ppy / (d.arl0_predictive or d.arl0) for d in designs)
    params = {
        "method": "upper Poisson CUSUM (Page 1954; Lucas 1985), restarting at 0 after an "
                  "alarm; ARL by the Brook & Evans (1972) Markov chain",
        "period": period, "period_days": PERIOD_DAYS[period], "periods_per_year": ppy,
        "baseline_periods": n_b, "monitored_periods": int(mon.shape[1]),
        "period_starts": [d.isoformat() for d in (period_starts or [])],
        "baseline_starts": [d.isoformat() for d in (baseline_starts or [])],
        "series": n,
        "arl0_per_series": target,
        "arl0_source": "false_alarms_per_year" if false_alarms_per_year is not None
        else ("given" if arl0 is not None else "default"),
        "false_alarms_per_year_target": n * ppy / target,
        "false_alarms_per_year_designed": float(designed_rate),
        "mu1_rule": mu1_rule, "rise": rise, "min_return": MIN_RETURN,
        "account_for_estimation": account_for_estimation,
        "estimation_nodes": ESTIMATION_NODES if account_for_estimation else None,
        "mu0_coverage": MU0_COVERAGE, "max_states": MAX_STATES,
    }
    return WatchResult(series=tuple(charts), period_starts=tuple(period_starts or ()),
                       baseline_starts=tuple(baseline_starts or ()), parameters=params,
                       warnings=tuple(warnings))


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class ReturnScenario:
    """A simulated watched series (weekly): ``n_pre`` weeks at ``mu_pre`` before the
    operation, ``n_base`` baseline weeks at ``mu0`` after it, ``n_mon`` monitored
    weeks; return runs go back to ``mu_pre`` from monitored week ``change``."""

    mu_pre: float
    mu0: float
    n_pre: int = 12
    n_base: int = 12
    n_mon: int = 104
    change: int = 52


@dataclass(frozen=True)
class SimulatedWatch:
    """Null runs' false alarms per period (mean, standard error); return runs' share
    detected within each number of periods of the return, and median delay."""

    false_alarms_per_period: float
    false_alarm_se: float
    detected_within: dict[int, float]
    median_delay: float
    runs: int


def simulate_watch(sc: ReturnScenario, runs: int, seed: int,
                   within: tuple[int, ...] = (2, 4, 8), **options: Any) -> SimulatedWatch:
    """``runs`` seeded null and return runs of :func:`watch_charts` (weekly), each
    designed from its own drawn pre-operation and baseline counts, as in use.

    A detection is the first alarm at or after the return; alarms before it are
    false alarms of that run. ``options`` go to :func:`watch_charts`.
    """
    rng = np.random.default_rng(seed)
    pre = rng.poisson(sc.mu_pre, (runs, sc.n_pre))
    base = rng.poisson(sc.mu0, (runs, sc.n_base))
    null = rng.poisson(sc.mu0, (runs, sc.n_mon))
    ret = null.copy()
    ret[:, sc.change:] = rng.poisson(sc.mu_pre, (runs, sc.n_mon - sc.change))
    # runs with the same baseline and pre totals share a design: charted together
    key = base.sum(axis=1) * 1_000_003 + pre.sum(axis=1)
    fa = np.zeros(runs)
    delay = np.full(runs, np.inf)
    for k in np.unique(key):
        idx = np.flatnonzero(key == k)
        names = [f"run {i}" for i in idx]
        res = watch_charts(names + names, np.concatenate([base[idx]] * 2),
                           np.concatenate([null[idx], ret[idx]]),
                           np.full(2 * idx.size, pre[idx[0]].mean()), period="week",
                           **options)
        for j, i in enumerate(idx.tolist()):
            fa[i] = len(res.series[j].alarms)
            after = [t for t in res.series[idx.size + j].alarms if t >= sc.change]
            if after:
                delay[i] = after[0] - sc.change + 1
    rate = fa / sc.n_mon
    return SimulatedWatch(false_alarms_per_period=float(rate.mean()),
                          false_alarm_se=float(rate.std(ddof=1) / math.sqrt(runs)),
                          detected_within={w: float(np.mean(delay <= w)) for w in within},
                          median_delay=float(np.median(delay)), runs=runs)
