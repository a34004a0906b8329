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
64-bit hashes and a count), so about 400 MB for a 20-million-row file, and
a merge of its runs at most 80 MB more; everything else is bounded by the
chunk.
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


#: entries of the largest run :class:`Occurrences` builds by merging (memory of a merge:
#: twice that, 20 bytes an entry)
RUN_CAP = 2_000_000


class Occurrences:
    """How many times each 128-bit hash ``(h1, h2)`` has been seen so far.

    Kept as sorted runs (by ``h1``, then ``h2``) searched with
    ``numpy.searchsorted`` on ``h1``: no Python per value except where two
    different values share ``h1`` (probability about n**2 / 2**65). Each
    :meth:`add` sorts its new pairs into a run; runs are merged like a binary
    counter up to :data:`RUN_CAP` entries, so a 20-million-row file holds about
    ten full runs and a merge never copies more than two of them (whole-array
    inserts copied everything held, for every chunk).
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(r[0]) for r in self._runs)

    @property
    def h1(self) -> np.ndarray:
        """Every ``h1`` held, sorted (for tests and checks)."""
        if not self._runs:
            return np.empty(0, dtype=np.uint64)
        return np.sort(np.concatenate([r[0] for r in self._runs]))

    @staticmethod
    def _positions_in(run: tuple[np.ndarray, np.ndarray, np.ndarray], q1: np.ndarray,
                      q2: np.ndarray) -> IntArray:
        """Index of each ``(q1, q2)`` in ``run``, -1 where absent."""
        h1, h2, _ = run
        out = np.full(len(q1), -1, dtype=np.int64)
        if not len(h1) or not len(q1):
            return out
        # searched in sorted order: each search starts near the last (cache-friendly)
        order = np.argsort(q1)
        ordered = q1[order]
        lo = np.searchsorted(h1, ordered, side="left")
        held = h1[np.minimum(lo, len(h1) - 1)] == ordered
        hit, lo = order[held], lo[held]    # the rows whose h1 is held, and where
        one = (lo + 1 >= len(h1)) | (h1[np.minimum(lo + 1, len(h1) - 1)] != q1[hit])
        single, first = hit[one], lo[one]
        match = h2[first] == q2[single]
        out[single[match]] = first[match]
        for i, start in zip(hit[~one].tolist(), lo[~one].tolist(), strict=True):
            stop = int(np.searchsorted(h1, q1[i], side="right"))  # h1 shared by values
            found = np.flatnonzero(h2[start:stop] == q2[i])
            if found.size:
                out[i] = start + int(found[0])
        return out

    def seen(self, q1: np.ndarray, q2: np.ndarray) -> IntArray:
        """How many times each ``(q1, q2)`` was added before (0 if never)."""
        out = np.zeros(len(q1), dtype=np.int64)
        for run in self._runs:  # a pair is in one run only
            pos = self._positions_in(run, q1, q2)
            found = pos >= 0
            out[found] = run[2][pos[found]]
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
        known = np.zeros(len(u1), dtype=bool)
        for run in self._runs:
            pos = self._positions_in(run, u1, u2)
            hit = pos >= 0
            np.add.at(run[2], pos[hit], n[hit])
            known |= hit
        new = ~known
        if not new.any():
            return
        order = np.lexsort((u2[new], u1[new]))
        self._runs.append((u1[new][order], u2[new][order], n[new][order]))
        while (len(self._runs) > 1
               and 2 * len(self._runs[-1][0]) >= len(self._runs[-2][0])
               and len(self._runs[-1][0]) + len(self._runs[-2][0]) <= RUN_CAP):
            b1, b2, bc = self._runs.pop()
            a1, a2, ac = self._runs.pop()
            h1, h2, c = np.concatenate([a1, b1]), np.concatenate([a2, b2]), \
                np.concatenate([ac, bc])
            merged = np.lexsort((h2, h1))
            self._runs.append((h1[merged], h2[merged], c[merged]))


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
