"""Crime harm on a standard scale: the Cambridge Crime Harm Index and the ONS Crime
Severity Score, or a force's own table, mapped to events and to an operation's areas.

A *harm table* is a CSV (see ``data/harm/README.md``): ``# key: value`` header
lines naming the index, its version, unit, published source and the stored copy
the values were read from, then rows with the columns :data:`COLUMNS`:

- ``offence`` rows: a Home Office offence (code where the source gives it) and its
  weight;
- ``category`` rows: the weight a police.uk crime type stands for, and how it was
  obtained (a named representative offence, a volume-weighted mean, ...);
- ``excluded`` rows: a police.uk crime type the index gives no weight, and why.

Events are weighted by their Home Office code where they carry one and the table
has it, else by their police.uk category (:func:`event_weights`). Police-generated
offences -- police.uk ``Drugs`` and ``Possession of weapons``, counts that rise
and fall with searches -- are left out of harm totals unless asked for
(:data:`POLICE_GENERATED`), and every result lists what was left out and why.

Only open crime layers are weighted: a crime index says nothing about ambulance
call-outs (a health layer) or intelligence records (:func:`weightable_layer`).

References
----------
Sherman, L. W., Neyroud, P. W. & Neyroud, E. (2016). The Cambridge Crime Harm
    Index: measuring total harm from crime based on sentencing guidelines.
    *Policing* 10(3), 171-183. (Proactively detected offences are excluded.)
Office for National Statistics (2016). *Research outputs: developing a Crime
    Severity Score for England and Wales using data on crimes recorded by the
    police*, 29 November 2016.
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement
    difference test to evaluate place based crime interventions. *Crime
    Science* 7:11. (The harm-weighted WDD.)
"""

from __future__ import annotations

import csv
import io
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from spatial.errors import InputFormatError, ParameterError
from spatial.evaluation.count_table import AREA_NAMES, CountTable
from spatial.evaluation.wdd import EffectTest, HarmWeightedResult, harm_weighted_wdd, wdd
from spatial.evaluation.windows import WINDOW_NAMES
from spatial.events import layer_spec

#: The 14 police.uk crime types (street-level data, "Crime type").
POLICE_UK_CATEGORIES: Final = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson",
    "Drugs", "Other crime", "Other theft", "Possession of weapons", "Public order",
    "Robbery", "Shoplifting", "Theft from the person", "Vehicle crime",
    "Violence and sexual offences",
)
#: Police-generated categories: recorded when officers find them, so their counts
#: measure police activity (Sherman, Neyroud & Neyroud 2016 exclude proactively
#: detected offences from the CCHI for this reason).
POLICE_GENERATED: Final = {
    "Drugs": ("police-generated: drug possession and supply are recorded when officers "
              "find them, so the count measures police activity, not harm (the CCHI "
              "excludes proactively detected offences: Sherman, Neyroud & Neyroud 2016)"),
    "Possession of weapons": ("police-generated: weapons possession is recorded when "
                              "officers find it (searches), so the count measures police "
                              "activity, not harm (Sherman, Neyroud & Neyroud 2016)"),
}
COLUMNS: Final = ("kind", "ho_code", "offence", "police_uk_category", "weight", "volume",
                  "basis")
REQUIRED_COLUMNS: Final = ("kind", "offence", "weight")
KINDS: Final = ("offence", "category", "excluded")
#: Header keys a shipped table must give (a force's own table may omit them).
SOURCE_KEYS: Final = ("index", "title", "version", "unit", "source", "stored_copy")
HO_CODE: Final = re.compile(r"^[0-9A-Za-z][0-9A-Za-z./, ]{0,30}$")
NAME: Final = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_ROWS: Final = 5000


