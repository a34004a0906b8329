"""Harm on a standard scale: the shipped CCHI and CSS tables, a force's own table, bad
tables, event weights and the harm section of an evaluation (hand-made counts)."""

from __future__ import annotations

import csv
import io
import math
import statistics
import tomllib
from pathlib import Path

import numpy as np
import pytest

from spatial.errors import InputFormatError, ParameterError
from spatial.evaluation.counting import MeasuredLayer
from spatial.evaluation.evaluate import evaluate_operation
from spatial.evaluation.harm_index import (
    POLICE_GENERATED,
    POLICE_UK_CATEGORIES,
    SOURCE_KEYS,
    category_weights,
    event_weights,
    harm_data_dirs,
    load_harm_table,
    parse_harm_table,
    shipped_names,
)
from spatial.evaluation.options import EvaluationOptions
from tests.spatial.evaluation.scenes import E0, N0, WINDOWS, events_at, make_areas

REPO = Path(__file__).resolve().parents[3]
CCHI_BURGLARY = 244.683578
CCHI_ROBBERY = 365.0
CCHI_DRUGS = 3.657951

# ---------------------------------------------------------------------- shipped tables


def _rows(name: str) -> list[dict[str, str]]:
    text = (REPO / "data" / "harm" / f"{name}.csv").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


def test_both_indices_are_shipped_and_parse() -> None:
    assert set(shipped_names()) >= {"cchi", "css"}
    for name in ("cchi", "css"):
        table = load_harm_table(name)
        assert table.shipped and table.name == name
        assert table.offences and table.categories


@pytest.mark.parametrize("name", ["cchi", "css"])
def test_files_cite_their_published_source_and_the_copy_read(name: str) -> None:
    meta = load_harm_table(name).meta
    for key in SOURCE_KEYS + ("citation", "gaps", "police_generated"):
        assert meta.get(key), f"{name}: header names no {key}"
    assert "https://" in meta["source"]
    assert ("github.com/" in meta["stored_copy"] or "pastebin.com/" in meta["stored_copy"])
    assert "cambridge" in meta["source"].lower() if name == "cchi" else "ons.gov.uk" in (
        meta["source"])


@pytest.mark.parametrize("name", ["cchi", "css"])
def test_every_police_uk_category_is_mapped_or_excluded_with_a_reason(name: str) -> None:
    table = load_harm_table(name)
    for cat in POLICE_UK_CATEGORIES:
        row = table.categories.get(cat) or table.excluded.get(cat)
        assert row is not None, f"{name}: {cat} has neither a mapping nor an exclusion"
        assert len(row.basis) > 10, f"{name}: {cat} does not say how its weight was obtained"
    assert set(table.categories) | set(table.excluded) == set(POLICE_UK_CATEGORIES)
    assert "Anti-social behaviour" in table.excluded


def test_cchi_category_weights_are_the_volume_weighted_means_of_its_subgroups() -> None:
    table = load_harm_table("cchi")
    by_cat: dict[str, list[tuple[float, float]]] = {}
    for row in table.offences:
        assert row.volume is not None and row.weight is not None
        by_cat.setdefault(str(row.police_uk_category), []).append((row.weight, row.volume))
    for cat, pairs in by_cat.items():
        mean = sum(w * n for w, n in pairs) / sum(n for _, n in pairs)
        assert table.categories[cat].weight == pytest.approx(mean, abs=1e-6), cat
    # as the stored copy's own category file rounds them
    for cat, copy in {"Violence and sexual offences": 194.21, "Burglary": 244.68,
                      "Criminal damage and arson": 11.18, "Drugs": 3.66}.items():
        assert round(float(table.categories[cat].weight or 0), 2) == copy


# the 26 violence rows of the pastebin copy, rounded to whole points, in its order
PASTEBIN_VIOLENCE = [7979, 4663, 15, 1092, 1595, 112, 677, 1919, 1965, 1492, 2893, 1965, 1326,
                     54, 40, 333, 469, 722, 1006, 136, 184, 127, 285, 251, 50, 184]


