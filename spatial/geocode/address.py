"""Address matching: a transparent token score against an address extract.

Normalisation (the same for the extract and the queries)
--------------------------------------------------------
Upper case; full postcodes removed (a postcode is matched by
:mod:`spatial.geocode.postcode`, not as words); every character other than a
letter or digit becomes a space; ``'`` is dropped (``MARY'S`` -> ``MARYS``);
street-type abbreviations expanded (:data:`ABBREVIATIONS`: ``RD`` -> ``ROAD``,
``AVE`` -> ``AVENUE``, ``CL`` -> ``CLOSE`` ...). ``ST`` is ``SAINT`` when it
opens a name (first token, or after a number: ``12 ST MARYS RD``) and
``STREET`` after a word (``HIGH ST``).

Tokens are *numbers* (``12``, ``12A``: digits, optionally one trailing
letter) or *words*. The numbers of a query (house and flat numbers) must
equal those of a candidate exactly, as a multiset: ``FLAT 3, 12 HIGH ST`` and
``12 HIGH STREET FLAT 3`` agree, ``FLAT 4, 12 HIGH ST`` never matches either.

Score
-----
Word ``t`` has weight ``w(t) = ln(1 + N / df(t))`` (inverse document
frequency over the ``N`` addresses of the extract; a query word found in no
address weighs ``ln(1 + N)``, as the rarest). Two words agree with similarity

* ``1`` when equal,
* ``1 - 1/max(len)`` when both have at least 4 letters and become equal after
  deleting at most one character from each (one typo: a wrong, missing,
  extra or swapped letter; Mor & Fraenkel's deletion neighbourhood, Garbe's
  *SymSpell*),
* ``0`` otherwise.

For a query ``Q`` and candidate ``C`` (same numbers), ``s_q`` is the best
similarity of query word ``q`` to any word of ``C`` and ``s_c`` that of
candidate word ``c`` to any word of ``Q``; the score is the IDF-weighted
Dice coefficient

.. math:: S(Q, C) = \\frac{\\sum_q w_q s_q + \\sum_c w_c s_c}{\\sum_q w_q + \\sum_c w_c}

in [0, 1]: 1 for the same words, lowered by each unmatched or mistyped word
in proportion to how rare (how informative) it is. Town and road-type words
are common, so omitting ``SHEFFIELD`` costs little and a wrong street name
costs a lot.

Decision
--------
The best candidate is accepted when ``S >= threshold``, it leads the
second best by at least ``margin``, and no other candidate explains the
query's own words as well (``sum_q w_q s_q / sum_q w_q`` as high: then the
best leads only on words the query does not mention, e.g. ``12 HIGH STREET``
against the High Streets of two towns); otherwise the row is rejected, naming
the best (and second) candidate and their scores. Candidates are the
addresses with the same numbers sharing at least one word (exactly or by one
typo) whose document frequency is at most :data:`BLOCK_MAX_SHARE` of the
extract (or :data:`BLOCK_MIN_DF` addresses); every step is a pandas merge/groupby over all queries at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.geocode.postcode import masked

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

#: Street-type and other abbreviations expanded before matching.
ABBREVIATIONS: Final[dict[str, str]] = {
    "RD": "ROAD", "AVE": "AVENUE", "AV": "AVENUE", "CL": "CLOSE", "CRES": "CRESCENT",
    "CRS": "CRESCENT", "DR": "DRIVE", "LN": "LANE", "GDNS": "GARDENS", "GRN": "GREEN",
    "GR": "GROVE", "GRV": "GROVE", "PL": "PLACE", "SQ": "SQUARE", "TER": "TERRACE",
    "TERR": "TERRACE", "CT": "COURT", "CRT": "COURT", "PK": "PARK", "WY": "WAY",
    "HSE": "HOUSE", "APT": "FLAT", "APARTMENT": "FLAT", "FLT": "FLAT", "RDS": "ROADS",
    "N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST", "UPR": "UPPER", "LWR": "LOWER",
    "MT": "MOUNT", "BLDGS": "BUILDINGS", "CTR": "CENTRE", "EST": "ESTATE",
}
#: Default acceptance threshold and margin (chosen on the labelled set in the tests:
#: every wrong candidate there scored below 0.80 or within 0.05 of the right one).
THRESHOLD: Final = 0.80
MARGIN: Final = 0.05
#: Words in more than this share of the addresses do not make candidates (they still score).
BLOCK_MAX_SHARE: Final = 0.05
#: ... unless they are in at most this many addresses (small extracts block on every word).
BLOCK_MIN_DF: Final = 500
_MIN_FUZZY_LEN: Final = 4
_POSTCODE_IN_TEXT: Final = r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b"
_NUMBER_RE: Final = r"^[0-9]+[A-Z]?$"


def address_tokens(texts: npt.ArrayLike) -> pd.DataFrame:
    """Long form of the normalised tokens: one row per token.

    Returns
    -------
    pandas.DataFrame
        ``row`` (position in ``texts``), ``token``, ``number`` (bool), in text order.
    """
    s = pd.Series(np.asarray(texts, dtype=object), dtype=object)
    s = s.where(s.notna(), "").astype(str).str.upper()
    s = s.str.replace(_POSTCODE_IN_TEXT, " ", regex=True).str.replace("'", "", regex=False)
    s = s.str.replace(r"[^A-Z0-9]+", " ", regex=True).str.strip()
    long = s.str.split().explode()
    long = long[long.notna() & (long != "")]
    row = long.index.to_numpy(dtype=np.int64)
    tok = long.to_numpy(dtype=object)
    number = pd.Series(tok, dtype=object).str.match(_NUMBER_RE).to_numpy(dtype=bool)
    first = np.ones(len(row), dtype=bool)
    first[1:] = row[1:] != row[:-1]
    prev_number = np.zeros(len(row), dtype=bool)
    prev_number[1:] = number[:-1]
    is_st = tok == "ST"
    saint = is_st & (first | prev_number)
    plain = pd.Series(tok, dtype=object)
    expanded = plain.map(ABBREVIATIONS).fillna(plain).to_numpy(dtype=object)
    expanded[is_st] = np.where(saint[is_st], "SAINT", "STREET")
    return pd.DataFrame({"row": row, "token": expanded, "number": number})


def _number_keys(tokens: pd.DataFrame, n: int) -> ObjArray:
    """Per row: its number tokens, sorted, joined by spaces ("" for none)."""
    nums = tokens.loc[tokens["number"], ["row", "token"]].sort_values(["row", "token"])
    keys = nums.groupby("row")["token"].agg(" ".join)
    out = np.full(n, "", dtype=object)
    out[keys.index.to_numpy(dtype=np.int64)] = keys.to_numpy(dtype=object)
    return out


def _deletions(tokens: pd.Series) -> pd.DataFrame:
    """``(variant, token)``: each token (>= 4 letters) and every one-character deletion of it."""
    tokens = tokens[tokens.str.len() >= _MIN_FUZZY_LEN].drop_duplicates()
    parts = [pd.DataFrame({"variant": tokens.to_numpy(), "token": tokens.to_numpy()})]
    lengths = tokens.str.len()
    for i in range(int(lengths.max()) if len(tokens) else 0):
        sub = tokens[lengths > i]
        parts.append(pd.DataFrame({"variant": (sub.str[:i] + sub.str[i + 1:]).to_numpy(),
                                   "token": sub.to_numpy()}))
    return pd.concat(parts, ignore_index=True).drop_duplicates()


@dataclass(frozen=True)
class AddressIndex:
    """An address extract prepared for matching (one gazetteer version).

    Attributes
    ----------
    uprn, text : ndarray of object
        As supplied.
    easting, northing : ndarray of float
        EPSG:27700 metres.
    keys : ndarray of object
        Number key of each address (see the module notes).
    vocab : pandas.Index
        Distinct words; ``idf`` their weights.
    words : pandas.DataFrame
        ``addr``, ``vocab`` (distinct words of each address), ``key``.
    word_weight : ndarray of float
        Sum of the weights of each address's words.
    variants : pandas.DataFrame
        ``variant``, ``vocab``: the deletion neighbourhood of the vocabulary.
    """

    uprn: ObjArray
    text: ObjArray
    easting: FloatArray
    northing: FloatArray
    keys: ObjArray
    vocab: pd.Index
    idf: FloatArray
    words: pd.DataFrame
    word_weight: FloatArray
    variants: pd.DataFrame

    @classmethod
    def build(cls, uprn: npt.ArrayLike, text: npt.ArrayLike, easting: npt.ArrayLike,
              northing: npt.ArrayLike) -> AddressIndex:
        texts = np.asarray(text, dtype=object)
        n = len(texts)
        toks = address_tokens(texts)
        keys = _number_keys(toks, n)
        words = toks.loc[~toks["number"], ["row", "token"]].drop_duplicates()
        codes, uniques = pd.factorize(words["token"])
        vocab = pd.Index(np.asarray(uniques, dtype=object), dtype=object)
        df = np.bincount(codes, minlength=len(vocab))
        idf = np.log1p(n / np.maximum(df, 1))
        word_rows = pd.DataFrame({"addr": words["row"].to_numpy(dtype=np.int64),
                                  "vocab": codes.astype(np.int64)})
        word_rows["key"] = keys[word_rows["addr"].to_numpy()]
        weight = np.bincount(word_rows["addr"], weights=idf[word_rows["vocab"]], minlength=n)
        dels = _deletions(pd.Series(vocab.to_numpy(), dtype=object))
        dels["vocab"] = vocab.get_indexer(dels.pop("token").to_numpy())
        return cls(uprn=np.asarray(uprn, dtype=object), text=texts,
                   easting=np.asarray(easting, dtype=np.float64),
                   northing=np.asarray(northing, dtype=np.float64), keys=keys, vocab=vocab,
                   idf=idf, words=word_rows, word_weight=weight.astype(np.float64), variants=dels)

    def __len__(self) -> int:
        return len(self.text)


@dataclass
class AddressMatches:
    """Best match per query: ``found`` rows carry position, ``uprn``, ``matched`` text and
    ``score``; every row carries ``best_score`` (NaN with no candidate) and rejected rows a
    ``reason``."""

    found: BoolArray
    easting: FloatArray
    northing: FloatArray
    uprn: ObjArray
    matched: ObjArray
    score: FloatArray
    reason: ObjArray


def _token_matches(query_words: pd.Series, index: AddressIndex) -> pd.DataFrame:
    """``(token, vocab, sim)`` for each distinct query word and each vocabulary word it
    matches (exactly: 1; by one typo each side: ``1 - 1/max(len)``)."""
    distinct = pd.Series(query_words.drop_duplicates().to_numpy(), dtype=object)
    at = index.vocab.get_indexer(pd.Index(distinct.to_numpy(), dtype=object))
    exact = pd.DataFrame({"token": distinct[at >= 0].to_numpy(), "vocab": at[at >= 0],
                          "sim": 1.0})
    q_dels = _deletions(distinct)
    fuzzy = q_dels.merge(index.variants, on="variant")[["token", "vocab"]].drop_duplicates()
    qlen = fuzzy["token"].str.len().to_numpy()
    vlen = pd.Series(index.vocab.to_numpy()[fuzzy["vocab"].to_numpy()], dtype=object) \
        .str.len().to_numpy()
    fuzzy["sim"] = 1.0 - 1.0 / np.maximum(qlen, vlen)
    both = pd.concat([exact, fuzzy], ignore_index=True)
    return both.groupby(["token", "vocab"], as_index=False).agg(sim=("sim", "max"))


def match_addresses(texts: npt.ArrayLike, index: AddressIndex, *,
                    threshold: float = THRESHOLD, margin: float = MARGIN,
                    field: str = "address") -> AddressMatches:
    """Match address texts against ``index`` (see the module notes for the score).

    Parameters
    ----------
    texts : array-like of str
    index : AddressIndex
    threshold : float
        Lowest accepted score, in [0, 1].
    margin : float
        Lowest accepted lead of the best over the second-best candidate.
    field : str
        Column name used in reasons.

    Returns
    -------
    AddressMatches
    """
    given = np.asarray(pd.Series(np.asarray(texts, dtype=object)).fillna("").astype(str)
                       .to_numpy(), dtype=object)
    n = len(given)
    toks = address_tokens(given)
    keys = _number_keys(toks, n)
    qwords = toks.loc[~toks["number"], ["row", "token"]].drop_duplicates()
    matches = _token_matches(qwords["token"], index)
    n_addr = max(len(index), 1)
    unseen = float(np.log1p(n_addr))
    # a query word weighs as its best vocabulary match (rarest on ties), else as unseen
    best_vocab = (matches.assign(w=index.idf[matches["vocab"].to_numpy()])
                  .sort_values(["token", "sim", "w"], ascending=[True, False, False])
                  .drop_duplicates("token"))
    qw = pd.Series(best_vocab["w"].to_numpy(), index=best_vocab["token"].to_numpy())
    qwords = qwords.assign(w=qwords["token"].map(qw).fillna(unseen).to_numpy(dtype=np.float64))
    q_weight = np.bincount(qwords["row"], weights=qwords["w"], minlength=n)

    # candidates: same numbers, sharing a word of at most BLOCK_MAX_SHARE frequency
    hits = qwords[["row", "token"]].merge(matches, on="token")
    hits["key"] = keys[hits["row"].to_numpy()]
    df_cap = max(BLOCK_MAX_SHARE * n_addr, BLOCK_MIN_DF)
    rare = index.idf[hits["vocab"].to_numpy()] >= np.log1p(n_addr / max(df_cap, 1.0))
    pairs = (hits.loc[rare, ["row", "key", "vocab"]]
             .merge(index.words, on=["key", "vocab"])[["row", "addr"]].drop_duplicates())

    # score every candidate pair: which query words meet which candidate words, how well
    met = (pairs.merge(hits[["row", "token", "vocab", "sim"]], on="row")
           .merge(index.words[["addr", "vocab"]], on=["addr", "vocab"]))
    q_side = (met.groupby(["row", "addr", "token"], as_index=False)["sim"].max()
              .merge(qwords[["row", "token", "w"]], on=["row", "token"]))
    q_side["ws"] = q_side["w"] * q_side["sim"]
    c_side = met.groupby(["row", "addr", "vocab"], as_index=False)["sim"].max()
    c_side["ws"] = index.idf[c_side["vocab"].to_numpy()] * c_side["sim"]
    q_num = q_side.groupby(["row", "addr"])["ws"].sum()
    num = q_num.add(c_side.groupby(["row", "addr"])["ws"].sum(), fill_value=0.0)
    scored = num.rename("num").reset_index()
    scored["q_num"] = q_num.reindex(pd.MultiIndex.from_frame(scored[["row", "addr"]])) \
        .fillna(0.0).to_numpy()
    r = scored["row"].to_numpy(dtype=np.int64)
    a = scored["addr"].to_numpy(dtype=np.int64)
    scored["score"] = scored["num"].to_numpy() / (q_weight[r] + index.word_weight[a])
    scored["cover"] = scored["q_num"].to_numpy() / np.maximum(q_weight[r], 1e-12)
    scored = scored.sort_values(["row", "score"], ascending=[True, False])
    rank = scored.groupby("row").cumcount().to_numpy()
    top = scored[rank == 0].set_index("row")
    second = scored[rank == 1].set_index("row")
    # another candidate that explains the query's words as well as the best: the best
    # leads only on words the query does not mention (e.g. the town), so it cannot say which
    best_cover = top["cover"].reindex(scored["row"]).to_numpy()
    rival = (rank > 0) & (scored["cover"].to_numpy() >= best_cover - 1e-9)
    rival_rows = np.unique(scored["row"].to_numpy()[rival])

    best_addr = np.full(n, -1, dtype=np.int64)
    best = np.full(n, np.nan)
    runner_addr = np.full(n, -1, dtype=np.int64)
    runner = np.full(n, np.nan)
    best_addr[top.index.to_numpy()] = top["addr"].to_numpy()
    best[top.index.to_numpy()] = top["score"].to_numpy()
    runner_addr[second.index.to_numpy()] = second["addr"].to_numpy()
    runner[second.index.to_numpy()] = second["score"].to_numpy()
    has = best_addr >= 0
    covered_too = np.zeros(n, dtype=bool)
    covered_too[rival_rows] = True
    ambiguous = has & np.isfinite(runner) & ((best - runner < margin) | covered_too)
    found = has & (best >= threshold) & ~ambiguous

    texts_of = np.append(index.text, np.array([""], dtype=object))
    best_text = texts_of[best_addr]
    runner_text = texts_of[runner_addr]
    reason = np.full(n, None, dtype=object)
    shown = f"{field} " + pd.Series(given, dtype=object).map(repr).to_numpy(dtype=object)
    empty = given == ""
    reason[empty] = f"{field} is empty"
    none = ~has & ~empty
    nums = np.where(keys == "", "no house or flat number", "house/flat numbers " + keys)
    reason[none] = (shown[none] + ": no gazetteer address with " + nums[none].astype(str)
                    + " shares a distinctive word with it")
    low = has & ~found & (best < threshold)
    reason[low] = (shown[low] + ": best match " + pd.Series(best_text[low]).map(repr)
                   .to_numpy(dtype=object) + " scores " + _fmt(best[low])
                   + f", below the acceptance threshold {threshold:.2f}")
    amb = has & ~found & ~low
    reason[amb] = (shown[amb] + ": ambiguous: best match " + pd.Series(best_text[amb])
                   .map(repr).to_numpy(dtype=object) + " scores " + _fmt(best[amb])
                   + " but " + pd.Series(runner_text[amb]).map(repr).to_numpy(dtype=object)
                   + " (" + _fmt(runner[amb]) + ") scores within the margin "
                   f"{margin:.2f} or matches the words given as well")
    take = np.where(found, best_addr, -1)
    e = np.append(index.easting, np.nan)[take]
    no = np.append(index.northing, np.nan)[take]
    return AddressMatches(found=found, easting=e, northing=no,
                          uprn=masked(np.concatenate([index.uprn, np.array([None], dtype=object)])
                                     [take], found),
                          matched=masked(best_text, found),
                          score=best, reason=reason)


def _fmt(values: FloatArray) -> ObjArray:
    return np.asarray(pd.Series(values).map("{:.3f}".format).to_numpy(dtype=object),
                      dtype=object)