@dataclass(frozen=True)
class HarmRow:
    """One row of a harm table (``row``: its line in the file, the header line is 1
    after the comment lines are counted)."""

    kind: str
    ho_code: str | None
    offence: str
    police_uk_category: str | None
    weight: float | None
    volume: float | None
    basis: str
    row: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ho_code": self.ho_code, "offence": self.offence,
                "police_uk_category": self.police_uk_category, "weight": self.weight,
                "volume": self.volume, "basis": self.basis}


@dataclass(frozen=True)
class HarmTable:
    """A validated harm table: its source, offence weights and police.uk mapping."""

    name: str
    file: str
    meta: Mapping[str, str]
    offences: tuple[HarmRow, ...]
    categories: Mapping[str, HarmRow]
    excluded: Mapping[str, HarmRow]
    shipped: bool = False

    @property
    def title(self) -> str:
        return self.meta.get("title", self.name)

    @property
    def version(self) -> str | None:
        return self.meta.get("version")

    @property
    def unit(self) -> str | None:
        return self.meta.get("unit")

    def offence_weight(self, ho_code: str) -> float | None:
        """The weight of a Home Office offence code, or ``None`` if the table has none."""
        return self._codes().get(_norm_code(ho_code))

    def _codes(self) -> dict[str, float]:
        return {_norm_code(r.ho_code): float(r.weight) for r in self.offences
                if r.ho_code and r.weight is not None}

    def summary(self) -> dict[str, Any]:
        """Name, title, version, unit and source (for a list of tables)."""
        return {"name": self.name, "title": self.title, "version": self.version,
                "unit": self.unit, "source": self.meta.get("source"),
                "citation": self.meta.get("citation"), "shipped": self.shipped,
                "offences": len(self.offences), "categories": len(self.categories)}

    def as_dict(self) -> dict[str, Any]:
        """Everything: the header, offence rows, police.uk mapping and exclusions."""
        return {**self.summary(), "meta": dict(self.meta),
                "offence_rows": [r.as_dict() for r in self.offences],
                "police_uk": [self.categories[c].as_dict() for c in POLICE_UK_CATEGORIES
                              if c in self.categories]
                + [r.as_dict() for c, r in self.categories.items()
                   if c not in POLICE_UK_CATEGORIES],
                "excluded": [r.as_dict() for r in self.excluded.values()],
                "police_generated": dict(POLICE_GENERATED)}


# --------------------------------------------------------------------------- loading


def harm_data_dirs() -> tuple[Path, ...]:
    """Where the shipped tables are looked for: ``data/harm`` of a source checkout,
    then ``<prefix>/share/remap/harm`` of an installed wheel (pyproject data-files)."""
    here = Path(__file__).resolve()
    return (here.parents[2] / "data" / "harm", Path(sys.prefix) / "share" / "remap" / "harm")


def shipped_names() -> tuple[str, ...]:
    """Names of the shipped tables (``cchi``, ``css``)."""
    for d in harm_data_dirs():
        names = sorted(p.stem for p in d.glob("*.csv")) if d.is_dir() else []
        if names:
            return tuple(names)
    return ()


def shipped_path(name: str) -> Path:
    for d in harm_data_dirs():
        path = d / f"{name}.csv"
        if path.is_file():
            return path
    raise ParameterError("harm_index", f"no shipped harm index {name!r}; shipped: "
                         f"{', '.join(shipped_names()) or 'none found'}")


def load_harm_table(name_or_path: str) -> HarmTable:
    """A shipped table by name (``cchi``, ``css``) or a force's own CSV by path.

    Raises
    ------
    ParameterError
        An unknown name, or a path that is not a file.
    InputFormatError
        A table that does not validate; ``details`` name the file, row and field.
    """
    text = (name_or_path or "").strip()
    if not text:
        raise ParameterError("harm_index", "give cchi, css or the path of a harm table CSV")
    if NAME.match(text) and not text.endswith(".csv"):
        return _load_shipped(text)
    path = Path(text)
    if not path.is_file():
        raise ParameterError("harm_index", f"{text!r} is neither a shipped index "
                             f"({', '.join(shipped_names())}) nor a readable file")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{path.name}: cannot be read as UTF-8 text ({exc})",
                               file=path.name) from exc
    return parse_harm_table(content, file=path.name, name=path.stem.lower())


