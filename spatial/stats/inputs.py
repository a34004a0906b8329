"""Input checks shared by the local statistics (Gi*, local and global Moran).

Values must be finite (a unit with no events is a 0, not a missing value);
weights are the binary neighbour matrix of :mod:`spatial.place.units` with a
zero diagonal; permutations are 0 or at least 99 (the smallest pseudo p-value
is ``1 / (R + 1)``); a seed of ``None`` draws fresh entropy that callers record.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from spatial.errors import InsufficientDataError, ParameterError
from spatial.stats.significance import FloatArray, IntArray


def check_values(y: npt.ArrayLike, *, name: str = "y") -> FloatArray:
    """A 1-D finite float64 copy of ``y`` or :class:`ParameterError`."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ParameterError(name, f"expected a 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(name, "contains NaN or infinite values "
                             "(units with no data must be given as 0, not missing)")
    return arr.copy()


def check_binary_weights(w: Any, n: int) -> sparse.csr_matrix:
    """Validate an n×n binary neighbour matrix with a zero diagonal.

    Returns a canonical float64 CSR copy (sorted indices, explicit zeros
    removed). Raises :class:`ParameterError` if it is not square of size
    ``n``, has a non-zero diagonal, or has stored values other than 1.
    """
    if not sparse.issparse(w):
        raise ParameterError("w", "expected a scipy.sparse matrix of neighbours")
    m = sparse.csr_matrix(w, dtype=np.float64, copy=True)
    if m.shape != (n, n):
        raise ParameterError("w", f"expected shape ({n}, {n}), got {m.shape}")
    m.eliminate_zeros()
    m.sum_duplicates()
    m.sort_indices()
    if m.nnz and not np.all(m.data == 1.0):
        raise ParameterError("w", "expected binary weights (every stored value 1); "
                             "pass the binary neighbour matrix and choose transform")
    if np.any(m.diagonal() != 0):
        raise ParameterError("w", "expected a zero diagonal (neighbours exclude the unit itself; "
                             "Gi* adds the unit itself)")
    return m


def check_transform(transform: str) -> str:
    t = str(transform).upper()
    if t not in ("B", "R"):
        raise ParameterError("transform", f"{transform!r}: expected 'B' (binary) or "
                             "'R' (row-standardised)")
    return t


def check_permutations(permutations: int) -> int:
    try:
        r = int(permutations)
    except (TypeError, ValueError):
        raise ParameterError("permutations", "must be an integer") from None
    if r != permutations or r < 0:
        raise ParameterError("permutations", "must be a non-negative integer")
    if 0 < r < 99:
        raise ParameterError("permutations", "use 0 (none) or at least 99 "
                             "(the smallest pseudo p-value is 1/(R+1))")
    return r


def resolve_seed(seed: int | None) -> int:
    """The seed actually used: ``seed``, or fresh OS entropy (recorded by callers)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise ParameterError("seed", "must be an integer or None") from None
    if s < 0:
        raise ParameterError("seed", "must be non-negative")
    return s


def require_units(n: int, minimum: int = 3) -> None:
    if n < minimum:
        raise InsufficientDataError(f"{n} units: at least {minimum} are needed",
                                    details={"units": n, "minimum": minimum})


def neighbour_structure(w: sparse.csr_matrix) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Degrees (neighbours excluding self) and the island mask of a binary matrix."""
    degree = np.diff(w.indptr).astype(np.int64)
    return degree, degree == 0
