"""``remap nearrepeat`` over the town store: JSON, the NRC text table, the page, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from service.store import Store


def test_nearrepeat_json_text_and_page(run, town_store: Store, tmp_path: Path) -> None:
    args = ("nearrepeat", "--layer", "ambulance", "--area", "boundary:beats", "--seed", "3",
            "--permutations", "99", "--distance-band", "400", "--distance-bands", "3")
    r = run(*args, "--json")
    assert r.exit_code == 0, r.output
    t = json.loads(r.stdout)
    assert t["parameters"]["seed"] == 3 and len(t["cells"]) == 5
    page = tmp_path / "nr.html"
    r = run(*args, "--html", str(page))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("distance \\ days"))
    assert "0 to 7" in lines[head] and "more than 35" in lines[head]
    assert [line.split("  ")[0] for line in lines[head + 1:head + 6]] == [
        "same location", "up to 400 m", "400 to 800 m", "800 to 1200 m", "more than 1200 m"]
    assert "permutations, seed 3" in r.output
    assert "Knox ratio" in page.read_text()


def test_nearrepeat_refuses_month_precision(run, town_store: Store) -> None:
    r = run("nearrepeat", "--layer", "crime", "--permutations", "19")
    assert r.exit_code == 2
    assert "time_precision" in r.output and "'month'" in r.output