@lru_cache(maxsize=8)
def _load_shipped(name: str) -> HarmTable:
    path = shipped_path(name)
    table = parse_harm_table(path.read_text(encoding="utf-8"), file=path.name, name=name,
                             require_source=True)
    return HarmTable(table.name, table.file, table.meta, table.offences, table.categories,
                     table.excluded, shipped=True)


def _bad(file: str, row: int | None, fld: str | None, reason: str) -> InputFormatError:
    where = f"{file}" + (f", row {row}" if row is not None else "") + (
        f", field {fld!r}" if fld else "")
    return InputFormatError(f"{where}: {reason}", file=file, row=row, field=fld)


def _norm_code(code: str | None) -> str:
    return re.sub(r"\s+", "", str(code or "")).upper()


def parse_harm_table(text: str, *, file: str, name: str,
                     require_source: bool = False) -> HarmTable:
    """Validate a harm table's text.

    Row numbers count every line of the file from 1 (comment lines included), as
    a text editor shows them. Checked: the columns; ``kind``; weights finite and
    ≥ 0 (required for ``offence`` and ``category`` rows); police.uk categories
    among :data:`POLICE_UK_CATEGORIES`; Home Office codes of a plain form and not
    repeated; one ``category`` or ``excluded`` row per police.uk category.

    Parameters
    ----------
    text : str
    file : str
        Named in every error.
    name : str
        The table's name when the header gives no ``# index:``.
    require_source : bool
        Shipped tables must name their source (:data:`SOURCE_KEYS`).
    """
    lines = text.splitlines()
    meta: dict[str, str] = {}
    start = 0
    while start < len(lines) and (lines[start].startswith("#") or not lines[start].strip()):
        m = re.match(r"#\s*([A-Za-z_]+)\s*:\s*(.*)$", lines[start])
        if m:
            meta[m.group(1).lower()] = m.group(2).strip()
        start += 1
    if start >= len(lines):
        raise _bad(file, None, None, "no header row: expected the columns "
                   f"{', '.join(COLUMNS)}")
    missing_meta = [k for k in SOURCE_KEYS if require_source and not meta.get(k)]
    if missing_meta:
        raise _bad(file, 1, None, f"the header comments must name {', '.join(missing_meta)}")
    reader = csv.reader(io.StringIO("\n".join(lines[start:])))
    header = [h.strip().lower() for h in next(reader)]
    absent = [c for c in REQUIRED_COLUMNS if c not in header]
    if absent:
        raise _bad(file, start + 1, absent[0], f"missing column(s) {', '.join(absent)}; "
                   f"expected {', '.join(COLUMNS)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise _bad(file, start + 1, unknown[0], f"unknown column; expected {', '.join(COLUMNS)}")
    offences: list[HarmRow] = []
    categories: dict[str, HarmRow] = {}
    excluded: dict[str, HarmRow] = {}
    codes: dict[str, int] = {}
    for i, values in enumerate(reader):
        line = start + 2 + i
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise _bad(file, line, None, f"{len(values)} fields, the header has {len(header)}")
        if len(offences) + len(categories) + len(excluded) >= MAX_ROWS:
            raise _bad(file, line, None, f"more than {MAX_ROWS} rows")
        row = _parse_row(dict(zip(header, (v.strip() for v in values), strict=True)),
                         file, line)
        if row.kind == "offence":
            if row.ho_code:
                key = _norm_code(row.ho_code)
                if key in codes:
                    raise _bad(file, line, "ho_code", f"{row.ho_code!r} repeats row {codes[key]}")
                codes[key] = line
            offences.append(row)
            continue
        assert row.police_uk_category is not None
        seen = categories.get(row.police_uk_category) or excluded.get(row.police_uk_category)
        if seen is not None:
            raise _bad(file, line, "police_uk_category",
                       f"{row.police_uk_category!r} is already mapped on row {seen.row}")
        (categories if row.kind == "category" else excluded)[row.police_uk_category] = row
    if not offences and not categories:
        raise _bad(file, None, None, "no offence or category rows: nothing to weight with")
    meta.setdefault("index", name)
    return HarmTable(name=meta["index"] if NAME.match(meta["index"]) else name, file=file,
                     meta=meta, offences=tuple(offences), categories=categories,
                     excluded=excluded)


def _number(raw: str, file: str, line: int, fld: str) -> float | None:
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise _bad(file, line, fld, f"{raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise _bad(file, line, fld, f"{raw!r} must be a finite number >= 0")
    return value


def _parse_row(v: Mapping[str, str], file: str, line: int) -> HarmRow:
    kind = v.get("kind", "").lower()
    if kind not in KINDS:
        raise _bad(file, line, "kind", f"{v.get('kind')!r} must be one of {', '.join(KINDS)}")
    code = v.get("ho_code") or None
    if code is not None and not HO_CODE.match(code):
        raise _bad(file, line, "ho_code", f"{code!r} is not a Home Office offence code "
                   "(letters, digits, '.', '/', ',' and spaces, e.g. 8N or 005/01)")
    cat = v.get("police_uk_category") or None
    if cat is not None and cat not in POLICE_UK_CATEGORIES:
        raise _bad(file, line, "police_uk_category",
                   f"{cat!r} is not a police.uk crime type ({', '.join(POLICE_UK_CATEGORIES)})")
    weight = _number(v.get("weight", ""), file, line, "weight")
    volume = _number(v.get("volume", ""), file, line, "volume")
    offence = v.get("offence", "")
    if kind == "offence":
        if weight is None:
            raise _bad(file, line, "weight", "an offence row needs a weight")
        if not offence and not code:
            raise _bad(file, line, "offence", "an offence row needs a description or a code")
    elif kind == "category":
        if cat is None:
            raise _bad(file, line, "police_uk_category", "a category row needs the police.uk "
                       "crime type it weights")
        if weight is None:
            raise _bad(file, line, "weight", "a category row needs a weight")
    else:
        if cat is None:
            raise _bad(file, line, "police_uk_category", "an excluded row names the police.uk "
                       "crime type it excludes")
        if weight is not None:
            raise _bad(file, line, "weight", "an excluded row has no weight")
        if not v.get("basis"):
            raise _bad(file, line, "basis", "an excluded row must say why")
    return HarmRow(kind=kind, ho_code=code, offence=offence, police_uk_category=cat,
                   weight=weight, volume=volume, basis=v.get("basis", ""), row=line)


# --------------------------------------------------------------------------- mapping


def weightable_layer(layer: str) -> tuple[bool, str | None]:
    """Whether a crime harm index may weight ``layer``, else the reason.

    Health layers (ambulance call-outs) are not crimes, and restricted
    intelligence layers record suspicion, not offences.
    """
    spec = layer_spec(layer)
    if spec.sensitivity == "health":
        return False, (f"{layer} is a health layer: call-outs are not crimes, so a crime "
                       "harm index does not weight them")
    if spec.sensitivity == "restricted":
        return False, (f"{layer} is a restricted intelligence layer: its records are not "
                       "offences, so a crime harm index does not weight them")
    return True, None


@dataclass(frozen=True)
class CategoryWeights:
    """The weights an index gives a set of police.uk categories, and what it leaves out."""

    weights: dict[str, float]
    bases: dict[str, str]
    excluded: dict[str, str]      # category -> why it carries no weight
    include_police_generated: bool


def category_weights(table: HarmTable, categories: Sequence[str], *,
                     include_police_generated: bool = False) -> CategoryWeights:
    """Weights of ``categories`` from ``table``'s police.uk mapping.

    A category carries no weight when it is police-generated (unless
    ``include_police_generated``), when the index excludes it, or when the
    table has no mapping for it (e.g. a category that is not a police.uk crime
    type); each such category is in ``excluded`` with its reason.
    """
    weights: dict[str, float] = {}
    bases: dict[str, str] = {}
    excluded: dict[str, str] = {}
    for cat in dict.fromkeys(categories):
        if cat in POLICE_GENERATED and not include_police_generated:
            excluded[cat] = POLICE_GENERATED[cat]
        elif cat in table.excluded:
            excluded[cat] = f"excluded by {table.name}: {table.excluded[cat].basis}"
        elif cat in table.categories:
            row = table.categories[cat]
            assert row.weight is not None
            weights[cat] = float(row.weight)
            bases[cat] = f"{row.offence}: {row.basis}" if row.offence else row.basis
        else:
            excluded[cat] = f"{table.name} has no weight for {cat!r}"
    return CategoryWeights(weights, bases, excluded, include_police_generated)


def event_weights(table: HarmTable, layer: npt.ArrayLike, category: npt.ArrayLike,
                  ho_code: npt.ArrayLike | None = None, *,
                  include_police_generated: bool = False) -> npt.NDArray[np.float64]:
    """Harm weight of every event (NaN: not weighted), vectorised.

    An event's Home Office code is used where it has one and the table weights it
    (the offence's own weight); otherwise its police.uk category. Events of a
    layer :func:`weightable_layer` refuses, of an excluded category, or of a
    police-generated category (unless ``include_police_generated``, and whether
    matched by code or category) get NaN.
    """
    layers = np.asarray(layer, dtype=object)
    cats = pd.Series(np.asarray(category, dtype=object))
    cw = category_weights(table, [str(c) for c in pd.unique(cats)],
                          include_police_generated=include_police_generated)
    out = cats.map(cw.weights).to_numpy(dtype=float, na_value=np.nan)
    if ho_code is not None:
        code_rows = {_norm_code(r.ho_code): r for r in table.offences if r.ho_code}
        keep = {k: float(r.weight) for k, r in code_rows.items() if r.weight is not None and (
            include_police_generated or r.police_uk_category not in POLICE_GENERATED)}
        codes = pd.Series(np.asarray(ho_code, dtype=object)).map(
            lambda c: _norm_code(c) if isinstance(c, str) and c.strip() else None)
        by_code = codes.map(keep).to_numpy(dtype=float, na_value=np.nan)
        generated = codes.map({k: r.police_uk_category in POLICE_GENERATED
                               for k, r in code_rows.items()}).fillna(False).to_numpy(bool)
        out = np.where(np.isfinite(by_code), by_code, out)
        if not include_police_generated:
            out[generated] = np.nan
    ok = np.array([weightable_layer(str(la))[0] for la in pd.unique(layers)], dtype=bool)
    refused = pd.unique(layers)[~ok]
    if refused.size:
        out[np.isin(layers, refused)] = np.nan
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class HarmCategory:
    """One weighted layer/category of an operation: its weight, counts and WDD."""

    key: str
    weight: float
    basis: str
    counts: Mapping[str, Mapping[str, int]]   # area -> window -> events
    wdd: EffectTest | None
    reason: str | None = None                 # why there is no WDD


@dataclass(frozen=True)
class HarmSection:
    """An operation's harm on a standard scale (``result`` of :func:`harm_section`).

    Attributes
    ----------
    table : dict
        :meth:`HarmTable.summary` of the index used.
    include_police_generated : bool
    categories : tuple of HarmCategory
        The weighted layer/categories.
    excluded : dict
        ``layer/category`` (or layer) -> why it carries no weight.
    totals : dict
        ``area -> window -> Σ weight × events`` over the weighted categories (in the
        index's unit).
    per_day : dict
        ``area -> window -> total / effective window length in days`` (``None``
        when a window has no length).
    wdd : HarmWeightedResult or None
        Σ wᵢ·WDDᵢ over the categories with a WDD (Wheeler & Ratcliffe 2018).
    notes : tuple of str
    """

    table: Mapping[str, Any]
    include_police_generated: bool
    categories: tuple[HarmCategory, ...]
    excluded: Mapping[str, str]
    totals: Mapping[str, Mapping[str, float]]
    per_day: Mapping[str, Mapping[str, float | None]]
    wdd: HarmWeightedResult | None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _per_day(total: float, days: float | None) -> float | None:
    return total / days if days else None


def harm_section(table: HarmTable, counts: Mapping[str, Mapping[str, Mapping[str, int]]],
                 count_tables: Mapping[str, tuple[CountTable | None, str | None]],
                 lengths: Mapping[str, float | None], *, alpha: float,
                 include_police_generated: bool = False,
                 refused: Mapping[str, str] | None = None,
                 notes: Sequence[str] = ()) -> HarmSection:
    """Harm totals per area and window and the harm-weighted WDD.

    Parameters
    ----------
    table : HarmTable
    counts : mapping
        ``"layer/category" -> area -> window -> events`` for single categories of
        weightable layers (:func:`weightable_layer`).
    count_tables : mapping
        ``"layer/category" -> (CountTable or None, reason)`` as the evaluation
        forms them (time- and area-weighted alike).
    lengths : mapping
        Effective window lengths in days (``before``, ``during``, ``after``).
    alpha : float
    include_police_generated : bool
    refused : mapping, optional
        Layers (or keys) left out before this call, with the reason.

    Returns
    -------
    HarmSection
        Totals are Σ wᵢ·nᵢ (unit of the index, e.g. days of imprisonment for the
        CCHI); the WDD is Σ wᵢ·WDDᵢ with variance Σ wᵢ²·Var(WDDᵢ), categories
        taken as independent Poisson counts (:func:`~spatial.evaluation.wdd.harm_weighted_wdd`).
    """
    cats = {key: key.split("/", 1)[1] for key in counts}
    cw = category_weights(table, list(dict.fromkeys(cats.values())),
                          include_police_generated=include_police_generated)
    excluded: dict[str, str] = dict(refused or {})
    weighted: list[HarmCategory] = []
    components: dict[str, tuple[EffectTest, float]] = {}
    for key, cat in cats.items():
        if cat not in cw.weights:
            excluded[key] = cw.excluded[cat]
            continue
        tab, reason = count_tables[key]
        test = wdd(tab, alpha) if tab is not None else None
        if test is not None and test.reason is None:
            components[key] = (test, cw.weights[cat])
        weighted.append(HarmCategory(key=key, weight=cw.weights[cat], basis=cw.bases[cat],
                                     counts=counts[key], wdd=test,
                                     reason=reason if test is None else test.reason))
    totals = {a: {w: float(sum(c.weight * c.counts[a][w] for c in weighted))
                  for w in WINDOW_NAMES} for a in AREA_NAMES}
    per_day = {a: {w: _per_day(totals[a][w], lengths.get(w)) for w in WINDOW_NAMES}
               for a in AREA_NAMES}
    extra = list(notes)
    if not weighted:
        extra.append(f"no evaluated category carries a {table.name} weight")
    for c in weighted:
        if c.key not in components:
            extra.append(f"{c.key} is in the harm totals but not in the harm-weighted WDD: "
                         f"{c.reason}")
    result = harm_weighted_wdd(components, alpha) if components else None
    return HarmSection(table=table.summary(), include_police_generated=include_police_generated,
                       categories=tuple(weighted), excluded=excluded, totals=totals,
                       per_day=per_day, wdd=result, notes=tuple(extra))
