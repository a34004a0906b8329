"""The Dask path on the real police.uk data equals the single-machine path exactly:
counts per unit, Gi* and local Moran values and permutation p-values (same seed),
and the kernel density (to 1e-9 of the peak)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.app import batch
from service.app.analysis import CountsRequest, unit_counts
from service.app.hotspots import HotspotOptions, hotspots
from service.app.importer import import_boundaries, import_events
from service.store import Store
from spatial.distributed import ingest
from tests.dask_cluster import dask_client  # noqa: F401 - the fixture

pytestmark = pytest.mark.realdata

NHOOD = ("boundaries", "sheffield", "sheffield_nhood.geojson")


@pytest.fixture(scope="module")
def both(shared_data: Path, tmp_path_factory: pytest.TempPathFactory,
         dask_client) -> tuple[Store, Path, batch.BoundarySource, ingest.BatchImport]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("batch-real")
    files = sorted((shared_data / "policeuk").glob("*.csv"))
    nh = shared_data.joinpath(*NHOOD)
    rep = ingest.import_files(dask_client, [str(f) for f in files], tmp / "ds", layer="crime")
    store = Store(f"sqlite:///{tmp}/single.db")
    import_events(store, [(f.name, f) for f in files], fmt="policeuk", layer="crime")
    import_boundaries(store, nh, file_name=nh.name, name="nhood", id_field="nhood_code",
                      label_field="nhood_name")
    return store, tmp / "ds", batch.BoundarySource("nhood", nh, "nhood_code", "nhood_name"), rep


def test_batch_import_accepts_and_rejects_what_the_store_import_does(both) -> None:
    *_, rep = both
    assert (rep.rows_read, rep.accepted, rep.rejected) == (188_619, 178_243, 10_376)
    assert rep.rejections[0].file == "2018-10-south-yorkshire-street.csv"
    assert (rep.rejections[0].row, rep.rejections[0].field) == (15550, "Longitude")


CASES = [
    dict(unit="h3:8"),
    dict(unit="h3:8", categories=["drugs"], start="2018-11", end="2019-01"),
    dict(unit="grid:250", area="boundary:nhood"),
    dict(unit="boundary:nhood"),
    dict(unit="h3:9", area="boundary:nhood:Darnall"),
    dict(unit="boundary:nhood", area="bbox:-1.5,53.35,-1.4,53.4"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(f"{k}={v}" for k, v in c.items()))
def test_counts_equal_single_machine_exactly(both, dask_client, case) -> None:  # noqa: F811
    store, folder, src, _ = both
    kw = dict(layer="crime", categories=case.get("categories", []), start=case.get("start"),
              end=case.get("end"), unit=case["unit"], area=case.get("area"))
    uc = unit_counts(store, CountsRequest.parse(**kw))
    bc = batch.batch_counts(dask_client, batch.BatchRequest.parse(folder=folder, boundaries=src,
                                                                  **kw))
    assert [str(u) for u in bc.unit_ids] == [str(u) for u in uc.unit_ids]
    np.testing.assert_array_equal(bc.counts, uc.counts)
    assert bc.counts.sum() > 0
    for key in ("events_selected", "events_counted", "events_outside_area",
                "events_outside_area_in_edge_units", "units", "zero_units"):
        assert bc.parameters[key] == uc.parameters[key], key


@pytest.mark.parametrize("method", ["gistar", "lisa"])
def test_statistics_equal_single_machine(both, dask_client, method) -> None:  # noqa: F811
    store, folder, src, _ = both
    kw = dict(layer="crime", categories=["Drugs"], unit="h3:8", area="boundary:nhood")
    fc, _ = hotspots(store, CountsRequest.parse(**kw),
                     HotspotOptions(method=method, permutations=999, seed=7), role="admin")
    _, rows = batch.batch_hotspots(dask_client, batch.BatchRequest.parse(
        folder=folder, boundaries=src, **kw), batch.BatchHotspotOptions(
        method=method, permutations=999, seed=7))
    single = [f["properties"] for f in fc["features"]]
    assert len(rows) == len(single) > 100
    keys = (["GiZScore", "GiPValue", "GiPValuePermutation", "GiPValueAdjusted", "Gi_Bin"]
            if method == "gistar" else ["Is", "z", "p", "p_adjusted", "cluster"])
    for k in ["count", *keys]:
        assert [r[k] for r in rows] == [p[k] for p in single], k


def test_kde_equals_single_machine(both, dask_client) -> None:  # noqa: F811
    store, folder, src, _ = both
    kw = dict(layer="crime", categories=["Drugs"], unit="h3:9", area="boundary:nhood")
    fc, surface = hotspots(store, CountsRequest.parse(**kw), HotspotOptions(method="kde"),
                           role="admin")
    _, rows, tiled = batch.batch_kde(dask_client, batch.BatchRequest.parse(
        folder=folder, boundaries=src, **kw), tile_cells=64)
    assert tiled.bandwidth_m == pytest.approx(surface.bandwidth_m, rel=1e-12)
    assert tiled.density.shape == surface.density.shape
    peak = surface.density.max()
    assert np.abs(tiled.density - surface.density).max() <= 1e-9 * peak
    single = [f["properties"]["density"] for f in fc["features"]]
    np.testing.assert_allclose([r["density"] for r in rows], single, rtol=1e-9,
                               atol=1e-9 * peak)
