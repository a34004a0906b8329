"""Reading boundary sets (spatial.io.boundaries): real files and malformed fixtures."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from spatial.errors import InputFormatError
from spatial.io.boundaries import BoundaryRead, read_boundaries
from spatial.place import crs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "boundaries"


def _check_units(read: BoundaryRead, n: int) -> None:
    units = read.units
    assert list(units.columns) == ["unit_id", "label", "geometry"]
    assert len(units) == n and units["unit_id"].is_unique
    assert units.crs is not None and units.crs.to_epsg() == 4326
    assert units.geometry.is_valid.all()
    assert set(units.geom_type) <= {"Polygon", "MultiPolygon"}
    assert not units.geometry.has_z.any()
    assert all(isinstance(v, str) for v in units["unit_id"])
    assert all(isinstance(v, str) and v for v in units["label"])
    minx, miny, maxx, maxy = units.total_bounds
    assert -180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90


# --- real data ----------------------------------------------------------------------------


@pytest.mark.realdata
def test_sheffield_neighbourhoods(shared_data: Path) -> None:
    read = read_boundaries(shared_data / "boundaries/sheffield/sheffield_nhood.geojson",
                           id_field="nhood_code", label_field="nhood_name")
    _check_units(read, 100)
    assert read.source_crs == "EPSG:4326" and read.rejections == []
    assert len(read.repairs) == 1
    assert read.repairs[0].startswith("unit '62' (feature 62): invalid polygon (Hole lies outside")
    assert read.repairs[0].endswith("repaired with make_valid")
    labels = dict(zip(read.units.unit_id, read.units.label, strict=True))
    assert labels["1"] == "High Green" and labels["62"] == "Gleadless Valley"


@pytest.mark.realdata
def test_sheffield_lsoas_repair_keeps_the_island(shared_data: Path) -> None:
    path = shared_data / "boundaries/sheffield/sheffield_lsoa.geojson"
    read = read_boundaries(path, id_field="LSOA11CD", label_field="LSOA11NM")
    _check_units(read, 345)
    assert len(read.repairs) == 1 and "'E01008111'" in read.repairs[0]
    # the "hole outside shell" is really part of the LSOA: make_valid (linework) keeps it,
    # so the LSOA keeps ~27 ha instead of shrinking to ~0.3 ha
    fixed = read.units.set_index("unit_id").geometry["E01008111"]
    area_m2 = crs.geometry_to_metric(fixed, crs.BNG)[()].area
    assert 260_000 < area_m2 < 280_000
    # repaired polygons do not overlap their neighbours
    others = read.units[read.units.unit_id != "E01008111"].geometry.values
    overlap = shapely.area(shapely.intersection(others, fixed)).sum()
    assert overlap < 1e-12


@pytest.mark.realdata
def test_nyc_precincts_geopackage(shared_data: Path) -> None:
    read = read_boundaries(shared_data / "nyc/nyc_precincts.gpkg", id_field="Precinct")
    _check_units(read, 77)
    assert read.units.unit_id.iloc[0] == "1"  # integer field, written without ".0"
    assert (read.units.label == read.units.unit_id).all()


@pytest.mark.realdata
def test_northumbria_wards_reprojected_from_bng(shared_data: Path) -> None:
    read = read_boundaries(shared_data / "uk-asb/northumbria_wards.gpkg", id_field="ward_code",
                           label_field="ward_name")
    _check_units(read, 177)
    assert read.source_crs == "EPSG:27700"
    minx, miny, maxx, maxy = read.units.total_bounds
    assert -2.8 < minx < maxx < -1.3 and 54.7 < miny < maxy < 55.9


@pytest.mark.realdata
def test_chicago_districts_kml(shared_data: Path) -> None:
    path = shared_data / "chicago/chicago_police_districts.kml"
    # district 31 is stored as three placemarks: an error unless merging is asked for
    with pytest.raises(InputFormatError, match=r"duplicate unit ids in field 'Name': '31' "
                                               r"\(features 3, 4, 8\)"):
        read_boundaries(path, id_field="Name")
    read = read_boundaries(path, id_field="Name", label_field="description",
                           merge_duplicates=True)
    _check_units(read, 23)
    assert read.repairs == ["unit '31': features 3, 4, 8 share this id and were merged into "
                            "one polygon"]
    d31 = read.units.set_index("unit_id").loc["31"]
    assert d31.label == "District 31" and d31.geometry.geom_type == "MultiPolygon"
    minx, miny, maxx, maxy = read.units.total_bounds
    assert -88 < minx < maxx < -87.5 and 41.6 < miny < maxy < 42.1


@pytest.mark.realdata
def test_shapefile_path_and_zip_upload(shared_data: Path, tmp_path: Path) -> None:
    wards = gpd.read_file(shared_data / "boundaries/sheffield/sheffield_ward.geojson").to_crs(27700)
    folder = tmp_path / "shp"
    folder.mkdir()
    wards.to_file(folder / "wards.shp")
    read = read_boundaries(folder / "wards.shp", id_field="WD20CD", label_field="WD20NM")
    _check_units(read, 28)
    assert read.source_crs == "EPSG:27700"

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"export/{f.name}")  # shapefiles are often zipped inside a folder
    buf.seek(0)
    zipped = read_boundaries(buf, id_field="WD20CD", file_name="wards.zip")
    _check_units(zipped, 28)
    # same geometry whichever way it came in
    assert read.units.geometry.geom_equals_exact(zipped.units.geometry, tolerance=1e-12).all()
    # sniffed without a file name
    assert len(read_boundaries(buf.getvalue(), id_field="WD20CD").units) == 28


# --- fixtures ----------------------------------------------------------------------------


def test_bowtie_is_repaired_and_reported() -> None:
    read = read_boundaries(FIXTURES / "bowtie.geojson", id_field="beat", label_field="name")
    _check_units(read, 2)
    assert read.repairs == [
        "unit 'A1' (feature 1): invalid polygon (Self-intersection[-1.495 53.385]) "
        "repaired with make_valid"]
    bow = read.units.geometry.iloc[0]
    assert bow.geom_type == "MultiPolygon" and len(bow.geoms) == 2  # the two triangles
    assert bow.area == pytest.approx(0.01 * 0.01 / 2)
    assert read.units.geometry.iloc[1].area == pytest.approx(0.0001)


def test_wrong_crs_geojson_is_refused() -> None:
    with pytest.raises(InputFormatError, match="wrong CRS.*British National Grid") as info:
        read_boundaries(FIXTURES / "wrong_crs.geojson", id_field="beat")
    assert info.value.file == "wrong_crs.geojson"


def test_missing_id_field_lists_the_fields() -> None:
    with pytest.raises(InputFormatError,
                       match=r"no field 'beat' \(id_field\); fields available: code, name") as info:
        read_boundaries(FIXTURES / "missing_id.geojson", id_field="beat")
    assert info.value.field == "beat" and info.value.file == "missing_id.geojson"
    with pytest.raises(InputFormatError, match=r"no field 'title' \(label_field\)"):
        read_boundaries(FIXTURES / "missing_id.geojson", id_field="code", label_field="title")


def test_duplicate_ids_are_named() -> None:
    with pytest.raises(InputFormatError, match=r"'N1' \(features 1, 3\)") as info:
        read_boundaries(FIXTURES / "duplicate_ids.geojson", id_field="beat")
    assert info.value.field == "beat"
    merged = read_boundaries(FIXTURES / "duplicate_ids.geojson", id_field="beat",
                             label_field="name", merge_duplicates=True)
    assert merged.units.unit_id.tolist() == ["N1", "N2"]
    assert merged.units.label.tolist() == ["North 1", "North 2"]
    assert merged.units.geometry.iloc[0].area == pytest.approx(0.0002)


def test_unusable_features_are_rejected_with_reasons() -> None:
    read = read_boundaries(FIXTURES / "mixed_geometries.geojson", id_field="beat",
                           label_field="name")
    _check_units(read, 2)
    assert read.units.unit_id.tolist() == ["OK1", "G7"]
    assert read.units.label.tolist() == ["Good", "G7"]  # missing label -> the id
    got = [(r.row, r.field, r.reason) for r in read.rejections]
    assert got[:4] == [
        (2, "geometry", "unit 'PT' (feature 2): not a polygon (Point)"),
        (3, "geometry", "unit 'LN' (feature 3): not a polygon (LineString)"),
        (4, "geometry", "unit 'NULL' (feature 4): no geometry"),
        (5, "beat", "feature 5: no unit id"),
    ]
    assert got[4][0] == 6 and "has no polygonal area after make_valid" in got[4][2]
    assert all(r.file == "mixed_geometries.geojson" for r in read.rejections)


def test_every_feature_rejected_is_an_error() -> None:
    with pytest.raises(InputFormatError, match="no usable polygon in 2 features"):
        read_boundaries(FIXTURES / "all_rejected.geojson", id_field="beat")


def test_empty_and_non_vector_files(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="holds no features"):
        read_boundaries(FIXTURES / "empty_collection.geojson", id_field="beat")
    with pytest.raises(InputFormatError, match="not a vector file"):
        read_boundaries(FIXTURES / "not_vector.txt", id_field="beat")
    empty = tmp_path / "nothing.geojson"
    empty.write_bytes(b"")
    with pytest.raises(InputFormatError, match="the file is empty"):
        read_boundaries(empty, id_field="beat")
    with pytest.raises(InputFormatError, match="the file is empty"):
        read_boundaries(io.BytesIO(b""), id_field="beat", file_name="up.geojson")
    with pytest.raises(InputFormatError, match="not a vector file"):
        read_boundaries(io.BytesIO(b"\x00\x01garbage" * 50), id_field="beat", file_name="x.bin")
    with pytest.raises(InputFormatError, match="no such file"):
        read_boundaries(tmp_path / "missing.gpkg", id_field="beat")
    csv = tmp_path / "beats.csv"
    csv.write_text("beat,name\nA1,One\n")
    with pytest.raises(InputFormatError, match="not a vector file|no geometries"):
        read_boundaries(csv, id_field="beat")
    with pytest.raises(InputFormatError, match="zip holding the .shp"):
        read_boundaries(io.BytesIO(b"\x00" * 100), id_field="beat", file_name="beats.shp")


def test_upload_bytes_with_and_without_name() -> None:
    data = (FIXTURES / "bowtie.geojson").read_bytes()
    named = read_boundaries(io.BytesIO(data), id_field="beat", file_name="beats.geojson")
    assert len(named.units) == 2 and named.repairs[0].startswith("unit 'A1'")
    sniffed = read_boundaries(data, id_field="beat")
    assert len(sniffed.units) == 2


def _squares_bng() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"beat": [1.0, 2.0], "name": ["One", "Two"]},
        geometry=[shapely.box(435_000, 387_000, 435_500, 387_500),
                  shapely.box(435_500, 387_000, 436_000, 387_500)], crs=27700)


def test_geopackage_layers(tmp_path: Path) -> None:
    path = tmp_path / "beats.gpkg"
    frame = _squares_bng()
    frame.to_file(path, layer="beats_2019")
    frame.to_file(path, layer="beats_2023")
    with pytest.raises(InputFormatError, match="2 layers .*beats_2019, beats_2023.*choose one"):
        read_boundaries(path, id_field="beat")
    with pytest.raises(InputFormatError, match="no layer 'beats_2020'"):
        read_boundaries(path, id_field="beat", layer="beats_2020")
    read = read_boundaries(path, id_field="beat", label_field="name", layer="beats_2023")
    _check_units(read, 2)
    assert read.units.unit_id.tolist() == ["1", "2"]  # float ids written as integers
    assert read.source_crs == "EPSG:27700"


def test_shapefile_without_prj(tmp_path: Path) -> None:
    frame = _squares_bng()
    frame.to_file(tmp_path / "bng.shp")
    (tmp_path / "bng.prj").unlink()
    with pytest.raises(InputFormatError, match="no CRS .*not degrees.*British National Grid"):
        read_boundaries(tmp_path / "bng.shp", id_field="beat")
    degrees = frame.to_crs(4326)
    degrees.to_file(tmp_path / "deg.shp")
    (tmp_path / "deg.prj").unlink()
    read = read_boundaries(tmp_path / "deg.shp", id_field="beat")
    _check_units(read, 2)
    assert read.source_crs == "EPSG:4326"
    assert read.warnings and "no CRS" in read.warnings[0]
    assert np.allclose(read.units.total_bounds, degrees.total_bounds)
