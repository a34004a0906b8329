"""Seeded synthetic gazetteers: a postcode directory and an address extract with a
labelled set of messy queries (typos, abbreviations, flat numbers), for tests and
benchmarks. Nothing here is real: positions are spread over Sheffield's grid square.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))  # the unit letters Royal Mail uses
_STREET_NAMES = (
    "HIGH", "CHURCH", "VICTORIA", "ALBERT", "MANOR", "PARK", "QUEENS", "KINGS", "STATION",
    "MILLHOUSES", "ABBEYDALE", "ECCLESALL", "FULWOOD", "CROOKES", "WALKLEY", "HILLSBOROUGH",
    "DARNALL", "ATTERCLIFFE", "TINSLEY", "BRIGHTSIDE", "PITSMOOR", "FIRVALE", "SHIREGREEN",
    "PARSON CROSS", "WOODSEATS", "NORTON", "GLEADLESS", "HANDSWORTH", "RICHMOND", "BEIGHTON",
    "MOSBOROUGH", "WESTFIELD", "BROOMHILL", "RANMOOR", "NETHERTHORPE", "UPPERTHORPE",
    "BURNGREAVE", "GRIMESTHORPE", "WINCOBANK", "ECCLESFIELD", "CHAPELTOWN", "GRENOSIDE",
    "STANNINGTON", "LOXLEY", "BRADFIELD", "DORE", "TOTLEY", "BEAUCHIEF", "GREENHILL",
    "LOWEDGES", "JORDANTHORPE", "BIRLEY", "INTAKE", "MANSFIELD", "ARBOURTHORNE", "NORFOLK",
    "SAINT MARYS", "SAINT JOHNS", "SAINT PETERS", "BANNERDALE",
)
_TYPES = ("ROAD", "STREET", "AVENUE", "CLOSE", "CRESCENT", "DRIVE", "LANE", "GROVE")
_SHORT = {"ROAD": "RD", "STREET": "ST", "AVENUE": "AVE", "CLOSE": "CL", "CRESCENT": "CRES",
          "DRIVE": "DR", "LANE": "LN", "GROVE": "GRV", "SAINT": "ST"}
_TOWNS = ("SHEFFIELD", "ROTHERHAM")


def postcode_directory(n: int, seed: int = 1, *, terminated_share: float = 0.1
                       ) -> pd.DataFrame:
    """``n`` distinct synthetic postcodes (``S1``..``S99`` + sector + unit letters) with
    BNG positions and ONSPD-style ``doterm`` (``YYYYMM``, ``""`` live)."""
    rng = np.random.default_rng(seed)
    # every (district, sector, letter, letter) combination, sampled without replacement
    total = 99 * 10 * len(_LETTERS) ** 2
    if n > total * 26:
        raise ValueError(f"at most {total * 26} synthetic postcodes")
    pick = rng.choice(total * 26, size=n, replace=False)
    area_i, rest = np.divmod(pick, total)
    district, rest = np.divmod(rest, 10 * len(_LETTERS) ** 2)
    sector, rest = np.divmod(rest, len(_LETTERS) ** 2)
    l1, l2 = np.divmod(rest, len(_LETTERS))
    area = np.array(["S", "SA", "SE", "SK", "SL", "SM", "SN", "SO", "SR", "ST", "B", "BA",
                     "BB", "BD", "BH", "BL", "BN", "BR", "BS", "BT", "W", "WA", "WD", "WF",
                     "WN", "WR"])[area_i]
    codes = (pd.Series(area) + pd.Series(district + 1).astype(str) + " "
             + pd.Series(sector).astype(str) + pd.Series(_LETTERS[l1]) + pd.Series(_LETTERS[l2]))
    term = np.where(rng.random(n) < terminated_share,
                    pd.Series(rng.integers(1990, 2024, n)).astype(str) + "06", "")
    return pd.DataFrame({"pcds": codes.to_numpy(), "oseast1m": rng.uniform(430_000, 445_000, n)
                         .round(0), "osnrth1m": rng.uniform(380_000, 395_000, n).round(0),
                         "doterm": term})


@dataclass
class AddressSet:
    """A synthetic extract and labelled queries: ``truth`` is the extract row a query
    means (-1: no such address in the extract, so any match is wrong)."""

    extract: pd.DataFrame
    queries: pd.Series
    truth: np.ndarray
    kinds: np.ndarray


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 5:
        return word
    i = int(rng.integers(1, len(word) - 1))
    op = int(rng.integers(0, 3))
    if op == 0:  # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:  # drop one
        return word[:i] + word[i + 1:]
    letter = "AEIOUNRST"[int(rng.integers(0, 9))]
    return word[:i] + letter + word[i + 1:]  # wrong letter


def address_set(seed: int = 3, *, streets: int = 60, houses: int = 30,
                queries: int = 300) -> AddressSet:
    """An extract of houses and flats on ``streets`` streets in two towns, and messy
    queries: abbreviations, one typo, flat/number order swapped, town or punctuation
    dropped, lower case, plus addresses absent from the extract."""
    rng = np.random.default_rng(seed)
    specs = [(name, _TYPES[i % len(_TYPES)], _TOWNS[int(i % 7 == 0)])
             for i, name in enumerate(_STREET_NAMES[:streets])]
    # near neighbours: the same name with another street type, and the same street in
    # the other town (a query without its town cannot tell those apart)
    specs += [(name, _TYPES[(i + 3) % len(_TYPES)], town) for i, (name, _, town)
              in enumerate(specs[:streets // 6])]
    specs += [(name, typ, _TOWNS[1 - _TOWNS.index(town)]) for name, typ, town
              in specs[streets // 6: streets // 3]]
    rows = []
    for name, kind, town in specs:
        x0, y0 = rng.uniform(430_000, 445_000), rng.uniform(380_000, 395_000)
        for h in range(1, houses + 1):
            flats = 3 if h % 10 == 0 else 0
            for f in range(0, flats + 1):
                if flats and f == 0:
                    continue
                text = (f"FLAT {f}, " if f else "") + f"{h} {name} {kind}, {town}"
                rows.append((text, name, kind, town, h, f, x0 + 12 * h, y0 + (h % 2) * 15))
    extract = pd.DataFrame(rows, columns=["ADDRESS", "name", "type", "town", "house", "flat",
                                          "X_COORDINATE", "Y_COORDINATE"])
    extract.insert(0, "UPRN", (10_000_000 + np.arange(len(extract))).astype(str))
    qs, truth, kinds = [], [], []
    for _ in range(queries):
        i = int(rng.integers(0, len(extract)))
        r = extract.iloc[i]
        kind = ("abbrev", "typo", "flat_order", "no_town", "case_punct",
                "absent")[int(rng.integers(0, 6))]
        name_words = r["name"].split()
        typ = r["type"]
        number = f"{r['house']}"
        flat = f"FLAT {r['flat']}, " if r["flat"] else ""
        town = r["town"]
        t = i
        if kind == "abbrev":
            name_words = [_SHORT.get(w, w) for w in name_words]
            typ = _SHORT[typ]
        elif kind == "typo":
            j = int(np.argmax([len(w) for w in name_words]))
            name_words[j] = _typo(name_words[j], rng)
            typ = _SHORT[typ] if rng.random() < 0.5 else typ
        elif kind == "absent":
            number = str(int(r["house"]) + 500)  # no such house in the extract
            t = -1
        street = " ".join(name_words) + " " + typ
        if kind == "flat_order" and flat:
            text = f"{number} {street} {flat.strip(', ')}, {town}"
        elif kind == "no_town":
            text = f"{flat}{number} {street}"
        elif kind == "case_punct":
            text = f"{flat}{number}, {street}. {town}".lower().replace(" ", "  ", 1)
        else:
            text = f"{flat}{number} {street}, {town}"
        qs.append(text)
        truth.append(t)
        kinds.append(kind)
    return AddressSet(extract=extract, queries=pd.Series(qs, dtype=object),
                      truth=np.asarray(truth), kinds=np.asarray(kinds))
