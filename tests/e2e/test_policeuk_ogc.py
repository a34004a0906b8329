"""Issue 11 must-show: Debian's ogr2ogr copies the real crime layer (178,243 placed
crimes from the 15 police.uk files) out of remap's OGC API with the count exact, and a
``category=Drugs`` filter returns exactly the Drugs rows with coordinates (counted from
the CSVs with the csv module)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app.importer import import_events
from service.store import Store
from tests.service.api.gdal_live import live_server, ogr2ogr, require_gdal

pytestmark = pytest.mark.realdata

PLACED = 178_243


@pytest.fixture(scope="module")
def served(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, str, list[Path]]]:
    require_gdal()
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('ogc_real') / 'remap.db'}")
    files = sorted((shared_data / "policeuk").glob("*.csv"))
    assert len(files) == 15
    report = import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
    assert report.inserted == PLACED
    key = store.create_key("analyst", "ogr2ogr")
    try:
        with live_server(store) as url:
            yield url, key, files
    finally:
        store.dispose()


def drugs_with_coordinates(files: list[Path]) -> int:
    n = 0
    for f in files:
        with f.open(newline="", encoding="utf-8-sig") as fh:
            n += sum(1 for row in csv.DictReader(fh) if row["Crime type"] == "Drugs"
                     and row["Longitude"] and row["Latitude"])
    return n


def test_ogr2ogr_copies_the_real_crime_layer(served, tmp_path: Path) -> None:
    url, key, _files = served
    got = ogr2ogr(f"OAPIF:{url}/v1/ogc", "events-crime", tmp_path / "crime.gpkg", key,
                  page_size=10_000)
    assert len(got) == PLACED
    assert got["event_key"].is_unique


def test_ogr2ogr_drugs_filter_on_the_real_layer(served, tmp_path: Path) -> None:
    url, key, files = served
    got = ogr2ogr(f"OAPIF:{url}/v1/ogc/collections/events-crime?category=Drugs",
                  "events-crime", tmp_path / "drugs.gpkg", key, page_size=10_000)
    expected = drugs_with_coordinates(files)
    assert 4_000 < expected < 4_324  # 4,324 Drugs rows, some without coordinates
    assert len(got) == expected
    assert set(got["category"]) == {"Drugs"}
