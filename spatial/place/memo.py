"""Remembering a function of the point across calls, vectorised.

An import places police.uk's snapped map points again and again: the 15
sample files hold 88,941 distinct points file by file but only 40,674 in all,
because the same force's points come back every month. :class:`PointMemo`
keeps the value of a function of the point (an H3 cell, the polygon a point
falls in) for the points it has seen, so each later read computes only the
points that are new to it.

Points are told apart by their bits (``-0.0`` is not ``0.0``), as in
:func:`spatial.place.placement.distinct_points`, so a remembered value is the
very value the function gives for that point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Points remembered at most (each costs 24 bytes and its value); later points are
#: computed every time.
DEFAULT_CAPACITY = 1 << 20


def point_hashes(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each point's two coordinates' bits (collisions are possible:
    :class:`PointMemo` confirms every match on the bits)."""
    a = np.ascontiguousarray(lon, dtype=np.float64).view(np.uint64)
    b = np.ascontiguousarray(lat, dtype=np.float64).view(np.uint64)
    with np.errstate(over="ignore"):
        h = a * np.uint64(0x9E3779B97F4A7C15) ^ (b + np.uint64(0x632BE59BD9B4E019))
        # splitmix64's finaliser spreads every input bit over the word
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.asarray(h ^ (h >> np.uint64(31)), dtype=np.uint64)


class PointMemo:
    """The values of one function of the point, for the points seen so far.

    Parameters
    ----------
    dtype : numpy dtype
        Dtype of the function's values.
    capacity : int
        Points remembered at most; once full, new points are computed on every
        call (never wrong, only slower).

    Notes
    -----
    The points are kept sorted by :func:`point_hashes`; a look-up is a binary
    search, confirmed on both coordinates' bits, so a hash collision is a miss,
    never a wrong value. Safe to share between threads (one call at a time).
    """

    def __init__(self, dtype: npt.DTypeLike, *, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._hash = np.zeros(0, dtype=np.uint64)
        self._lon = np.zeros(0, dtype=np.uint64)   # the coordinates' bits
        self._lat = np.zeros(0, dtype=np.uint64)
        self._value = np.zeros(0, dtype=dtype)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hash)

    def values(self, lon: npt.ArrayLike, lat: npt.ArrayLike,
               compute: Callable[[FloatArray, FloatArray], npt.NDArray[np.generic]]
               ) -> npt.NDArray[np.generic]:
        """``compute(lon, lat)``, computed only for the points not seen before.

        Parameters
        ----------
        lon, lat : array_like of float
            The points (best distinct: a point new to the memo and repeated in
            this call is computed once per repeat).
        compute : callable
            The function of the point, vectorised: arrays in, one value per
            point out.

        Returns
        -------
        numpy.ndarray
            One value per point, the memo's dtype.
        """
        with self._lock:
            return self._values(lon, lat, compute)

    def _values(self, lon: npt.ArrayLike, lat: npt.ArrayLike,
                compute: Callable[[FloatArray, FloatArray], npt.NDArray[np.generic]]
                ) -> npt.NDArray[np.generic]:
        lon_a = np.ascontiguousarray(lon, dtype=np.float64).ravel()
        lat_a = np.ascontiguousarray(lat, dtype=np.float64).ravel()
        hashes = point_hashes(lon_a, lat_a)
        # searched in hash order, the binary searches walk the memo forwards (twice as fast)
        order = np.argsort(hashes)
        at = np.empty(len(hashes), dtype=np.intp)
        at[order] = np.searchsorted(self._hash, hashes[order])
        np.minimum(at, max(len(self._hash) - 1, 0), out=at)
        if len(self._hash):
            hit = ((self._hash[at] == hashes) & (self._lon[at] == lon_a.view(np.uint64))
                   & (self._lat[at] == lat_a.view(np.uint64)))
        else:
            hit = np.zeros(len(hashes), dtype=bool)
        out = np.empty(len(hashes), dtype=self._value.dtype)
        out[hit] = self._value[at[hit]]
        miss = np.flatnonzero(~hit)
        if miss.size:
            fresh = np.asarray(compute(lon_a[miss], lat_a[miss]), dtype=self._value.dtype)
            out[miss] = fresh
            self._remember(hashes[miss], lon_a[miss], lat_a[miss], fresh)
        return out

    def _remember(self, hashes: npt.NDArray[np.uint64], lon: FloatArray, lat: FloatArray,
                  values: npt.NDArray[np.generic]) -> None:
        room = self.capacity - len(self._hash)
        if room <= 0:
            return
        # one entry per hash: a point colliding with a remembered one (or with another
        # new one) stays a miss
        hashes, first = np.unique(hashes, return_index=True)
        at = np.searchsorted(self._hash, hashes)
        known = np.zeros(len(hashes), dtype=bool)
        if len(self._hash):
            known = self._hash[np.minimum(at, len(self._hash) - 1)] == hashes
        new = np.flatnonzero(~known)[:room]
        if not new.size:
            return
        # sorted new hashes inserted at their places keep the memo sorted (no re-sort)
        at, take = at[new], first[new]
        self._hash = np.insert(self._hash, at, hashes[new])
        self._lon = np.insert(self._lon, at, lon[take].view(np.uint64))
        self._lat = np.insert(self._lat, at, lat[take].view(np.uint64))
        self._value = np.insert(self._value, at, values[take])
