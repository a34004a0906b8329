"""What the chunks of one file share, so that a file read in chunks reads as it does whole.

A CSV read in chunks (:mod:`spatial.io.stream`) must give every row the key,
row number and coordinates it gets when the file is read in one piece. The
per-file facts the whole-file readers compute over all rows are carried from
chunk to chunk here:

* the spreadsheet row number of the chunk's first row (``row_offset``);
* the occurrence index of each content hash (the ``-{n}`` of
  :func:`spatial.io.assemble.derived_keys`), of each source id and the keys
  already given (the clash rule of mapped ids), in :class:`Occurrences`;
* the metric CRS of the file's ``x``/``y``;
* the "every row is in another CRS" fatal check, which can only be decided
  at the end of the file (:meth:`FileContext.suspect_crs`).

Memory: an :class:`Occurrences` holds 20 bytes per distinct value (two
64-bit hashes and a count), so about 400 MB for a 20-million-row file;
everything else is bounded by the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spatial.errors import InputFormatError
from spatial.io.result import IntArray, ObjArray

#: hash keys of :func:`hash_text` (16 characters each, as pandas requires)
_TEXT_KEYS = ("remap-occurs-ky1", "remap-occurs-ky2")


def hash_text(values: ObjArray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each text value (128 bits together).

    Two different values share both with probability about 2**-128 per pair.
    """
    arr = np.asarray(values, dtype=object)
    return (pd.util.hash_array(arr, hash_key=_TEXT_KEYS[0], categorize=True),
            pd.util.hash_array(arr, hash_key=_TEXT_KEYS[1], categorize=True))


class Occurrences:
    """How many times each 128-bit hash ``(h1, h2)`` has been seen so far.

    Sorted columns (by ``h1``, then ``h2``) searched with ``numpy.searchsorted``
    on ``h1``: no Python per value except where two different values share
    ``h1`` (probability about n**2 / 2**65).
    """

    def __init__(self) -> None:
        self.h1 = np.empty(0, dtype=np.uint64)
        self.h2 = np.empty(0, dtype=np.uint64)
        self.count = np.empty(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.h1)

    def _positions(self, q1: np.ndarray, q2: np.ndarray) -> IntArray:
        """Index of each ``(q1, q2)`` in the columns, -1 where absent."""
        out = np.full(len(q1), -1, dtype=np.int64)
        if not len(self.h1) or not len(q1):
            return out
        lo = np.searchsorted(self.h1, q1, side="left")
        hi = np.searchsorted(self.h1, q1, side="right")
        one = (hi - lo) == 1
        single = np.flatnonzero(one)
        match = self.h2[lo[single]] == q2[single]
        out[single[match]] = lo[single[match]]
        for i in np.flatnonzero((hi - lo) > 1).tolist():  # h1 shared by different values
            found = np.flatnonzero(self.h2[lo[i]:hi[i]] == q2[i])
            if found.size:
                out[i] = lo[i] + int(found[0])
        return out

    def seen(self, q1: np.ndarray, q2: np.ndarray) -> IntArray:
        """How many times each ``(q1, q2)`` was added before (0 if never)."""
        pos = self._positions(q1, q2)
        out = np.zeros(len(q1), dtype=np.int64)
        found = pos >= 0
        out[found] = self.count[pos[found]]
        return out

    def add(self, q1: np.ndarray, q2: np.ndarray) -> None:
        """Count one more occurrence of each ``(q1, q2)`` (repeats counted)."""
        if not len(q1):
            return
        pairs = pd.DataFrame({"a": q1, "b": q2})
        grouped = pairs.groupby(["a", "b"], sort=False).size()
        u1 = grouped.index.get_level_values(0).to_numpy(dtype=np.uint64)
        u2 = grouped.index.get_level_values(1).to_numpy(dtype=np.uint64)
        n = grouped.to_numpy(dtype=np.int32)
        pos = self._positions(u1, u2)
        known = pos >= 0
        np.add.at(self.count, pos[known], n[known])
        new = ~known
        if not new.any():
            return
        order = np.lexsort((u2[new], u1[new]))
        a, b, c = u1[new][order], u2[new][order], n[new][order]
        # insert before the first (h1, h2) greater than the new one: keeps the lexical order
        at = np.searchsorted(self.h1, a, side="left")
        inside = np.flatnonzero(at < len(self.h1))
        shared = inside[self.h1[at[inside]] == a[inside]]
        for i in shared.tolist():  # h1 already held by another value: order by h2
            while at[i] < len(self.h1) and self.h1[at[i]] == a[i] and self.h2[at[i]] < b[i]:
                at[i] += 1
        self.h1 = np.insert(self.h1, at, a)
        self.h2 = np.insert(self.h2, at, b)
        self.count = np.insert(self.count, at, c)


@dataclass
class FileContext:
    """State carried from chunk to chunk of one file (see the module docstring).

    ``row_offset`` is added to the row numbers of the current chunk, which is
    read with the file's header line in front of it when ``continuation``.
    """

    name: str
    row_offset: int = 0
    continuation: bool = False
    rows_read: int = 0
    key_counts: Occurrences = field(default_factory=Occurrences)
    id_counts: Occurrences = field(default_factory=Occurrences)
    keys_given: Occurrences = field(default_factory=Occurrences)
    metric_epsg: int | None = None
    crs_error: InputFormatError | None = None
    crs_cleared: bool = False

    def suspect_crs(self, error: InputFormatError) -> None:
        """Every usable row of this chunk says the file is in another CRS: fatal at the end
        of the file unless a later chunk has a row that rules it out."""
        if self.crs_error is None:
            self.crs_error = error

    def clear_crs(self) -> None:
        """A row of this chunk rules out the "another CRS" error for the whole file."""
        self.crs_cleared = True

    def finish(self) -> None:
        """The whole-file checks, once every chunk has been read."""
        if self.rows_read == 0:
            raise InputFormatError(f"{self.name} has a header but no data rows", file=self.name)
        if self.crs_error is not None and not self.crs_cleared:
            raise self.crs_error
