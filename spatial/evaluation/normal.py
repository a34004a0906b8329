"""Standard normal quantiles and p-values shared by the Poisson normal-approximation tests.

Kept on :class:`statistics.NormalDist` and :func:`math.erfc` (scalars, no
array overhead) so every test reports the same digits it always has.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Final

_STD_NORMAL: Final = NormalDist()


def z_crit(alpha: float) -> float:
    """Two-sided critical value z_{1-α/2}."""
    return _STD_NORMAL.inv_cdf(1.0 - alpha / 2.0)


def z_power(power: float) -> float:
    """z_{power}: the standard normal quantile at ``power``."""
    return _STD_NORMAL.inv_cdf(power)


def two_sided_p(z: float) -> float:
    """2·(1 − Φ(|z|)) = erfc(|z|/√2)."""
    return min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))