def test_css_offence_weights_agree_with_the_rounded_named_copy() -> None:
    rows = [r for r in _rows("css") if r["kind"] == "offence"
            and r["police_uk_category"] == "Violence and sexual offences"]
    assert [round(float(r["weight"])) for r in rows] == PASTEBIN_VIOLENCE
    assert all(r["ho_code"] for r in rows)
    table = load_harm_table("css")
    assert table.offence_weight("8N") == pytest.approx(184.094705907588, abs=1e-12)
    assert table.offence_weight("1,4.1/10/2") == pytest.approx(7978.79308113648, abs=1e-12)


def test_css_medians_are_those_of_the_listed_weights() -> None:
    table = load_harm_table("css")
    lists = {"Burglary": [438] * 8 + [2127] * 2 + [117] * 4 + [1513] * 2,
             "Criminal damage and arson": [439, 837, 185] + [7] * 4 + [19] * 5,
             "Public order": [10, 24, 365, 365, 365, 1880, 365, 78],
             "Vehicle crime": [7, 19, 8, 722, 48, 34, 124, 12],
             "Possession of weapons": [75, 635, 327, 58, 55, 1365, 55]}
    for cat, weights in lists.items():
        assert table.categories[cat].weight == statistics.median(weights), cat
        assert "median" in table.categories[cat].basis


def test_data_harm_ships_in_the_wheel() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    files = project["tool"]["setuptools"]["data-files"]["share/remap/harm"]
    shipped = {p.name for p in (REPO / "data" / "harm").iterdir() if p.is_file()}
    globbed = {p.name for pattern in files for p in REPO.glob(pattern)}
    assert shipped == globbed
    assert harm_data_dirs()[1].parts[-3:] == ("share", "remap", "harm")


# ---------------------------------------------------------------------- a force's own table

FORCE_TABLE = """# index: force_x
# title: Force X harm weights
kind,ho_code,offence,police_uk_category,weight,volume,basis
offence,028/01,Burglary - residential,Burglary,3,,force
offence,034/01,Robbery of personal property,Robbery,12,,force
category,,,Burglary,2.5,,force mean
category,,,Robbery,10,,force
category,,,Anti-social behaviour,1,,force: one day
"""


def test_a_force_can_supply_its_own_table(tmp_path: Path) -> None:
    path = tmp_path / "force_x.csv"
    path.write_text(FORCE_TABLE)
    table = load_harm_table(str(path))
    assert table.name == "force_x" and not table.shipped
    assert table.offence_weight("028/01") == 3.0
    cw = category_weights(table, ["Burglary", "Anti-social behaviour", "Drugs", "Public order"])
    assert cw.weights == {"Burglary": 2.5, "Anti-social behaviour": 1.0}
    assert cw.excluded["Drugs"] == POLICE_GENERATED["Drugs"]
    assert "no weight" in cw.excluded["Public order"]


