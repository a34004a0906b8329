"""The near-repeat (Knox) table in the Near Repeat Calculator's layout: words, text and a page.

Rows are distance bands (same location first, beyond last), columns time bands;
each cell shows the Knox ratio (observed / expected pairs) with a mark where the
two-sided permutation p, adjusted by Benjamini-Hochberg over the tested cells,
is at most alpha: ``*`` more pairs than expected, ``-`` fewer. Untested cells
(the beyond row and column, and cells no pair can fall in) are in brackets.
Pages come from ``templates/near_repeat_page.html`` (autoescaped, no script).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from service.render.html import render

#: The marks of a significant cell: more pairs than expected, fewer.
HIGH: Final = "*"
LOW: Final = "-"


def _ratio(cell: Mapping[str, Any]) -> str:
    r = cell["ratio"]
    text = "n/a" if r is None else f"{r:.2f}"
    if not cell["tested"]:
        return f"({text})"
    if cell["significant"]:
        return text + (HIGH if cell["observed"] > cell["expected"] else LOW)
    return text


def _mark(cell: Mapping[str, Any]) -> str:
    if not cell["tested"]:
        return "untested"
    if not cell["significant"]:
        return ""
    return "high" if cell["observed"] > cell["expected"] else "low"


def _p(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def pattern_sentence(table: Mapping[str, Any]) -> str:
    """One sentence: the pattern found, its extent and how it was tested."""
    p = table["parameters"]
    how = (f"{p['permutations']:,} permutations, seed {p['seed']}, two-sided p with "
           f"Benjamini-Hochberg FDR at {p['alpha']:g} over {p['tested_cells']} cells")
    n = f"{table['events']:,} events, {table['pairs']:,} pairs"
    if table["pattern"] == "near_repeat":
        return (f"near-repeat pattern: more pairs than chance within {table['extent_m']:g} m "
                f"and {table['extent_days']:g} days of each other ({n}; {how})")
    if table["pattern"] == "repeat_only":
        return (f"repeats at the same location within {table['extent_days']:g} days, but no "
                f"near-repeat pattern at other distances ({n}; {how})")
    return f"no near-repeat pattern: no cell shows more pairs than chance ({n}; {how})"


def _grid(table: Mapping[str, Any], text: Any, css: Any = None) -> list[dict[str, Any]]:
    return [{"label": band["label"],
             "cells": [{"text": text(c), "css": css(c) if css else ""} for c in row]}
            for band, row in zip(table["distance_bands"], table["cells"], strict=True)]


def nrc_tables(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tables of the page: Knox ratios, observed and expected pairs, p-values."""
    alpha = table["parameters"]["alpha"]
    return [
        {"title": "Knox ratio (observed / expected pairs)",
         "rows": _grid(table, _ratio, _mark),
         "note": (f"{HIGH}: significantly more pairs than expected, {LOW}: fewer (two-sided "
                  f"permutation p, Benjamini-Hochberg adjusted, at most {alpha:g}); "
                  "(brackets): not tested - the beyond row and column, and cells no pair "
                  "can fall in. Expected: the mean over the permutations.")},
        {"title": "Observed pairs", "rows": _grid(table, lambda c: f"{c['observed']:,}"),
         "note": "pairs of events in each distance band and time band."},
        {"title": "Expected pairs (mean of the permutations)",
         "rows": _grid(table, lambda c: f"{c['expected']:,.1f}"),
         "note": "dates permuted among events, locations kept; the exact mean (row total x "
                 "column total / all pairs) is in the JSON as expected_exact."},
        {"title": "p-values: the Near Repeat Calculator's one-sided p / adjusted two-sided p",
         "rows": _grid(table, lambda c: f"{_p(c['p_one_sided'])} / {_p(c['p_adjusted'])}"),
         "note": "one-sided (n_ge + 1) / (R + 1) as the NRC reports it; remap decides on the "
                 "two-sided p adjusted over the tested cells."},
    ]


def nrc_text(table: Mapping[str, Any]) -> str:
    """The Knox ratios as a fixed-width text table, rows distance bands, columns days."""
    cols = [b["label"].replace(" days", "") for b in table["time_bands"]]
    first = max(len(b["label"]) for b in table["distance_bands"]) + 2
    width = max(10, *(len(c) + 2 for c in cols))
    lines = ["distance \\ days".ljust(first) + "".join(c.rjust(width) for c in cols)]
    for band, row in zip(table["distance_bands"], table["cells"], strict=True):
        lines.append(band["label"].ljust(first)
                     + "".join(_ratio(c).rjust(width) for c in row))
    return "\n".join(lines)


def near_repeat_page(table: Mapping[str, Any], *, title: str = "Near-repeat analysis") -> str:
    """A self-contained page of the Knox tables (A4 landscape print CSS, no script)."""
    p = table["parameters"]
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return render("near_repeat_page.html", title=title, made=made,
                  sentence=pattern_sentence(table)[:1].upper() + pattern_sentence(table)[1:],
                  columns=[b["label"] for b in table["time_bands"]], tables=nrc_tables(table),
                  caveats=list(table.get("warnings", [])),
                  parameters={k: _plain(v) for k, v in p.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(str(_plain(v)) for v in value)
    return value
