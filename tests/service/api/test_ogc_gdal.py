"""GDAL's OGC API driver (Debian's ogr2ogr) reads remap over HTTP: every feature once,
through keyset pages, and a category filter given in the URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app.importer import ImportReport, store_events
from service.store import EventFilter, Store
from spatial.synthetic.town import build_town
from tests.service.api.gdal_live import live_server, ogr2ogr, require_gdal


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Store]]:
    """A SQLite store with the synthetic crimes, served; (base URL, analyst key, store)."""
    require_gdal()
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('gdal') / 'remap.db'}")
    for layer, frame in build_town(scale=0.05).events.items():
        store_events(store, frame.copy(), ImportReport(layer=layer, format="synthetic"),
                     timings={}, file_names=["synthetic"], actor="test")
    key = store.create_key("analyst", "gdal test")
    try:
        with live_server(store) as url:
            yield url, key, store
    finally:
        store.dispose()


def test_ogr2ogr_copies_every_feature_through_pages(served, tmp_path: Path) -> None:
    url, key, store = served
    expected = store.query_events(EventFilter(layers=("crime",)))
    # 100 a page: 16 pages, each next link a keyset cursor
    got = ogr2ogr(f"OAPIF:{url}/v1/ogc", "events-crime", tmp_path / "crime.gpkg", key,
                  page_size=100)
    assert len(got) == len(expected) == 1511
    assert sorted(got["event_key"]) == sorted(expected["event_key"])
    assert got["event_key"].is_unique


def test_ogr2ogr_with_a_category_filter(served, tmp_path: Path) -> None:
    url, key, store = served
    drugs = store.query_events(EventFilter(layers=("crime",), categories=("Drugs",)))
    assert len(drugs) > 0
    got = ogr2ogr(f"OAPIF:{url}/v1/ogc/collections/events-crime?category=Drugs",
                  "events-crime", tmp_path / "drugs.gpkg", key, page_size=20)
    assert len(got) == len(drugs)
    assert sorted(got["event_key"]) == sorted(drugs["event_key"])
    assert set(got["category"]) == {"Drugs"}


def test_ogr2ogr_is_refused_a_restricted_layer_without_the_role(served,
                                                                tmp_path: Path) -> None:
    url, _key, store = served
    partner = store.create_key("partner", "gdal partner")
    with pytest.raises(AssertionError, match="403|forbidden|not found|not exist|Couldn't"):
        ogr2ogr(f"OAPIF:{url}/v1/ogc", "events-ambulance", tmp_path / "amb.gpkg", partner)


def test_ogr2ogr_streams_the_flatgeobuf_download(served, tmp_path: Path) -> None:
    url, key, store = served
    expected = store.query_events(EventFilter(layers=("crime",), categories=("Drugs",)))
    source = (f"/vsicurl_streaming/{url}/v1/ogc/collections/events-crime/download"
              "?f=fgb&category=drugs")
    got = ogr2ogr(source, "", tmp_path / "drugs_bulk.gpkg", key)
    assert len(got) == len(expected) > 0
    assert sorted(got["event_key"]) == sorted(expected["event_key"])


def test_ogr2ogr_reads_the_geopackage_download_by_byte_ranges(served, tmp_path: Path) -> None:
    url, key, store = served
    expected = store.query_events(EventFilter(layers=("crime",)))
    # /vsicurl/ asks the size (HEAD), then byte ranges; the GeoPackage driver wants a
    # name ending .gpkg, hence download.gpkg rather than download?f=gpkg
    source = f"/vsicurl/{url}/v1/ogc/collections/events-crime/download.gpkg"
    for attempt in ("built", "kept"):
        got = ogr2ogr(source, "", tmp_path / f"crime_{attempt}.gpkg", key)
        assert len(got) == len(expected), attempt
        assert sorted(got["event_key"]) == sorted(expected["event_key"])