@pytest.mark.parametrize(("body", "row", "fld", "words"), [
    ("kind,offence\noffence,x\n", 1, "weight", "missing column"),
    ("kind,offence,weight,colour\n", 1, "colour", "unknown column"),
    ("kind,offence,weight\noffence,Theft,-1\n", 2, "weight", ">= 0"),
    ("kind,offence,weight\noffence,Theft,lots\n", 2, "weight", "not a number"),
    ("kind,offence,weight\noffence,Theft,nan\n", 2, "weight", "finite"),
    ("kind,offence,weight\nweight,Theft,1\n", 2, "kind", "must be one of"),
    ("kind,offence,weight\noffence,Theft\n", 2, None, "2 fields"),
    ("kind,offence,weight\noffence,,2\n", 2, "offence", "description or a code"),
    ("kind,offence,police_uk_category,weight\ncategory,,Theft,2\n", 2, "police_uk_category",
     "not a police.uk crime type"),
    ("kind,offence,police_uk_category,weight\ncategory,,Burglary,\n", 2, "weight",
     "needs a weight"),
    ("kind,offence,police_uk_category,weight\ncategory,,Burglary,1\ncategory,,Burglary,2\n",
     3, "police_uk_category", "already mapped on row 2"),
    ("kind,offence,police_uk_category,weight,basis\nexcluded,,Drugs,1,why\n", 2, "weight",
     "no weight"),
    ("kind,offence,police_uk_category,weight,basis\nexcluded,,Drugs,,\n", 2, "basis",
     "must say why"),
    ("kind,ho_code,offence,weight\noffence,8N,A,1\noffence,8n,B,2\n", 3, "ho_code",
     "repeats row 2"),
    ("kind,ho_code,offence,weight\noffence,8N;DROP,A,1\n", 2, "ho_code", "not a Home Office"),
    ("# only comments\n", None, None, "no header row"),
    ("kind,offence,weight\n", None, None, "nothing to weight"),
])
def test_bad_tables_are_rejected_naming_file_row_and_field(
        tmp_path: Path, body: str, row: int | None, fld: str | None, words: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(InputFormatError) as err:
        load_harm_table(str(path))
    assert words in err.value.message
    assert err.value.file == "bad.csv" and "bad.csv" in err.value.message
    assert err.value.row == row
    assert err.value.field == fld


def test_row_numbers_count_the_comment_lines() -> None:
    with pytest.raises(InputFormatError) as err:
        parse_harm_table("# a: b\n# c: d\nkind,offence,weight\noffence,X,-2\n", file="f.csv",
                         name="f")
    assert err.value.row == 4 and "f.csv, row 4, field 'weight'" in err.value.message


def test_shipped_tables_must_name_their_source() -> None:
    with pytest.raises(InputFormatError, match="must name index, title"):
        parse_harm_table("kind,offence,weight\noffence,X,2\n", file="x.csv", name="x",
                         require_source=True)


def test_unknown_names_and_missing_files_are_parameter_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no shipped harm index 'nope'"):
        load_harm_table("nope")
    with pytest.raises(ParameterError, match="neither a shipped index"):
        load_harm_table(str(tmp_path / "absent.csv"))
    with pytest.raises(ParameterError, match="give cchi, css"):
        load_harm_table("  ")


# ---------------------------------------------------------------------- event weights


def test_event_weights_by_code_then_category_and_exclusions() -> None:
    css = load_harm_table("css")
    layer = ["crime", "crime", "crime", "crime", "crime", "ambulance", "crime"]
    cat = ["Violence and sexual offences", "Violence and sexual offences",
           "Violence and sexual offences", "Drugs", "Anti-social behaviour", "overdose",
           "Burglary"]
    code = ["5A", None, "ZZ9", None, None, None, ""]
    w = event_weights(css, layer, cat, code)
    assert w[0] == pytest.approx(1965.33792360212, abs=1e-12)   # its own code
    assert w[1] == pytest.approx(184.094705907588, abs=1e-12)   # the category's weight
    assert w[2] == pytest.approx(184.094705907588, abs=1e-12)   # unknown code -> category
    assert math.isnan(w[3]) and math.isnan(w[4]) and math.isnan(w[5])
    assert w[6] == 438.0
    w2 = event_weights(css, layer, cat, code, include_police_generated=True)
    assert w2[3] == 3.0 and math.isnan(w2[5])


def test_a_police_generated_offence_code_is_excluded_too(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("kind,ho_code,offence,police_uk_category,weight\n"
                    "offence,92A,Trafficking,Drugs,50\ncategory,,,Burglary,2\n")
    table = load_harm_table(str(path))
    w = event_weights(table, ["crime", "crime"], ["Other crime", "Burglary"], ["92A", None])
    assert math.isnan(w[0]) and w[1] == 2.0
    assert event_weights(table, ["crime"], ["Other crime"], ["92A"],
                         include_police_generated=True)[0] == 50.0


# ---------------------------------------------------------------------- harm in an evaluation

# (area, window) -> number of events, per category
COUNTS = {
    "Burglary": {("target", "before"): 6, ("target", "after"): 2, ("buffer", "before"): 3,
                 ("buffer", "after"): 5, ("control", "before"): 4, ("control", "after"): 4},
    "Robbery": {("target", "before"): 2, ("target", "after"): 1, ("buffer", "before"): 1,
                ("buffer", "after"): 1, ("control", "before"): 3, ("control", "after"): 2},
    "Drugs": {("target", "before"): 5, ("target", "after"): 9, ("control", "before"): 1,
              ("control", "after"): 1},
    "Anti-social behaviour": {("target", "before"): 4, ("target", "after"): 4},
}
PLACE = {"target": (E0, N0), "buffer": (E0 + 300, N0), "control": (E0 + 2_000, N0)}


def _scene_events():  # type: ignore[no-untyped-def]
    pts = []
    for cat, cells in COUNTS.items():
        for (area, window), n in cells.items():
            x0, y0 = PLACE[area]
            pts += [(x0 + 3.0 * k, y0 + 7.0 * len(pts) % 90, window, "crime", cat)
                    for k in range(n)]
    pts += [(E0, N0, "before", "ambulance", "overdose"), (E0, N0, "after", "ambulance",
                                                          "overdose")]
    return events_at(pts)


def _wdd(cat: str) -> tuple[float, float]:
    """WDD and its variance with the control shared by both comparisons (coefficient 4)."""
    c = {k: COUNTS[cat].get(k, 0) for k in
         [(a, w) for a in ("target", "buffer", "control") for w in ("before", "after")]}
    est = ((c["target", "after"] - c["target", "before"])
           + (c["buffer", "after"] - c["buffer", "before"])
           - 2 * (c["control", "after"] - c["control", "before"]))
    var = (c["target", "after"] + c["target", "before"] + c["buffer", "after"]
           + c["buffer", "before"] + 4 * (c["control", "after"] + c["control", "before"]))
    return est, var


def _evaluate(harm: str | None, **kw):  # type: ignore[no-untyped-def]
    specs = [MeasuredLayer("crime", "*", "outcome"), MeasuredLayer("crime", "Burglary"),
             MeasuredLayer("ambulance", "*", "outcome")]
    return evaluate_operation(_scene_events(), make_areas(), WINDOWS, specs,
                              options=EvaluationOptions(harm_index=harm, **kw))


def test_scene_counts_are_placed_as_written() -> None:
    ev = _evaluate(None)
    assert ev.harm is None
    burg = next(la for la in ev.layers if la.counts.spec.key == "crime/Burglary")
    for (area, window), n in COUNTS["Burglary"].items():
        assert burg.counts.count(area, window) == n
    assert not ev.time_weighted  # before and after are both 31 days


def test_harm_totals_and_weighted_wdd_with_cchi_exactly() -> None:
    harm = _evaluate("cchi").harm
    assert harm is not None and harm.table["name"] == "cchi"
    assert [c.key for c in harm.categories] == ["crime/Burglary", "crime/Robbery"]
    assert {c.key: c.weight for c in harm.categories} == {
        "crime/Burglary": CCHI_BURGLARY, "crime/Robbery": CCHI_ROBBERY}
    for area in ("target", "buffer", "control"):
        for window in ("before", "after"):
            want = (CCHI_BURGLARY * COUNTS["Burglary"].get((area, window), 0)
                    + CCHI_ROBBERY * COUNTS["Robbery"].get((area, window), 0))
            assert harm.totals[area][window] == pytest.approx(want, abs=1e-9)
            assert harm.per_day[area][window] == pytest.approx(want / 31, abs=1e-9)
    assert harm.totals["target"]["before"] == pytest.approx(6 * CCHI_BURGLARY + 730, abs=1e-9)
    (wb, vb), (wr, vr) = _wdd("Burglary"), _wdd("Robbery")
    assert (wb, vb, wr, vr) == (-2, 48, 1, 25)
    total = harm.wdd.total if harm.wdd else None
    assert total is not None
    assert total.estimate == pytest.approx(CCHI_BURGLARY * wb + CCHI_ROBBERY * wr, abs=1e-9)
    assert total.variance == pytest.approx(CCHI_BURGLARY ** 2 * vb + CCHI_ROBBERY ** 2 * vr,
                                           abs=1e-9)
    assert total.se == pytest.approx(math.sqrt(total.variance), abs=1e-9)
    # what was left out, and why
    assert harm.excluded["crime/Drugs"] == POLICE_GENERATED["Drugs"]
    assert "not notifiable" in harm.excluded["crime/Anti-social behaviour"]
    assert "health layer" in harm.excluded["ambulance"]
    assert not harm.include_police_generated


def test_police_generated_categories_only_when_asked() -> None:
    harm = _evaluate("cchi", harm_include_police_generated=True).harm
    assert harm is not None and harm.include_police_generated
    assert "crime/Drugs" not in harm.excluded
    wd, vd = _wdd("Drugs")
    assert (wd, vd) == (4, 22)
    (wb, vb), (wr, vr) = _wdd("Burglary"), _wdd("Robbery")
    total = harm.wdd.total if harm.wdd else None
    assert total is not None
    assert total.estimate == pytest.approx(CCHI_BURGLARY * wb + CCHI_ROBBERY * wr
                                           + CCHI_DRUGS * wd, abs=1e-9)
    assert total.variance == pytest.approx(CCHI_BURGLARY ** 2 * vb + CCHI_ROBBERY ** 2 * vr
                                           + CCHI_DRUGS ** 2 * vd, abs=1e-9)
    assert harm.totals["target"]["after"] == pytest.approx(
        2 * CCHI_BURGLARY + CCHI_ROBBERY + 9 * CCHI_DRUGS, abs=1e-9)


def test_harm_with_a_force_table_weights_what_it_maps(tmp_path: Path) -> None:
    path = tmp_path / "force_x.csv"
    path.write_text(FORCE_TABLE)
    harm = _evaluate(str(path)).harm
    assert harm is not None and harm.table["name"] == "force_x"
    weights = {c.key: c.weight for c in harm.categories}
    assert weights == {"crime/Anti-social behaviour": 1.0, "crime/Burglary": 2.5,
                       "crime/Robbery": 10.0}
    assert harm.totals["target"]["before"] == pytest.approx(4 * 1 + 6 * 2.5 + 2 * 10, abs=1e-9)
    (wb, vb), (wr, vr) = _wdd("Burglary"), _wdd("Robbery")
    wa, va = _wdd("Anti-social behaviour")
    total = harm.wdd.total if harm.wdd else None
    assert total is not None
    assert total.estimate == pytest.approx(2.5 * wb + 10 * wr + 1 * wa, abs=1e-9)
    assert total.variance == pytest.approx(2.5 ** 2 * vb + 100 * vr + va, abs=1e-9)


def test_with_css_the_categories_carry_its_weights() -> None:
    harm = _evaluate("css").harm
    assert harm is not None
    assert {c.key: c.weight for c in harm.categories} == {"crime/Burglary": 438.0,
                                                          "crime/Robbery": 746.0}
    total = harm.wdd.total if harm.wdd else None
    assert total is not None and total.estimate == pytest.approx(438 * -2 + 746 * 1, abs=1e-9)


def test_a_bad_harm_index_stops_the_evaluation_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("kind,offence,weight\noffence,X,-1\n")
    with pytest.raises(InputFormatError, match="broken.csv, row 2, field 'weight'"):
        _evaluate(str(path))
    with pytest.raises(ParameterError, match="harm_index"):
        EvaluationOptions(harm_index=" ")


def test_locked_before_counts_are_used_for_harm() -> None:
    from spatial.evaluation.evaluate import current_baseline
    specs = [MeasuredLayer("crime", "Burglary"), MeasuredLayer("crime", "Robbery")]
    events = _scene_events()
    lock = current_baseline(events, make_areas(), WINDOWS, specs)
    lock["layers"]["crime/Burglary"]["areas"]["target"] = 10   # as if 4 more were locked
    ev = evaluate_operation(events, make_areas(), WINDOWS,
                            [MeasuredLayer("crime", "*"), *specs],
                            options=EvaluationOptions(harm_index="cchi",
                                                      harm_include_police_generated=True),
                            locked=lock)
    harm = ev.harm
    assert harm is not None
    burg = next(c for c in harm.categories if c.key == "crime/Burglary")
    assert burg.counts["target"]["before"] == 10
    assert harm.totals["target"]["before"] == pytest.approx(
        10 * CCHI_BURGLARY + 2 * CCHI_ROBBERY + 5 * CCHI_DRUGS, abs=1e-9)
    assert np.isfinite(harm.wdd.total.estimate if harm.wdd else np.nan)
    assert any("crime/Drugs was not in the baseline lock" in n for n in harm.notes)
    assert not any("Anti-social" in n for n in harm.notes)  # excluded: not weighted
