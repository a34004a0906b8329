"""Gi* and local Moran's I on unit counts aggregated on the cluster.

The counts per unit come from :func:`spatial.distributed.counting.count_units`
(exactly the single-machine counts); the statistic is then computed on the
gathered unit table by the single-machine functions,
:func:`spatial.stats.getis_ord.gi_star` and :func:`spatial.stats.moran.local_moran`,
with the neighbours the single-machine hotspots use (H3 ``grid_disk(k)``, queen
contiguity for boundaries, 8 squares for grids). Equal counts, weights, seed
and permutations give identical z, I and permutation p-values. The unit table
is small (one row per unit), so one process computes it.

References
----------
Getis, A. & Ord, J. K. (1992) The analysis of spatial association by use of
distance statistics. *Geographical Analysis* 24(3), 189-206.
Anselin, L. (1995) Local indicators of spatial association - LISA.
*Geographical Analysis* 27(2), 93-115.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from scipy import sparse

from spatial.errors import InsufficientDataError, ParameterError
from spatial.place import units as unitsmod
from spatial.stats import getis_ord, moran

METHODS: Final = ("gistar", "lisa")


def unit_weights(units: unitsmod.UnitSet, k: int = 1) -> tuple[sparse.csr_matrix, dict[str, str]]:
    """Binary neighbours of ``units`` and their description, as the single-machine hotspots."""
    if units.kind == "h3":
        return unitsmod.neighbours(units, k=k), {"neighbours": f"H3 grid_disk k={k}",
                                                 "weights": "binary"}
    if units.kind == "boundary":
        return unitsmod.neighbours(units), {"neighbours": "queen contiguity",
                                            "weights": "binary"}
    return unitsmod.neighbours(units), {"neighbours": "8 surrounding squares",
                                        "weights": "binary"}


def unit_statistics(units: unitsmod.UnitSet, counts: np.ndarray, *, method: str, k: int = 1,
                    permutations: int | None = None, seed: int, correction: str = "fdr_bh",
                    alpha: float = 0.05) -> tuple[Any, dict[str, Any]]:
    """Gi* (``method="gistar"``) or local Moran (``"lisa"``) of the unit counts.

    Returns
    -------
    result : spatial.stats.getis_ord.GiResult or the result of spatial.stats.moran.local_moran
    parameters : dict
        Neighbours, weights and the statistic's own parameters.
    """
    if method not in METHODS:
        raise ParameterError("method", f"{method!r} is not one of {', '.join(METHODS)}")
    y = np.asarray(counts, dtype=float)
    if y.size < 3:
        raise InsufficientDataError(f"{y.size} units: too few for a local statistic")
    w, desc = unit_weights(units, k)
    if method == "gistar":
        gi = getis_ord.gi_star(y, w, permutations=permutations, seed=seed, correction=correction)
        return gi, {**desc, **{f"gi_{key}": v for key, v in gi.parameters.items()}}
    lm = moran.local_moran(y, w, permutations=permutations, seed=seed, correction=correction,
                           alpha=alpha)
    return lm, {**desc, **{f"lisa_{key}": v for key, v in lm.parameters.items()}}
