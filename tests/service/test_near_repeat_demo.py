"""``demo_near_repeat``: the town's ambulance call-outs through the use case, for ``remap demo``."""

from __future__ import annotations

import json
from pathlib import Path

from service.app.near_repeat import demo_near_repeat
from service.store import Store


def test_demo_near_repeat_writes_the_table_and_page(town_store: Store, tmp_path: Path) -> None:
    said: list[str] = []
    out = demo_near_repeat(town_store, tmp_path, said.append)
    assert out["pattern"] in ("near_repeat", "repeat_only", "none") and out["events"] > 0
    table = json.loads(Path(out["outputs"]["json"]).read_text())
    assert table["parameters"]["distance_band_m"] == 400.0
    assert table["parameters"]["seed"] == 20181001
    assert "Knox ratio" in Path(out["outputs"]["page"]).read_text()
    assert len(said) == 1 and "near-repeat (Knox) of ambulance call-outs" in said[0]
