"""CLI manners on the real South Yorkshire police.uk data: categories in any case,
the layer's categories with counts, and an unknown category refused with suggestions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from service.cli.app import main
from service.settings import get_settings

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    files = sorted((shared_data / "policeuk").glob("*south-yorkshire-street.csv"))
    assert files
    url = f"sqlite:///{tmp_path_factory.mktemp('cats') / 'remap.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("REMAP_DATABASE_URL", url)
    get_settings.cache_clear()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    r = invoke("import", "policeuk", *map(str, files), "--json")
    assert r.exit_code == 0, r.output
    nhood = shared_data / "boundaries" / "sheffield" / "sheffield_nhood.geojson"
    r = invoke("boundaries", "import", str(nhood), "--name", "sheffield_nhood",
               "--id-field", "nhood_code", "--label-field", "nhood_name", "--json")
    assert r.exit_code == 0, r.output
    yield invoke, files, url
    mp.undo()
    get_settings.cache_clear()


def test_layers_list_the_categories_pandas_counts(run) -> None:  # type: ignore[no-untyped-def]
    invoke, files, _ = run
    frame = pd.concat([pd.read_csv(f, usecols=["Longitude", "Latitude", "Crime type"])
                       for f in files])
    expected = frame.dropna(subset=["Longitude", "Latitude"])["Crime type"].value_counts()
    listed = json.loads(invoke("layers", "--json").stdout)[0]["categories"]
    assert listed == {str(k): int(v) for k, v in expected.items()}
    human = invoke("layers").stdout.splitlines()
    assert human[1].split(None, 1) == [str(expected.iloc[0]), expected.index[0]]


def test_lower_case_category_counts_the_same(run) -> None:  # type: ignore[no-untyped-def]
    invoke, _, _ = run
    got = {}
    for spelling in ("Drugs", "drugs", "DRUGS"):
        r = invoke("counts", "--layer", "crime", "--category", spelling,
                   "--unit", "boundary:sheffield_nhood", "--json")
        assert r.exit_code == 0, r.output
        fc = json.loads(r.stdout)
        got[spelling] = {f["properties"]["unit_id"]: f["properties"]["count"]
                         for f in fc["features"]}
    assert got["drugs"] == got["Drugs"] == got["DRUGS"]
    assert sum(got["drugs"].values()) > 100


def test_unknown_category_is_refused_naming_the_store(run) -> None:  # type: ignore[no-untyped-def]
    invoke, _, url = run
    r = invoke("counts", "--layer", "crime", "--category", "drug",
               "--unit", "boundary:sheffield_nhood")
    assert r.exit_code == 2
    assert "did you mean 'Drugs'?" in r.stderr and f"(store: {url})" in r.stderr
