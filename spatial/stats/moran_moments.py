"""Analytical moments of Moran's I, local and global.

Local (esda's ``Moran_Local`` moments): under total randomisation (Sokal et
al. 1998, eqs. A3-A4, from Anselin 1995)

    E[I_i]   = -w_i / (n - 1)
    Var[I_i] = w_i(2) (n - b2) / (n - 1)
               + (w_i^2 - w_i(2)) (2 b2 - n) / ((n - 1)(n - 2)) - E[I_i]^2

with ``w_i = sum_j w_ij``, ``w_i(2) = sum_j w_ij^2`` and ``b2 = m4 / m2^2``;
under conditional randomisation (Sokal et al. 1998, eqs. A7-A8)
``E_c[I_i]`` and ``Var_c[I_i]``.

Global: ``E[I] = -1 / (n - 1)`` and the variances under normality and under
randomisation of Cliff & Ord (1981, eqs. 1.35-1.38)::

    Var_N[I] = (n^2 S1 - n S2 + 3 S0^2) / ((n^2 - 1) S0^2) - E[I]^2
    Var_R[I] = n((n^2 - 3n + 3) S1 - n S2 + 3 S0^2)
               - b2((n^2 - n) S1 - 2n S2 + 6 S0^2)
               over (n - 1)(n - 2)(n - 3) S0^2, minus E[I]^2

``S0 = sum_ij w_ij``, ``S1 = 1/2 sum_ij (w_ij + w_ji)^2``,
``S2 = sum_i (w_i. + w_.i)^2``.

References
----------
Cliff, A. D. & Ord, J. K. (1981) *Spatial Processes: Models and
Applications*. London: Pion.
Anselin, L. (1995) Local indicators of spatial association - LISA.
*Geographical Analysis* 27(2), 93-115.
Sokal, R. R., Oden, N. L. & Thomson, B. A. (1998) Local spatial
autocorrelation in a biological model. *Geographical Analysis* 30(4),
331-354.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from spatial.errors import InsufficientDataError
from spatial.stats.significance import FloatArray


def local_moments(z: FloatArray, wt: sparse.csr_matrix, Is: FloatArray
                  ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """``E[I_i]``, ``Var[I_i]``, ``z_i``, ``E_c[I_i]``, ``Var_c[I_i]``, as esda's
    ``Moran_Local`` computes them (``z`` standardised values, ``wt`` the
    weights as used, ``Is`` the local statistics)."""
    n = z.size
    m2 = float((z * z).sum()) / n
    wi = np.asarray(wt.sum(axis=1)).ravel()
    wi2 = np.asarray(wt.multiply(wt).sum(axis=1)).ravel()
    ei_c = -(z**2 * wi) / ((n - 1) * m2)
    vi_c = (z / m2) ** 2 * (n / (n - 2)) * (wi2 - wi**2 / (n - 1)) * (m2 - z**2 / (n - 1))
    b2 = float((z**4).sum() / n) / m2**2
    ei = -wi / (n - 1)
    vi = wi2 * (n - b2) / (n - 1) + (wi**2 - wi2) * (2 * b2 - n) / ((n - 1) * (n - 2)) \
        - (wi / (n - 1)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        zz = (Is - ei) / np.sqrt(vi)
    return ei, vi, zz, ei_c, vi_c


@dataclass(frozen=True)
class GlobalMoments:
    """Global Moran's I, its expectation and variances, and the weight sums."""

    I: float  # noqa: E741 - the statistic's name
    EI: float
    VI_norm: float
    VI_rand: float
    S0: float
    S1: float
    S2: float


def global_moments(z: FloatArray, wt: sparse.csr_matrix) -> GlobalMoments:
    """Moran's I of the centred values ``z`` with weights ``wt`` and its moments
    under normality and randomisation (Cliff & Ord 1981)."""
    n = z.size
    z2ss = float((z * z).sum())
    s0 = float(wt.sum())
    if s0 == 0:
        raise InsufficientDataError("no unit has a neighbour: Moran's I is undefined")
    wsym = wt + wt.T
    s1 = float(wsym.multiply(wsym).sum()) / 2.0
    s2 = float(((np.asarray(wt.sum(axis=1)).ravel() + np.asarray(wt.sum(axis=0)).ravel()) ** 2)
               .sum())
    I_obs = n / s0 * float(z @ (wt @ z)) / z2ss
    ei = -1.0 / (n - 1)
    s02 = s0 * s0
    vi_norm = (n * n * s1 - n * s2 + 3 * s02) / ((n - 1) * (n + 1) * s02) - ei**2
    k = float((z**4).sum() / n) / (z2ss / n) ** 2
    a = n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s02)
    b = k * ((n * n - n) * s1 - 2 * n * s2 + 6 * s02)
    vi_rand = (a - b) / ((n - 1) * (n - 2) * (n - 3) * s02) - ei**2
    return GlobalMoments(I=I_obs, EI=ei, VI_norm=vi_norm, VI_rand=vi_rand, S0=s0, S1=s1, S2=s2)
