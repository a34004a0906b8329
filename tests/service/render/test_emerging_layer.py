"""The emerging hot spot map layer: colours per category, a legend of the categories
present, tooltips with counts per step, and hostile unit names kept inert."""

from __future__ import annotations

from typing import Any

import shapely

from service.render.emerging_layer import EMERGING_COLOURS, emerging_map_html
from service.render.geojson import feature_collection, geometry_features
from spatial.stats.emerging import CATEGORIES, PATTERN_NAMES, SF_CATEGORIES
from tests.service.hostile import CORPUS, check_page


def collection(labels: list[str], categories: list[str]) -> dict[str, Any]:
    geoms = [shapely.box(-1.5 + 0.01 * i, 53.38, -1.49 + 0.01 * i, 53.39)
             for i in range(len(labels))]
    props = [{"unit_id": f"u{i}", "label": lab, "category": c, "pattern": PATTERN_NAMES[c],
              "code": 0, "trend_z": 1.5, "trend_p": 0.13, "trend_tau": 0.2, "hot_steps": 3,
              "cold_steps": 0, "bins": [0] * 10, "count": 17, "counts": [1] * 9 + [8]}
             for i, (lab, c) in enumerate(zip(labels, categories, strict=True))]
    params = {"step": "month", "steps": 10, "step_labels": [f"2020-{m:02d}" for m in
                                                           range(1, 11)],
              "time_steps": 1, "inference": "randomization", "permutations": 49_999,
              "seed": 4, "correction": "fdr_bh", "alpha": 0.05, "trend_alpha": 0.05}
    return feature_collection(geometry_features(geoms, props), parameters=params, warnings=[])


def test_colours_cover_every_category() -> None:
    assert set(EMERGING_COLOURS) == set(CATEGORIES) | set(SF_CATEGORIES)
    assert len({EMERGING_COLOURS[c] for c in CATEGORIES}) == len(CATEGORIES)


def test_legend_lists_the_categories_present_and_the_inference() -> None:
    cats = ["new_hot", "persistent_cold", "no_pattern"]
    page = emerging_map_html(collection(["A", "B", "C"], cats), title="t")
    for c in cats:
        assert PATTERN_NAMES[c] in page and EMERGING_COLOURS[c] in page
    assert "Intensifying Hot Spot" not in page
    assert "total randomisation (49,999 draws, seed 4)" in page
    assert "2020-10 8" in page  # counts per step in the tooltip


def test_hostile_unit_names_are_inert() -> None:
    labels = list(CORPUS)
    cats = [CATEGORIES[i % len(CATEGORIES)] for i in range(len(labels))]
    page = emerging_map_html(collection(labels, cats), title="<script>x</script>{{7*7}}")
    assert check_page(page, labels, "emerging map") == []
    assert "<script>x</script>" not in page
