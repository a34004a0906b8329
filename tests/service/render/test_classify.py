"""Map classification: natural breaks, quantiles, classes and their colours, value text."""

from __future__ import annotations

import re

import numpy as np
import pytest

from service.render import classify
from service.render.colours import SEQUENTIAL, SUPPRESSED_FILL, ZERO_COLOUR


def test_natural_breaks_separates_obvious_groups() -> None:
    values = [1, 2, 2, 3, 10, 11, 12, 50, 52, 100]
    assert classify.natural_breaks(values, 4) == [3.0, 12.0, 52.0, 100.0]


def test_natural_breaks_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(1, 40, 25)
    breaks = classify.natural_breaks(values, 3)

    def sdcm(uppers: list[float]) -> float:
        total, lo = 0.0, -np.inf
        for up in uppers:
            grp = values[(values > lo) & (values <= up)]
            total += float(((grp - grp.mean()) ** 2).sum()) if grp.size else 0.0
            lo = up
        return total

    u = np.unique(values)
    best = min(sdcm([float(a), float(b), float(u[-1])])
               for i, a in enumerate(u[:-1]) for b in u[i + 1:-1])
    assert sdcm(breaks) == pytest.approx(best)


def test_few_distinct_values_give_one_class_each() -> None:
    assert classify.natural_breaks([5, 5, 7, 9], 5) == [5.0, 7.0, 9.0]
    assert classify.quantile_breaks([1, 1, 1, 1], 5) == [1.0]


def test_quantile_breaks_are_observed_values() -> None:
    values = list(range(1, 101))
    assert classify.quantile_breaks(values, 5) == [20.0, 40.0, 60.0, 80.0, 100.0]


def test_classes_zero_suppressed_and_five_ranges() -> None:
    values = [0, 0, "<5", 5, 6, 8, 12, 15, 20, 33, 40, 90, 120, None]
    cl = classify.classify_values(values, k=5)
    kinds = [c.kind for c in cl.classes]
    assert kinds == ["zero", "suppressed", "range", "range", "range", "range", "range",
                     "missing"]
    zero, sup = cl.classes[0], cl.classes[1]
    assert zero.label == "0" and zero.colour == ZERO_COLOUR
    assert sup.colour == SUPPRESSED_FILL
    assert sup.label == "1–4: suppressed, shown as “<5”"
    ranges = [c for c in cl.classes if c.kind == "range"]
    assert [c.colour for c in ranges] == list(SEQUENTIAL)
    assert ranges[0].lower == 5 and ranges[-1].upper == 120
    # ranges are contiguous over integers and do not overlap
    for a, b in zip(ranges, ranges[1:], strict=False):
        assert a.upper is not None and b.lower is not None and a.upper < b.lower
    assert cl.classify(0).kind == "zero"
    assert cl.classify("<5").kind == "suppressed"
    assert cl.classify(None).kind == "missing"
    assert cl.classify(120) is ranges[-1]
    assert cl.classify(5) is ranges[0]


def test_classes_fewer_when_few_values() -> None:
    cl = classify.classify_values([0, 3, 3, 4], k=5)
    ranges = [c for c in cl.classes if c.kind == "range"]
    assert [c.label for c in ranges] == ["3", "4"]
    # two classes take the darker end of the palette, not the near-white first colour
    assert ranges[-1].colour == SEQUENTIAL[-1]


def test_more_classes_than_palette_colours_are_interpolated() -> None:
    cl = classify.classify_values(list(range(1, 200)), k=9, scheme="quantile")
    colours = [c.colour for c in cl.classes]
    assert len(colours) == 9 == len(set(colours))
    assert colours[0] == SEQUENTIAL[0] and colours[-1] == SEQUENTIAL[-1]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours)


def test_quantile_scheme_and_bad_scheme() -> None:
    cl = classify.classify_values(list(range(0, 101)), k=4, scheme="quantile")
    assert cl.scheme == "quantile"
    assert [c.label for c in cl.classes] == ["0", "1–25", "26–50", "51–75", "76–100"]
    with pytest.raises(ValueError, match="scheme"):
        classify.classify_values([1, 2], scheme="jenks-ish")


def test_format_value_keeps_suppressed_text() -> None:
    assert classify.format_value("<5") == "<5"
    assert classify.format_value(12) == "12"
    assert classify.format_value(12.0) == "12"
    assert classify.format_value(2.02424331) == "2.02"
    assert classify.format_value(0.00312) == "0.0031"
    assert classify.format_value(None) == "–"
    assert classify.format_value(float("nan")) == "–"


def _total_ssd(values: np.ndarray, uppers: list[float]) -> float:
    """Within-class sum of squared deviations of ``values`` classed by ``uppers``."""
    cls = np.searchsorted(np.asarray(uppers), values, side="left")
    return float(sum(((values[cls == c] - values[cls == c].mean()) ** 2).sum()
                     for c in np.unique(cls)))


def test_natural_breaks_reach_mapclassify_fisher_jenks_optimum() -> None:
    """Same optimum as the reference implementation (mapclassify.FisherJenks) on counts."""
    mapclassify = pytest.importorskip("mapclassify")
    rng = np.random.default_rng(20261202)
    for trial in range(20):
        values = rng.negative_binomial(2, 0.15, size=400).astype(np.float64) + 1.0
        k = int(rng.integers(3, 7))
        ours = classify.natural_breaks(values, k)
        ref = [float(b) for b in mapclassify.FisherJenks(values, k=k).bins]
        assert _total_ssd(values, ours) == pytest.approx(_total_ssd(values, ref), rel=1e-9), trial


def test_natural_breaks_beyond_the_limit_fall_back_to_quantiles_and_say_so() -> None:
    values = np.arange(1, classify.MAX_NATURAL_BREAKS_DISTINCT + 2, dtype=np.float64)
    with pytest.raises(ValueError, match="natural breaks is limited"):
        classify.natural_breaks(values, 5)
    assert classify.classify_values(list(values), k=5).scheme == "quantile"
