"""remap batch: import, counts to CSV/JSON, the cluster and parameters printed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from service.cli import main
from spatial.io.policeuk import POLICEUK_COLUMNS


def test_import_then_counts(tmp_path: Path, monkeypatch) -> None:
    from service.settings import get_settings

    monkeypatch.setenv("REMAP_DASK_LOCAL_PROCESSES", "false")
    get_settings.cache_clear()
    rng = np.random.default_rng(2)
    src = tmp_path / "2019-03-street.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(POLICEUK_COLUMNS)
        for _ in range(300):
            w.writerow(["", "2019-03", "SYP", "SYP", f"{-1.47 + rng.normal(0, 0.01):.6f}",
                        f"{53.38 + rng.normal(0, 0.006):.6f}", "X", "", "", "Drugs", "", ""])
        w.writerow(["", "2019-13", "SYP", "SYP", "-1.47", "53.38", "X", "", "", "Drugs", "", ""])
    runner = CliRunner()
    try:
        r = runner.invoke(main, ["--dask", "local", "batch", "import", str(src), "--out",
                                 str(tmp_path / "ds")])
        assert r.exit_code == 0, r.output
        assert "301 rows read: 300 accepted, 1 rejected" in r.output
        assert "row 302 field Month" in r.output and "LocalCluster" in r.output
        out = tmp_path / "c.csv"
        r = runner.invoke(main, ["batch", "counts", str(tmp_path / "ds"), "--unit", "h3:8",
                                 "-o", str(out)])
        assert r.exit_code == 0, r.output
        assert "partitions read: 1" in r.output and '"unit": "h3:8"' in r.output
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert sum(int(x["count"]) for x in rows) == 300
        r = runner.invoke(main, ["batch", "hotspots", str(tmp_path / "ds"), "--unit", "h3:9",
                                 "--permutations", "99", "--seed", "1", "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["parameters"]["gi_seed"] == 1
        r = runner.invoke(main, ["--dask", "nonsense://x", "batch", "counts",
                                 str(tmp_path / "ds"), "--unit", "h3:8"])
        assert r.exit_code == 2 and "dask" in r.output
    finally:
        get_settings.cache_clear()
