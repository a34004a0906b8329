"""The near-repeat page and text: the NRC layout, significance marks, inert hostile text."""

from __future__ import annotations

import numpy as np

from service.app.near_repeat import result_dict
from service.render.near_repeat import near_repeat_page, nrc_text, pattern_sentence
from spatial.stats.near_repeat import knox_table

HOSTILE = "<script>window.__pwned=1</script>{{7*7}}\"'" + "x" * 10_000


def _table() -> dict:
    rng = np.random.default_rng(1)
    x, y, d = rng.uniform(0, 2000, 120), rng.uniform(0, 2000, 120), rng.integers(0, 100, 120)
    x[:30], y[:30], d[:30] = x[30:60] + 20, y[30:60], d[30:60] + 2  # planted near repeats
    r = knox_table(x, y, d, seed=2)
    t = result_dict(r)
    t["parameters"] = {**r.parameters, "layer": HOSTILE, "categories": [HOSTILE]}
    t["warnings"] = [HOSTILE]
    return t


def test_page_marks_significant_cells_and_escapes_text() -> None:
    t = _table()
    assert t["pattern"] == "near_repeat" and t["cells"][1][0]["significant"]
    html = near_repeat_page(t)
    assert "<script>window" not in html and "&lt;script&gt;" in html
    assert "{{7*7}}" in html  # placed as text, never evaluated as a template
    assert 'class="num high"' in html and "(n/a)" in html  # same location never happens
    assert html.count("<table>") == 4
    text = nrc_text(t)
    assert text.splitlines()[2].split()[-6].endswith("*")  # up to 100 m, 0 to 7 days
    assert pattern_sentence(t).startswith("near-repeat pattern: more pairs than chance within")
