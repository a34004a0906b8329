"""``remap profile`` over the real store: JSON, words, the page and the SVG chart."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_profile_json_words_page_and_chart(run, tmp_path: Path) -> None:
    run("import", "policeuk", str(FIXTURES / "policeuk_small.csv"))
    r = run("profile", "--layer", "crime", "--unit", "h3:8", "--json")
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    assert p["events"] == 5 and p["top_streets"][0]["street"] == "Jack Close Orchard"
    assert p["top_streets"][0]["count"] == 2
    page, svg = tmp_path / "profile.html", tmp_path / "trend.svg"
    r = run("profile", "--layer", "crime", "--category", "Drugs", "--unit", "h3:8",
            "--top", "2", "--html", str(page), "--svg", str(svg))
    assert r.exit_code == 0, r.output
    assert "3 events of crime" in r.output
    assert "top streets (3 streets with events)" in r.output
    assert "Gini" in r.output and "known to the month only" in r.output
    html = page.read_text()
    assert "Fargate" in html and "<svg" in html and "<script" not in html
    root = ElementTree.fromstring(svg.read_text())
    bars = [e for e in root.iter("{http://www.w3.org/2000/svg}rect")
            if e.get("class") == "bar"]
    assert len(bars) == 1  # one month, 2018-10


def test_profile_errors_name_the_field(run) -> None:
    run("import", "policeuk", str(FIXTURES / "policeuk_small.csv"))
    r = run("profile", "--layer", "crime", "--unit", "hex:9")
    assert r.exit_code != 0 and "unit" in r.output
    r = run("profile", "--layer", "crime", "--unit", "h3:8", "--top", "0")
    assert r.exit_code != 0 and "--top" in r.output
