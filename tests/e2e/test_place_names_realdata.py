"""Places by name on the real data (issue 11 must-show): ``remap boundaries units
sheffield_nhood`` lists Darnall, ``--target boundary:sheffield_nhood:Darnall`` defines an
operation, and an H3 cell's main street equals an independent pandas count of the raw
police.uk rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import h3
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from service.cli import main
from tests.e2e.sheffield_cli import policeuk_files, run_cli, sheffield_cli

pytestmark = pytest.mark.realdata

MONTHS = ("2018-10", "2018-11")


def _files(shared: Path) -> list[Path]:
    return policeuk_files(shared, MONTHS)


@pytest.fixture(scope="module")
def cli(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    yield from sheffield_cli(shared_data, tmp_path_factory.mktemp("names"), MONTHS)


_run = run_cli


def _nhoods(shared: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(shared / "boundaries" / "sheffield" / "sheffield_nhood.geojson")


def test_units_of_sheffield_neighbourhoods_list_darnall(cli: CliRunner,
                                                        shared_data: Path) -> None:
    nh = _nhoods(shared_data)
    code = str(nh.loc[nh["nhood_name"] == "Darnall", "nhood_code"].iloc[0])
    lines = _run(cli, "boundaries", "units", "sheffield_nhood").splitlines()
    assert lines[0].startswith("boundary set sheffield_nhood v1: 100 units")
    assert [line.split()[:2] for line in lines if " Darnall " in line] == [[code, "Darnall"]]
    data = json.loads(_run(cli, "boundaries", "units", "sheffield_nhood", "--json"))
    assert {(u["unit_id"], u["label"]) for u in data["units"]} == set(zip(
        nh["nhood_code"].astype(str), nh["nhood_name"], strict=True))


def test_operation_target_by_name(cli: CliRunner, shared_data: Path) -> None:
    nh = _nhoods(shared_data)
    code = str(nh.loc[nh["nhood_name"] == "Darnall", "nhood_code"].iloc[0])
    op = json.loads(_run(cli, "operation", "create", "--name", "Darnall by name",
                         "--target", "boundary:sheffield_nhood:Darnall", "--buffer", "500",
                         "--suggest-control", "--before", "2018-10/2018-10",
                         "--after", "2018-11/2018-11", "--layer", "crime:Drugs:output",
                         "--json"))
    target = op["resolved"]["target"]
    assert (target["units"], target["labels"]) == ([code], ["Darnall"])
    assert code not in op["resolved"]["control"]["units"]
    r = cli.invoke(main, ["operation", "plan", "--target", "boundary:sheffield_nhood:Darnal",
                          "--buffer", "500", "--suggest-control", "--before", "2018-10/2018-10",
                          "--after", "2018-11/2018-11", "--layer", "crime:Drugs:output"])
    assert r.exit_code == 2 and "did you mean 'Darnall'?" in r.output


def test_cell_street_equals_pandas_on_the_raw_rows(cli: CliRunner, shared_data: Path) -> None:
    fc = json.loads(_run(cli, "counts", "--layer", "crime", "--unit", "h3:9", "--area",
                         "boundary:sheffield_nhood:darnall", "--json"))
    feats = [f["properties"] for f in fc["features"]]
    assert all(p["label"] for p in feats)  # every cell is named
    top = max(feats, key=lambda p: p["count"])
    # independently: the raw rows in Darnall and in that cell, their commonest street
    raw = pd.concat([pd.read_csv(f) for f in _files(shared_data)], ignore_index=True)
    raw = raw.dropna(subset=["Longitude", "Latitude"])
    nh = _nhoods(shared_data)
    darnall = shapely.make_valid(nh.loc[nh["nhood_name"] == "Darnall", "geometry"].iloc[0])
    cells = [h3.latlng_to_cell(la, lo, 9) for la, lo in zip(raw["Latitude"], raw["Longitude"],
                                                            strict=True)]
    inside = shapely.contains_xy(darnall, raw["Longitude"].to_numpy(),
                                 raw["Latitude"].to_numpy())
    rows = raw[inside & (pd.Series(cells) == top["unit_id"]).to_numpy()]
    assert len(rows) == top["count"]
    counts = rows["Location"].str.removeprefix("On or near ").value_counts()
    street = sorted(counts[counts == counts.max()].index)[0]
    assert top["label"] == f"Darnall · near {street}"
