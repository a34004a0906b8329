"""Postcodes: normalisation, reported slip corrections, and lookup in a postcode directory.

Format
------
A full UK postcode is an *outward* code (area letters, district: ``S9``,
``S10``, ``SW1A``) and an *inward* code (sector digit + unit letters:
``3XX``), written ``"OUTWARD INWARD"`` (ONSPD ``pcds``; Royal Mail,
*Programmers' Guide to Postcode Address File*, postcode format). Compact:
``^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$``.

What is normalised, what is reported
------------------------------------
* Case and spacing (``s93xx``, ``S9  3XX``, ``S93XX``) are normalisation,
  not slips: the unspaced form is ONSPD's own ``pcd``-style spelling and
  reads one way only. Nothing is reported.
* Slips are *accepted with a flag* and a warning naming row, field, what
  was given and the corrected form, and only when the corrected postcode
  is in the directory: letter O / digit 0 and letter I / digit 1 in a
  position where the format allows only the other (the first character and
  the two unit letters are letters, the sector is a digit; in a two-character
  outward code the second is a digit), and characters other than letters,
  digits and spaces (``S9 3XX.``, ``S9-3XX``). In those positions the format
  admits exactly one reading, so the correction is not a guess between
  places; rejecting would make analysts retype thousands of call-log rows
  for no gain in accuracy. Anything else is rejected.
* A partial postcode is placed at the mean position of the directory's live
  postcodes in it: a sector (``"S9 3"``, the space required: ``S93`` is
  district S93) with precision ``postcode_sector``, a district (``"S9"``)
  with ``postcode_district``.
* A terminated postcode (ONSPD ``doterm`` set) is placed at its last
  position with precision ``postcode`` and the flag ``terminated``.
* Unknown, empty and malformed postcodes are rejected, the reason saying which.

Every step is a pandas string operation or ``Index.get_indexer`` over the
whole column: no Python loop per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

FULL_RE: Final = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"
OUTWARD_RE: Final = r"^[A-Z]{1,2}[0-9][A-Z0-9]?$"
SECTOR_RE: Final = r"^([A-Z]{1,2}[0-9][A-Z0-9]?) +([0-9])$"

#: Longest normalised postcode ("SW1A 1AA").
CODE_WIDTH: Final = 8
_TO_LETTER: Final = str.maketrans({"0": "O", "1": "I"})
_TO_DIGIT: Final = str.maketrans({"O": "0", "I": "1"})


def _text(values: npt.ArrayLike) -> pd.Series:
    """Values as a Series of text, missing (None, NaN) as ""."""
    arr = np.array(values, dtype=object, copy=True)
    arr[(arr == None) | (arr != arr)] = ""  # noqa: E711 (element-wise; NaN != NaN)
    if pd.api.types.infer_dtype(arr, skipna=False) != "string":
        arr = arr.astype(str).astype(object)
    return pd.Series(arr, dtype=object)


def normalise_postcodes(values: npt.ArrayLike) -> pd.DataFrame:
    """Postcodes as written -> their normal form, kind and any slip correction.

    Parameters
    ----------
    values : array-like of str
        Postcodes as given (any case, spacing; missing as ``None``/NaN/``""``).

    Returns
    -------
    pandas.DataFrame
        One row per value, columns

        ``code``
            ``"OUT IN"`` for a full postcode, ``"OUT N"`` for a sector,
            ``"OUT"`` for a district, ``""`` when unreadable.
        ``kind``
            ``full``, ``sector``, ``district``, ``empty`` or ``invalid``.
        ``corrected``
            True where ``code`` differs from what was given by more than case
            and spacing (see the module notes); the caller reports it.
    """
    raw = _text(values)
    upper = raw.str.upper().str.strip()
    spaced = upper.str.replace(r"\s+", " ", regex=True)
    compact = spaced.str.replace(" ", "", regex=False)
    n = len(raw)
    code = np.full(n, "", dtype=object)
    kind = np.full(n, "invalid", dtype=object)
    corrected = np.zeros(n, dtype=bool)
    kind[(compact == "").to_numpy()] = "empty"

    full = compact.str.match(FULL_RE).to_numpy(dtype=bool)
    code[full] = (compact[full].str[:-3] + " " + compact[full].str[-3:]).to_numpy()
    kind[full] = "full"

    sector_parts = spaced.str.extract(SECTOR_RE)
    sector = sector_parts[0].notna().to_numpy(dtype=bool) & ~full
    code[sector] = (sector_parts.loc[sector, 0] + " " + sector_parts.loc[sector, 1]).to_numpy()
    kind[sector] = "sector"

    district = spaced.str.match(OUTWARD_RE).to_numpy(dtype=bool) & ~full & ~sector
    code[district] = spaced[district].to_numpy()
    kind[district] = "district"

    # slips: only rows no reading above accepted, 5-7 characters once cleaned
    todo = ~(full | sector | district) & (kind != "empty")
    if todo.any():
        cleaned = spaced[todo].str.replace(r"[^A-Z0-9 ]", "", regex=True)
        parts = cleaned.str.rsplit(" ", n=1)
        had_space = parts.str.len() == 2
        # keep the writer's split when given and the inward part is 3 long
        clean = cleaned.str.replace(" ", "", regex=False)
        out = clean.str[:-3]
        inward = clean.str[-3:]
        ok_len = clean.str.len().between(5, 7) & (~had_space | (parts.str[-1].str.len() == 3))
        first = out.str[:1].str.translate(_TO_LETTER)
        rest = out.str[1:]
        rest = rest.where(out.str.len() != 2, rest.str.translate(_TO_DIGIT))
        fixed = (first + rest + " " + inward.str[:1].str.translate(_TO_DIGIT)
                 + inward.str[1:].str.translate(_TO_LETTER))
        valid = ok_len & fixed.str.replace(" ", "", regex=False).str.match(FULL_RE)
        idx = np.flatnonzero(todo)[valid.to_numpy(dtype=bool)]
        code[idx] = fixed[valid].to_numpy()
        kind[idx] = "full"
        corrected[idx] = True
    return pd.DataFrame({"code": code, "kind": kind, "corrected": corrected})


@dataclass(frozen=True)
class PostcodeDirectory:
    """A postcode directory ready for lookups (one gazetteer version).

    Attributes
    ----------
    codes : pandas.Index
        Normalised postcodes (``"OUT IN"``), unique.
    sorted_keys, order : ndarray
        ``codes`` packed into 64-bit integers (8 ASCII characters, see
        :func:`code_keys`), sorted, and the position of each in ``codes``:
        lookups are a binary search of integers (``numpy.searchsorted``), with
        no Python object per query.
    easting, northing : ndarray of float
        EPSG:27700 metres of each postcode.
    terminated : ndarray of object
        Termination date text (ONSPD ``doterm``, ``YYYYMM``) or ``""`` for live.
    sectors, districts : pandas.Index
        Sector (``"S9 3"``) and district (``"S9"``) codes with a centroid.
    sector_xy, district_xy : ndarray, shape (n, 2)
        Mean easting/northing of the *live* postcodes in each sector/district.
    """

    codes: pd.Index
    sorted_keys: npt.NDArray[np.uint64]
    order: npt.NDArray[np.intp]
    easting: FloatArray
    northing: FloatArray
    terminated: ObjArray
    sectors: pd.Index
    sector_xy: FloatArray
    districts: pd.Index
    district_xy: FloatArray

    @classmethod
    def build(cls, postcodes: npt.ArrayLike, easting: npt.ArrayLike, northing: npt.ArrayLike,
              terminated: npt.ArrayLike | None = None) -> PostcodeDirectory:
        """Index normalised postcodes and derive sector and district centroids.

        ``postcodes`` must already be normalised and unique (the gazetteer
        import guarantees it). Centroids are the mean easting/northing of the
        live postcodes of each sector/district; a sector with none has no
        centroid (a partial postcode in it is rejected).
        """
        codes = pd.Index(np.asarray(postcodes, dtype=object), dtype=object)
        e = np.asarray(easting, dtype=np.float64)
        n = np.asarray(northing, dtype=np.float64)
        term = (np.full(len(codes), "", dtype=object) if terminated is None
                else np.asarray(_text(terminated).to_numpy(), dtype=object))
        live = term == ""
        s = pd.Series(codes.to_numpy(dtype=object)[live], dtype=object)
        frame = pd.DataFrame({"sector": s.str[:-2].to_numpy(), "district": s.str[:-4].to_numpy(),
                              "e": e[live], "n": n[live]})
        by_sector = frame.groupby("sector", sort=True)[["e", "n"]].mean()
        by_district = frame.groupby("district", sort=True)[["e", "n"]].mean()
        if not codes.is_unique:
            raise ValueError("postcodes of a directory must be unique")
        keys, valid = code_keys(codes.to_numpy(dtype=object))
        if not valid.all():
            raise ValueError("postcodes of a directory must be normalised ASCII of at most "
                             f"{CODE_WIDTH} characters")
        order = np.argsort(keys, kind="stable")
        return cls(codes=codes, sorted_keys=keys[order], order=order, easting=e, northing=n, terminated=term,
                   sectors=pd.Index(by_sector.index.to_numpy(dtype=object), dtype=object),
                   sector_xy=by_sector.to_numpy(dtype=np.float64),
                   districts=pd.Index(by_district.index.to_numpy(dtype=object), dtype=object),
                   district_xy=by_district.to_numpy(dtype=np.float64))

    def __len__(self) -> int:
        return len(self.codes)

    def positions(self, values: ObjArray) -> npt.NDArray[np.intp]:
        """Position in ``codes`` of each value (exactly as given), -1 where absent."""
        n = len(values)
        if n == 0 or len(self.codes) == 0:
            return np.full(n, -1, dtype=np.intp)
        keys, valid = code_keys(values)
        # queries searched in sorted order: each search starts near the last one, so the
        # directory is read in order (random probes of a 2.6M array miss the cache: ~50x slower)
        by_key = np.argsort(keys, kind="stable")
        at = np.empty(n, dtype=np.intp)
        at[by_key] = np.searchsorted(self.sorted_keys, keys[by_key])
        at = np.minimum(at, len(self.sorted_keys) - 1)
        hit = valid & (self.sorted_keys[at] == keys)
        return np.where(hit, self.order[at], -1)


def code_keys(values: npt.ArrayLike) -> tuple[npt.NDArray[np.uint64], BoolArray]:
    """Texts of at most :data:`CODE_WIDTH` ASCII characters as one 64-bit integer each
    (the characters' bytes, big-endian, zero-padded: equal texts, equal keys).

    Returns the keys and whether each text could be packed (longer or non-ASCII
    texts cannot, and match nothing).
    """
    wide = np.asarray(values, dtype=object).astype(f"<U{CODE_WIDTH + 1}")
    points = wide.view(np.uint32).reshape(len(wide), CODE_WIDTH + 1)
    valid = (points[:, CODE_WIDTH] == 0) & (points < 128).all(axis=1)
    octets = np.ascontiguousarray(points[:, :CODE_WIDTH].astype(np.uint8))
    keys = octets.view(">u8").reshape(len(wide)).astype(np.uint64)
    return keys, valid


@dataclass
class PostcodeMatches:
    """Where each postcode was placed, and why not where it was not.

    All arrays have one entry per query. ``found`` rows carry ``easting``,
    ``northing`` (EPSG:27700 m), ``precision`` (``postcode``,
    ``postcode_sector``, ``postcode_district``), ``matched`` (the directory's
    code) and ``flag`` (``""``, ``terminated``, ``corrected``,
    ``corrected,terminated``); the others carry a ``reason``. ``given`` is the
    text as written, for warnings.
    """

    found: BoolArray
    easting: FloatArray
    northing: FloatArray
    precision: ObjArray
    matched: ObjArray
    flag: ObjArray
    reason: ObjArray
    given: ObjArray

    def warnings(self, field: str) -> ObjArray:
        """The warning text of each row (``""`` for none)."""
        out = np.full(len(self.found), "", dtype=object)
        corr = self.found & _has(self.flag, "corrected")
        out[corr] = (f"{field} " + _quoted(self.given[corr]) + " read as "
                     + self.matched[corr].astype(str) + " (letter/digit slip or stray "
                     "characters corrected; check the source)")
        term = self.found & _has(self.flag, "terminated")
        note = f"{field} " + self.matched[term].astype(str) + " is terminated: placed at its " \
               "last position"
        out[term] = np.where(out[term] == "", note, out[term] + "; " + note)
        return out


def masked(values: ObjArray, mask: BoolArray) -> ObjArray:
    """``values`` where ``mask``, None elsewhere."""
    out = np.asarray(values, dtype=object).copy()
    out[~mask] = None
    return out


def _has(flags: ObjArray, word: str) -> BoolArray:
    return np.asarray(pd.Series(flags, dtype=object).str.contains(word, regex=False),
                      dtype=bool)


def _quoted(values: ObjArray) -> ObjArray:
    return np.asarray("'" + pd.Series(values, dtype=object).astype(str) + "'", dtype=object)


def geocode_postcodes(values: npt.ArrayLike, directory: PostcodeDirectory, *,
                      field: str = "postcode") -> PostcodeMatches:
    """Place postcodes (full, sector or district) from ``directory``.

    Parameters
    ----------
    values : array-like of str
        Postcodes as written.
    directory : PostcodeDirectory
    field : str
        Column name used in reasons and warnings.

    Returns
    -------
    PostcodeMatches

    Notes
    -----
    Lookups are binary searches (``numpy.searchsorted``) of the codes packed
    into integers (sectors and districts: ``pandas.Index.get_indexer``):
    first of the postcodes as given (most are already ``"OUT IN"``),
    then of the normalised rest, so the cost is linear in queries plus directory; >= 1 million
    postcodes per minute on a 2.6-million-row directory is measured in
    ``benchmarks/bench_geocode.py``.
    """
    given = np.asarray(_text(values).to_numpy(), dtype=object)
    n = len(given)
    # most postcodes arrive already in the directory's form: look those up as given and
    # normalise only the rest
    direct = directory.positions(given) >= 0
    code = given.copy()
    kind = np.full(n, "full", dtype=object)
    corrected = np.zeros(n, dtype=bool)
    if not direct.all():
        norm = normalise_postcodes(given[~direct])
        code[~direct] = norm["code"].to_numpy(dtype=object)
        kind[~direct] = norm["kind"].to_numpy(dtype=object)
        corrected[~direct] = norm["corrected"].to_numpy(dtype=bool)
    e = np.full(n, np.nan)
    no = np.full(n, np.nan)
    precision = np.full(n, None, dtype=object)
    flag = np.full(n, "", dtype=object)
    reason = np.full(n, None, dtype=object)
    found = np.zeros(n, dtype=bool)

    full = kind == "full"
    if full.any():
        at = directory.positions(code[full])
        hit = at >= 0
        rows = np.flatnonzero(full)[hit]
        e[rows], no[rows] = directory.easting[at[hit]], directory.northing[at[hit]]
        precision[rows] = "postcode"
        term = directory.terminated[at[hit]] != ""
        flag[rows[term]] = "terminated"
        found[rows] = True
        miss = np.flatnonzero(full)[~hit]
        reason[miss] = np.where(
            corrected[miss],
            f"{field} " + _quoted(given[miss]) + " is not a postcode; read as "
            + code[miss].astype(str) + " it is not in the postcode directory either",
            f"{field} " + code[miss].astype(str) + " is not in the postcode directory")
    flag[found & corrected] = np.where(flag[found & corrected] == "", "corrected",
                                       "corrected,terminated")
    for what, index, xy, name in (("sector", directory.sectors, directory.sector_xy,
                                   "postcode_sector"),
                                  ("district", directory.districts, directory.district_xy,
                                   "postcode_district")):
        mask = kind == what
        if not mask.any():
            continue
        at = index.get_indexer(code[mask])
        hit = at >= 0
        rows = np.flatnonzero(mask)[hit]
        e[rows], no[rows] = xy[at[hit], 0], xy[at[hit], 1]
        precision[rows] = name
        found[rows] = True
        miss = np.flatnonzero(mask)[~hit]
        reason[miss] = (f"{field}: postcode {what} " + code[miss].astype(str)
                        + " has no live postcodes in the directory")
    empty = kind == "empty"
    reason[empty] = f"{field} is empty"
    bad = kind == "invalid"
    reason[bad] = (f"{field} " + _quoted(given[bad]) + " is not a UK postcode "
                   "(expected e.g. 'S9 3XX', a sector 'S9 3' or a district 'S9')")
    return PostcodeMatches(found=found, easting=e, northing=no, precision=precision,
                           matched=masked(code, found), flag=flag,
                           reason=reason, given=given)
